# wf_module(NAME DIR DEPS ...): a static library wf_NAME from DIR/*.c
# (main.c excluded), public include dirs, and its link dependencies. A folder
# with no sources yet gives an interface library, so the build graph is
# complete while a stage is still being written.
function(wf_module name dir)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.c)
  list(FILTER srcs EXCLUDE REGEX "/main\\.c$")
  if(srcs)
    add_library(wf_${name} STATIC ${srcs})
    target_include_directories(wf_${name} PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/plugins)
    target_link_libraries(wf_${name} PUBLIC ${M_DEPS})
  else()
    add_library(wf_${name} INTERFACE)
    target_include_directories(wf_${name} INTERFACE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
    target_link_libraries(wf_${name} INTERFACE ${M_DEPS})
  endif()
endfunction()

# wf_module_of(FILE_STEM PREFIX OUT): the module a test/bench/fuzz file links,
# named by the longest "a_b" prefix after PREFIX_ that is a wf_ module
# (test_judge_rules_table -> wf_judge_rules).
function(wf_module_of stem prefix out)
  string(REGEX REPLACE "^${prefix}_" "" rest ${stem})
  string(REPLACE "_" ";" parts ${rest})
  set(candidate "")
  set(found "")
  foreach(p ${parts})
    if(candidate)
      set(candidate "${candidate}_${p}")
    else()
      set(candidate "${p}")
    endif()
    if(TARGET wf_${candidate})
      set(found ${candidate})
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "${stem}: names no wf_ module")
  endif()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

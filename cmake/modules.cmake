# wf_module(NAME DIR DEPS ...): a static library wf_NAME from DIR/*.c
# (main.c excluded), public include dirs, and its link dependencies.
function(wf_module name dir)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.c)
  list(FILTER srcs EXCLUDE REGEX "/main\\.c$")
  add_library(wf_${name} STATIC ${srcs})
  target_include_directories(wf_${name} PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(wf_${name} PUBLIC ${M_DEPS})
endfunction()

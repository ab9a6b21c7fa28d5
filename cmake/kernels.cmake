# wf_kernels: the CUDA path of the transformer model (kernels/, issue 7).
# With nvcc found (and WF_CUDA on) it is built from kernels/*.cu and
# kernels/*.c for Hopper (sm_90; set CMAKE_CUDA_ARCHITECTURES for others),
# warnings as errors; otherwise from kernels/none.c alone, which reports no
# device so that callers use the CPU path. WF_HAVE_CUDA tells which.
include(CheckLanguage)
if(WF_CUDA)
  check_language(CUDA)
endif()
if(WF_CUDA AND CMAKE_CUDA_COMPILER)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(CMAKE_CUDA_STANDARD 17)
  file(GLOB kernel_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/*.cu ${CMAKE_SOURCE_DIR}/kernels/*.c)
  list(FILTER kernel_srcs EXCLUDE REGEX "/none\\.c$")
  add_library(wf_kernels STATIC ${kernel_srcs})
  # cuBLAS is opened at run time (kernels/cublas_dl.cu), so the binary starts
  # on machines without the CUDA libraries; the CUDA runtime is static and
  # opens the driver itself.
  target_link_libraries(wf_kernels PUBLIC wf_model_transformer CUDA::cudart_static ${CMAKE_DL_LIBS})
  target_include_directories(wf_kernels PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
  # A register spill is a warning too: the flash kernels sit at the 255
  # register limit, where an edit can spill to local memory unnoticed.
  set(cuda_warn -Xcompiler=-Wall,-Wextra -Xptxas=-warn-spills)
  if(WF_WERROR)
    list(APPEND cuda_warn --Werror=all-warnings -Xcompiler=-Werror)
  endif()
  target_compile_options(wf_kernels PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${cuda_warn}>)
  # For the message that refuses a device the build has no kernels for.
  string(REPLACE ";" "," cuda_archs "${CMAKE_CUDA_ARCHITECTURES}")
  target_compile_definitions(wf_kernels PRIVATE WF_CUDA_ARCHS="${cuda_archs}")
  set(WF_HAVE_CUDA 1)
else()
  add_library(wf_kernels STATIC ${CMAKE_SOURCE_DIR}/kernels/none.c)
  target_link_libraries(wf_kernels PUBLIC wf_model_transformer)
  set(WF_HAVE_CUDA 0)
endif()
target_include_directories(wf_kernels PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src
                           ${CMAKE_SOURCE_DIR}/plugins ${CMAKE_SOURCE_DIR}/kernels)
target_compile_definitions(wf_kernels PUBLIC WF_HAVE_CUDA=${WF_HAVE_CUDA})
message(STATUS "CUDA path: ${WF_HAVE_CUDA}")

# The GPU check programs (tests/gpu/*.c, *.cu), run by tests/gpu/run.sh on a
# machine with a GPU and never by ctest: CI has none. With CUDA they are part
# of the default build, so they keep compiling against wf_cuda.h; without
# it the C ones can still be built by name (they report no device).
file(GLOB gpu_checks CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/gpu/*.c)
if(WF_HAVE_CUDA)
  file(GLOB gpu_cu_checks CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/gpu/*.cu)
  list(APPEND gpu_checks ${gpu_cu_checks})
endif()
foreach(src ${gpu_checks})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE wf_models)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/gpu)
  if(WF_HAVE_CUDA)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${cuda_warn}>)
  else()
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL TRUE)
  endif()
endforeach()

# What the optional CUDA extension needs, found without ever failing the configure:
#   softunlearn_find_cuda(<ok-var> <why-var>)
# sets <ok-var> TRUE and defines the targets softunlearn::cublas and softunlearn::cusolver, or sets it
# FALSE and <why-var> to a sentence saying what is missing. Also sets SOFTUNLEARN_CUDA_LIBRARY_DIRS and
# SOFTUNLEARN_CUDA_FROM_WHEELS, and the default CMAKE_CUDA_ARCHITECTURES.
#
# cuBLAS and cuSOLVER come from the CUDA toolkit (CUDA::cublas, CUDA::cusolver) or, when the toolkit has
# none (e.g. an nvcc-only install), from the nvidia-cublas / nvidia-cusolver wheels installed in the
# build interpreter's environment: site-packages/nvidia/cu<major>/{include,lib} (CUDA 13 wheels) or
# nvidia/{cublas,cusolver,cusparse,nvjitlink}/{include,lib} (CUDA 12 wheels). Wheels only ship versioned
# libraries (libcublas.so.13), so they are imported by path. Their include directory also holds a CUDA
# runtime's headers, possibly of another version than nvcc's, so only the cuBLAS/cuSOLVER headers are
# copied to the build tree and put on the include path.
macro(softunlearn_find_cuda _su_ok _su_why)
  set(${_su_ok} FALSE)
  set(${_su_why} "")
  set(SOFTUNLEARN_CUDA_FROM_WHEELS FALSE)
  set(SOFTUNLEARN_CUDA_LIBRARY_DIRS "")
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    set(${_su_why} "no working CUDA compiler (nvcc) was found; put nvcc on PATH or set CUDACXX")
  else()
    find_package(CUDAToolkit QUIET)
    if(NOT CUDAToolkit_FOUND)
      set(${_su_why} "nvcc (${CMAKE_CUDA_COMPILER}) was found but not its CUDA toolkit (find_package(CUDAToolkit))")
    elseif(CUDAToolkit_VERSION VERSION_LESS 11.8 AND NOT DEFINED CMAKE_CUDA_ARCHITECTURES
           AND "$ENV{CUDAARCHS}" STREQUAL "")
      string(CONCAT ${_su_why} "CUDA ${CUDAToolkit_VERSION} cannot target Hopper (sm_90, CUDA >= 11.8); set "
                    "CMAKE_CUDA_ARCHITECTURES or CUDAARCHS to build for older devices")
    elseif(NOT TARGET CUDA::cudart_static)
      set(${_su_why} "the CUDA toolkit at ${CUDAToolkit_LIBRARY_DIR} has no static CUDA runtime (libcudart_static)")
    else()
      # A list including Hopper, plus PTX for newer devices to JIT-compile; the "-real"/"-virtual"
      # suffixes exist since CMake 3.18. CMAKE_CUDA_ARCHITECTURES or CUDAARCHS override it.
      if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND "$ENV{CUDAARCHS}" STREQUAL "")
        set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
      endif()
      _softunlearn_cuda_libraries(${_su_ok} ${_su_why})
    endif()
  endif()
endmacro()

macro(_softunlearn_cuda_libraries _su_ok _su_why)
  find_file(_SU_TK_CUBLAS_H cublas_v2.h PATHS ${CUDAToolkit_INCLUDE_DIRS} NO_DEFAULT_PATH)
  find_file(_SU_TK_CUSOLVER_H cusolverDn.h PATHS ${CUDAToolkit_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(TARGET CUDA::cublas AND TARGET CUDA::cusolver AND _SU_TK_CUBLAS_H AND _SU_TK_CUSOLVER_H)
    add_library(softunlearn::cublas INTERFACE IMPORTED)
    target_link_libraries(softunlearn::cublas INTERFACE CUDA::cublas)
    add_library(softunlearn::cusolver INTERFACE IMPORTED)
    target_link_libraries(softunlearn::cusolver INTERFACE CUDA::cusolver)
    set(SOFTUNLEARN_CUDA_LIBRARY_DIRS "${CUDAToolkit_LIBRARY_DIR}")
    set(${_su_ok} TRUE)
  else()
    set(_su_major "${CUDAToolkit_VERSION_MAJOR}")
    execute_process(
      COMMAND "${Python_EXECUTABLE}" -c "
import sys, pathlib
major = int(sys.argv[1])
names = ['cu%d' % major] + (['cublas', 'cusolver', 'cusparse', 'nvjitlink'] if major <= 12 else [])
for kind in ('include', 'lib'):
    dirs = [pathlib.Path(p) / 'nvidia' / n / kind for p in sys.path for n in names]
    print(';'.join(str(d) for d in dirs if d.is_dir()))
" "${_su_major}"
      OUTPUT_VARIABLE _su_wheel_dirs OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    string(REPLACE "\n" "|" _su_wheel_dirs "${_su_wheel_dirs}")
    set(_su_wheel_inc "")
    set(_su_wheel_lib "")
    if(_su_wheel_dirs MATCHES "^([^|]*)\\|([^|]*)$")
      set(_su_wheel_inc "${CMAKE_MATCH_1}")
      set(_su_wheel_lib "${CMAKE_MATCH_2}")
    endif()
    set(_su_headers "")
    set(_su_cublas "")
    set(_su_cusolver "")
    foreach(_d IN LISTS _su_wheel_inc)
      if(EXISTS "${_d}/cublas_v2.h" OR EXISTS "${_d}/cusolverDn.h")
        file(GLOB _su_h "${_d}/cublas*.h" "${_d}/cusolver*.h")
        list(APPEND _su_headers ${_su_h})
      endif()
    endforeach()
    foreach(_d IN LISTS _su_wheel_lib)
      file(GLOB _su_l1 "${_d}/libcublas.so*")
      file(GLOB _su_l2 "${_d}/libcusolver.so*")
      if(_su_l1 AND NOT _su_cublas)
        list(GET _su_l1 0 _su_cublas)
        list(APPEND SOFTUNLEARN_CUDA_LIBRARY_DIRS "${_d}")
      endif()
      if(_su_l2 AND NOT _su_cusolver)
        list(GET _su_l2 0 _su_cusolver)
        list(APPEND SOFTUNLEARN_CUDA_LIBRARY_DIRS "${_d}")
      endif()
    endforeach()
    list(APPEND SOFTUNLEARN_CUDA_LIBRARY_DIRS ${_su_wheel_lib})  # cuSOLVER's own dependencies (cuSPARSE, nvJitLink)
    list(REMOVE_DUPLICATES SOFTUNLEARN_CUDA_LIBRARY_DIRS)
    set(_su_staged "${CMAKE_BINARY_DIR}/softunlearn-cuda-include")
    if(_su_headers)
      file(COPY ${_su_headers} DESTINATION "${_su_staged}")
    endif()
    if(_su_cublas AND _su_cusolver AND EXISTS "${_su_staged}/cublas_v2.h" AND EXISTS "${_su_staged}/cusolverDn.h")
      add_library(softunlearn::cublas SHARED IMPORTED)
      set_target_properties(softunlearn::cublas PROPERTIES IMPORTED_LOCATION "${_su_cublas}"
                                                           INTERFACE_INCLUDE_DIRECTORIES "${_su_staged}")
      add_library(softunlearn::cusolver SHARED IMPORTED)
      set_target_properties(softunlearn::cusolver PROPERTIES IMPORTED_LOCATION "${_su_cusolver}"
                                                             INTERFACE_INCLUDE_DIRECTORIES "${_su_staged}")
      set(SOFTUNLEARN_CUDA_FROM_WHEELS TRUE)
      set(${_su_ok} TRUE)
    else()
      string(CONCAT ${_su_why} "CUDA ${CUDAToolkit_VERSION} was found (${CMAKE_CUDA_COMPILER}) but not cuBLAS and "
                    "cuSOLVER (headers and libraries): neither in the toolkit (${CUDAToolkit_LIBRARY_DIR}) nor from "
                    "the nvidia-cublas/nvidia-cusolver wheels for CUDA ${_su_major} in the build environment")
    endif()
  endif()
endmacro()

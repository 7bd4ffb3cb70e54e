// Every CUDA status is checked and turned into a C++ exception that names the call, so a device
// failure reaches Python as a RuntimeError instead of a wrong answer (cuBLAS and cuSOLVER statuses:
// blas.cuh). Only the CUDA runtime is needed here, so the elementwise kernels build without cuBLAS.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace softunlearn::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

// Kernel launches report configuration errors only through cudaGetLastError.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

}  // namespace softunlearn::cuda

#define SU_CHECK(call) ::softunlearn::cuda::check((call), #call)

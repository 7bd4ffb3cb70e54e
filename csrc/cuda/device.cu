#include "check.cuh"

#include "api.hpp"

namespace softunlearn::cuda {

int device_count(std::string* error) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (error) *error = cudaGetErrorString(e);
    cudaGetLastError();  // not a sticky error: clear it so the next runtime call does not report it
    return 0;
  }
  if (n == 0 && error) *error = "no CUDA device found";
  return n;
}

std::string device_name(int device) {
  cudaDeviceProp prop{};
  SU_CHECK(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

int runtime_version() {
  int v = 0;
  SU_CHECK(cudaRuntimeGetVersion(&v));
  return v;
}

Index device_free_bytes() {
  std::size_t free = 0, total = 0;
  SU_CHECK(cudaMemGetInfo(&free, &total));
  return Index(free);
}

}  // namespace softunlearn::cuda

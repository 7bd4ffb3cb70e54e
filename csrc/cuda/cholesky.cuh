// In-place Cholesky on the device that reports the failing pivot, shared by DeviceCholesky and the fit.
#pragma once

#include <sstream>

#include "api.hpp"
#include "blas.cuh"
#include "buffers.cuh"

namespace softunlearn::cuda {

// A (p×p, column-major, lower triangle read) ← L with A = LLᵀ; throws NotPositiveDefinite naming the
// first failing pivot like the CPU core (cuSOLVER's info is the 1-based order of the failing minor).
template <class T>
void factor_in_place(cusolverDnHandle_t solver, cudaStream_t st, Index p, T* A, DeviceBuffer<T>& work,
                     DeviceBuffer<int>& info) {
  const int lwork = blas::potrf_buffer_size(solver, int(p), A, int(p));
  if (work.size() < std::size_t(lwork)) work.resize(std::size_t(lwork));
  if (info.size() < 1) info.resize(1);
  blas::potrf(solver, int(p), A, int(p), work.get(), lwork, info.get());
  int h_info = 0;
  SU_CHECK(cudaMemcpyAsync(&h_info, info.get(), sizeof(int), cudaMemcpyDeviceToHost, st));
  SU_CHECK(cudaStreamSynchronize(st));
  if (h_info > 0) {
    std::ostringstream msg;
    msg << "Hessian is not positive definite: Cholesky pivot " << (h_info - 1) << " of " << p
        << " is not positive (GPU factorisation); use a stronger regulariser (smaller C), drop collinear or "
           "constant features, or avoid negative sample weights";
    throw NotPositiveDefinite(msg.str(), h_info - 1);
  }
  if (h_info < 0) throw std::runtime_error("cuSOLVER potrf: invalid argument " + std::to_string(-h_info));
}

// B (p×k, column-major) ← A⁻¹B with A's Cholesky factor L in `L`.
template <class T>
void solve_in_place(cusolverDnHandle_t solver, cudaStream_t st, Index p, const T* L, Index k, T* B,
                    DeviceBuffer<int>& info) {
  if (info.size() < 1) info.resize(1);
  blas::potrs(solver, int(p), int(k), L, int(p), B, int(p), info.get());
  int h_info = 0;
  SU_CHECK(cudaMemcpyAsync(&h_info, info.get(), sizeof(int), cudaMemcpyDeviceToHost, st));
  SU_CHECK(cudaStreamSynchronize(st));
  if (h_info != 0) throw std::runtime_error("cuSOLVER potrs: invalid argument " + std::to_string(-h_info));
}

}  // namespace softunlearn::cuda

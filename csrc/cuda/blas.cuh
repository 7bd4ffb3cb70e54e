// float/double overloads of the few cuBLAS and cuSOLVER routines the backend uses, so the templated
// code calls one name. Matrices are column-major; a row-major host block of m rows and d columns is
// the column-major d×m matrix Xᵦᵀ with leading dimension d.
#pragma once

#include <cublas_v2.h>
#include <cusolverDn.h>

#include <string>

#include "check.cuh"

namespace softunlearn::cuda {

inline void check(cublasStatus_t e, const char* what) {
  if (e != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS error in ") + what + ": " + cublasGetStatusString(e));
}

inline void check(cusolverStatus_t e, const char* what) {
  if (e != CUSOLVER_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuSOLVER error in ") + what + ": status " + std::to_string(int(e)));
}

class BlasHandle {
 public:
  explicit BlasHandle(cudaStream_t s) {
    SU_CHECK(cublasCreate(&h_));
    SU_CHECK(cublasSetStream(h_, s));
    // Scalars (α, β) come from host memory.
    SU_CHECK(cublasSetPointerMode(h_, CUBLAS_POINTER_MODE_HOST));
  }
  ~BlasHandle() { cublasDestroy(h_); }
  BlasHandle(const BlasHandle&) = delete;
  BlasHandle& operator=(const BlasHandle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_{};
};

class SolverHandle {
 public:
  explicit SolverHandle(cudaStream_t s) {
    SU_CHECK(cusolverDnCreate(&h_));
    SU_CHECK(cusolverDnSetStream(h_, s));
  }
  ~SolverHandle() { cusolverDnDestroy(h_); }
  SolverHandle(const SolverHandle&) = delete;
  SolverHandle& operator=(const SolverHandle&) = delete;
  cusolverDnHandle_t get() const { return h_; }

 private:
  cusolverDnHandle_t h_{};
};

}  // namespace softunlearn::cuda

namespace softunlearn::cuda::blas {

// C (n×n, lower) = α A Aᵀ + β C, A is n×k.
inline void syrk(cublasHandle_t h, int n, int k, float alpha, const float* A, int lda, float beta, float* C, int ldc) {
  SU_CHECK(cublasSsyrk(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, n, k, &alpha, A, lda, &beta, C, ldc));
}
inline void syrk(cublasHandle_t h, int n, int k, double alpha, const double* A, int lda, double beta, double* C,
                 int ldc) {
  SU_CHECK(cublasDsyrk(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, n, k, &alpha, A, lda, &beta, C, ldc));
}

inline void gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                 const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  SU_CHECK(cublasSgemm(h, ta, tb, m, n, k, &alpha, A, lda, B, ldb, &beta, C, ldc));
}
inline void gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, double alpha,
                 const double* A, int lda, const double* B, int ldb, double beta, double* C, int ldc) {
  SU_CHECK(cublasDgemm(h, ta, tb, m, n, k, &alpha, A, lda, B, ldb, &beta, C, ldc));
}

inline void gemv(cublasHandle_t h, cublasOperation_t t, int m, int n, float alpha, const float* A, int lda,
                 const float* x, float beta, float* y) {
  SU_CHECK(cublasSgemv(h, t, m, n, &alpha, A, lda, x, 1, &beta, y, 1));
}
inline void gemv(cublasHandle_t h, cublasOperation_t t, int m, int n, double alpha, const double* A, int lda,
                 const double* x, double beta, double* y) {
  SU_CHECK(cublasDgemv(h, t, m, n, &alpha, A, lda, x, 1, &beta, y, 1));
}

// y = x with strides (gathers every k-th label for the subsample warm start).
inline void copy(cublasHandle_t h, int n, const float* x, int incx, float* y, int incy) {
  SU_CHECK(cublasScopy(h, n, x, incx, y, incy));
}
inline void copy(cublasHandle_t h, int n, const double* x, int incx, double* y, int incy) {
  SU_CHECK(cublasDcopy(h, n, x, incx, y, incy));
}

inline int potrf_buffer_size(cusolverDnHandle_t h, int n, float* A, int lda) {
  int lwork = 0;
  SU_CHECK(cusolverDnSpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, A, lda, &lwork));
  return lwork;
}
inline int potrf_buffer_size(cusolverDnHandle_t h, int n, double* A, int lda) {
  int lwork = 0;
  SU_CHECK(cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, A, lda, &lwork));
  return lwork;
}

inline void potrf(cusolverDnHandle_t h, int n, float* A, int lda, float* work, int lwork, int* info) {
  SU_CHECK(cusolverDnSpotrf(h, CUBLAS_FILL_MODE_LOWER, n, A, lda, work, lwork, info));
}
inline void potrf(cusolverDnHandle_t h, int n, double* A, int lda, double* work, int lwork, int* info) {
  SU_CHECK(cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, n, A, lda, work, lwork, info));
}

inline void potrs(cusolverDnHandle_t h, int n, int nrhs, const float* A, int lda, float* B, int ldb, int* info) {
  SU_CHECK(cusolverDnSpotrs(h, CUBLAS_FILL_MODE_LOWER, n, nrhs, A, lda, B, ldb, info));
}
inline void potrs(cusolverDnHandle_t h, int n, int nrhs, const double* A, int lda, double* B, int ldb, int* info) {
  SU_CHECK(cusolverDnDpotrs(h, CUBLAS_FILL_MODE_LOWER, n, nrhs, A, lda, B, ldb, info));
}

}  // namespace softunlearn::cuda::blas

#include <algorithm>

#include "check.cuh"
#include "elementwise.cuh"

namespace softunlearn::cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(Index n) {
  // Grid-stride loops: enough blocks to fill the device, never more than the work needs.
  return int(std::max<Index>(1, std::min<Index>((n + kThreads - 1) / kThreads, 65535)));
}

// The same formulas as loss.hpp, so CPU and GPU agree to rounding.
template <class T> __device__ T sigmoid(T z) {
  if (z >= T(0)) return T(1) / (T(1) + exp(-z));
  const T e = exp(z);
  return e / (T(1) + e);
}

template <class T> __device__ T softplus(T z) { return max(z, T(0)) + log1p(exp(-fabs(z))); }

template <class T> __device__ T logistic_value(T z, T y) {
  if (y == T(0)) return softplus(z);
  if (y == T(1)) return softplus(-z);
  return softplus(z) - y * z;
}

template <class T>
__global__ void logistic_terms_kernel(Index m, T* z, const T* bias, const T* y, const T* s, T C, T* loss, T* r,
                                      T* h) {
  for (Index i = blockIdx.x * Index(blockDim.x) + threadIdx.x; i < m; i += Index(gridDim.x) * blockDim.x) {
    T zi = z[i];
    if (bias) {
      zi += *bias;
      z[i] = zi;
    }
    const T si = s ? s[i] : T(1);
    const T yi = y[i];
    const T p = sigmoid(zi);
    loss[i] = si * logistic_value(zi, yi);
    r[i] = C * si * (p - yi);
    h[i] = C * si * (p * (T(1) - p));
  }
}

template <class T>
__global__ void scale_columns_kernel(Index d, Index m, const T* X, Index ldx, const T* w, T sign, T* S) {
  const Index total = d * m;
  for (Index k = blockIdx.x * Index(blockDim.x) + threadIdx.x; k < total; k += Index(gridDim.x) * blockDim.x) {
    const Index i = k / d, j = k - i * d;
    const T wi = sign * w[i];
    S[k] = wi > T(0) ? X[i * ldx + j] * sqrt(wi) : T(0);
  }
}

template <class T>
__global__ void add_to_columns_kernel(Index n, int ncols, T* Z, Index ldz, const T* vals, Index stride) {
  for (Index i = blockIdx.x * Index(blockDim.x) + threadIdx.x; i < n; i += Index(gridDim.x) * blockDim.x)
    for (int c = 0; c < ncols; ++c) Z[i + c * ldz] += vals[c * stride];
}

template <class T>
__global__ void finish_scores_kernel(Index k, Index n, T* Z, const T* u, Index stride, const T* r) {
  const Index total = k * n;
  for (Index t = blockIdx.x * Index(blockDim.x) + threadIdx.x; t < total; t += Index(gridDim.x) * blockDim.x) {
    const Index i = t / k, c = t - i * k;
    Z[t] = (u ? Z[t] + u[c * stride] : Z[t]) * r[i];
  }
}

// Stage 1: block b of column c sums rows b, b + kSumBlocks·blockDim, … (fixed for a given n).
template <class T>
__global__ void partial_sums_kernel(Index n, const T* V, Index ldv, double* partial) {
  __shared__ double buf[kThreads];
  const int c = blockIdx.y;
  double acc = 0;
  for (Index i = blockIdx.x * Index(blockDim.x) + threadIdx.x; i < n; i += Index(gridDim.x) * blockDim.x)
    acc += double(V[i + c * ldv]);
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[c * gridDim.x + blockIdx.x] = buf[0];
}

__global__ void final_sums_kernel(const double* partial, int nblocks, double* out) {
  __shared__ double buf[kThreads];
  const int c = blockIdx.x;
  double acc = 0;
  for (int b = threadIdx.x; b < nblocks; b += blockDim.x) acc += partial[c * nblocks + b];
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[c] = buf[0];
}

template <class T>
__global__ void assemble_hessian_kernel(Index d, bool intercept, T* H, const T* xtw, const double* sum_w,
                                        bool add_identity) {
  const Index p = d + (intercept ? 1 : 0);
  for (Index j = blockIdx.x * Index(blockDim.x) + threadIdx.x; j < d; j += Index(gridDim.x) * blockDim.x) {
    if (add_identity) H[j + j * p] += T(1);
    if (intercept) H[d + j * p] = xtw[j];
  }
  if (intercept && blockIdx.x == 0 && threadIdx.x == 0) H[d + d * p] = T(*sum_w);
}

template <class T> __global__ void symmetrize_lower_kernel(Index p, T* H) {
  const Index total = p * p;
  for (Index t = blockIdx.x * Index(blockDim.x) + threadIdx.x; t < total; t += Index(gridDim.x) * blockDim.x) {
    const Index col = t / p, row = t - col * p;
    if (row < col) H[t] = H[col + row * p];
  }
}

}  // namespace

template <class T>
void logistic_terms(cudaStream_t st, Index m, T* z, const T* bias, const T* y, const T* s, T C, T* loss, T* r, T* h) {
  if (m <= 0) return;
  logistic_terms_kernel<T><<<grid_for(m), kThreads, 0, st>>>(m, z, bias, y, s, C, loss, r, h);
  check_launch("logistic_terms");
}

template <class T>
void scale_columns(cudaStream_t st, Index d, Index m, const T* X, Index ldx, const T* w, T sign, T* S) {
  if (d * m <= 0) return;
  scale_columns_kernel<T><<<grid_for(d * m), kThreads, 0, st>>>(d, m, X, ldx, w, sign, S);
  check_launch("scale_columns");
}

template <class T>
void add_to_columns(cudaStream_t st, Index n, int ncols, T* Z, Index ldz, const T* vals, Index stride) {
  if (n <= 0) return;
  add_to_columns_kernel<T><<<grid_for(n), kThreads, 0, st>>>(n, ncols, Z, ldz, vals, stride);
  check_launch("add_to_columns");
}

template <class T>
void finish_scores(cudaStream_t st, Index k, Index n, T* Z, const T* u_intercept, Index stride, const T* r) {
  if (k * n <= 0) return;
  finish_scores_kernel<T><<<grid_for(k * n), kThreads, 0, st>>>(k, n, Z, u_intercept, stride, r);
  check_launch("finish_scores");
}

template <class T>
void column_sums(cudaStream_t st, Index n, int ncols, const T* V, Index ldv, double* partial, double* out) {
  partial_sums_kernel<T><<<dim3(kSumBlocks, ncols), kThreads, 0, st>>>(n, V, ldv, partial);
  check_launch("column_sums (partial)");
  final_sums_kernel<<<ncols, kThreads, 0, st>>>(partial, kSumBlocks, out);
  check_launch("column_sums (final)");
}

template <class T>
void assemble_hessian(cudaStream_t st, Index d, bool intercept, T* H, const T* xtw, const double* sum_w,
                      bool add_identity) {
  assemble_hessian_kernel<T><<<grid_for(d), kThreads, 0, st>>>(d, intercept, H, xtw, sum_w, add_identity);
  check_launch("assemble_hessian");
}

template <class T> void symmetrize_lower(cudaStream_t st, Index p, T* H) {
  if (p <= 1) return;
  symmetrize_lower_kernel<T><<<grid_for(p * p), kThreads, 0, st>>>(p, H);
  check_launch("symmetrize_lower");
}

#define SU_INSTANTIATE(T)                                                                                    \
  template void logistic_terms<T>(cudaStream_t, Index, T*, const T*, const T*, const T*, T, T*, T*, T*);  \
  template void scale_columns<T>(cudaStream_t, Index, Index, const T*, Index, const T*, T, T*);           \
  template void add_to_columns<T>(cudaStream_t, Index, int, T*, Index, const T*, Index);                  \
  template void finish_scores<T>(cudaStream_t, Index, Index, T*, const T*, Index, const T*);              \
  template void column_sums<T>(cudaStream_t, Index, int, const T*, Index, double*, double*);              \
  template void assemble_hessian<T>(cudaStream_t, Index, bool, T*, const T*, const double*, bool);        \
  template void symmetrize_lower<T>(cudaStream_t, Index, T*);
SU_INSTANTIATE(float)
SU_INSTANTIATE(double)
#undef SU_INSTANTIATE

}  // namespace softunlearn::cuda

// Hand-written kernels for the O(n) and O(np) elementwise work between the cuBLAS calls: the
// logistic loss terms, row scaling by √h, intercept columns, deterministic sums and Hessian assembly.
// Launchers are templates on float/double, instantiated in elementwise.cu.
#pragma once

#include <cuda_runtime.h>

#include "api.hpp"

namespace softunlearn::cuda {

// Blocks of the first stage of column_sums: partial buffers hold kSumBlocks values per column.
inline constexpr int kSumBlocks = 256;

// For i < m: z ← z + b (b = *bias when bias is non-null), then with ℓ the logistic loss of loss.hpp
// loss = s ℓ(z, y), r = C s ℓ'(z, y), h = C s ℓ''(z, y) (s = 1 when null).
template <class T>
void logistic_terms(cudaStream_t st, Index m, T* z, const T* bias, const T* y, const T* s, T C, T* loss, T* r, T* h);

// S (d×m, ld d) = X (d×m, ld ldx) · diag(√max(sign·w, 0)): the rows of a block scaled for SYRK.
template <class T>
void scale_columns(cudaStream_t st, Index d, Index m, const T* X, Index ldx, const T* w, T sign, T* S);

// Z[i, c] += vals[c·stride] for the ncols columns of Z (n×ncols, ld ldz): the intercept term of X̃θ.
template <class T>
void add_to_columns(cudaStream_t st, Index n, int ncols, T* Z, Index ldz, const T* vals, Index stride);

// Z (k×n, ld k) ← (Z + u) ⊙ r per column i, u[c] = u_intercept[c·stride] (skipped when null).
template <class T>
void finish_scores(cudaStream_t st, Index k, Index n, T* Z, const T* u_intercept, Index stride, const T* r);

// out[c] = Σᵢ V[i, c] in double, in a fixed order (two stages, no atomics: runs are reproducible).
// `partial` holds kSumBlocks·ncols doubles.
template <class T>
void column_sums(cudaStream_t st, Index n, int ncols, const T* V, Index ldv, double* partial, double* out);

// The intercept row and corner of the lower triangle of H (p×p, p = d + intercept) from xtw = X̃ᵀw's
// first d entries and *sum_w = Σw, and +1 on the first d diagonal entries when add_identity.
template <class T>
void assemble_hessian(cudaStream_t st, Index d, bool intercept, T* H, const T* xtw, const double* sum_w,
                      bool add_identity);

// Copies the lower triangle of H (p×p) onto the upper one.
template <class T> void symmetrize_lower(cudaStream_t st, Index p, T* H);

}  // namespace softunlearn::cuda

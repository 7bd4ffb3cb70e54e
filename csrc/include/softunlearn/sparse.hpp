// A CSR design matrix and its row-block kernels. They mirror the dense kernels in kernels.hpp
// (same names, overloaded on the design type) so that loss_pass, newton_fit, the CG solver and the
// targets are written once for both. X is never densified.
//
// Accepted CSR: indices in [0, cols) (checked at the Python boundary), unsorted indices, explicit
// zeros and duplicate entries (summed, as scipy does) — every kernel below is a sum over stored
// entries, so none of them needs canonical form.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "types.hpp"

namespace softunlearn {

// A non-owning view of scipy's CSR arrays (indptr, indices, data), index type I = int32 or int64.
template <class T, class I> struct CsrView {
  Index n_rows = 0, n_cols = 0;
  const I* indptr = nullptr;
  const I* indices = nullptr;
  const T* data = nullptr;
  Index rows() const { return n_rows; }
  Index cols() const { return n_cols; }
};

template <class T, class I> struct CsrDesign {
  using Scalar = T;
  CsrView<T, I> X;
  bool intercept;
  Index rows() const { return X.n_rows; }
  Index features() const { return X.n_cols; }
  Index params() const { return X.n_cols + (intercept ? 1 : 0); }
  Index begin(Index i) const { return Index(X.indptr[i]); }
  Index end(Index i) const { return Index(X.indptr[i + 1]); }
};

template <class T, class I> CsrDesign<T, I> make_design(const CsrView<T, I>& X, bool intercept) { return {X, intercept}; }

// x̃ᵢᵀθ
template <class T, class I, class V> inline T csr_row_dot(const CsrDesign<T, I>& D, Index i, const V& theta) {
  T acc = D.intercept ? theta(D.features()) : T(0);
  for (Index k = D.begin(i); k < D.end(i); ++k) acc += D.X.data[k] * theta(Index(D.X.indices[k]));
  return acc;
}

template <class T, class I, class Out>
void predict_block(const CsrDesign<T, I>& D, const VecRef<T>& theta, Index b, Index e, Out&& z) {
  for (Index i = b; i < e; ++i) z(i - b) = csr_row_dot(D, i, theta);
}

// acc += X̃[b:e]ᵀ v[b:e], in acc's scalar (accumulator_t: double for float data, see there).
template <class T, class I, class V, class A>
void xtv_block(const CsrDesign<T, I>& D, const V& v, Index b, Index e, Vec<A>& acc) {
  A total = 0;
  for (Index i = b; i < e; ++i) {
    const A vi = A(v(i - b));
    total += vi;
    for (Index k = D.begin(i); k < D.end(i); ++k) acc(Index(D.X.indices[k])) += A(D.X.data[k]) * vi;
  }
  if (D.intercept) acc(D.features()) += total;
}

// M += Σᵢ wᵢ · (pairs of row i's stored entries), to be finished by finish_gram: M + Mᵀ.
// Each row contributes wᵢ xₐ x_b at (c_b, cₐ) for positions a < b and ½wᵢxₐ² at (cₐ, cₐ), so M + Mᵀ
// is exactly Σ wᵢ x̃ᵢx̃ᵢᵀ whatever the order of the indices and even with duplicate columns (which
// land on the diagonal and are doubled like any other pair). With sorted indices only the lower
// triangle is touched, and the inner loop writes down one column: O(nnzᵢ²/2) work per row, the
// symmetric half of the outer product of its non-zeros. Negative weights need no special path.
// M's scalar A is accumulator_t's: every row adds straight into M, so an entry gathers the rounding
// of all its rows, too much for float (see there).
template <class T, class I, class W, class Work, class A>
void gram_block(const CsrDesign<T, I>& D, const W& w, Index b, Index e, Work&, Mat<A>& M) {
  const Index d = D.features(), p = M.rows();
  A* const Md = M.data();
  const I* const idx = D.X.indices;
  const T* const val = D.X.data;
  A wsum = 0;
  for (Index i = b; i < e; ++i) {
    const A wi = A(w(i - b));
    if (wi == A(0)) continue;
    wsum += wi;
    const Index k0 = D.begin(i), k1 = D.end(i);
    for (Index a = k0; a < k1; ++a) {
      const Index ca = Index(idx[a]);
      const A wa = wi * A(val[a]);
      A* const col = Md + ca * p;
      col[ca] += A(0.5) * wa * A(val[a]);
      for (Index k = a + 1; k < k1; ++k) col[Index(idx[k])] += wa * A(val[k]);
      if (D.intercept) col[d] += wa;
    }
  }
  if (D.intercept) M(d, d) += A(0.5) * wsum;
}

// M ← M + Mᵀ (see gram_block).
template <class T, class I, class A> void finish_gram(const CsrDesign<T, I>&, Mat<A>& M) {
  const Index p = M.rows();
  for (Index j = 0; j < p; ++j) {
    M(j, j) *= A(2);
    for (Index i = j + 1; i < p; ++i) M(i, j) = M(j, i) = M(i, j) + M(j, i);
  }
}

// The scalar that sums over rows (the gradient X̃ᵀr, the Hessian, its products and diagonal) accumulate in. The dense kernels sum
// each row block in registers and add blocks to the accumulator, so float keeps float. A CSR row adds
// straight into the accumulator, so in float an entry carries the rounding of every row it gathers
// (≈ n·ε₃₂): on one-hot data, whose blocks of columns sum to the intercept column, that made the float
// Hessian of Census-KDD indefinite and left its gradient above the stopping test. float CSR
// accumulates in double.
template <class Dsn> struct Accumulator {
  using type = typename Dsn::Scalar;
};
template <class I> struct Accumulator<CsrDesign<float, I>> {
  using type = double;
};
template <class Dsn> using accumulator_t = typename Accumulator<std::remove_cv_t<Dsn>>::type;

// out[b:e] = r[b:e] ⊙ (X̃[b:e] U)
template <class T, class I, class OutBlock>
void scores_block(const CsrDesign<T, I>& D, const Mat<T>& U, const VecRef<T>& r, Index b, Index e, OutBlock&& out) {
  const Index d = D.features();
  for (Index i = b; i < e; ++i) {
    auto row = out.row(i - b);
    if (D.intercept) row = U.row(d);
    else row.setZero();
    for (Index a = D.begin(i); a < D.end(i); ++a) row += D.X.data[a] * U.row(Index(D.X.indices[a]));
    row *= r(i);
  }
}

// acc += X̃[b:e]ᵀ diag(h[b:e]) X̃[b:e] V (one block of the matrix-free Hessian product) in acc's scalar
// (accumulator_t); Z is workspace.
template <class T, class I, class A>
void hessian_matvec_block(const CsrDesign<T, I>& D, const VecRef<T>& h, const Mat<T>& V, Index b, Index e, Mat<T>& Z,
                          Mat<A>& acc) {
  const Index d = D.features(), k = V.cols();
  Z.resize(1, k);
  for (Index i = b; i < e; ++i) {
    // Z = h_i x̃ᵢᵀV, then acc += x̃ᵢ Z: two sweeps over the row's non-zeros.
    if (D.intercept) Z = V.row(d);
    else Z.setZero();
    for (Index a = D.begin(i); a < D.end(i); ++a) Z += D.X.data[a] * V.row(Index(D.X.indices[a]));
    Z *= h(i);
    const auto z = Z.template cast<A>();
    for (Index a = D.begin(i); a < D.end(i); ++a) acc.row(Index(D.X.indices[a])) += A(D.X.data[a]) * z;
    if (D.intercept) acc.row(d) += z;
  }
}

// acc += diag(X̃[b:e]ᵀ diag(h) X̃[b:e]) (the Jacobi preconditioner), in acc's scalar (accumulator_t)
template <class T, class I, class A>
void hessian_diagonal_block(const CsrDesign<T, I>& D, const VecRef<T>& h, Index b, Index e, Vec<A>& acc) {
  A total = 0;
  for (Index i = b; i < e; ++i) {
    const A hi = A(h(i));
    total += hi;
    // Duplicate columns in a row would need (Σ x)² rather than Σ x²: the diagonal is only a
    // preconditioner, so the small difference costs at most a few CG iterations, never accuracy.
    for (Index a = D.begin(i); a < D.end(i); ++a) {
      const A x = A(D.X.data[a]);
      acc(Index(D.X.indices[a])) += hi * x * x;
    }
  }
  if (D.intercept) acc(D.features()) += total;
}

// max |stored x̃ᵢⱼ| capped at 1 (see the dense overload in kernels.hpp).
template <class T, class I> T feature_scale(const CsrDesign<T, I>& D) {
  if (D.intercept) return T(1);
  T top = 0;
  for (Index a = D.begin(0), end = D.end(D.rows() - 1); D.rows() > 0 && a < end; ++a) top = std::max(top, std::abs(D.X.data[a]));
  return std::min(T(1), top);
}

// Row i of X̃ scattered into a dense row (for the mirror attack, whose points are dense anyway).
template <class T, class I, class Row> void densify_row(const CsrDesign<T, I>& D, Index i, Row&& row) {
  for (Index a = D.begin(i); a < D.end(i); ++a) row(Index(D.X.indices[a])) += D.X.data[a];
}

// Every k-th row as an owned CSR copy (the subsample warm start of newton_fit).
template <class T, class I> struct CsrSubsample {
  std::vector<I> indptr, indices;
  std::vector<T> data;
  CsrDesign<T, I> design;
};

template <class T, class I> CsrSubsample<T, I> subsample_rows(const CsrDesign<T, I>& D, Index step, Index m) {
  CsrSubsample<T, I> s;
  s.indptr.reserve(m + 1);
  s.indptr.push_back(0);
  for (Index r = 0; r < m; ++r) {
    const Index i = r * step;
    for (Index a = D.begin(i); a < D.end(i); ++a) {
      s.indices.push_back(D.X.indices[a]);
      s.data.push_back(D.X.data[a]);
    }
    s.indptr.push_back(I(s.indices.size()));
  }
  s.design = {{m, D.features(), s.indptr.data(), s.indices.data(), s.data.data()}, D.intercept};
  return s;
}

}  // namespace softunlearn

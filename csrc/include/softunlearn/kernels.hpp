// Row-block kernels on the implicit design matrix X̃ = [X, 1]. Each has a block form (rows [b, e))
// that a distributed engine can map over partitions and sum, and a whole-matrix form that runs the
// same block form under one static schedule with per-thread accumulators.
// The block forms here are for a dense Design<T>; sparse.hpp overloads them for a CSR design, and the
// whole-matrix forms (templated on the design type `Dsn`) serve both.
#pragma once

#include <cmath>
#include <type_traits>
#include <vector>

#include "parallel.hpp"
#include "sparse.hpp"
#include "types.hpp"

namespace softunlearn {

// Rows per block: about 1 MiB of scaled rows, but never fewer than 512: a thinner rank update
// (64 rows at p = 1000) ran 1.5× slower than a 512-row one.
template <class T> inline Index gram_block_rows(Index p) {
  const Index target_bytes = Index(1) << 20;
  const Index rows = target_bytes / (std::max<Index>(p, 1) * Index(sizeof(T)));
  return std::max<Index>(512, std::min<Index>(rows, 4096));
}
// Rows per block for O(np) passes: a block is read by one GEMV and re-read by a second from L2.
inline constexpr Index kStreamBlock = 256;

// max |x̃ᵢⱼ| capped at 1, for the stopping test's scale (fit.hpp); an intercept column makes it 1 without a pass.
template <class T> T feature_scale(const Design<T>& D) {
  if (D.intercept || D.X.size() == 0) return T(1);
  return std::min(T(1), D.X.cwiseAbs().maxCoeff());
}

// z = X̃ θ on rows [b, e).
template <class T, class Out>
void predict_block(const Design<T>& D, const VecRef<T>& theta, Index b, Index e, Out&& z) {
  const Index d = D.features();
  z.noalias() = D.X.middleRows(b, e - b) * theta.head(d);
  if (D.intercept) z.array() += theta(d);
}

template <class Dsn, class T = typename Dsn::Scalar>
void predict(const Dsn& D, const VecRef<T>& theta, VecOut<T> z, int n_threads) {
  for_row_blocks(D.rows(), kStreamBlock, resolve_threads(n_threads), [&](int, Index b, Index e) {
    predict_block(D, theta, b, e, z.segment(b, e - b));
  });
}

// acc += X̃[b:e]ᵀ v[b:e]
template <class T, class V>
void xtv_block(const Design<T>& D, const V& v, Index b, Index e, VecOut<T> acc) {
  const Index d = D.features();
  acc.head(d).noalias() += D.X.middleRows(b, e - b).transpose() * v;
  if (D.intercept) acc(d) += v.sum();
}

template <class Dsn, class T = typename Dsn::Scalar>
Vec<T> xtv(const Dsn& D, const VecRef<T>& v, int n_threads) {
  const int nt = used_threads(D.rows(), kStreamBlock, resolve_threads(n_threads));
  std::vector<Vec<accumulator_t<Dsn>>> acc(nt, Vec<accumulator_t<Dsn>>::Zero(D.params()));
  for_row_blocks(D.rows(), kStreamBlock, nt, [&](int t, Index b, Index e) {
    xtv_block(D, v.segment(b, e - b), b, e, acc[t]);
  });
  Vec<T> out = Vec<T>::Zero(D.params());
  for (auto& a : acc) out += a.template cast<T>();
  return out;
}

// H_lower += X̃[b:e]ᵀ diag(w) X̃[b:e], only the lower triangle is written. `S` is caller-owned
// workspace (reused across blocks) holding √|wᵢ|·x̃ᵢ so the symmetric rank update (SYRK) does half
// the flops of a GEMM; negative weights (only from deliberately negative sample weights) take a
// second rank update with α = −1.
template <class T, class W>
void gram_block(const Design<T>& D, const W& w, Index b, Index e, RowMat<T>& S, Mat<T>& H) {
  const Index m = e - b, d = D.features(), p = D.params();
  S.resize(m, p);
  bool any_negative = false;
  for (int pass = 0; pass < 2; ++pass) {
    const T sign = pass == 0 ? T(1) : T(-1);
    for (Index i = 0; i < m; ++i) {
      const T wi = sign * w(i);
      any_negative |= wi < T(0);
      const T si = wi > T(0) ? std::sqrt(wi) : T(0);
      S.row(i).head(d) = si * D.X.row(b + i);
      if (D.intercept) S(i, d) = si;
    }
    H.template selfadjointView<Eigen::Lower>().rankUpdate(S.transpose(), sign);
    if (pass == 0 && !any_negative) break;
  }
}

template <class T> void symmetrize_from_lower(Mat<T>& H) {
  H.template triangularView<Eigen::StrictlyUpper>() = H.transpose();
}

// A finished accumulator (accumulator_t's scalar) as the T the caller works in.
template <class T, class A> Mat<T> accumulated(Mat<A>&& M) {
  if constexpr (std::is_same_v<T, A>) return std::move(M);
  else return M.template cast<T>();
}

// The summed gram_block accumulators → the full symmetric matrix.
template <class T> void finish_gram(const Design<T>&, Mat<T>& H) { symmetrize_from_lower(H); }

// Rows per Hessian block: the dense SYRK wants ~1 MiB of rows; a sparse row costs nnzᵢ² regardless.
template <class T> Index gram_block_rows(const Design<T>& D) { return gram_block_rows<T>(D.params()); }
template <class T, class I> Index gram_block_rows(const CsrDesign<T, I>&) { return 1024; }

// X̃ᵀ diag(w) X̃, full symmetric p×p.
template <class Dsn, class T = typename Dsn::Scalar>
Mat<T> weighted_gram(const Dsn& D, const VecRef<T>& w, int n_threads) {
  using Acc = accumulator_t<Dsn>;
  const Index p = D.params(), block = gram_block_rows(D);
  const int nt = used_threads(D.rows(), block, resolve_threads(n_threads));
  std::vector<Mat<Acc>> acc(nt, Mat<Acc>::Zero(p, p));
  std::vector<RowMat<T>> work(nt);
  for_row_blocks(D.rows(), block, nt, [&](int t, Index b, Index e) {
    gram_block(D, w.segment(b, e - b), b, e, work[t], acc[t]);
  });
  for (int t = 1; t < nt; ++t) acc[0] += acc[t];
  finish_gram(D, acc[0]);
  return accumulated<T>(std::move(acc[0]));
}

// Up to this many targets, scores are k dot products per row; beyond, a GEMM on the block.
inline constexpr Index kScoresDotColumns = 8;

// out[b:e] = r[b:e] ⊙ (X̃[b:e] U), U is p×k: one pass over X for k targets. For a few targets Eigen's
// GEMM packs the row block into a buffer first (an extra copy of X per pass); k vectorised dot
// products on each row, read once into L1, stream X at memory speed instead.
template <class T, class OutBlock>
void scores_block(const Design<T>& D, const Mat<T>& U, const VecRef<T>& r, Index b, Index e, OutBlock&& out) {
  const Index d = D.features(), k = U.cols();
  if (k <= kScoresDotColumns) {
    for (Index i = 0; i < e - b; ++i) {
      const auto x = D.X.row(b + i);
      for (Index j = 0; j < k; ++j) out(i, j) = x.dot(U.col(j).head(d));
    }
  } else {
    out.noalias() = D.X.middleRows(b, e - b) * U.topRows(d);
  }
  if (D.intercept) out.rowwise() += U.row(d);
  out.array().colwise() *= r.segment(b, e - b).array();
}

template <class Dsn, class T = typename Dsn::Scalar>
void scores(const Dsn& D, const Mat<T>& U, const VecRef<T>& r, RowMatOut<T> out, int n_threads) {
  for_row_blocks(D.rows(), kStreamBlock, resolve_threads(n_threads), [&](int, Index b, Index e) {
    scores_block(D, U, r, b, e, out.middleRows(b, e - b));
  });
}

// acc += X̃[b:e]ᵀ diag(h[b:e]) X̃[b:e] V: one block of the matrix-free Hessian product; Z is workspace.
template <class T>
void hessian_matvec_block(const Design<T>& D, const VecRef<T>& h, const Mat<T>& V, Index b, Index e, Mat<T>& Z,
                          Mat<T>& acc) {
  const Index d = D.features();
  Z.noalias() = D.X.middleRows(b, e - b) * V.topRows(d);
  if (D.intercept) Z.rowwise() += V.row(d);
  Z.array().colwise() *= h.segment(b, e - b).array();
  acc.topRows(d).noalias() += D.X.middleRows(b, e - b).transpose() * Z;
  if (D.intercept) acc.row(d) += Z.colwise().sum();
}

// acc += diag(X̃[b:e]ᵀ diag(h[b:e]) X̃[b:e]) (the Jacobi preconditioner)
template <class T> void hessian_diagonal_block(const Design<T>& D, const VecRef<T>& h, Index b, Index e, Vec<T>& acc) {
  const Index d = D.features();
  acc.head(d).noalias() += D.X.middleRows(b, e - b).array().square().matrix().transpose() * h.segment(b, e - b);
  if (D.intercept) acc(d) += h.segment(b, e - b).sum();
}

template <class T, class Row> void densify_row(const Design<T>& D, Index i, Row&& row) { row += D.X.row(i); }

// Every k-th row (the subsample warm start of newton_fit): a strided view, no copy.
template <class T> struct DenseSubsample {
  Design<T> design;
};
template <class T> DenseSubsample<T> subsample_rows(const Design<T>& D, Index step, Index m) {
  const Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>> Xs(D.X.data(), m, D.features(),
                                                                   Eigen::OuterStride<>(step * D.X.outerStride()));
  return {{Xs, D.intercept}};
}

}  // namespace softunlearn

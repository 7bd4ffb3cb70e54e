// The L2-regularised empirical risk  J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓ(x̃ᵢᵀθ, yᵢ)  (intercept unpenalised): the
// problem, the fused pass over X that gives loss, gradient and Hessian, the Newton step's factorisation,
// the stopping scale and the fit's result. The damped Newton method itself is newton.hpp.
#pragma once

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "kernels.hpp"
#include "linalg.hpp"
#include "loss.hpp"
#include "types.hpp"

namespace softunlearn {

// `Dsn` is the design type: Design<T> (dense, row-major) or CsrDesign<T, I> (sparse.hpp).
template <class T, class Dsn = Design<T>> struct Problem {
  Dsn design;
  VecRef<T> y;
  VecRef<T> s;  // sample weights; empty means all ones
  T C;
  bool penalised = true;  // false: the data term alone (C Σ sᵢ ℓᵢ and its derivatives, no ½‖w‖², no R)
  T weight(Index i) const { return s.size() ? s(i) : T(1); }
  T weight_sum() const { return s.size() ? s.sum() : T(design.rows()); }
};

template <class T> struct PassResult {
  T loss = 0;    // Σ sᵢ ℓᵢ
  T objective = 0;
  Vec<T> grad;   // ∇J = C X̃ᵀ(s ⊙ ℓ') + Rθ
  Mat<T> H;      // ∇²J = C X̃ᵀ diag(s ⊙ ℓ'') X̃ + R  (empty unless requested)
  Vec<T> h;      // C s ⊙ ℓ''(z): set by Hessian-free Newton passes instead of H
};

// R = diag(1, …, 1, 0): the intercept is not penalised.
template <class Dsn, class T = typename Dsn::Scalar> Vec<T> regulariser_diagonal(const Dsn& D) {
  Vec<T> r = Vec<T>::Ones(D.params());
  if (D.intercept) r(D.features()) = T(0);
  return r;
}

// One pass over X at θ: of J, or with P.penalised false of the data term alone (a row block's share of a
// sum that a distributed engine adds up before adding the penalty once). Optionally writes r = C s ⊙ ℓ'(z)
// (the per-sample gradient scale: sample i's gradient is rᵢ x̃ᵢ) and h = C s ⊙ ℓ''(z) (the Hessian weights).
template <class T, class Loss, class Dsn>
PassResult<T> loss_pass(const Problem<T, Dsn>& P, const VecRef<T>& theta, bool want_hessian, T* r_out, T* h_out,
                        int n_threads, const Loss& loss_fn) {
  const Dsn& D = P.design;
  const Index p = D.params(), d = D.features();
  const Index block = want_hessian ? gram_block_rows(D) : kStreamBlock;
  const int nt = used_threads(D.rows(), block, resolve_threads(n_threads));
  using Acc = accumulator_t<Dsn>;
  std::vector<Vec<Acc>> grad(nt, Vec<Acc>::Zero(p));
  // Not `hess(want_hessian ? nt : 0, Mat<T>::Zero(p, p))`: that materialises a p×p prototype even
  // for zero copies, which is gigabytes once p reaches tens of thousands (the Hessian-free path).
  std::vector<Mat<Acc>> hess;
  if (want_hessian) hess.assign(nt, Mat<Acc>::Zero(p, p));
  std::vector<RowMat<T>> work(nt);
  std::vector<T> loss(nt, T(0));
  for_row_blocks(D.rows(), block, nt, [&](int t, Index b, Index e) {
    const Index m = e - b;
    Vec<T> z(m), g(m), h(m);
    predict_block(D, theta, b, e, z);
    T acc = 0;
    for (Index i = 0; i < m; ++i) {
      T l, d1, d2;
      loss_fn.eval(z(i), P.y(b + i), l, d1, d2);
      const T si = P.weight(b + i);
      acc += si * l;
      g(i) = P.C * si * d1;
      h(i) = P.C * si * d2;
    }
    loss[t] += acc;
    if (r_out) Eigen::Map<Vec<T>>(r_out + b, m) = g;
    if (h_out) Eigen::Map<Vec<T>>(h_out + b, m) = h;
    xtv_block(D, g, b, e, grad[t]);
    if (want_hessian) gram_block(D, h, b, e, work[t], hess[t]);
  });
  PassResult<T> out;
  out.grad = Vec<T>::Zero(p);
  for (int t = 0; t < nt; ++t) {
    out.loss += loss[t];
    out.grad += grad[t].template cast<T>();
  }
  if (P.penalised) out.grad.head(d) += theta.head(d);
  out.objective = (P.penalised ? T(0.5) * theta.head(d).squaredNorm() : T(0)) + P.C * out.loss;
  if (want_hessian) {
    for (int t = 1; t < nt; ++t) hess[0] += hess[t];
    finish_gram(D, hess[0]);
    out.H = accumulated<T>(std::move(hess[0]));
    if (P.penalised) out.H.diagonal().head(d).array() += T(1);
  }
  return out;
}

// The factorisation a Newton step uses. Without a sample inside (squared hinge) or near (smooth hinge,
// by underflow) its margin, a margin loss has no curvature along the unpenalised intercept, and there
// the objective is flat in b as well: when that curvature is zero to working precision (≤ ε^¾ of
// `data_scale` = C Σ sᵢ, the size of the data term, so that a small C is not mistaken for no curvature),
// a Levenberg term √ε·data_scale on that one diagonal entry keeps the step defined and bounded (its
// b-part is then ~0 and the line search does the rest). Curvature above that is left alone, so ordinary
// fits are unaffected. Only the step's copy is damped; the Hessian returned at θ̂ never is.
template <class T>
std::unique_ptr<Cholesky<T>> newton_factor(const Mat<T>& H, Index d, bool intercept, T data_scale) {
  if (intercept) {
    const T eps = std::numeric_limits<T>::epsilon();
    if (H(d, d) >= T(0) && H(d, d) <= std::pow(eps, T(0.75)) * data_scale) {
      Mat<T> damped = H;
      damped(d, d) += std::sqrt(eps) * data_scale;
      return std::make_unique<Cholesky<T>>(damped);
    }
  }
  return std::make_unique<Cholesky<T>>(H);
}

// The stopping test is ‖∇J‖_∞ ≤ tol · C Σ sᵢ · min(1, max|x̃ᵢⱼ|): relative to the size of the data term,
// so that a tiny C Σ sᵢ (a small C, or sample weights normalised to sum to one) still resolves θ — above all
// the unpenalised intercept, whose gradient is all data term — instead of stopping at once on an absolute
// test. The data term's gradient is at most C Σ|sᵢ| · max|x̃ᵢⱼ| · max|ℓ'|, hence the feature factor: without
// it a fit on features of size 1e-8 (no intercept) would pass the test at θ = 0.
template <class T> T stopping_scale(T data_weight) { return data_weight > T(0) ? data_weight : T(1); }
template <class T, class Dsn> T stopping_scale(const Dsn& D, T data_weight) {
  return stopping_scale(data_weight * feature_scale(D));
}

template <class T> struct FitResult {
  Vec<T> theta;
  PassResult<T> at_optimum;  // loss, gradient and Hessian at the returned θ
  int n_iter = 0;
  bool converged = false;
  T grad_norm = 0;  // ‖∇J‖_∞ at the returned θ
  T grad_scale = 0;
  int n_hessian = 0;  // Hessian passes (the O(np²) work); the rest were O(np) gradient passes
  int n_passes = 0;
  int n_warm_iter = 0;  // Newton iterations of the subsample warm start
  std::shared_ptr<const Cholesky<T>> factor;  // the last factorisation a step used (empty if none)
  int n_cg_iter = 0;    // CG iterations of a Hessian-free fit
};

}  // namespace softunlearn

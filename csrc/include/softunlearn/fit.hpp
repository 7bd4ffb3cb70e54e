// The L2-regularised empirical risk  J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓ(x̃ᵢᵀθ, yᵢ) [+ bᵀθ]  (intercept unpenalised):
// one fused pass over X gives loss, gradient and Hessian, and a damped Newton method minimises J.
// The optional linear term bᵀθ is the objective perturbation of certified removal (Guo et al. 2020).
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
  const T* linear = nullptr;  // optional b (length params()) of a bᵀθ term; null means none
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

// One pass over X at θ. Optionally writes r = C s ⊙ ℓ'(z) (the per-sample gradient scale: sample i's
// gradient is rᵢ x̃ᵢ) and h = C s ⊙ ℓ''(z) (the Hessian weights).
template <class T, class Loss, class Dsn>
PassResult<T> loss_pass(const Problem<T, Dsn>& P, const VecRef<T>& theta, bool want_hessian, T* r_out, T* h_out,
                        int n_threads, const Loss& loss_fn) {
  const Dsn& D = P.design;
  const Index p = D.params(), d = D.features();
  const Index block = want_hessian ? gram_block_rows(D) : kStreamBlock;
  const int nt = used_threads(D.rows(), block, resolve_threads(n_threads));
  std::vector<Vec<T>> grad(nt, Vec<T>::Zero(p));
  // Not `hess(want_hessian ? nt : 0, Mat<T>::Zero(p, p))`: that materialises a p×p prototype even
  // for zero copies, which is gigabytes once p reaches tens of thousands (the Hessian-free path).
  std::vector<Mat<T>> hess;
  if (want_hessian) hess.assign(nt, Mat<T>::Zero(p, p));
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
    out.grad += grad[t];
  }
  out.grad.head(d) += theta.head(d);
  out.objective = T(0.5) * theta.head(d).squaredNorm() + P.C * out.loss;
  if (P.linear) {
    const Eigen::Map<const Vec<T>> b(P.linear, p);
    out.grad += b;
    out.objective += b.dot(theta);
  }
  if (want_hessian) {
    for (int t = 1; t < nt; ++t) hess[0] += hess[t];
    out.H = std::move(hess[0]);
    finish_gram(D, out.H);
    out.H.diagonal().head(d).array() += T(1);
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
template <class T, class Dsn>
std::unique_ptr<Cholesky<T>> newton_factor(const Mat<T>& H, const Dsn& D, T data_scale) {
  const Index d = D.features();
  if (D.intercept) {
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

// Damped Newton with lagged Hessians. Stops when ‖∇J‖_∞ ≤ tol · stopping_scale, a scale that does
// not depend on the start (a warm start must not tighten the test).
// The Hessian pass costs O(np²) against O(np) for a gradient pass, so once Newton is in its quadratic
// regime (the gradient shrank ≥ 20× in one step) the last factorisation is reused for chord steps,
// which still contract by ~‖H_k − H*‖/λ_min(H*) per step. A chord step that contracts less than 10×
// brings back a fresh Hessian. The returned Hessian is always evaluated at the returned θ, because
// the influence step reuses it. The full step is tried first with the pass it needs anyway, so a
// line search costs nothing unless the full step fails Armijo.
//
// `hessian_free` solves each Newton system by Jacobi-preconditioned CG on the matrix-free product
// H·v = C X̃ᵀ(h ⊙ X̃v) + Rv (truncated Newton; CG stops at relative residual min(0.5, ‖∇J‖∞/scale), which
// keeps Newton's quadratic convergence, so the last step lands well inside the tolerance as a dense
// step does), for p too large for a dense p×p Hessian; no Hessian is returned then.
//
// `subsample` = k > 1 starts from a loose fit on every k-th row (C scaled by the weight ratio so both
// objectives weigh data alike): the far-from-optimum iterations, where Newton needs a fresh Hessian
// every step, then cost 1/k of a full pass, and the full data needs only the final quadratic steps.
template <class T, class Loss, class Dsn>
FitResult<T> newton_fit(const Problem<T, Dsn>& P, const VecRef<T>& theta0, T tol, int max_iter, int n_threads,
                        const Loss& loss_fn, Index subsample = 0, bool final_hessian = true,
                        bool hessian_free = false) {
  const Dsn& D = P.design;
  const T eps = std::numeric_limits<T>::epsilon();
  FitResult<T> res;
  res.theta = theta0;
  const Index m = subsample > 1 ? D.rows() / subsample : 0;
  std::shared_ptr<const Cholesky<T>> warm_factor;
  if (m >= std::max<Index>(2000, 20 * D.params())) {
    const auto sub = subsample_rows(D, subsample, m);
    Vec<T> ys(m), ss(P.s.size() ? m : 0);
    for (Index i = 0; i < m; ++i) {
      ys(i) = P.y(i * subsample);
      if (ss.size()) ss(i) = P.s(i * subsample);
    }
    const T full = P.weight_sum(), part = ss.size() ? ss.sum() : T(m);
    if (full > T(0) && part > T(0)) {
      const Problem<T, Dsn> Ps{sub.design, ys, ss, P.C * full / part, P.linear};
      try {
        FitResult<T> warm =
            newton_fit<T, Loss>(Ps, theta0, std::sqrt(tol), max_iter, n_threads, loss_fn, 0, false, hessian_free);
        res.theta = warm.theta;
        res.n_warm_iter = warm.n_iter;
        warm_factor = std::move(warm.factor);
      } catch (const Interrupted&) {
        throw;
      } catch (const std::exception&) {
        // A subsample can be degenerate (one class, separable): the full problem decides.
      }
    }
  }
  res.grad_scale = stopping_scale(D, P.C * std::abs(P.weight_sum()));
  auto pass = [&](const Vec<T>& th, bool hessian) {
    ++res.n_passes;
    res.n_hessian += hessian;
    if (!hessian_free) return loss_pass<T, Loss>(P, th, hessian, nullptr, nullptr, n_threads, loss_fn);
    Vec<T> h(D.rows());
    PassResult<T> r = loss_pass<T, Loss>(P, th, false, nullptr, h.data(), n_threads, loss_fn);
    r.h = std::move(h);
    return r;
  };
  const Vec<T> reg = regulariser_diagonal(D);
  // The warm start's last factorisation is of the subsample Hessian with C rescaled: an estimate of
  // the full Hessian good to ~√(p/m), so the first full-data steps can be chord steps with it, each a
  // gradient pass instead of a Hessian assembly.
  std::shared_ptr<const Cholesky<T>> chol = warm_factor;
  bool chord = static_cast<bool>(chol);  // was the last step taken with a lagged Hessian?
  PassResult<T> cur = pass(res.theta, !chord);
  T prev_gn = std::numeric_limits<T>::infinity();
  for (;;) {
    res.grad_norm = cur.grad.template lpNorm<Eigen::Infinity>();
    if (!std::isfinite(res.grad_norm) || !std::isfinite(cur.objective))
      throw NonFinite("the objective or its gradient overflowed during the Newton fit (X or sample_weight has "
                      "entries too large for the working precision); rescale X, e.g. with StandardScaler");
    maybe_check_interrupt();
    const T ratio = res.grad_norm / prev_gn;
    if (res.grad_norm <= tol * res.grad_scale) {
      res.converged = true;
      break;
    }
    if (res.n_iter >= max_iter) break;
    Vec<T> dir;
    if (hessian_free) {
      const T eta = std::min(T(0.5), res.grad_norm / res.grad_scale);
      CGResult<T> cg = cg_solve(D, VecRef<T>(cur.h), VecRef<T>(reg), MatIn<T>(cur.grad), eta,
                                int(std::max<Index>(100, 10 * D.params())), n_threads);
      res.n_cg_iter += cg.iterations[0];
      dir = -cg.X.col(0);
    } else {
      if (cur.H.size()) {
        if (!cur.H.allFinite())
          throw NonFinite("the Hessian overflowed during the Newton fit (X has entries too large for the working "
                          "precision); rescale X, e.g. with StandardScaler");
        chol = newton_factor(cur.H, D, res.grad_scale);
      }
      dir = -chol->solve(cur.grad);
    }
    if (!dir.allFinite())
      throw NonFinite("the Newton direction is not finite (X or C too large for the working precision); rescale X "
                      "or use float64");
    const T slope = cur.grad.dot(dir);
    if (!(slope < T(0))) break;  // no descent direction left at working precision
    const bool lag = !hessian_free && (cur.H.size() ? ratio < T(0.05) : (chord && ratio < T(0.1)));
    // Rounding makes J flat near the optimum; without this slack a perfect step could be refused.
    const T slack = T(64) * eps * (std::abs(cur.objective) + T(1));
    Vec<T> trial = res.theta + dir;
    PassResult<T> next = pass(trial, !lag);
    if (!(next.objective <= cur.objective + T(1e-4) * slope + slack)) {
      // Backtrack along z(α) = z + α X̃·dir: O(n) per trial instead of a pass over X.
      Vec<T> z(D.rows()), dz(D.rows());
      predict(D, res.theta, z, n_threads);
      predict(D, VecRef<T>(dir), dz, n_threads);
      T alpha = 1;
      bool ok = false;
      for (int k = 0; k < 60 && !ok; ++k) {
        maybe_check_interrupt();
        alpha *= T(0.5);
        T loss = 0;
        for (Index i = 0; i < D.rows(); ++i) loss += P.weight(i) * loss_fn.value(T(z(i) + alpha * dz(i)), P.y(i));
        T Ja = T(0.5) * (res.theta.head(D.features()) + alpha * dir.head(D.features())).squaredNorm() + P.C * loss;
        if (P.linear) Ja += Eigen::Map<const Vec<T>>(P.linear, D.params()).dot(res.theta + alpha * dir);
        ok = Ja <= cur.objective + T(1e-4) * alpha * slope + slack;
      }
      if (!ok) break;
      trial = res.theta + alpha * dir;
      next = pass(trial, true);
    }
    chord = !hessian_free && next.H.size() == 0;
    prev_gn = res.grad_norm;
    res.theta = std::move(trial);
    cur = std::move(next);
    ++res.n_iter;
  }
  if (final_hessian && !hessian_free && !cur.H.size()) cur = pass(res.theta, true);
  res.at_optimum = std::move(cur);
  res.factor = std::move(chol);
  return res;
}

}  // namespace softunlearn

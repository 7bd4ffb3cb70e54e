// The damped Newton fit of J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓ(x̃ᵢᵀθ, yᵢ) [+ bᵀθ], written once against an engine:
// every pass over the data goes through it, the O(p)–O(p³) bookkeeping (steps, factorisations, the
// Armijo test, the stopping rule) stays here. An engine E with scalar type T supplies
//
//   Index rows(), features(), params();  bool intercept();  T C(), weight_sum(), feature_scale();
//   PassResult<T> pass(const Vec<T>& θ, bool hessian, bool want_h)   // penalised J, ∇J, ∇²J or h
//   callable line(const Vec<T>& θ, const Vec<T>& dir)                 // α ↦ Σ sᵢ ℓ(x̃ᵢᵀ(θ + α dir))
//   CGResult<T> cg(const Vec<T>& h, const Vec<T>& b, T tol, int max_iter)    // Hessian-free systems
//   pointer-like subsample(Index k, Index m)        // every k-th row, C rescaled; null when degenerate
//
// ProblemEngine (problem_engine.hpp) is the in-memory one; the bindings add one that calls back into
// Python for the CUDA device and distributed arrays.
#pragma once

#include <cmath>
#include <limits>
#include <memory>

#include "fit.hpp"
#include "interrupt.hpp"

namespace softunlearn {

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
// step does), for p too large for a dense p×p Hessian, or wide rows where a Hessian assembly costs
// many passes; no Hessian is returned then. How many CG iterations a step needs depends on the
// conditioning, which nothing cheap predicts (one-hot data can need hundreds per step), so a positive
// `cg_budget` caps their total: a fit that reaches it unconverged finishes with dense steps from where
// it is. The subsample warm start runs under the same budget, so an ill-conditioned problem is usually
// found out there, at 1/k of the cost, and the full fit starts dense with the warm start's factor.
//
// `subsample` = k > 1 starts from a loose fit on every k-th row (C scaled by the weight ratio so both
// objectives weigh data alike): the far-from-optimum iterations, where Newton needs a fresh Hessian
// every step, then cost 1/k of a full pass, and the full data needs only the final quadratic steps.
//
// `linear` (length params(), or null) is b of the bᵀθ term: the objective perturbation of certified
// removal (Guo et al. 2020). It is added here, after each pass, so engines never see it.
template <class Engine, class T = typename Engine::Scalar>
FitResult<T> newton_fit(const Engine& E, const VecRef<T>& theta0, T tol, int max_iter, Index subsample = 0,
                        bool final_hessian = true, bool hessian_free = false, const T* linear = nullptr,
                        int cg_budget = 0) {
  const T eps = std::numeric_limits<T>::epsilon();
  const Index p = E.params(), d = E.features();
  FitResult<T> res;
  res.theta = theta0;
  const Index m = subsample > 1 ? E.rows() / subsample : 0;
  std::shared_ptr<const Cholesky<T>> warm_factor;
  if (m >= std::max<Index>(2000, 20 * p)) {
    const auto sub = E.subsample(subsample, m);
    if (sub) {
      try {
        FitResult<T> warm =
            newton_fit(*sub, theta0, std::sqrt(tol), max_iter, 0, false, hessian_free, linear, cg_budget);
        res.theta = warm.theta;
        res.n_warm_iter = warm.n_iter;
        warm_factor = std::move(warm.factor);
      } catch (const NotPositiveDefinite&) {
        // A subsample can be degenerate (one class, separable): the full problem decides. Anything
        // else (an interrupt, an engine's own error) is the full problem's too, so it propagates.
      } catch (const NonFinite&) {
      }
    }
  }
  res.grad_scale = stopping_scale(E.C() * std::abs(E.weight_sum()) * E.feature_scale());
  // A warm start that left a factorisation took dense steps (it was dense, or spent its CG budget).
  bool free = hessian_free && !warm_factor;
  auto pass = [&](const Vec<T>& th, bool hessian) {
    ++res.n_passes;
    res.n_hessian += hessian && !free;
    PassResult<T> r = E.pass(th, hessian && !free, free);
    if (linear) {
      const Eigen::Map<const Vec<T>> b(linear, p);
      r.grad += b;
      r.objective += b.dot(th);
    }
    return r;
  };
  Vec<T> reg = Vec<T>::Ones(p);
  if (E.intercept()) reg(d) = T(0);
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
    if (free) {
      const T eta = std::min(T(0.5), res.grad_norm / res.grad_scale);
      const int cap = int(std::min<Index>(std::max<Index>(100, 10 * p), std::numeric_limits<int>::max() / 2));
      const int left = cg_budget > 0 ? std::max(cg_budget - res.n_cg_iter, 1) : cap;
      CGResult<T> cg = E.cg(cur.h, cur.grad, eta, std::min(cap, left));
      res.n_cg_iter += cg.iterations[0];
      if (cg_budget > 0 && res.n_cg_iter >= cg_budget && !(cg.residuals[0] <= eta)) {
        free = false;
        cur = pass(res.theta, true);
        continue;
      }
      dir = -cg.X.col(0);
    } else {
      if (cur.H.size()) {
        if (!cur.H.allFinite())
          throw NonFinite("the Hessian overflowed during the Newton fit (X has entries too large for the working "
                          "precision); rescale X, e.g. with StandardScaler");
        chol = newton_factor(cur.H, d, E.intercept(), res.grad_scale);
      }
      dir = -chol->solve(cur.grad);
    }
    if (!dir.allFinite())
      throw NonFinite("the Newton direction is not finite (X or C too large for the working precision); rescale X "
                      "or use float64");
    const T slope = cur.grad.dot(dir);
    if (!(slope < T(0))) break;  // no descent direction left at working precision
    const bool lag = !free && (cur.H.size() ? ratio < T(0.05) : (chord && ratio < T(0.1)));
    // Rounding makes J flat near the optimum; without this slack a perfect step could be refused.
    const T slack = T(64) * eps * (std::abs(cur.objective) + T(1));
    Vec<T> trial = res.theta + dir;
    PassResult<T> next = pass(trial, !lag);
    if (!(next.objective <= cur.objective + T(1e-4) * slope + slack)) {
      const auto line = E.line(res.theta, dir);
      T alpha = 1;
      bool ok = false;
      for (int k = 0; k < 60 && !ok; ++k) {
        maybe_check_interrupt();
        alpha *= T(0.5);
        const T loss = line(alpha);
        T Ja = T(0.5) * (res.theta.head(d) + alpha * dir.head(d)).squaredNorm() + E.C() * loss;
        if (linear) Ja += Eigen::Map<const Vec<T>>(linear, p).dot(res.theta + alpha * dir);
        ok = Ja <= cur.objective + T(1e-4) * alpha * slope + slack;
      }
      if (!ok) break;
      trial = res.theta + alpha * dir;
      next = pass(trial, true);
    }
    chord = !free && next.H.size() == 0;
    prev_gn = res.grad_norm;
    res.theta = std::move(trial);
    cur = std::move(next);
    ++res.n_iter;
  }
  if (final_hessian && !free && !cur.H.size()) cur = pass(res.theta, true);
  res.at_optimum = std::move(cur);
  res.factor = std::move(chol);
  return res;
}

}  // namespace softunlearn

// Gradient ascent/descent unlearning: plain gradient steps on
//     F(θ) = C Σᵢ εᵢ sᵢ ℓᵢ(θ) + ρ J(θ),   J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓᵢ(θ),
// i.e. ascent on the loss of down-weighted samples (εᵢ < 0) scaled by |εᵢ|, descent on up-weighted ones,
// plus an optional retention term ρ J (ρ = 1 makes F the reweighted objective J_ε itself).
// The caller puts vᵢ = sᵢ(εᵢ + ρ) into the engine's weights: then a pass gives C Σ vᵢ ℓᵢ + ½‖w‖², and
// only the regulariser needs rescaling from 1 to ρ. Written against the engine of newton.hpp (plus its
// abs_weight_sum()), so it runs on every engine the Newton fit runs on.
#pragma once

#include <cmath>
#include <limits>
#include <stdexcept>

#include "fit.hpp"
#include "progress.hpp"

namespace softunlearn {

// F and ∇F at θ from one pass over the data with weights s(ε + ρ).
template <class Engine, class T = typename Engine::Scalar>
PassResult<T> ascent_pass(const Engine& E, const Vec<T>& theta, T retain) {
  PassResult<T> r = E.pass(theta, false, false);
  const Index d = E.features();
  r.grad.head(d) -= (T(1) - retain) * theta.head(d);
  r.objective -= (T(1) - retain) * T(0.5) * theta.head(d).squaredNorm();
  return r;
}

// Largest eigenvalue of a symmetric positive semi-definite matrix by power iteration (Rayleigh
// quotient, which approaches λ_max from below).
template <class T> T top_eigenvalue(const Mat<T>& A, int max_iter = 500, T rtol = T(1e-6)) {
  const Index p = A.rows();
  if (p == 0) return T(0);
  Vec<T> v = Vec<T>::Ones(p) / std::sqrt(T(p));
  // A fixed start orthogonal to the top eigenvector would stall: mix in a deterministic perturbation.
  for (Index i = 0; i < p; ++i) v(i) += T(1e-3) * std::sin(T(i + 1));
  v.normalize();
  T lam = 0;
  for (int k = 0; k < max_iter; ++k) {
    Vec<T> w = A * v;
    const T next = v.dot(w);
    const T nw = w.norm();
    if (!(nw > T(0))) return T(0);
    v = w / nw;
    if (k > 0 && std::abs(next - lam) <= rtol * std::abs(next)) return next;
    lam = next;
  }
  return lam;
}

// Curvature scale for the step size: λ_max of C X̃ᵀ diag(aᵢ ℓ''ᵢ(θ)) X̃ + ρR for non-negative weights aᵢ
// carried by `P_abs`. With aᵢ ≥ sᵢ|εᵢ + ρ| it bounds ‖∇²F(θ)‖₂ (∇²F is indefinite when some εᵢ + ρ < 0);
// the Python layer also takes aᵢ ≥ sᵢ and ρ ≥ 1 so that it bounds the training Hessian too.
template <class Engine, class T = typename Engine::Scalar>
T ascent_curvature(const Engine& E_abs, const Vec<T>& theta, T retain) {
  PassResult<T> r = E_abs.pass(theta, true, false);
  const Index d = E_abs.features();
  r.H.diagonal().head(d).array() -= (T(1) - retain);
  return top_eigenvalue(r.H);
}

// θ ← θ − lr ∇F(θ) for `steps` steps, stopping early when ‖∇F‖_∞ ≤ tol · C Σ|vᵢ| (only
// reachable with ρ > 0: pure ascent has no stationary point in general) or when the callback asks.
template <class Engine, class T = typename Engine::Scalar>
LoopResult<T> gradient_steps(const Engine& E, const VecRef<T>& theta0, T retain, T lr, int steps, T tol,
                             const ProgressCallback<T>& callback) {
  if (!(lr > T(0)) || !std::isfinite(lr)) throw std::invalid_argument("lr must be finite and > 0");
  LoopResult<T> res;
  res.theta = theta0;
  res.grad_scale = stopping_scale(E.C() * E.abs_weight_sum() * E.feature_scale());
  PassResult<T> cur = ascent_pass(E, res.theta, retain);
  ++res.n_passes;
  for (;;) {
    if (!std::isfinite(cur.objective)) throw NonFinite("non-finite objective during gradient ascent");
    res.grad_norm = cur.grad.template lpNorm<Eigen::Infinity>();
    if (res.grad_norm <= tol * res.grad_scale) {
      res.converged = true;
      break;
    }
    if (res.n_iter >= steps) break;
    const Vec<T> step = -lr * cur.grad;
    res.theta += step;
    cur = ascent_pass(E, res.theta, retain);
    ++res.n_passes;
    ++res.n_iter;
    if (report_progress(callback, res, cur.objective, cur.grad, step.norm(), tol)) break;
  }
  res.objective = cur.objective;
  return res;
}

}  // namespace softunlearn

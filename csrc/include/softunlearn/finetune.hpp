// Fine-tuning: minimise J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓᵢ(θ) from a start θ₀ by full-batch L-BFGS, where the
// caller puts the changed sample weights sᵢ(1 + εᵢ) into the engine's data. Every trial point costs one
// fused loss/gradient pass (no Hessian), so an iteration costs O(np) — the "fine-tuning" baseline of the
// unlearning literature, run here to convergence or to an iteration budget. Written against the engine
// of newton.hpp (only its C(), weight_sum(), feature_scale() and gradient passes), so it runs on every
// engine the Newton fit runs on.
#pragma once

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "fit.hpp"
#include "progress.hpp"

namespace softunlearn {

namespace detail {

// Minimiser of the cubic matching φ and φ' at a and b, or NaN when the fit has no real minimiser.
template <class T> T cubic_minimiser(T a, T fa, T da, T b, T fb, T db) {
  const T d1 = da + db - T(3) * (fa - fb) / (a - b);
  const T disc = d1 * d1 - da * db;
  if (!(disc >= T(0))) return std::numeric_limits<T>::quiet_NaN();
  const T d2 = (b > a ? T(1) : T(-1)) * std::sqrt(disc);
  const T den = db - da + T(2) * d2;
  if (den == T(0)) return std::numeric_limits<T>::quiet_NaN();
  return b - (b - a) * (db + d2 - d1) / den;
}

template <class T> struct LineTrial {
  T alpha = 0, phi = 0, dphi = 0;
  PassResult<T> pass;
};

}  // namespace detail

// Strong-Wolfe line search (Nocedal & Wright, Algorithms 3.5 and 3.6, cubic interpolation with
// safeguards) along θ + α·dir. `eval(α)` returns the trial with φ(α) = J(θ + α dir) and φ'(α).
// The curvature condition |φ'(α)| ≤ c₂|φ'(0)| guarantees sᵀy > 0, so the L-BFGS pairs stay valid even
// when J is not convex (negative sample weights). Returns false when no acceptable point was found.
template <class T, class Eval>
bool wolfe_search(T phi0, T dphi0, T alpha0, Eval&& eval, detail::LineTrial<T>& out) {
  const T c1 = T(1e-4), c2 = T(0.9);
  // Rounding makes J flat near the optimum; without this slack a good step could be refused.
  const T slack = T(64) * std::numeric_limits<T>::epsilon() * (std::abs(phi0) + T(1));
  auto armijo_fails = [&](const detail::LineTrial<T>& t) {
    return !std::isfinite(t.phi) || t.phi > phi0 + c1 * t.alpha * dphi0 + slack;
  };
  auto curvature_ok = [&](const detail::LineTrial<T>& t) { return std::abs(t.dphi) <= -c2 * dphi0; };
  // Where φ is flat to rounding its values cannot rank trial points, but φ' still can: there the
  // approximate Wolfe conditions of Hager & Zhang (2005) accept a point and the sign of φ' brackets.
  auto flat = [&](const detail::LineTrial<T>& t) { return std::isfinite(t.phi) && std::abs(t.phi - phi0) <= slack; };
  auto approx_wolfe = [&](const detail::LineTrial<T>& t) {
    return flat(t) && c2 * dphi0 <= t.dphi && t.dphi <= (T(2) * c1 - T(1)) * dphi0;
  };

  detail::LineTrial<T> lo;  // α = 0
  lo.phi = phi0;
  lo.dphi = dphi0;
  detail::LineTrial<T> hi;
  bool bracketed = false;
  T alpha = alpha0;
  for (int i = 0; i < 50 && !bracketed; ++i) {
    detail::LineTrial<T> t = eval(alpha);
    if (armijo_fails(t) || (i > 0 && t.phi >= lo.phi)) {
      hi = std::move(t);
      bracketed = true;
    } else if (curvature_ok(t) || approx_wolfe(t)) {
      out = std::move(t);
      return true;
    } else if (t.dphi >= T(0)) {
      hi = std::move(lo);
      lo = std::move(t);
      bracketed = true;
    } else {
      lo = std::move(t);
      alpha *= T(2);
    }
  }
  if (!bracketed) {  // J keeps falling along dir (unbounded below, or a very poor scale): take the last point
    if (lo.alpha > T(0)) {
      out = std::move(lo);
      return true;
    }
    return false;
  }
  // Zoom: lo satisfies Armijo with the lowest φ so far; the minimiser lies between lo and hi.
  for (int i = 0; i < 50; ++i) {
    const T a = lo.alpha, b = hi.alpha, width = std::abs(b - a);
    if (width <= std::numeric_limits<T>::epsilon() * std::max(std::abs(a), std::abs(b))) break;
    T trial = detail::cubic_minimiser(a, lo.phi, lo.dphi, b, hi.phi, hi.dphi);
    const T left = std::min(a, b) + T(0.1) * width, right = std::max(a, b) - T(0.1) * width;
    if (!std::isfinite(trial) || trial < left || trial > right) trial = T(0.5) * (a + b);
    detail::LineTrial<T> t = eval(trial);
    const bool level = flat(t) && flat(lo);  // t ranks as lo's equal; φ' alone updates the bracket
    if (!level && (armijo_fails(t) || t.phi >= lo.phi)) {
      hi = std::move(t);
    } else {
      if (curvature_ok(t) || approx_wolfe(t)) {
        out = std::move(t);
        return true;
      }
      if (t.dphi * (hi.alpha - lo.alpha) >= T(0)) hi = std::move(lo);
      lo = std::move(t);
    }
  }
  // Working precision exhausted: a point with sufficient decrease is still progress.
  if (lo.alpha > T(0)) {
    out = std::move(lo);
    return true;
  }
  return false;
}

// L-BFGS with `memory` curvature pairs, stopping when ‖∇J‖_∞ ≤ tol · C|Σ sᵢ| · min(1, max|x̃ᵢⱼ|)
// (newton_fit's test, so "converged" means the same for both), after max_iter iterations, or when the
// callback asks.
template <class Engine, class T = typename Engine::Scalar>
LoopResult<T> lbfgs_fit(const Engine& E, const VecRef<T>& theta0, T tol, int max_iter, int memory,
                        const ProgressCallback<T>& callback) {
  if (memory < 1) throw std::invalid_argument("memory must be at least 1");
  LoopResult<T> res;
  res.theta = theta0;
  res.grad_scale = stopping_scale(E.C() * std::abs(E.weight_sum()) * E.feature_scale());
  auto pass = [&](const Vec<T>& th) {
    ++res.n_passes;
    return E.pass(th, false, false);
  };
  PassResult<T> cur = pass(res.theta);
  std::vector<Vec<T>> S, Y;  // circular history of sₖ = θₖ₊₁ − θₖ and yₖ = ∇Jₖ₊₁ − ∇Jₖ
  std::vector<T> rho;
  int head = 0;
  auto direction = [&](const Vec<T>& g) {  // two-loop recursion: −H̃⁻¹g
    const int m = static_cast<int>(S.size());
    Vec<T> q = -g;
    std::vector<T> a(m);
    for (int k = 0; k < m; ++k) {
      const int j = (head - 1 - k + m) % m;
      a[j] = rho[j] * S[j].dot(q);
      q -= a[j] * Y[j];
    }
    if (m) {
      const int last = (head - 1 + m) % m;
      q *= S[last].dot(Y[last]) / Y[last].squaredNorm();
    }
    for (int k = m - 1; k >= 0; --k) {
      const int j = (head - 1 - k + m) % m;
      q += (a[j] - rho[j] * Y[j].dot(q)) * S[j];
    }
    return q;
  };
  for (;;) {
    if (!std::isfinite(cur.objective)) throw NonFinite("non-finite objective during fine-tuning");
    res.grad_norm = cur.grad.template lpNorm<Eigen::Infinity>();
    if (res.grad_norm <= tol * res.grad_scale) {
      res.converged = true;
      break;
    }
    if (res.n_iter >= max_iter) break;
    Vec<T> dir = direction(cur.grad);
    T slope = cur.grad.dot(dir);
    if (!(slope < T(0))) {  // lost positive definiteness to rounding: restart from steepest descent
      S.clear(), Y.clear(), rho.clear(), head = 0;
      dir = -cur.grad;
      slope = cur.grad.dot(dir);
    }
    // Without curvature information the first step has unit length; after that L-BFGS is scaled.
    const T alpha0 = S.empty() ? T(1) / std::max(dir.norm(), std::numeric_limits<T>::min()) : T(1);
    detail::LineTrial<T> acc;
    auto eval = [&](T alpha) {
      detail::LineTrial<T> t;
      t.alpha = alpha;
      t.pass = pass(res.theta + alpha * dir);
      t.phi = t.pass.objective;
      t.dphi = t.pass.grad.dot(dir);
      return t;
    };
    if (!wolfe_search<T>(cur.objective, slope, alpha0, eval, acc)) {
      if (S.empty()) break;  // no descent possible at working precision
      S.clear(), Y.clear(), rho.clear(), head = 0;
      continue;
    }
    Vec<T> s = acc.alpha * dir;
    Vec<T> yv = acc.pass.grad - cur.grad;
    const T sy = s.dot(yv);
    if (sy > std::numeric_limits<T>::epsilon() * yv.squaredNorm()) {
      if (static_cast<int>(S.size()) < memory) {
        S.push_back(s), Y.push_back(yv), rho.push_back(T(1) / sy);
        head = static_cast<int>(S.size()) % memory;
      } else {
        S[head] = s, Y[head] = yv, rho[head] = T(1) / sy;
        head = (head + 1) % memory;
      }
    }
    res.theta += s;
    cur = std::move(acc.pass);
    ++res.n_iter;
    if (report_progress(callback, res, cur.objective, cur.grad, s.norm(), tol)) break;
  }
  res.objective = cur.objective;
  return res;
}

}  // namespace softunlearn

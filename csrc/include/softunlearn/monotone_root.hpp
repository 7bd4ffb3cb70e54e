// Roots of monotone piecewise-linear functions of one variable: Newton on the current linear piece
// (exact once the piece is the root's) inside a bracket. Used by the weight LP and the bounded dual.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "types.hpp"

namespace softunlearn {

// Monotone piecewise-linear roots.

template <class E> struct RootResult {
  E at;               // the returned point (E carries x, value, slope, scale and any payload)
  int evals = 0;
  bool at_bound = false;   // F(x_min) ≥ 0: the root is the lower bound
  bool converged = false;
  bool stopped = false;    // control() asked to stop
};

// Root of a nondecreasing, piecewise-linear F on [x_min, ∞), or x_min when F(x_min) ≥ 0. `f(x)` returns
// an E with fields x, value, slope (slope of the linear piece at x) and scale (|value| ≤ rtol·scale
// counts as zero). Newton from the last point jumps to the root of its piece's line, which is exact once
// that piece holds the root; a bracket [a, b] keeps it honest: secant, then bisection, when Newton
// leaves the bracket or stalls, and geometric expansion while no point with F ≥ 0 is known. Before each
// step control(no_upper_flat, evals) may stop the search by returning < 0 (the caller has proved there
// is no root, or spent its budget); no_upper_flat: no point with F ≥ 0 is known and this piece is flat.
template <class T, class F, class Control>
auto monotone_root(F&& f, T x_min, T x0, T x_scale, T rtol, int max_evals, Control&& control)
    -> RootResult<decltype(f(x_min))> {
  using E = decltype(f(x_min));
  const T eps = std::numeric_limits<T>::epsilon();
  const T inf = std::numeric_limits<T>::infinity();
  RootResult<E> r;
  E A{}, B{};
  bool have_a = false, have_b = false;
  T a = x_min, b = inf;
  int slow = 0;
  const T start = (std::isfinite(x0) && x0 > x_min) ? x0 : x_min;
  E cur = f(start);
  r.evals = 1;
  for (;;) {
    if (cur.x <= x_min) {
      if (cur.value >= -rtol * cur.scale) {
        r.at = cur;
        r.at_bound = r.converged = true;
        return r;
      }
    } else if (std::abs(cur.value) <= rtol * cur.scale) {
      r.at = cur;
      r.converged = true;
      return r;
    }
    const T width_before = (have_a && have_b) ? b - a : inf;
    if (cur.value < 0) {
      A = cur, a = cur.x, have_a = true;
    } else {
      B = cur, b = cur.x, have_b = true;
    }
    if (have_a && have_b) {
      slow = (b - a > T(0.5) * width_before) ? slow + 1 : 0;
      if (b - a <= T(4) * eps * std::max(std::abs(a), std::abs(b))) break;
    }
    if (r.evals >= max_evals) break;

    // The caller may stop the search: it knows things this function does not (an LP that proves there
    // is no root, a pass budget). no_upper_flat: no point with F ≥ 0 is known and this piece is flat.
    if (control(!have_b && !(cur.slope > 0), r.evals) < 0) {
      r.at = cur;
      r.stopped = true;
      return r;
    }
    T cand = std::numeric_limits<T>::quiet_NaN();
    if (cur.slope > 0) {
      const T step = cur.value / cur.slope;
      // The root of this piece is within rounding of cur: nothing left to gain.
      if (std::abs(step) <= T(2) * eps * std::max(std::abs(cur.x), x_scale) && cur.x > x_min) {
        r.at = cur;
        r.converged = true;
        return r;
      }
      cand = cur.x - step;
    }
    if (!(cand > a && cand < b) || slow >= 2) {
      if (!have_a && !(cand > a)) {
        cand = x_min;  // Newton points below the bound: the bound itself may be the answer
      } else if (have_a && have_b) {
        cand = a - A.value * (b - a) / (B.value - A.value);
        if (!(cand > a && cand < b) || slow >= 3) cand = a + T(0.5) * (b - a);
      } else if (!have_b) {
        cand = a + T(2) * std::max(a - x_min, x_scale);
        if (!std::isfinite(cand)) break;
      } else {
        cand = x_min + T(0.5) * (b - x_min);  // only b known and its piece is flat: bisect toward the bound
        if (!(cand > x_min)) cand = x_min;
      }
    }
    cur = f(cand);
    ++r.evals;
  }
  if (have_a && have_b) {
    r.at = std::abs(A.value) <= std::abs(B.value) ? A : B;
    r.converged = b - a <= T(4) * eps * std::max(std::abs(a), std::abs(b));
  } else {
    r.at = cur;
  }
  return r;
}

}  // namespace softunlearn

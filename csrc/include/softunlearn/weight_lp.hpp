// The one-constraint LP of the weight QP's feasibility question (see weights.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "monotone_root.hpp"
#include "weight_passes.hpp"

namespace softunlearn {

// The one-constraint LP  R* = max εᵀt' s.t. εᵀu ≥ 0, lo ≤ ε ≤ hi, and its minimum-norm maximiser.
//
// Its dual is min_{κ≥0} Ψ(κ) = Σᵢ σ(t'ᵢ + κuᵢ), σ(x) = hi·x for x > 0 and lo·x for x < 0 (the support
// function of [lo, hi]); Ψ is convex and piecewise linear with breakpoints κᵢ = −t'ᵢ/uᵢ where the slope
// jumps by |uᵢ|(hi − lo), so its minimiser is a weighted quantile. By complementary slackness with κ*,
// every maximiser has εᵢ = hi where t'ᵢ + κ*uᵢ > 0 and lo where < 0; the remaining ("tied") samples
// share the utility budget, and the minimum-norm way to do that is εᵢ = clip(τuᵢ, lo, hi).

template <class T> struct LpResult {
  T value = 0;        // R*, +∞ when unbounded
  T kappa = 0;
  bool unbounded = false;
};

namespace detail {

// Smallest κ such that d0 + Σ_{κᵢ ≤ κ} wᵢ ≥ 0 over pairs (κᵢ, wᵢ); expected O(m) by quickselect.
template <class T> T weighted_crossing(std::vector<std::pair<T, T>>& pts, T d0) {
  T need = -d0;
  std::size_t lo = 0, hi = pts.size();
  auto key = [](const std::pair<T, T>& p, const std::pair<T, T>& q) { return p.first < q.first; };
  T last = pts.empty() ? T(0) : pts[0].first;
  while (hi > lo) {
    const std::size_t mid = lo + (hi - lo) / 2;
    std::nth_element(pts.begin() + lo, pts.begin() + mid, pts.begin() + hi, key);
    T w_left = 0;
    for (std::size_t i = lo; i < mid; ++i) w_left += pts[i].second;
    if (w_left >= need && mid > lo) {
      hi = mid;
    } else {
      need -= w_left;
      if (pts[mid].second >= need) return pts[mid].first;
      need -= pts[mid].second;
      last = pts[mid].first;
      lo = mid + 1;
    }
  }
  // Rounding left a sliver of `need`: the largest breakpoint is where the slope last increased.
  for (const auto& p : pts) last = std::max(last, p.first);
  return last;
}

}  // namespace detail

// Sums of the LP's passes, each a reduction over samples (sums, or min/max for the domain), so that a
// distributed implementation of the passes can combine them chunk by chunk.
template <class T> struct LpDomain {
  T kl = 0, ku = std::numeric_limits<T>::infinity();  // Ψ is finite on [kl, ku]
  bool empty = false;                                  // ... or nowhere
};
template <class T> struct LpTies {
  T r = 0;                      // −Σ uᵢεᵢ over the samples on a bound: what the tied samples must supply
  T reach_pos = 0, reach_neg = 0;  // Σ_tie of the extreme of dir·uᵢεᵢ, dir = +1 and −1
  T ss = 0;                     // Σ_tie uᵢ²
  T n = 0;                      // number of tied samples
};
template <class T> struct LpTieSums { T value = 0, slope = 0, scale = 0; };

// The per-sample rules of the LP, shared by its passes.
namespace lp_rule {
// Narrows the domain for one sample (t' = sign·t).
template <class T> inline void domain(T ti, T ui, bool hi_inf, bool lo_inf, LpDomain<T>& d) {
  if (hi_inf) {  // need ti + κ ui ≤ 0
    if (ui > 0) d.ku = std::min(d.ku, -ti / ui);
    else if (ui < 0) d.kl = std::max(d.kl, -ti / ui);
    else if (ti > 0) d.empty = true;
  }
  if (lo_inf) {  // need ti + κ ui ≥ 0
    if (ui > 0) d.kl = std::max(d.kl, -ti / ui);
    else if (ui < 0) d.ku = std::min(d.ku, -ti / ui);
    else if (ti < 0) d.empty = true;
  }
}
// Right derivative of Ψ at κ, one sample's term: uᵢ times the bound sample i is pushed to just right of κ.
template <class T> inline T slope(T ti, T ui, T kappa, T lo, T hi) {
  const T w = ti + kappa * ui;
  if (w > 0 || (w == 0 && ui > 0)) return ui * hi;
  if (w < 0 || (w == 0 && ui < 0)) return ui * lo;
  return T(0);
}
// A breakpoint (κᵢ, weight) when sample i has one on κ > 0 (t' and u of opposite signs).
template <class T> inline bool breakpoint(T ti, T ui, T lo, T hi, std::pair<T, T>& p) {
  if (ui == 0 || ti == 0 || ((ti > 0) == (ui > 0))) return false;
  p = {-ti / ui, std::abs(ui) * (hi - lo)};
  return true;
}
// εᵢ of the maximiser at κ for a sample on a bound; NaN marks a tied sample (t'ᵢ + κuᵢ within rounding of 0).
template <class T> inline T bound_value(T ti, T ui, T kappa, T lo, T hi, bool lo_inf, bool hi_inf) {
  const T w = ti + kappa * ui;
  const T tol = T(8) * std::numeric_limits<T>::epsilon() * (std::abs(ti) + kappa * std::abs(ui));
  if (w > tol && !hi_inf) return hi;
  if (w < -tol && !lo_inf) return lo;
  return std::numeric_limits<T>::quiet_NaN();
}
// A tied sample's share of the utility budget: clip(dir·τ·uᵢ) (0 where τ·uᵢ is NaN).
template <class T> inline T tie_value(T ui, T dir, T tau, T lo, T hi) {
  const T z = dir * tau * ui;
  return std::isnan(z) ? T(0) : std::min(std::max(z, lo), hi);
}
}  // namespace lp_rule

// R* and the minimum-norm maximiser (into the LP slot of `ps`: see HostWeightPasses for the passes).
template <class Passes, class T = typename Passes::Scalar>
LpResult<T> lp_max_decrease(Passes& ps, T sign, T lo, T hi) {
  const T inf = std::numeric_limits<T>::infinity();
  const T teps = std::numeric_limits<T>::epsilon();
  const bool hi_inf = !(hi < inf), lo_inf = !(lo > -inf);
  LpResult<T> res;

  // Domain of Ψ: an infinite side of the box forbids every sample from pointing to it.
  LpDomain<T> dom;
  if (hi_inf || lo_inf) dom = ps.lp_domain(sign, lo, hi);
  T kl = dom.kl, ku = dom.ku;
  if (kl > ku && kl - ku <= T(8) * teps * kl) ku = kl;
  if (dom.empty || kl > ku) {
    res.value = inf;
    res.unbounded = true;
    return res;
  }

  T kappa = kl;
  if (hi_inf || lo_inf) {
    // Every sample sits on the finite side inside the domain, so Ψ is linear there.
    if (kl < ku) {
      const T d = ps.lp_slope(sign, kl, lo, hi);
      if (d < 0 && std::isfinite(ku)) kappa = ku;
    }
  } else {
    const T d0 = ps.lp_slope(sign, T(0), lo, hi);
    if (d0 < 0) kappa = ps.lp_crossing(sign, lo, hi, d0);
  }
  res.kappa = kappa;

  // The minimum-norm maximiser: samples on a bound, then the tied ones share the utility budget.
  const LpTies<T> ties = ps.lp_assign(sign, kappa, lo, hi);
  const T r = ties.r;  // Σ_tie uᵢεᵢ ≥ r (= r when κ* > 0)
  T dir = 1, tau = 0;
  if (ties.n > 0 && (r > 0 || (r < 0 && kappa > 0))) {
    // Σ_tie uᵢ clip(τ uᵢ) is nondecreasing in τ; solve for τ on the side r points to.
    dir = r > 0 ? T(1) : T(-1);
    // As τ → ∞ each tied εᵢ runs to the bound on the side of dir·uᵢ.
    const T reach = dir > 0 ? ties.reach_pos : ties.reach_neg;
    struct P { T x, value, slope, scale; };
    auto fun = [&](T t) {
      const LpTieSums<T> s = ps.lp_tie_sums(sign, kappa, lo, hi, dir, t);
      return P{t, s.value - std::abs(r), s.slope, s.scale + std::abs(r)};
    };
    if (!(reach > std::abs(r))) {
      tau = inf;  // the tied samples cannot supply more than their extreme
    } else {
      const T x0 = ties.ss > 0 ? std::abs(r) / ties.ss : T(1);
      tau = monotone_root<T>(fun, T(0), x0, x0, T(1e-14), 400, [](bool, int) { return 0; }).at.x;
    }
  }
  res.value = ps.lp_fill(sign, kappa, lo, hi, dir, tau);
  return res;
}

}  // namespace softunlearn

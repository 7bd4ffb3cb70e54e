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

template <class T> inline T support(T x, T lo, T hi) {
  if (x > 0) return hi * x;  // hi = ∞ gives ∞
  if (x < 0) return lo * x;
  return T(0);
}

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

template <class T>
LpResult<T> lp_max_decrease(const VecRef<T>& t, const VecRef<T>& u, T sign, T lo, T hi, T* eps_out) {
  const T inf = std::numeric_limits<T>::infinity();
  const T teps = std::numeric_limits<T>::epsilon();
  const Index n = t.size();
  const bool hi_inf = !(hi < inf), lo_inf = !(lo > -inf);
  LpResult<T> res;

  // Domain of Ψ: an infinite side of the box forbids every sample from pointing to it.
  T kl = 0, ku = inf;
  bool empty = false;
  for (Index i = 0; i < n; ++i) {
    const T ti = sign * t(i), ui = u(i);
    if (hi_inf) {  // need ti + κ ui ≤ 0
      if (ui > 0) ku = std::min(ku, -ti / ui);
      else if (ui < 0) kl = std::max(kl, -ti / ui);
      else if (ti > 0) empty = true;
    }
    if (lo_inf) {  // need ti + κ ui ≥ 0
      if (ui > 0) kl = std::max(kl, -ti / ui);
      else if (ui < 0) ku = std::min(ku, -ti / ui);
      else if (ti < 0) empty = true;
    }
  }
  if (kl > ku && kl - ku <= T(8) * teps * kl) ku = kl;
  if (empty || kl > ku) {
    res.value = inf;
    res.unbounded = true;
    return res;
  }

  // Right derivative of Ψ at κ: Σ uᵢ·(the bound sample i is pushed to just right of κ).
  auto slope_at = [&](T kappa) {
    T d = 0;
    for (Index i = 0; i < n; ++i) {
      const T ui = u(i), w = sign * t(i) + kappa * ui;
      if (w > 0 || (w == 0 && ui > 0)) d += ui * hi;
      else if (w < 0 || (w == 0 && ui < 0)) d += ui * lo;
    }
    return d;
  };
  T kappa = kl;
  if (hi_inf || lo_inf) {
    // Every sample sits on the finite side inside the domain, so Ψ is linear there.
    if (kl < ku) {
      const T d = slope_at(kl);
      if (d < 0 && std::isfinite(ku)) kappa = ku;
    }
  } else {
    const T d0 = slope_at(T(0));
    if (d0 < 0) {
      std::vector<std::pair<T, T>> pts;
      for (Index i = 0; i < n; ++i) {
        const T ti = sign * t(i), ui = u(i);
        if (ui != 0 && ti != 0 && ((ti > 0) != (ui > 0))) pts.emplace_back(-ti / ui, std::abs(ui) * (hi - lo));
      }
      kappa = detail::weighted_crossing(pts, d0);
    }
  }
  res.kappa = kappa;

  // The minimum-norm maximiser.
  std::vector<Index> ties;
  T r = 0;  // utility the tied samples must supply: Σ_tie uᵢεᵢ ≥ r (= r when κ* > 0)
  for (Index i = 0; i < n; ++i) {
    const T ti = sign * t(i), ui = u(i), w = ti + kappa * ui;
    const T tol = T(8) * teps * (std::abs(ti) + kappa * std::abs(ui));
    T e;
    if (w > tol && !hi_inf) e = hi;
    else if (w < -tol && !lo_inf) e = lo;
    else {
      ties.push_back(i);
      e = 0;
    }
    if (eps_out) eps_out[i] = e;
    r -= ui * e;
  }
  if (!ties.empty() && (r > 0 || (r < 0 && kappa > 0))) {
    // Σ_tie uᵢ clip(τ uᵢ) is nondecreasing in τ; solve for τ on the side r points to.
    const T dir = r > 0 ? T(1) : T(-1);
    // As τ → ∞ each tied εᵢ runs to the bound on the side of dir·uᵢ.
    T reach = 0;
    for (Index i : ties) {
      const T du = dir * u(i);
      if (du > 0) reach += du * hi;
      else if (du < 0) reach += du * lo;
    }
    struct P { T x, value, slope, scale; };
    auto fun = [&](T tau) {
      P p{tau, 0, 0, std::abs(r)};
      for (Index i : ties) {
        const T ui = u(i), z = dir * tau * ui;
        const T e = std::min(std::max(z, lo), hi);
        p.value += dir * ui * e;
        if (z > lo && z < hi) p.slope += ui * ui;
        p.scale += std::abs(ui * e);
      }
      p.value -= std::abs(r);
      return p;
    };
    T tau;
    if (!(reach > std::abs(r))) {
      tau = inf;  // the tied samples cannot supply more than their extreme
    } else {
      T ss = 0;
      for (Index i : ties) ss += u(i) * u(i);
      const T x0 = ss > 0 ? std::abs(r) / ss : T(1);
      tau = monotone_root<T>(fun, T(0), x0, x0, T(1e-14), 400, [](bool, int) { return 0; }).at.x;
    }
    if (eps_out)
      for (Index i : ties) {
        const T z = dir * tau * u(i);
        eps_out[i] = std::isnan(z) ? T(0) : std::min(std::max(z, lo), hi);
      }
  }
  if (eps_out) {
    T v = 0;
    for (Index i = 0; i < n; ++i) v += sign * t(i) * eps_out[i];
    res.value = v;
  } else {
    T v = 0;
    for (Index i = 0; i < n; ++i) v += detail::support(sign * t(i) + kappa * u(i), lo, hi);
    res.value = v;
  }
  return res;
}

}  // namespace softunlearn

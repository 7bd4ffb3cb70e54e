// The passes of the weight solvers over (t, u) held in this process's memory.
//
// The solvers (polish_active, lp_max_decrease, BoundedWeights) are written once against the interface
// of this class; the bindings supply a second implementation whose passes are distributed reductions
// over row chunks, each chunk running this class on its rows. Every method is one pass and returns
// sums that add (or, for the LP domain, take min/max) across chunks.
//
// ε lives here, not in the solvers: `clip(…, write)` stores ε = clip(αt + βu) in the ε slot, `correct`
// updates that slot in place and `free_residual` reads it; the LP writes its maximiser to the LP slot,
// and `use_lp` copies it into the ε slot.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "weight_lp.hpp"
#include "weight_passes.hpp"

namespace softunlearn {

template <class T> class HostWeightPasses {
 public:
  using Scalar = T;

  // `eps` (n values, may be null) receives ε; without it ε goes to a buffer owned here. `lp` (n values,
  // may be null) likewise receives the LP's maximiser.
  HostWeightPasses(const VecRef<T>& t, const VecRef<T>& u, int n_threads, T* eps = nullptr, T* lp = nullptr)
      : t_(t), u_(u), nt_(n_threads), eps_(eps), lp_(lp) {}

  Index size() const { return t_.size(); }
  T* eps() { return slot(eps_, eps_buf_); }
  T* lp() { return slot(lp_, lp_buf_); }

  Moments<T> moments() const { return weight_moments<T>(t_, u_, nt_); }
  T residual_norm2(T r) const { return softunlearn::residual_norm2<T>(t_, u_, r, nt_); }

  ClipStats<T> clip(T alpha, T beta, T lo, T hi, bool write) {
    return clip_pass<T>(t_, u_, alpha, beta, lo, hi, write ? eps() : nullptr, nt_, acc_);
  }
  ClipStats<T> correct(T kt, T ku, T alpha, T beta, T lo, T hi) {
    return correct_pass<T>(eps_map(eps()), t_, u_, kt, ku, alpha, beta, lo, hi, nt_);
  }
  T free_residual(T sign, T q, T lo, T hi) {
    return free_residual_norm2<T>(eps_map(eps()), t_, u_, sign, q, lo, hi, nt_);
  }

  // Sums of ε in the ε slot, in index order (the LP point is formed once; its sums need no threads).
  ClipStats<T> stats() {
    ClipStats<T> st;
    const T* e = eps();
    for (Index i = 0; i < t_.size(); ++i) {
      const T te = t_(i) * e[i], ue = u_(i) * e[i];
      st.tt += te; st.tu += ue; st.ee += e[i] * e[i]; st.at += std::abs(te); st.au += std::abs(ue);
    }
    return st;
  }
  // ε slot ← LP slot (ε = 0 when the LP is unbounded and has no maximiser); its sums.
  ClipStats<T> use_lp(bool unbounded) {
    T* e = eps();
    if (unbounded) std::fill(e, e + t_.size(), T(0));
    else std::copy(lp(), lp() + t_.size(), e);
    return stats();
  }

  // ---- the LP's passes (weight_lp.hpp); t' = sign·t ----
  LpDomain<T> lp_domain(T sign, T lo, T hi) const {
    LpDomain<T> d;
    const T inf = std::numeric_limits<T>::infinity();
    for (Index i = 0; i < t_.size(); ++i) lp_rule::domain(sign * t_(i), u_(i), !(hi < inf), !(lo > -inf), d);
    return d;
  }
  T lp_slope(T sign, T kappa, T lo, T hi) const {
    T d = 0;
    for (Index i = 0; i < t_.size(); ++i) d += lp_rule::slope(sign * t_(i), u_(i), kappa, lo, hi);
    return d;
  }
  // The breakpoints κᵢ > 0 with their weights (a distributed selection gathers these from a bracket).
  std::vector<std::pair<T, T>> lp_breakpoints(T sign, T lo, T hi, T above, T upto) const {
    std::vector<std::pair<T, T>> pts;
    std::pair<T, T> p;
    for (Index i = 0; i < t_.size(); ++i)
      if (lp_rule::breakpoint(sign * t_(i), u_(i), lo, hi, p) && p.first > above && p.first <= upto) pts.push_back(p);
    return pts;
  }
  // Smallest κ with d0 + Σ_{κᵢ ≤ κ} wᵢ ≥ 0.
  T lp_crossing(T sign, T lo, T hi, T d0) const {
    auto pts = lp_breakpoints(sign, lo, hi, -std::numeric_limits<T>::infinity(), std::numeric_limits<T>::infinity());
    return detail::weighted_crossing(pts, d0);
  }
  LpTies<T> lp_assign(T sign, T kappa, T lo, T hi) {
    const T inf = std::numeric_limits<T>::infinity();
    const bool hi_inf = !(hi < inf), lo_inf = !(lo > -inf);
    LpTies<T> s;
    T* e = lp();
    for (Index i = 0; i < t_.size(); ++i) {
      const T ui = u_(i), b = lp_rule::bound_value(sign * t_(i), ui, kappa, lo, hi, lo_inf, hi_inf);
      if (std::isnan(b)) {
        e[i] = 0;
        s.n += 1;
        s.ss += ui * ui;
        if (ui > 0) s.reach_pos += ui * hi, s.reach_neg += -ui * lo;
        else if (ui < 0) s.reach_pos += ui * lo, s.reach_neg += -ui * hi;
      } else {
        e[i] = b;
        s.r -= ui * b;
      }
    }
    return s;
  }
  LpTieSums<T> lp_tie_sums(T sign, T kappa, T lo, T hi, T dir, T tau) const {
    const T inf = std::numeric_limits<T>::infinity();
    const bool hi_inf = !(hi < inf), lo_inf = !(lo > -inf);
    LpTieSums<T> s;
    for (Index i = 0; i < t_.size(); ++i) {
      const T ui = u_(i);
      if (!std::isnan(lp_rule::bound_value(sign * t_(i), ui, kappa, lo, hi, lo_inf, hi_inf))) continue;
      const T z = dir * tau * ui, e = std::min(std::max(z, lo), hi);
      s.value += dir * ui * e;
      if (z > lo && z < hi) s.slope += ui * ui;
      s.scale += std::abs(ui * e);
    }
    return s;
  }
  // The tied samples' share at τ (τ = 0: they stay at 0) written to the LP slot; returns Σ t'ᵢεᵢ.
  T lp_fill(T sign, T kappa, T lo, T hi, T dir, T tau) {
    const T inf = std::numeric_limits<T>::infinity();
    const bool hi_inf = !(hi < inf), lo_inf = !(lo > -inf);
    T* e = lp();
    if (tau != 0)
      for (Index i = 0; i < t_.size(); ++i)
        if (std::isnan(lp_rule::bound_value(sign * t_(i), u_(i), kappa, lo, hi, lo_inf, hi_inf)))
          e[i] = lp_rule::tie_value(u_(i), dir, tau, lo, hi);
    T v = 0;
    for (Index i = 0; i < t_.size(); ++i) v += sign * t_(i) * e[i];
    return v;
  }

 private:
  T* slot(T*& p, std::vector<T>& buf) {
    if (!p) {
      buf.resize(t_.size());
      p = buf.data();
    }
    return p;
  }
  Eigen::Map<Vec<T>> eps_map(T* p) const { return Eigen::Map<Vec<T>>(p, t_.size()); }

  VecRef<T> t_, u_;
  int nt_;
  T* eps_;
  T* lp_;
  std::vector<T> eps_buf_, lp_buf_;
  std::vector<ClipStats<T>> acc_;
};

}  // namespace softunlearn

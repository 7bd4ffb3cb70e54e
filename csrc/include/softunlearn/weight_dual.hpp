// The box-bounded weight QP solved through its two-dimensional dual (see weights.hpp for the derivation),
// and the λ path over it.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kinds.hpp"
#include "monotone_root.hpp"
#include "weight_lp.hpp"
#include "weight_passes.hpp"

namespace softunlearn {

// The bounded QP.


template <class T> struct BoundedSolution {
  T rho1 = 0, rho2 = 0;
  ClipStats<T> stats;   // at the returned ε (t, not t': multiply tt by sign)
  WeightStatus status = WeightStatus::Optimal;
  int passes = 0;
  T max_decrease = std::numeric_limits<T>::quiet_NaN();  // R* when the LP was solved
};

// Passes: the passes over (t, u) (HostWeightPasses, or a distributed implementation of its interface);
// the solution's ε is left in its ε slot.
template <class Passes, class T = typename Passes::Scalar> class BoundedWeights {
 public:
  // sign = ±1 orients t (t' = sign·t); delta ≥ 0 is |Δ|; lo ≤ 0 ≤ hi may be ±∞.
  // Throws std::invalid_argument when t or u is not finite.
  BoundedWeights(Passes& passes, T sign, T delta, T lo, T hi)
      : ps_(passes), sign_(sign), delta_(delta), lo_(lo), hi_(hi) {
    mom_ = ps_.moments();
    check_finite_moments(double(mom_.a), double(mom_.b));
  }

  // Solves for ρ₁ ≥ rho_min = 1/(2λ), warm-started from the previous call; ε goes to the ε slot of the
  // passes. With want_eps false (a λ path) ε is formed only when the polish needs it.
  BoundedSolution<T> solve(T rho_min, bool want_eps = true) {
    passes_ = 0;
    BoundedSolution<T> sol;
    // Feasibility does not depend on λ, nor does the optimum of a degenerate problem (its feasible
    // set is one face of the LP, on which the minimum-norm point is the optimum for every λ).
    if (have_last_ && (last_.status == WeightStatus::Infeasible || last_.status == WeightStatus::Degenerate))
      return remember(from_lp(last_.status), rho_min);
    if (delta_ > 0 && reach_box() < delta_ - feas_tol(reach_box()))
      return remember(from_lp(WeightStatus::Infeasible), rho_min);
    // The previous optimum stays optimal while its ρ₁ ≥ ρ_min: the same ε with μ₁ = (ρ₁ − ρ_min)/ρ_min
    // ≥ 0 satisfies KKT as long as the target constraint was active (or ρ_min is unchanged). Along a
    // λ path this makes the whole target-active range free.
    if (have_last_ && last_.status == WeightStatus::Optimal && last_.rho1 >= rho_min &&
        (last_.rho1 > last_rho_min_ || last_.rho1 == rho_min)) {
      sol = last_;
      if (want_eps) {
        sol.stats = pass(sol.rho1, sol.rho2, true);
        finish(sol, rho_min, polish_needed(sol, rho_min));
      }
      sol.passes = passes_;
      return remember(sol, rho_min);
    }

    const T cp = sign_ * mom_.c;
    if (!warm_) {
      // The unbounded optimum (the unified closed form of docs/conventions.md) is exact when nothing clips, and close when little does.
      const T g2 = cp < 0 && mom_.b > 0 ? std::max(mom_.a - cp * cp / mom_.b, T(0)) : mom_.a;
      last_r1_ = g2 > 0 ? std::max(rho_min, delta_ / g2) : rho_min;
      last_r2_ = cp < 0 && mom_.b > 0 ? -last_r1_ * cp / mom_.b : T(0);
      dr1_ = 0;
      if (!std::isfinite(last_r1_) || !std::isfinite(last_r2_)) last_r1_ = rho_min, last_r2_ = 0;
    }
    const T x2_scale = mom_.b > 0 && mom_.a > 0 ? rho_min * std::sqrt(mom_.a / mom_.b) : rho_min;
    bool infeasible = false;

    struct Inner { T x, value, slope, scale; ClipStats<T> st; };
    struct Outer { T x, value, slope, scale; T r1; ClipStats<T> st; };
    auto outer_eval = [&](T r2) {
      const T guess = std::max(rho_min, last_r1_ + dr1_ * (r2 - last_r2_));
      auto inner_eval = [&](T r1) {
        Inner e{r1, 0, 0, 0, pass(r1, r2, false)};
        e.value = sign_ * e.st.tt - delta_;
        e.slope = e.st.m11;
        e.scale = e.st.at + delta_;
        return e;
      };
      const auto in = monotone_root<T>(inner_eval, rho_min, guess, rho_min, kRtol, kMaxEvals,
                                       [&](bool, int) { return passes_ > kPassBudget ? -1 : 0; });
      const ClipStats<T>& st = in.at.st;
      const T m12 = sign_ * st.m12;
      Outer o{r2, st.tu, st.m22, st.au, in.at.x, st};
      if (!in.at_bound && st.m11 > 0) {
        o.slope = std::max(T(0), st.m22 - m12 * m12 / st.m11);
        dr1_ = -m12 / st.m11;
      } else {
        dr1_ = 0;
      }
      last_r1_ = in.at.x;
      last_r2_ = r2;
      return o;
    };
    auto control = [&](bool no_upper_flat, int evals) {
      if (passes_ > kPassBudget) return -1;
      // A long search, or no ρ₂ with Σuε ≥ 0 in sight, may mean the primal is infeasible and the dual
      // unbounded (where rounding at huge ρ can even fake a bracket). Only the LP can tell; it costs
      // a selection over n, so it is asked for only then, once.
      if (!lp_known_ && !(no_upper_flat || evals >= 10 || passes_ >= 40)) return 0;
      const LpResult<T>& lp = ensure_lp();
      infeasible = !lp.unbounded && lp.value < delta_ - feas_tol(lp.value);
      return infeasible ? -1 : 0;
    };
    const auto out = monotone_root<T>(outer_eval, T(0), last_r2_, x2_scale, kRtol, kMaxEvals, control);
    if (infeasible) return from_lp(WeightStatus::Infeasible);

    sol.rho1 = out.at.r1;
    sol.rho2 = out.at.x;
    sol.stats = out.at.st;
    // The dual iterate fixes the active set; the polished ε is exact on it even where the dual could
    // not resolve ρ (nearly collinear free parts of t and u make the outer function noisy). When the
    // dual is already at working accuracy the polish is skipped, and so is ε on a path.
    const bool need_polish = polish_needed(sol, rho_min);
    if (want_eps || need_polish) {
      sol.stats = pass(sol.rho1, sol.rho2, true);
      finish(sol, rho_min, need_polish);
    }
    const T ne = std::sqrt(sol.stats.ee);
    // Multipliers of a weakly active constraint polish to ±rounding around their bound.
    const T r2_scale = mom_.b > 0 ? sol.rho1 * std::sqrt(mom_.a / mom_.b) : sol.rho1;
    const bool primal_ok = sign_ * sol.stats.tt >= delta_ - T(1e-9) * (ne * std::sqrt(mom_.a) + delta_) &&
                           sol.stats.tu >= -T(1e-9) * ne * std::sqrt(mom_.b) &&
                           sol.rho1 >= rho_min * (T(1) - T(1e-9)) && sol.rho2 >= -T(1e-9) * r2_scale;
    sol.rho1 = std::max(sol.rho1, rho_min);
    sol.rho2 = std::max(sol.rho2, T(0));
    if (!out.converged || !primal_ok || !std::isfinite(sol.rho1) || !std::isfinite(sol.rho2)) {
      const LpResult<T>& lp = ensure_lp();
      if (!lp.unbounded && lp.value < delta_ - feas_tol(lp.value)) return from_lp(WeightStatus::Infeasible);
      if (!lp.unbounded && lp.value <= delta_ + feas_tol(lp.value)) return from_lp(WeightStatus::Degenerate);
      sol.status = WeightStatus::NotConverged;
      warm_ = false;
    } else {
      sol.status = WeightStatus::Optimal;
      warm_ = true;
    }
    sol.passes = passes_;
    if (lp_known_) sol.max_decrease = lp_.unbounded ? std::numeric_limits<T>::infinity() : lp_.value;
    return remember(sol, rho_min);
  }

  // The LP was solved and has a maximiser (then in the LP slot of the passes).
  bool has_lp_point() const { return lp_known_ && !lp_.unbounded; }
  const Moments<T>& moments() const { return mom_; }

 private:
  static constexpr T kRtol = T(1e-13);
  static constexpr int kMaxEvals = 200;
  // Typical solves take 3–20 passes; only near-degenerate ones (Δ' within ~1e-6 of the largest
  // reachable decrease, with nearly collinear t and u) come near this.
  static constexpr int kPassBudget = 500;

  ClipStats<T> pass(T r1, T r2, bool write) {
    ++passes_;
    return ps_.clip(sign_ * r1, r2, lo_, hi_, write);
  }

  T feas_tol(T ref) const { return T(1e-12) * std::max(std::abs(ref), delta_); }

  BoundedSolution<T> remember(const BoundedSolution<T>& s, T rho_min) {
    last_ = s;
    last_rho_min_ = rho_min;
    have_last_ = true;
    return s;
  }

  // Residuals of the active constraints, weighted by 1 + μ (the duality gap they cause), above 1e-12.
  bool polish_needed(const BoundedSolution<T>& s, T rho_min) const {
    const ClipStats<T>& st = s.stats;
    T r = 0;
    if (s.rho1 > rho_min)
      r = std::max(r, std::abs(sign_ * st.tt - delta_) / (st.at + delta_ + T(1e-300)) * (s.rho1 / rho_min));
    if (s.rho2 > 0) r = std::max(r, std::abs(st.tu) / (st.au + T(1e-300)) * (T(1) + s.rho2 / rho_min));
    return !(r <= T(1e-12));
  }

  // After a pass wrote ε = clip(ρ·(t', u)) to the ε slot: the polish (if asked) and its multipliers.
  void finish(BoundedSolution<T>& sol, T rho_min, bool polish) {
    if (!polish) return;
    T al = sign_ * sol.rho1, be = sol.rho2;
    sol.stats = polish_active(ps_, sign_, delta_, lo_, hi_, sol.rho1 > rho_min, sol.rho2 > 0, sol.stats, al, be, 8,
                              &passes_);
    sol.rho1 = sign_ * al;
    sol.rho2 = be;
  }

  // max εᵀt' over the box alone: an upper bound on R* that needs no LP.
  T reach_box() const {
    const T pos = sign_ > 0 ? mom_.tpos : mom_.tneg, neg = sign_ > 0 ? mom_.tneg : mom_.tpos;
    return (pos > 0 ? hi_ * pos : T(0)) + (neg > 0 ? -lo_ * neg : T(0));
  }

  const LpResult<T>& ensure_lp() {
    if (!lp_known_) {
      lp_ = lp_max_decrease(ps_, sign_, lo_, hi_);
      lp_known_ = true;
    }
    return lp_;
  }

  BoundedSolution<T> from_lp(WeightStatus status) {
    ensure_lp();
    BoundedSolution<T> sol;
    sol.status = status;
    const T nan = std::numeric_limits<T>::quiet_NaN();
    sol.rho1 = sol.rho2 = nan;
    const T inf = std::numeric_limits<T>::infinity();
    sol.stats = ps_.use_lp(lp_.unbounded);
    sol.max_decrease = lp_.unbounded ? inf : lp_.value;
    sol.passes = passes_;
    return sol;
  }

  Passes& ps_;
  T sign_, delta_, lo_, hi_;
  Moments<T> mom_;
  bool warm_ = false;
  T last_r1_ = 0, last_r2_ = 0, dr1_ = 0;
  bool lp_known_ = false;
  LpResult<T> lp_;
  BoundedSolution<T> last_;
  T last_rho_min_ = 0;
  bool have_last_ = false;
  int passes_ = 0;
};

// One solve per ρ_min, in increasing order so each warm start is the previous optimum: once the target
// constraint is active (ρ₁* > ρ_min) the optimum does not depend on λ and the check costs one pass.
template <class Passes, class T = typename Passes::Scalar>
std::vector<BoundedSolution<T>> bounded_path(BoundedWeights<Passes>& solver, const VecRef<T>& rho_mins) {
  const Index L = rho_mins.size();
  std::vector<Index> order(L);
  for (Index k = 0; k < L; ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](Index i, Index j) { return rho_mins(i) < rho_mins(j); });
  std::vector<BoundedSolution<T>> out(L);
  for (Index k : order) out[k] = solver.solve(rho_mins(k), false);
  return out;
}

}  // namespace softunlearn

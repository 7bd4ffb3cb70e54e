// The weight QP (DESIGN §1) in oriented form: with t' = s·t (s = sign of Δ, so Δ' = |Δ| ≥ 0),
//
//   minimise  −εᵀt' + λ‖ε‖²   subject to  εᵀt' ≥ Δ',  εᵀu ≥ 0,  lo ≤ εᵢ ≤ hi   (lo ≤ 0 ≤ hi).
//
// Stationarity of the Lagrangian with multipliers μ₁, μ₂ ≥ 0 on the two linear constraints gives
// εᵢ = clip(ρ₁t'ᵢ + ρ₂uᵢ, lo, hi) with ρ₁ = (1 + μ₁)/(2λ) ≥ 1/(2λ) and ρ₂ = μ₂/(2λ) ≥ 0. In ρ the
// problem depends on λ only through the lower bound ρ₁ ≥ ρ_min = 1/(2λ), which is what makes a λ path
// cheap. The dual is: minimise the convex, C¹, piecewise-quadratic
//   φ(ρ) = Σᵢ ψᵢ(ρ₁t'ᵢ + ρ₂uᵢ) − ρ₁Δ',   ψᵢ(z) = max_{lo≤e≤hi} (z e − e²/2),
// over ρ₁ ≥ ρ_min, ρ₂ ≥ 0. Its gradient (Σ t'ᵢεᵢ − Δ', Σ uᵢεᵢ) is piecewise linear and monotone, so we
// solve it as two nested one-dimensional monotone piecewise-linear root problems, each by Newton on the
// current linear piece (exact as soon as the piece is the root's) inside a bracket. Each evaluation is
// one O(n) vectorised pass over (t, u) that allocates nothing.
//
// The dual fixes the active set; a semismooth-Newton polish of the stored ε on that set then makes the
// constraints hold to rounding even where ρ itself cannot be resolved (free parts of t and u nearly
// collinear, or huge multipliers when Δ' is close to the largest reachable decrease).
//
// Primal infeasibility (Δ' out of reach inside the box without hurting utility) makes the dual
// unbounded; it is decided exactly by the one-constraint LP  max εᵀt' s.t. εᵀu ≥ 0, lo ≤ ε ≤ hi,
// solved by a weighted selection on its dual breakpoints, which also gives the minimum-norm maximiser
// returned in that case.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "kinds.hpp"
#include "parallel.hpp"
#include "types.hpp"

namespace softunlearn {

// Samples per block: two 64 KiB input slices stay in L2 while a block is reduced.
inline constexpr Index kWeightBlock = 8192;

// Sums of one pass at ε = clip(α t + β u, lo, hi). "Free" samples are strictly inside the box: the
// dual's generalised Hessian is Σ_free [t u]ᵀ[t u].
template <class T> struct ClipStats {
  T tt = 0, tu = 0;   // Σ tᵢεᵢ, Σ uᵢεᵢ
  T ee = 0;           // Σ εᵢ²
  T at = 0, au = 0;   // Σ |tᵢεᵢ|, Σ |uᵢεᵢ|: the rounding scale of tt and tu
  T m11 = 0, m12 = 0, m22 = 0;
  T n_free = 0;
  T changed = 0;      // correct_pass: samples that entered or left the box interior
  void add(const ClipStats& o) {
    tt += o.tt; tu += o.tu; ee += o.ee; at += o.at; au += o.au;
    m11 += o.m11; m12 += o.m12; m22 += o.m22; n_free += o.n_free; changed += o.changed;
  }
};

template <bool Write, class T>
inline void clip_block(const T* t, const T* u, Index m, T alpha, T beta, T lo, T hi, T* out, ClipStats<T>& s) {
  T tt = 0, tu = 0, ee = 0, at = 0, au = 0, m11 = 0, m12 = 0, m22 = 0, nf = 0;
#ifdef _OPENMP
#pragma omp simd reduction(+ : tt, tu, ee, at, au, m11, m12, m22, nf)
#endif
  for (Index i = 0; i < m; ++i) {
    const T ti = t[i], ui = u[i];
    const T z = alpha * ti + beta * ui;
    // Branch-free on purpose: which samples clip is data-dependent (often ~half), so branches would
    // mispredict and block vectorisation (measured 3.6× slower).
    const T e = std::min(std::max(z, lo), hi);
    const T f = T((z > lo) & (z < hi));
    if constexpr (Write) out[i] = e;
    const T te = ti * e, ue = ui * e;
    tt += te; tu += ue; ee += e * e;
    at += std::abs(te); au += std::abs(ue);
    m11 += f * ti * ti; m12 += f * ti * ui; m22 += f * ui * ui; nf += f;
  }
  s.tt += tt; s.tu += tu; s.ee += ee; s.at += at; s.au += au;
  s.m11 += m11; s.m12 += m12; s.m22 += m22; s.n_free += nf;
}

// One pass: statistics of ε = clip(α t + β u, lo, hi), writing ε to `out` when it is not null.
// `acc` is caller-owned per-thread storage, reused across passes.
template <class T>
ClipStats<T> clip_pass(const VecRef<T>& t, const VecRef<T>& u, T alpha, T beta, T lo, T hi, T* out,
                       int n_threads, std::vector<ClipStats<T>>& acc) {
  const Index n = t.size();
  const int nt = used_threads(n, kWeightBlock, resolve_threads(n_threads));
  acc.assign(nt, ClipStats<T>{});
  const T* tp = t.data();
  const T* up = u.data();
  for_row_blocks(n, kWeightBlock, nt, [&](int th, Index b, Index e) {
    if (out)
      clip_block<true>(tp + b, up + b, e - b, alpha, beta, lo, hi, out + b, acc[th]);
    else
      clip_block<false>(tp + b, up + b, e - b, alpha, beta, lo, hi, static_cast<T*>(nullptr), acc[th]);
  });
  ClipStats<T> s;
  for (const auto& a : acc) s.add(a);
  return s;
}

template <class T>
ClipStats<T> clip_pass(const VecRef<T>& t, const VecRef<T>& u, T alpha, T beta, T lo, T hi, T* out, int n_threads) {
  std::vector<ClipStats<T>> acc;
  return clip_pass<T>(t, u, alpha, beta, lo, hi, out, n_threads, acc);
}

// One semismooth-Newton step of the stored ε, in place. The multipliers move to (α, β) (z = αt + βu,
// sign folded into α); a free sample (lo < εᵢ < hi) moves by the step itself, εᵢ ← clip(εᵢ − kt·tᵢ −
// ku·uᵢ), a clipped one is re-evaluated from the multipliers, εᵢ ← clip(αtᵢ + βuᵢ), and may become
// free. Returns the statistics of the result (m.. over the samples now free; `changed` counts those
// that entered or left the interior).
//
// Why the stored vector and not ε = clip(αt + βu) alone: α and β carry a relative rounding error of
// eps, so the free part of ε carries one of eps·|α|·|tᵢ|, which leaves a constraint residual
// ≈ eps·|α|·Σ|tᵢuᵢ|. When t and u are nearly collinear on the free set, or the multipliers are huge
// (Δ close to the largest reachable decrease), that is large next to ‖ε‖‖u‖; updating ε by the
// (small) step removes it to rounding.
template <class T>
ClipStats<T> correct_pass(VecOut<T> eps, const VecRef<T>& t, const VecRef<T>& u, T kt, T ku, T alpha, T beta,
                          T lo, T hi, int n_threads) {
  const Index n = t.size();
  const int nt = used_threads(n, kWeightBlock, resolve_threads(n_threads));
  std::vector<ClipStats<T>> acc(nt);
  T* ep = eps.data();
  const T* tp = t.data();
  const T* up = u.data();
  for_row_blocks(n, kWeightBlock, nt, [&](int th, Index b, Index e) {
    T tt = 0, tu = 0, ee = 0, at = 0, au = 0, m11 = 0, m12 = 0, m22 = 0, nf = 0, ch = 0;
#ifdef _OPENMP
#pragma omp simd reduction(+ : tt, tu, ee, at, au, m11, m12, m22, nf, ch)
#endif
    for (Index i = b; i < e; ++i) {
      const T ti = tp[i], ui = up[i];
      const T v = ep[i];
      const T was = T((v > lo) & (v < hi));
      const T step = v - kt * ti - ku * ui, fresh = alpha * ti + beta * ui;
      const T w = std::min(std::max(was * step + (T(1) - was) * fresh, lo), hi);
      ep[i] = w;
      const T f = T((w > lo) & (w < hi));
      ch += std::abs(f - was);
      const T te = ti * w, ue = ui * w;
      tt += te; tu += ue; ee += w * w; at += std::abs(te); au += std::abs(ue);
      m11 += f * ti * ti; m12 += f * ti * ui; m22 += f * ui * ui; nf += f;
    }
    ClipStats<T> s;
    s.tt = tt; s.tu = tu; s.ee = ee; s.at = at; s.au = au; s.m11 = m11; s.m12 = m12; s.m22 = m22; s.n_free = nf;
    s.changed = ch;
    acc[th].add(s);
  });
  ClipStats<T> s;
  for (const auto& a : acc) s.add(a);
  return s;
}

// ‖t'_F − q·u_F‖² over the free samples of ε (lo < εᵢ < hi), t' = sign·t: the squared distance of the
// free part of t' from the span of u, from the residual itself (m11 − m12²/m22 cancels).
template <class T>
T free_residual_norm2(const VecRef<T>& eps, const VecRef<T>& t, const VecRef<T>& u, T sign, T q, T lo, T hi,
                      int n_threads) {
  const T* ep = eps.data();
  const T* tp = t.data();
  const T* up = u.data();
  return parallel_sum<T>(t.size(), kWeightBlock, n_threads, [=](Index i) {
    const T g = sign * tp[i] - q * up[i];
    return T((ep[i] > lo) & (ep[i] < hi)) * g * g;
  });
}

// The step (kt, ku) of correct_pass (kt on the original t) that zeroes the residuals of the active
// constraints — r₁ = εᵀt' − Δ' when the target is active, r₂ = εᵀu when the utility is — on the free
// samples of ε. With both active the free parts of t' and u can be nearly collinear (the optimum of
// a target close to the largest reachable decrease, where the multipliers are huge and a residual of
// 1e-12 in r₁ is a visible duality gap), so the 2×2 system is solved in the orthogonal basis
// (g = t'_F − (m12/m22)u_F, u_F) with ‖g‖² from free_residual_norm2 instead of m11 − m12²/m22.
template <class T>
std::pair<T, T> active_correction(const ClipStats<T>& st, const VecRef<T>& eps, const VecRef<T>& t,
                                  const VecRef<T>& u, T sign, T delta, T lo, T hi, bool target_active,
                                  bool utility_active, int n_threads) {
  const T r1 = sign * st.tt - delta, r2 = st.tu;
  const T m11 = st.m11, m12 = sign * st.m12, m22 = st.m22;
  T k1 = 0, k2 = 0;
  if (target_active && utility_active && m22 > 0) {
    const T q = m12 / m22;
    T g2 = m11 - m12 * q;
    if (g2 < T(1e-6) * m11) g2 = free_residual_norm2<T>(eps, t, u, sign, q, lo, hi, n_threads);
    const T b = r2 / m22;
    if (g2 > T(1e-28) * m11) {
      const T al = (r1 - b * m12) / g2;  // δε_F = −(al·g + b·u_F) = −(al·t'_F + (b − al·q)·u_F)
      k1 = al;
      k2 = b - al * q;
    } else {
      k2 = b;  // t'_F ∥ u_F to working precision: only the utility residual can be removed
    }
  } else if (utility_active && m22 > 0) {
    k2 = r2 / m22;
  } else if (target_active && m11 > 0) {
    k1 = r1 / m11;
  }
  if (!std::isfinite(k1) || !std::isfinite(k2)) k1 = k2 = 0;
  return {sign * k1, k2};
}

// Semismooth-Newton polish of a stored ε = clip(αt + βu) on the constraints held with equality (the
// target when its multiplier is positive, the utility likewise), for at most `max_steps` steps. Each
// step solves for the multiplier change that zeroes the active residuals on the current free set
// (active_correction) and applies it with correct_pass, which also frees clipped samples the new
// multipliers put inside the box, so a slightly wrong active set from the dual is repaired too.
// Stops when the relative residual is at most max(tol, 8·eps) with an unchanged free set, or when a
// step no longer helps. alpha and beta are updated to the multipliers of the returned ε; the caller
// checks sign·α ≥ ρ_min and β ≥ 0.
template <class T>
ClipStats<T> polish_active(VecOut<T> eps, const VecRef<T>& t, const VecRef<T>& u, T sign, T delta, T lo, T hi,
                           bool target_active, bool utility_active, ClipStats<T> st, T& alpha, T& beta,
                           int n_threads, int max_steps = 8, int* passes = nullptr, T tol = T(0)) {
  if (!target_active && !utility_active) return st;
  const T teps = std::numeric_limits<T>::epsilon();
  auto residual = [&](const ClipStats<T>& s) {
    const T ne = std::sqrt(s.ee);
    T r = 0;
    if (target_active) r = std::max(r, std::abs(sign * s.tt - delta) / (s.at + delta + T(1e-300)));
    if (utility_active) r = std::max(r, std::abs(s.tu) / (s.au + T(1e-300)));
    (void)ne;
    return r;
  };
  T res = residual(st);
  const T stop = std::max(tol, T(8) * teps);
  T changed = 0;
  for (int k = 0; k < max_steps && (res > stop || changed > 0); ++k) {
    const auto step = active_correction<T>(st, eps, t, u, sign, delta, lo, hi, target_active, utility_active, n_threads);
    if (step.first == 0 && step.second == 0) break;
    // Intermediate multipliers may leave their bounds (as in any primal-dual active-set method); the
    // caller checks the final ones.
    const T a1 = alpha - step.first, b1 = beta - step.second;
    const ClipStats<T> next = correct_pass<T>(eps, t, u, step.first, step.second, a1, b1, lo, hi, n_threads);
    if (passes) ++*passes;
    alpha = a1;
    beta = b1;
    const T r = residual(next);
    st = next;
    changed = next.changed;
    if (changed == 0 && !(r < T(0.5) * res)) break;
    res = r;
  }
  return st;
}

// a = tᵀt, b = uᵀu, c = tᵀu, and the positive and negative mass of t (Σ max(tᵢ, 0), Σ max(−tᵢ, 0)),
// which give the largest target decrease the box alone allows. a and b are finite iff t and u are
// (short of |tᵢ| > 1e154), which is how callers check their input without another pass.
template <class T> struct Moments { T a = 0, b = 0, c = 0, tpos = 0, tneg = 0; };

template <class T> Moments<T> weight_moments(const VecRef<T>& t, const VecRef<T>& u, int n_threads) {
  const Index n = t.size();
  const int nt = used_threads(n, kWeightBlock, resolve_threads(n_threads));
  std::vector<Moments<T>> acc(nt);
  const T* tp = t.data();
  const T* up = u.data();
  for_row_blocks(n, kWeightBlock, nt, [&](int th, Index b, Index e) {
    T sa = 0, sb = 0, sc = 0, sp = 0, sn = 0;
#ifdef _OPENMP
#pragma omp simd reduction(+ : sa, sb, sc, sp, sn)
#endif
    for (Index i = b; i < e; ++i) {
      const T ti = tp[i], ui = up[i];
      sa += ti * ti; sb += ui * ui; sc += ti * ui;
      sp += std::max(ti, T(0));
      sn += std::max(-ti, T(0));
    }
    Moments<T>& m = acc[th];
    m.a += sa; m.b += sb; m.c += sc; m.tpos += sp; m.tneg += sn;
  });
  Moments<T> m;
  for (const auto& x : acc) {
    m.a += x.a; m.b += x.b; m.c += x.c; m.tpos += x.tpos; m.tneg += x.tneg;
  }
  return m;
}

inline void check_finite_moments(double a, double b) {
  if (!std::isfinite(a)) throw std::invalid_argument("T contains NaN or infinite values (or values whose squares overflow)");
  if (!std::isfinite(b)) throw std::invalid_argument("U contains NaN or infinite values (or values whose squares overflow)");
}

// ‖t − r u‖², computed from the residual itself: a − c²/b cancels catastrophically when t and u are
// nearly collinear, and the closed forms divide by it.
template <class T> T residual_norm2(const VecRef<T>& t, const VecRef<T>& u, T r, int n_threads) {
  const T* tp = t.data();
  const T* up = u.data();
  return parallel_sum<T>(t.size(), kWeightBlock, n_threads, [=](Index i) {
    const T g = tp[i] - r * up[i];
    return g * g;
  });
}

// ---------------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------------
// The bounded QP.


template <class T> struct BoundedSolution {
  T rho1 = 0, rho2 = 0;
  ClipStats<T> stats;   // at the returned ε (t, not t': multiply tt by sign)
  WeightStatus status = WeightStatus::Optimal;
  int passes = 0;
  T max_decrease = std::numeric_limits<T>::quiet_NaN();  // R* when the LP was solved
};

template <class T> class BoundedWeights {
 public:
  // sign = ±1 orients t (t' = sign·t); delta ≥ 0 is |Δ|; lo ≤ 0 ≤ hi may be ±∞.
  // Throws std::invalid_argument when t or u is not finite.
  BoundedWeights(const VecRef<T>& t, const VecRef<T>& u, T sign, T delta, T lo, T hi, int n_threads)
      : t_(t), u_(u), sign_(sign), delta_(delta), lo_(lo), hi_(hi), nt_(n_threads) {
    mom_ = weight_moments<T>(t_, u_, nt_);
    check_finite_moments(double(mom_.a), double(mom_.b));
  }

  // Solves for ρ₁ ≥ rho_min = 1/(2λ), warm-started from the previous call. The solution's ε goes to
  // `eps_out` when given (n values), else to an internal buffer (see write_eps).
  // With want_eps false (a λ path) ε is formed only when the polish needs it.
  BoundedSolution<T> solve(T rho_min, T* eps_out = nullptr, bool want_eps = true) {
    passes_ = 0;
    BoundedSolution<T> sol;
    T* dst = eps_out;
    if (!dst) {
      eps_buf_.resize(t_.size());
      dst = eps_buf_.data();
    }
    last_out_ = dst;
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
        sol.stats = pass(sol.rho1, sol.rho2, dst);
        finish(sol, rho_min, dst, polish_needed(sol, rho_min));
      }
      sol.passes = passes_;
      return remember(sol, rho_min);
    }

    const T cp = sign_ * mom_.c;
    if (!warm_) {
      // The unbounded optimum (DESIGN's unified form) is exact when nothing clips, and close when little does.
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
        Inner e{r1, 0, 0, 0, pass(r1, r2, nullptr)};
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
      sol.stats = pass(sol.rho1, sol.rho2, dst);
      finish(sol, rho_min, dst, need_polish);
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

  // Copies ε of the solution the last solve() returned (when it was not given `eps_out`).
  void write_eps(T* out) const {
    if (last_out_ && last_out_ != out) std::copy(last_out_, last_out_ + t_.size(), out);
  }

  const Vec<T>& lp_eps() const { return lp_eps_; }
  const Moments<T>& moments() const { return mom_; }

 private:
  static constexpr T kRtol = T(1e-13);
  static constexpr int kMaxEvals = 200;
  // Typical solves take 3–20 passes; only near-degenerate ones (Δ' within ~1e-6 of the largest
  // reachable decrease, with nearly collinear t and u) come near this.
  static constexpr int kPassBudget = 500;

  ClipStats<T> pass(T r1, T r2, T* out) {
    ++passes_;
    return clip_pass<T>(t_, u_, sign_ * r1, r2, lo_, hi_, out, nt_, acc_);
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

  // After a pass wrote ε = clip(ρ·(t', u)) to dst: the polish (if asked) and its multipliers.
  void finish(BoundedSolution<T>& sol, T rho_min, T* dst, bool polish) {
    if (!polish) return;
    T al = sign_ * sol.rho1, be = sol.rho2;
    Eigen::Map<Vec<T>> e(dst, t_.size());
    sol.stats = polish_active<T>(e, t_, u_, sign_, delta_, lo_, hi_, sol.rho1 > rho_min, sol.rho2 > 0, sol.stats,
                                 al, be, nt_, 8, &passes_);
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
      lp_eps_.resize(t_.size());
      lp_ = lp_max_decrease<T>(t_, u_, sign_, lo_, hi_, lp_eps_.data());
      if (lp_.unbounded) lp_eps_.resize(0);
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
    ClipStats<T> st;
    for (Index i = 0; i < lp_eps_.size(); ++i) {
      const T e = lp_eps_(i), te = t_(i) * e, ue = u_(i) * e;
      st.tt += te; st.tu += ue; st.ee += e * e; st.at += std::abs(te); st.au += std::abs(ue);
    }
    sol.stats = st;
    if (last_out_ && lp_eps_.size() == t_.size()) std::copy(lp_eps_.data(), lp_eps_.data() + lp_eps_.size(), last_out_);
    sol.max_decrease = lp_.unbounded ? inf : lp_.value;
    sol.passes = passes_;
    return sol;
  }

  VecRef<T> t_, u_;
  T sign_, delta_, lo_, hi_;
  int nt_;
  Moments<T> mom_;
  std::vector<ClipStats<T>> acc_;
  bool warm_ = false;
  T last_r1_ = 0, last_r2_ = 0, dr1_ = 0;
  bool lp_known_ = false;
  LpResult<T> lp_;
  Vec<T> lp_eps_;
  Vec<T> eps_buf_;       // ε of the last solution when solve() was given no `eps_out`
  T* last_out_ = nullptr;
  BoundedSolution<T> last_;
  T last_rho_min_ = 0;
  bool have_last_ = false;
  int passes_ = 0;
};

// One solve per ρ_min, in increasing order so each warm start is the previous optimum: once the target
// constraint is active (ρ₁* > ρ_min) the optimum does not depend on λ and the check costs one pass.
template <class T>
std::vector<BoundedSolution<T>> bounded_path(BoundedWeights<T>& solver, const VecRef<T>& rho_mins) {
  const Index L = rho_mins.size();
  std::vector<Index> order(L);
  for (Index k = 0; k < L; ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](Index i, Index j) { return rho_mins(i) < rho_mins(j); });
  std::vector<BoundedSolution<T>> out(L);
  for (Index k : order) out[k] = solver.solve(rho_mins(k), nullptr, false);
  return out;
}

}  // namespace softunlearn

// The O(n) passes of the weight solvers over (t, u): ε = clip(αt + βu, lo, hi) with its sums, the
// moments (TᵀT, UᵀU, TᵀU), and the semismooth-Newton polish of a stored ε on its active constraints.
// Every pass is one vectorised loop per row block that allocates nothing (see weights.hpp for the QP).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

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
template <class Passes, class T = typename Passes::Scalar>
std::pair<T, T> active_correction(Passes& ps, const ClipStats<T>& st, T sign, T delta, T lo, T hi,
                                  bool target_active, bool utility_active) {
  const T r1 = sign * st.tt - delta, r2 = st.tu;
  const T m11 = st.m11, m12 = sign * st.m12, m22 = st.m22;
  T k1 = 0, k2 = 0;
  if (target_active && utility_active && m22 > 0) {
    const T q = m12 / m22;
    T g2 = m11 - m12 * q;
    if (g2 < T(1e-6) * m11) g2 = ps.free_residual(sign, q, lo, hi);
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
template <class Passes, class T = typename Passes::Scalar>
ClipStats<T> polish_active(Passes& ps, T sign, T delta, T lo, T hi, bool target_active, bool utility_active,
                           ClipStats<T> st, T& alpha, T& beta, int max_steps = 8, int* passes = nullptr,
                           T tol = T(0)) {
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
    const auto step = active_correction(ps, st, sign, delta, lo, hi, target_active, utility_active);
    if (step.first == 0 && step.second == 0) break;
    // Intermediate multipliers may leave their bounds (as in any primal-dual active-set method); the
    // caller checks the final ones.
    const T a1 = alpha - step.first, b1 = beta - step.second;
    const ClipStats<T> next = ps.correct(step.first, step.second, a1, b1, lo, hi);
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

}  // namespace softunlearn

// The weight QP (docs/conventions.md) in oriented form: with t' = s·t (s = sign of Δ, so Δ' = |Δ| ≥ 0),
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

// The pieces, each in its own header: the O(n) passes (weight_passes.hpp), monotone piecewise-linear
// root finding (monotone_root.hpp), the feasibility LP (weight_lp.hpp) and the bounded dual with its λ
// path (weight_dual.hpp). The LP, the dual and the polish run over a passes object: the in-memory one is
// host_weight_passes.hpp; the bindings add one whose passes are distributed reductions.
#include "host_weight_passes.hpp"
#include "monotone_root.hpp"
#include "weight_dual.hpp"
#include "weight_lp.hpp"
#include "weight_passes.hpp"

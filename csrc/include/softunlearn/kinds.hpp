// The names shared by every layer: the bindings export these enums (softunlearn._core.Loss, TargetKind,
// WeightStatus) and the Python modules, the CLI and the CUDA module read them from there. Kept free of
// Eigen so that the CUDA binding can include it.
#pragma once

namespace softunlearn {

enum class LossKind : int { Logistic = 0, SmoothHinge = 1, SquaredHinge = 2 };

enum class TargetKind : int { Utility = 0, DemographicParity = 1, EqualOpportunity = 2 };

enum class WeightStatus : int {
  Optimal = 0,       // dual solved: ε = clip(ρ₁t' + ρ₂u, lo, hi) satisfies KKT
  Infeasible = 1,    // Δ' out of reach: ε is the LP's minimum-norm maximiser of εᵀt'
  Degenerate = 2,    // Δ' equals the LP maximum (to rounding): the feasible set is the LP's optimal
                     // face, on which the QP optimum is that same minimum-norm point
  NotConverged = 3,  // iteration budget exhausted; ε from the last dual iterate
};

}  // namespace softunlearn

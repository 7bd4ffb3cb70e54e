"""Data value-weighted certified unlearning (DVWU; He, Yang, Chang, arXiv 2511.06794, 2025).

The paper's abstract describes the method: map each deleted point's data value to a weight, use the
weights inside the one-step Newton deletion, and certify the result with output or objective
perturbation. Its full text was not available when this was written, so the concrete choices below are
ours (docs/certified.md gives the derivation):

* **Value.** vⱼ = the removal-convention influence of point j on the summed validation loss,
  vⱼ = gⱼᵀH⁻¹∇Σ_V ℓ (softunlearn.Influence scores of targets.Utility): the first-order increase of the
  validation loss when j is deleted. High value = the model needs j.
* **Weights.** qⱼ ∈ [−1, 1] increasing in vⱼ — ``mapping="rank"`` (default): qⱼ = 2(rankⱼ − 1)/(m − 1) − 1
  over the m points being changed (ties share their mean rank; robust to the heavy tails of influence
  scores); ``"minmax"``: qⱼ = 2(vⱼ − min v)/(max v − min v) − 1. Then ωⱼ = 1 − κ qⱼ ∈ [1 − κ, 1 + κ],
  0 ≤ κ ≤ 1: the most valuable point is unlearned with the smallest step (1 − κ), the most harmful with
  the largest (1 + κ). κ = 0, or a single point, gives ω = 1.
* **Update.** The Newton step of certified removal with step weights ε_step = ω ⊙ ε (for a deletion,
  −ωⱼ on the deleted rows) and the Hessian of the remaining data:
  θ⁻ = θ̂ − H'⁻¹ X̃ᵀ((ω ⊙ ε) ⊙ r). With ω = 1 this is exactly Guo et al.'s batch removal.
* **Certificate.** The guarantee stays "indistinguishable from retraining on the remaining data":
  ∇J_b(θ⁻; D') = ∇J_b(θ̂; D) + X̃ᵀ((1 − ω) ⊙ ε ⊙ r) + [Taylor remainder], so the residual bound gains the
  exactly computed bias term ‖X̃ᵀ((1 − ω) ⊙ ε ⊙ r)‖ and the noise (objective: the model's budget; output:
  σ_AGM of the larger β) must cover it. Value weighting thus trades the deleted points' exactness for
  utility, and pays for it in noise.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import rankdata

from .._validation import as_matrix, as_vector
from .certified import CertifiedLogisticRegression, _as_index, certified_update

MAPPINGS = ("rank", "minmax")


def data_value_weights(values, kappa=0.5, mapping="rank") -> np.ndarray:
    """ωⱼ = 1 − κ qⱼ ∈ [1 − κ, 1 + κ] with qⱼ ∈ [−1, 1] increasing in the value vⱼ (see the module docstring)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values: expected a 1-D array, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("values: contains NaN or infinity")
    if isinstance(kappa, bool) or not isinstance(kappa, numbers.Real) or not (0.0 <= float(kappa) <= 1.0):
        raise ValueError(f"kappa: expected a number in [0, 1] (weights must stay ≥ 0), got {kappa!r}")
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping: expected one of {MAPPINGS}, got {mapping!r}")
    m = v.size
    q = np.zeros(m)
    if mapping == "rank" and m > 1:
        q = 2.0 * (rankdata(v) - 1.0) / (m - 1) - 1.0
    elif mapping == "minmax" and m > 1 and v.max() > v.min():
        q = 2.0 * (v - v.min()) / (v.max() - v.min()) - 1.0
    return 1.0 - float(kappa) * q


def utility_values(model, X, y, Xv, yv, *, sample_weight=None, influence=None) -> np.ndarray:
    """vᵢ = gᵢᵀH⁻¹∇Σ_V ℓ for every training row (removal convention: deleting i raises the validation loss
    by ≈ vᵢ)."""
    from ..influence import Influence
    from ..targets import Utility

    if influence is None:
        influence = Influence(model, X, y, sample_weight)
    return influence.scores(Utility(Xv, yv))


def dvwu_update(
    model,
    X,
    y,
    eps,
    *,
    Xv=None,
    yv=None,
    values=None,
    kappa=0.5,
    mapping="rank",
    sample_weight=None,
    influence=None,
    **certified_options,
):
    """Value-weighted certified change s → s(1 + ε): step weights ω ⊙ ε with ω from the values of the rows
    that move (ε ≠ 0). Give ``values`` (one per training row) or validation data ``Xv, yv``. Other keyword
    arguments go to :func:`softunlearn.methods.certified.certified_update`. The result carries ``dvwu_weights_``
    (ω on the moved rows, in row order)."""
    Xc = as_matrix(X, "X", dtype=np.float64)
    n = Xc.shape[0]
    e = as_vector(eps, n, "eps", np.float64)
    moved = np.flatnonzero(e != 0)
    if values is None:
        if Xv is None or yv is None:
            raise ValueError("Xv, yv: DVWU needs data values; pass validation data (Xv, yv) or values=")
        values = utility_values(model, X, y, Xv, yv, sample_weight=sample_weight, influence=influence)
    v = as_vector(values, n, "values", np.float64)
    w = data_value_weights(v[moved], kappa, mapping)
    step = np.zeros(n)
    step[moved] = w * e[moved]
    out = certified_update(model, Xc, y, e, sample_weight=sample_weight, step_eps=step, **certified_options)
    out.dvwu_weights_ = w
    return out


def dvwu_remove(
    model: CertifiedLogisticRegression,
    X,
    y,
    idx,
    *,
    Xv=None,
    yv=None,
    values=None,
    kappa=0.5,
    mapping="rank",
    sample_weight=None,
    influence=None,
):
    """Value-weighted certified removal of rows ``idx`` from a :class:`CertifiedLogisticRegression`
    (its own noise, budget and policy apply)."""
    if not isinstance(model, CertifiedLogisticRegression):
        raise TypeError(
            f"model: expected a CertifiedLogisticRegression, got {type(model).__name__}; use "
            "dvwu_update for other models"
        )
    n = as_matrix(X, "X", dtype=np.float64).shape[0]
    idx = _as_index(idx, n)
    eps = np.zeros(n)
    eps[idx] = -1.0
    return dvwu_update(
        model,
        X,
        y,
        eps,
        Xv=Xv,
        yv=yv,
        values=values,
        kappa=kappa,
        mapping=mapping,
        sample_weight=sample_weight,
        influence=influence,
    )

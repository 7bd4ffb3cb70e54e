"""Iterated (path-following) soft weighting: the one-shot weight QP in K re-linearised steps.

The closed-form soft weights are first order: Δf ≈ −εᵀT holds for small ε, and the large weights a full
Δ asks for carry a large second-order error (the exact refit then overshoots in utility). Splitting Δ
into K steps and recomputing the scores at the current weighted model follows the path of weighted
optima instead. Step k (k = 1, …, K), with current total weight change E (sample weights s⊙(1+E)) and
model θ_k:

1. f_k = f(θ_k), the *actual* target value; stop if |f_k − goal| ≤ tol·|Δ| (goal = f(θ̂) − Δ).
2. Δ_k: ``step_rule="remaining"`` (default) asks for the remaining distance spread over the steps left,
   Δ_k = (f_k − goal)/(K − k + 1), so undershoot or overshoot of earlier steps is corrected and the last
   step aims at the goal itself; ``"fixed"`` asks for Δ/K each step (never past the goal). Steps after
   the K-th (up to ``max_steps``, default K) ask for the whole remaining distance: corrections of the
   second-order error that remains after K first-order steps.
3. T_k, U_k: removal-convention scores of the target and the utility on the weighted problem
   (:class:`~softunlearn.Influence` at θ_k with sample weights s⊙(1+E)); εᵏ from
   :func:`~softunlearn.soft_weights` (T_k, U_k, Δ_k, λ, scheme) with the per-step bounds below.
4. Weights compound: (1 + E) ← (1 + E)⊙(1 + εᵏ); θ_{k+1} = inner update of θ_k with εᵏ on the weighted
   problem (``inner="refit"``: exact warm-started refit, so θ_{k+1} is the optimum for s⊙(1+E);
   ``"newton"``: one Newton step; any key of :data:`softunlearn.methods.UPDATE_METHODS`).

Bounds: ``bounds=(lo, hi)`` (−1 ≤ lo ≤ 0 ≤ hi, hi may be None) constrain the *total* change E. Each step
is solved with the scalar box ((1+lo)^{1/M} − 1, (1+hi)^{1/M} − 1), M = ``max_steps``: a product of at
most M factors in [(1+lo)^{1/M}, (1+hi)^{1/M}] lies in [1+lo, 1+hi], so E stays within the bounds. For the usual boxes
(lo ∈ {−1, 0}, hi ∈ {0, ∞}) the step box equals the total box, so nothing reachable is lost (except that
with hi = 0 a lowered weight is not raised again); other values are conservative (the weight QP takes one
scalar box, not a per-sample one), and steps whose Δ_k is out of reach within it return the closest
feasible weights (recorded as ``feasible=False``; one InfeasibleWarning at the end). lo < −1 (negative
sample weights) is not supported: the weighted problem must stay convex for its influence to exist.
A sample whose weight reached 0 has zero scores and keeps weight 0.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_sample_weight, is_dask
from ..influence import Influence
from ..linear_model import check_model
from ..targets import as_target, evaluate
from ..weights import DEFAULT_LAM, InfeasibleWarning, SoftWeights, _lam_scale, soft_weights
from . import UPDATE_METHODS, apply_weights

STEP_RULES = ("remaining", "fixed")


@dataclass(frozen=True)
class IteratedSoftWeights:
    """Result of :func:`iterated_soft_weights`.

    Attributes
    ----------
    model : the final model (a new object; the input model is untouched).
    eps : (n,) total weight change E: the final sample weights are s⊙(1 + E) = s⊙Πₖ(1 + εᵏ). For a
        dask X, a lazy dask array with X's row chunks (persisted on the workers).
    history : one dict per step taken: ``step``, ``delta`` (Δ_k asked for), ``target_before``,
        ``target_after`` (actual values), ``predicted_change`` (−εᵏᵀT_k), ``utility_before``,
        ``utility_after`` (the utility target's actual values), ``scheme``, ``feasible``,
        ``eps_min``/``eps_max`` (of εᵏ), ``weight_min`` (min of 1 + E after the step), ``seconds``.
    goal : f(θ̂) − Δ.
    target_value : actual target value of ``model``.
    reached : |target_value − goal| ≤ tol·|Δ|.
    last_weights : the :class:`~softunlearn.weights.SoftWeights` of the last step.
    """

    model: object
    eps: np.ndarray
    history: list[dict]
    goal: float
    target_value: float
    reached: bool
    last_weights: SoftWeights | None = field(default=None, repr=False)

    @property
    def n_steps(self) -> int:
        return len(self.history)


def _step_bounds(bounds, steps):
    if bounds is None:
        raise ValueError(
            "bounds: iterated soft weighting needs bounds with lo ≥ −1 (sample weights stay "
            "non-negative so every weighted problem stays convex); e.g. (-1, None)"
        )
    if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__") or len(bounds) != 2:
        raise TypeError("bounds: expected a pair (lo, hi) with None for an open upper side")
    lo, hi = bounds
    lo = -1.0 if lo is None else float(lo)
    hi = math.inf if hi is None else float(hi)
    if not (-1.0 <= lo <= 0.0 <= hi) or math.isnan(hi):
        raise ValueError(f"bounds: expected −1 ≤ lo ≤ 0 ≤ hi for the total weight change, got {bounds!r}")
    step_lo = (1.0 + lo) ** (1.0 / steps) - 1.0
    step_hi = math.inf if math.isinf(hi) else (1.0 + hi) ** (1.0 / steps) - 1.0
    return (step_lo, None if math.isinf(step_hi) else step_hi)


class _InMemory:
    """Array operations of the loop for in-memory data (no-ops)."""

    ones_like = staticmethod(np.ones_like)

    @staticmethod
    def persisted(a):
        return a

    @staticmethod
    def computed(*values):
        return values


class _OnDask:
    """Array operations of the loop for dask data: the scores and the running weight factor are kept on
    the workers (persisted), so no step recomputes the ones before it; X is never gathered."""

    @staticmethod
    def ones_like(a):
        import dask.array as da

        return da.ones_like(a)

    @staticmethod
    def persisted(a):
        return a.persist()

    @staticmethod
    def computed(*values):
        import dask

        return dask.compute(*values)


def _training_data(model, X, sample_weight):
    """(X, s, ops): X validated against the model, s the sample weights (ones when None; float64),
    ops the loop's array operations for in-memory or dask data."""
    if is_dask(X):
        import dask.array as da

        from ..dask_engine import as_dask_matrix, as_dask_rows

        model._check_fitted()
        Xd = as_dask_matrix(X, "X", dtype=model.dtype, n_features=model.n_features_in_)
        like = da.zeros(Xd.shape[0], chunks=(Xd.chunks[0],))
        s = da.ones_like(like) if sample_weight is None else as_dask_rows(sample_weight, like, "sample_weight")
        return Xd, s, _OnDask
    Xc = model._as_X(X)
    n = Xc.shape[0]
    s = as_sample_weight(sample_weight, n, np.float64)
    return Xc, (s if s.size else np.ones(n)), _InMemory


def iterated_soft_weights(
    model,
    X,
    y,
    target,
    utility,
    delta,
    *,
    steps=10,
    lam=DEFAULT_LAM,
    lam_scale="relative",
    scheme="auto",
    bounds=(-1.0, None),
    inner="refit",
    inner_options=None,
    step_rule="remaining",
    tol=0.01,
    max_steps=None,
    sample_weight=None,
    solver="auto",
    influence: Influence | None = None,
    callback=None,
) -> IteratedSoftWeights:
    """Lower ``target`` by ``delta`` in up to ``steps`` re-linearised soft-weighting steps (module docstring).

    Parameters
    ----------
    model, X, y, sample_weight : the fitted model and its training data (X may be a dask array: every
        step's scores, weight QP and update then run on the cluster; see docs/dask.md).
    target, utility : targets (e.g. ``DemographicParity(Xv, sv)`` and ``Utility(Xv, yv)``).
    delta : signed required decrease Δ of the target (as for :func:`soft_weights`); goal = f(θ̂) − Δ.
    steps : K ≥ 1. With K = 1 this is exactly the one-shot pipeline (soft_weights then ``inner``).
    max_steps : total steps allowed (≥ K, default K); steps after the K-th correct the remaining error.
    lam, lam_scale, scheme : passed to :func:`soft_weights` at every step (explicit schemes need
        ``bounds=None``, which this method does not allow: use "auto"). On the default relative scale
        ``lam`` is in units of each step's own λ* = T_kᵀT_k/(2|Δ_k|) (scores and Δ_k of that step): the
        default 1 asks every step to meet its Δ_k exactly; ``lam_scale="absolute"`` uses the same
        absolute λ at every step.
    bounds : box on the total weight change (module docstring), default (−1, None).
    inner : key of ``UPDATE_METHODS`` applying each step's εᵏ ("refit" default, "newton", "finetune", ...);
        ``inner_options`` are its keyword arguments.
    step_rule : "remaining" (default) or "fixed".
    tol : stop once |f − goal| ≤ tol·|Δ| (checked before every step and after the last).
    influence : an :class:`Influence` already built for ``model`` on (X, y, sample_weight), reused at step 1.
    callback : optional ``callback(record) -> bool`` called with each step's history dict; True stops.
    """
    model = check_model(model)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps: expected an integer ≥ 1, got {steps!r}")
    max_steps = steps if max_steps is None else max_steps
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < steps:
        raise ValueError(f"max_steps: expected an integer ≥ steps ({steps}), got {max_steps!r}")
    if step_rule not in STEP_RULES:
        raise ValueError(f"step_rule: expected one of {STEP_RULES}, got {step_rule!r}")
    if inner not in UPDATE_METHODS:
        raise ValueError(f"inner: expected one of {tuple(UPDATE_METHODS)}, got {inner!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not (0 <= tol < math.inf):
        raise ValueError(f"tol: expected a finite number ≥ 0, got {tol!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable or None, got {type(callback).__name__}")
    _lam_scale(lam_scale)
    step_box = _step_bounds(bounds, int(max_steps))
    target, utility = as_target(target), as_target(utility)
    delta = float(delta)
    if not math.isfinite(delta):
        raise ValueError(f"delta: expected a finite number, got {delta!r}")
    Xc, s0, ops = _training_data(model, X, sample_weight)
    inner_options = dict(inner_options or {})

    f0 = evaluate(target, model)[0]
    goal = f0 - delta
    atol = tol * abs(delta)
    factor = ops.ones_like(s0)  # 1 + E
    current, f_cur = model, f0
    u_cur = evaluate(utility, model)[0]
    history: list[dict] = []
    last = None
    infeasible = []
    for k in range(1, int(max_steps) + 1):
        remaining = f_cur - goal
        if abs(remaining) <= atol and k > 1:
            break
        if step_rule == "remaining" or k > steps:
            delta_k = remaining / max(steps - k + 1, 1)
        else:
            delta_k = math.copysign(min(abs(delta) / steps, abs(remaining)), remaining)
        t0 = time.perf_counter()
        weighted = sample_weight if k == 1 else (s0 * factor).astype(model.dtype)
        inf = influence if (k == 1 and influence is not None) else Influence(current, Xc, y, weighted, solver=solver)
        T, U = ops.persisted(inf.scores([target, utility])).T
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InfeasibleWarning)
            last = soft_weights(T, U, delta_k, lam=lam, scheme=scheme, bounds=step_box, lam_scale=lam_scale)
        if not last.feasible:
            infeasible.append(k)
        e = last.eps
        current = apply_weights(inner, current, Xc, y, e, influence=inf, sample_weight=weighted, **inner_options)
        factor = ops.persisted(factor * (1.0 + e))
        e_min, e_max, w_min = ops.computed(e.min(), e.max(), factor.min())
        f_new, u_new = evaluate(target, current)[0], evaluate(utility, current)[0]
        record = dict(
            step=k,
            delta=float(delta_k),
            target_before=float(f_cur),
            target_after=float(f_new),
            predicted_change=float(last.target_change),
            utility_before=float(u_cur),
            utility_after=float(u_new),
            scheme=last.scheme,
            feasible=bool(last.feasible),
            eps_min=float(e_min),
            eps_max=float(e_max),
            weight_min=float(w_min),
            seconds=time.perf_counter() - t0,
        )
        history.append(record)
        f_cur, u_cur = f_new, u_new
        if callback is not None and callback(record):
            break
    if infeasible:
        warnings.warn(
            f"steps {infeasible}: the step's Δ_k was out of reach within the per-step bounds {step_box} "
            "without raising the utility loss; those steps took the closest feasible weights",
            InfeasibleWarning,
            stacklevel=2,
        )
    return IteratedSoftWeights(
        model=current,
        eps=factor - 1.0,
        history=history,
        goal=float(goal),
        target_value=float(f_cur),
        reached=bool(abs(f_cur - goal) <= atol),
        last_weights=last,
    )

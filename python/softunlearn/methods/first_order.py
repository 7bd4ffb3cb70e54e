"""First-order unlearning loops: fine-tuning (L-BFGS on the reweighted objective) and gradient ascent.

Both apply weight changes ε (sample weight sᵢ → sᵢ(1 + εᵢ), εᵢ = −1 deletes) to a fitted model the way
the unlearning literature does it without a Hessian, as baselines for the one-step Newton update and the
exact refit. The loops run in the compiled core (one O(np) pass over X per step, no Python per step);
a ``callback(info) -> bool`` is called after every step with the GIL held and stops the loop by
returning True. ``info`` holds ``iteration`` (steps taken, from 1), ``objective`` (the minimised function
at the new θ), ``grad_norm`` (its ‖∇‖_∞ there), ``step_norm`` (‖θ_k − θ_{k−1}‖₂) and ``theta`` (a copy
of θ_k).

Each function returns a new fitted model (the input is never modified) carrying ``n_iter_``,
``converged_``, ``objective_`` and ``unlearn_info_`` (a dict with ``grad_norm``, ``grad_scale``,
``n_passes`` (passes over X), ``stopped`` (the callback stopped the loop) and, for gradient ascent,
``lr`` and ``curvature``).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .. import _core
from .._validation import (
    as_sample_weight,
    as_vector,
    check_int,
    check_n_threads,
    check_positive,
    is_dask,
)
from ..errors import NonFiniteError
from ..linear_model import _DEFAULT_TOL, check_model


def _callback(callback):
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable taking one dict (or None), got {type(callback).__name__}")
    return callback


def _prepare(model, X, y, eps, sample_weight):
    model = check_model(model)
    Xc = model._as_X(X)
    n = Xc.shape[0]
    dt = Xc.dtype
    yc = model._encode_y(y, n)
    e = as_vector(eps, n, "eps", dt)
    s = as_sample_weight(sample_weight, n, dt)
    s = s if s.size else np.ones(n, dtype=dt)
    return model, Xc, yc, e, s


def _result(model, res, **info):
    new = model._with_theta(res["theta"])
    new.n_iter_ = int(res["n_iter"])
    new.converged_ = bool(res["converged"])
    new.objective_ = float(res["objective"])
    new.unlearn_info_ = dict(
        grad_norm=float(res["grad_norm"]),
        grad_scale=float(res["grad_scale"]),
        n_passes=int(res["n_passes"]),
        stopped=bool(res["stopped"]),
        **info,
    )
    return new


def finetune(
    model, X, y, eps, *, sample_weight=None, max_iter=1000, tol=None, memory=10, callback=None, n_threads=None
):
    """Fine-tune a fitted model on the reweighted objective by full-batch L-BFGS, starting from θ̂.

    Minimises ``J_ε(θ) = ½‖w‖² + C Σᵢ sᵢ(1 + εᵢ) ℓᵢ(θ)`` (intercept unpenalised) — the objective the exact
    refit solves — with L-BFGS (``memory`` curvature pairs, strong-Wolfe line search, one fused
    loss/gradient pass per trial point, no Hessian). Full-batch L-BFGS rather than SGD/Adam: the problem
    is smooth, convex and fits in memory, so the deterministic method converges to the refit itself and
    needs no learning-rate schedule; ``max_iter`` turns it into the budgeted "fine-tuning" baseline.

    Stops when ``‖∇J_ε‖_∞ ≤ tol · C |Σᵢ sᵢ(1+εᵢ)| · min(1, max|x̃ᵢⱼ|)`` (the Newton fit's test; ``tol``
    defaults to the model's default, 1e-10 in float64 and 1e-7 in float32, so "converged" means the refit's
    optimum), after ``max_iter`` iterations, or when ``callback`` returns True (see the module docstring for
    its argument).

    Negative total weights (εᵢ < −1) are allowed, as in :func:`softunlearn.refit`, but make J_ε non-convex:
    L-BFGS then returns a stationary point, which need not be the one a refit reaches (the refit raises
    NotPositiveDefiniteError where its Hessian stops being positive definite). If J_ε is unbounded below the
    loop raises ValueError. A ConvergenceWarning is issued only when the loop stopped short of ``tol`` for a
    reason other than ``max_iter`` or the callback (the line search could make no progress).

    Returns a new model with ``n_iter_``, ``converged_``, ``objective_``, ``unlearn_info_``.
    """
    if is_dask(X):
        return _finetune_dask(model, X, y, eps, sample_weight, max_iter, tol, memory, callback, n_threads)
    model, Xc, yc, e, s = _prepare(model, X, y, eps, sample_weight)
    dt = Xc.dtype
    max_iter = check_int(max_iter, "max_iter", 0)
    memory = check_int(memory, "memory", 1)
    tol = _DEFAULT_TOL[dt] if tol is None else check_positive(tol, "tol")
    callback = _callback(callback)
    w = s * (1 + e)
    if not w.any():
        raise ValueError(
            "sample_weight, eps: every reweighted sample weight s(1 + ε) is zero; the objective has no data term"
        )
    if model.fit_intercept:
        present = yc[w > 0]
        if present.size == 0 or present.min() == present.max():
            raise ValueError(
                "eps: after reweighting only one class keeps positive weight; with an unpenalised "
                "intercept the objective has no minimiser"
            )
    nt = check_n_threads(model.n_threads if n_threads is None else n_threads)
    loss: tuple[int, float] = model._loss
    try:
        res = _core.lbfgs_fit(
            Xc,
            yc,
            w,
            model.theta_,
            dt.type(model.C),
            bool(model.fit_intercept),
            dt.type(tol),
            max_iter,
            memory,
            nt,
            *loss,
            callback,
        )
    except NonFiniteError:
        raise NonFiniteError(_DIVERGED) from None
    return _finetune_result(model, res, tol, max_iter)


_DIVERGED = (
    "eps: the fine-tuning objective diverged (with negative sample weights s(1+ε) it can be unbounded below); "
    "keep ε ≥ −1"
)


def _finetune_dask(model, X, y, eps, sample_weight, max_iter, tol, memory, callback, n_threads):
    """finetune on dask arrays: the same compiled L-BFGS driven through the Dask engine's passes."""
    from ..dask_engine import as_dask_matrix, as_dask_rows, dask_data, dask_threads, finite_rows
    from ..engine import make_engine

    model = check_model(model)
    dt = model.dtype
    Xd = as_dask_matrix(X, "X", dtype=dt, n_features=model.n_features_in_)
    max_iter = check_int(max_iter, "max_iter", 0)
    memory = check_int(memory, "memory", 1)
    tol = _DEFAULT_TOL[dt] if tol is None else check_positive(tol, "tol")
    callback = _callback(callback)
    e = finite_rows(eps, Xd, "eps")
    w = (1 + e) if sample_weight is None else as_dask_rows(sample_weight, Xd, "sample_weight") * (1 + e)
    Xd, yd, wd = dask_data(
        Xd, y, w, dtype=dt, need_both_classes=model.fit_intercept, allow_negative=True, classes=model.classes_
    )
    nt = dask_threads(model.n_threads if n_threads is None else n_threads)
    engine = make_engine("dask", Xd, yd, wd, fit_intercept=model.fit_intercept, loss=model._loss, n_threads=nt)
    try:
        res = _core.lbfgs_fit_engine(engine, model.theta_, dt.type(model.C), dt.type(tol), max_iter, memory, callback)
    except NonFiniteError:
        raise NonFiniteError(_DIVERGED) from None
    return _finetune_result(model, res, tol, max_iter)


def _finetune_result(model, res, tol, max_iter):
    if not res["converged"] and not res["stopped"] and res["n_iter"] < max_iter:
        warnings.warn(
            f"finetune stopped after {res['n_iter']} L-BFGS iterations without reaching tol "
            f"(‖∇J‖∞ = {res['grad_norm']:.3g}, target {tol * res['grad_scale']:.3g}): the line search made "
            "no progress at working precision",
            ConvergenceWarning,
            stacklevel=3,
        )
    return _result(model, res)


def gradient_ascent(
    model, X, y, eps, *, sample_weight=None, lr="auto", steps=10, retain=0.0, tol=0.0, callback=None, n_threads=None
):
    """Gradient-ascent unlearning with soft weights: ``steps`` plain gradient steps on

        F(θ) = C Σᵢ εᵢ sᵢ ℓᵢ(θ) + ρ·J(θ),      J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓᵢ(θ),   ρ = ``retain`` ≥ 0,

    i.e. ``θ ← θ − lr·∇F(θ)`` from θ̂: ascent on the loss of down-weighted samples (εᵢ < 0) scaled by |εᵢ|,
    descent on up-weighted samples (εᵢ > 0). With hard weights (εᵢ = −1 on a forget set, 0 elsewhere) and
    ρ = 0 this is the usual "gradient ascent on the forget set"; ρ > 0 adds descent on the full original
    objective (a retention term, as in NegGrad+); ρ = 1 makes F the reweighted objective J_ε exactly, so the
    iteration becomes gradient descent towards the refit.

    This is a heuristic: for ρ = 0 F is unbounded below in general (the loss of a deleted sample can grow
    forever), so the iterates do not converge to the reweighted refit or to anything; the number of steps
    and the step size *are* the method. Use :func:`finetune` or :func:`softunlearn.refit` for the exact
    answer.

    Parameters
    ----------
    lr : "auto" or a positive number. "auto" is 1/L with
        L = λ_max(C X̃ᵀ diag(max(sᵢ, sᵢ|εᵢ + ρ|) ℓ''ᵢ(θ̂)) X̃ + max(1, ρ)·R)   (R = diag(1, …, 1, 0)),
        which bounds both λ_max(H), the largest eigenvalue of the training objective's Hessian at θ̂, and
        ‖∇²F(θ̂)‖₂. So the step is stable for F near θ̂ (descent lemma), and per unit of gradient it moves no
        further along any eigenvector of H than the one-step influence (Newton) update −H⁻¹∇F(θ̂) does
        (1/L ≤ 1/λ for every eigenvalue λ of H): one step is a damped version of the influence update,
        ``steps`` steps go roughly ``steps`` times as far. (Using F's curvature alone would be far larger
        for a small forget set and throws the model away within a few steps.)
    steps : number of gradient steps (default 10).
    retain : ρ ≥ 0.
    tol : stop early when ‖∇F‖_∞ ≤ tol · C Σᵢ sᵢ|εᵢ + ρ| (default 0: run all steps).
    callback : see the module docstring; ``objective`` is F.

    Returns a new model; ``unlearn_info_`` also holds ``lr`` and ``curvature`` (L, NaN when lr is given).
    """
    if is_dask(X):
        return _gradient_ascent_dask(model, X, y, eps, sample_weight, lr, steps, retain, tol, callback, n_threads)
    model, Xc, yc, e, s = _prepare(model, X, y, eps, sample_weight)
    dt = Xc.dtype
    steps, retain, tol, callback = _ascent_options(steps, retain, tol, callback)
    nt = check_n_threads(model.n_threads if n_threads is None else n_threads)
    v = s * (e + dt.type(retain))
    C, icpt = dt.type(model.C), bool(model.fit_intercept)
    curvature = float("nan")
    if isinstance(lr, str) and lr == "auto":
        curvature = float(
            _core.ascent_curvature(
                Xc, yc, np.maximum(s, np.abs(v)), model.theta_, C, icpt, dt.type(max(1.0, retain)), nt, *model._loss
            )
        )
        if not curvature > 0:
            raise ValueError("lr: 'auto' needs a positive curvature; pass a number")
        lr = 1.0 / curvature
    else:
        lr = check_positive(lr, "lr")
    loss: tuple[int, float] = model._loss
    try:
        res = _core.gradient_steps(
            Xc, yc, v, model.theta_, C, icpt, dt.type(retain), dt.type(lr), steps, dt.type(tol), nt, *loss, callback
        )
    except NonFiniteError:
        raise NonFiniteError(
            f"lr: gradient ascent diverged to non-finite values with lr={lr:g}; use fewer steps or a smaller lr"
        ) from None
    return _result(model, res, lr=float(lr), curvature=curvature)


def _ascent_options(steps, retain, tol, callback):
    steps = check_int(steps, "steps", 0)
    if isinstance(retain, bool) or not isinstance(retain, numbers.Real) or not (0 <= float(retain) < np.inf):
        raise ValueError(f"retain: expected a finite number ≥ 0, got {retain!r}")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (0 <= float(tol) < np.inf):
        raise ValueError(f"tol: expected a finite number ≥ 0, got {tol!r}")
    return steps, retain, tol, _callback(callback)


def _gradient_ascent_dask(model, X, y, eps, sample_weight, lr, steps, retain, tol, callback, n_threads):
    """gradient_ascent on dask arrays: the same compiled steps and curvature driven through Dask engines."""
    import dask.array as da

    from ..dask_engine import as_dask_matrix, dask_data, dask_threads, finite_rows
    from ..engine import make_engine

    model = check_model(model)
    dt = model.dtype
    Xd = as_dask_matrix(X, "X", dtype=dt, n_features=model.n_features_in_)
    steps, retain, tol, callback = _ascent_options(steps, retain, tol, callback)
    e = finite_rows(eps, Xd, "eps")
    Xd, yd, sd = dask_data(Xd, y, sample_weight, dtype=dt, classes=model.classes_)
    s = sd if sd is not None else da.ones_like(e)
    v = s * (e + dt.type(retain))
    nt = dask_threads(model.n_threads if n_threads is None else n_threads)

    def engine(weights):
        return make_engine("dask", Xd, yd, weights, fit_intercept=model.fit_intercept, loss=model._loss, n_threads=nt)

    C = dt.type(model.C)
    curvature = float("nan")
    if isinstance(lr, str) and lr == "auto":
        curvature = float(
            _core.ascent_curvature_engine(engine(da.maximum(s, abs(v))), model.theta_, C, dt.type(max(1.0, retain)))
        )
        if not curvature > 0:
            raise ValueError("lr: 'auto' needs a positive curvature; pass a number")
        lr = 1.0 / curvature
    else:
        lr = check_positive(lr, "lr")
    try:
        res = _core.gradient_steps_engine(
            engine(v), model.theta_, C, dt.type(retain), dt.type(lr), steps, dt.type(tol), callback
        )
    except NonFiniteError:
        raise NonFiniteError(
            f"lr: gradient ascent diverged to non-finite values with lr={lr:g}; use fewer steps or a smaller lr"
        ) from None
    return _result(model, res, lr=float(lr), curvature=curvature)

"""Registry of the ways to apply weight changes ε to a fitted model.

Every entry has the signature ``apply(model, X, y, eps, *, influence, sample_weight, **options) -> model``
and returns a new fitted model (the input model is never modified). ``influence`` is the
:class:`~softunlearn.Influence` already computed for the model on (X, y, sample_weight), so methods that
need the factorised Hessian do not assemble it again. :class:`~softunlearn.SoftUnlearner` and the CLI's
``--method`` take their choices from this table.
"""
from __future__ import annotations

from .certified import certified_update
from .dvwu import dvwu_update
from .influence import refit


def _newton(model, X, y, eps, *, influence, sample_weight=None, **options):
    return influence.newton_update(eps, **options)


def _refit(model, X, y, eps, *, influence, sample_weight=None, **options):
    return refit(model, X, y, eps, sample_weight=sample_weight, **options)


def _certified(model, X, y, eps, *, influence, sample_weight=None, **options):
    # Guo et al.'s Newton removal with a gradient-residual certificate (softunlearn.certified); options:
    # epsilon, delta, sigma, budget, policy, gamma, random_state. Needs fit_intercept=False and ‖x‖ ≤ 1.
    return certified_update(model, X, y, eps, sample_weight=sample_weight, **options)


def _dvwu(model, X, y, eps, *, influence, sample_weight=None, **options):
    # Data value-weighted certified update (softunlearn.dvwu); options: Xv, yv (or values), kappa,
    # mapping, and certified_update's options.
    return dvwu_update(model, X, y, eps, sample_weight=sample_weight, influence=influence, **options)


UPDATE_METHODS = {
    "newton": _newton,
    "refit": _refit,
    "certified": _certified,
    "dvwu": _dvwu,
}


def apply_weights(method: str, model, X, y, eps, *, influence, sample_weight=None, **options):
    """Apply weight changes ``eps`` with the named method (a key of ``UPDATE_METHODS``)."""
    try:
        fn = UPDATE_METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"method: expected one of {tuple(UPDATE_METHODS)}, got {method!r}") from None
    return fn(model, X, y, eps, influence=influence, sample_weight=sample_weight, **options)

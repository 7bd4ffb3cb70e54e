"""The ways to apply weight changes ε to a fitted model, and their registry.

Modules: :mod:`.certified` (Guo et al.'s certified removal), :mod:`.dvwu` (value-weighted certified
deletion), :mod:`.first_order` (L-BFGS fine-tuning and gradient ascent), :mod:`.iterated` (path-following
soft weighting). The one-step Newton update and the exact refit live with :class:`~softunlearn.Influence`.

Every entry has the signature ``apply(model, X, y, eps, *, influence, sample_weight, **options) -> model``
and returns a new fitted model (the input model is never modified). ``influence`` is the
:class:`~softunlearn.Influence` already computed for the model on (X, y, sample_weight), so methods that
need the factorised Hessian do not assemble it again. :class:`~softunlearn.SoftUnlearner` and the CLI's
``--method`` take their choices from this table.

``"iterated"`` (:func:`softunlearn.iterated_soft_weights`) is not in this table: it does not apply a given ε
but re-solves the weight QP at every step, so it needs the target, the utility and Δ. SoftUnlearner and the
CLI accept it as a method name (:func:`method_names`) and use one of the table's entries as its inner update.
"""

from __future__ import annotations

from ..influence import refit
from .certified import CertifiedLogisticRegression, certified_update
from .dvwu import dvwu_update
from .first_order import finetune, gradient_ascent


def _newton(model, X, y, eps, *, influence, sample_weight=None, **options):
    return influence.newton_update(eps, **options)


def _refit(model, X, y, eps, *, influence, sample_weight=None, **options):
    return refit(model, X, y, eps, sample_weight=sample_weight, **options)


def _certified(model, X, y, eps, *, influence, sample_weight=None, **options):
    # Guo et al.'s Newton removal with a gradient-residual certificate (softunlearn.methods.certified); options:
    # epsilon, delta, sigma, budget, policy, gamma, random_state. Needs fit_intercept=False and ‖x‖ ≤ 1.
    return certified_update(model, X, y, eps, sample_weight=sample_weight, **options)


def _dvwu(model, X, y, eps, *, influence, sample_weight=None, **options):
    # Data value-weighted certified update (softunlearn.methods.dvwu); options: Xv, yv (or values), kappa,
    # mapping, and certified_update's options.
    return dvwu_update(model, X, y, eps, sample_weight=sample_weight, influence=influence, **options)


def _finetune(model, X, y, eps, *, influence, sample_weight=None, **options):
    return finetune(model, X, y, eps, sample_weight=sample_weight, **options)


def _gradient_ascent(model, X, y, eps, *, influence, sample_weight=None, **options):
    return gradient_ascent(model, X, y, eps, sample_weight=sample_weight, **options)


UPDATE_METHODS = {
    "newton": _newton,
    "refit": _refit,
    "certified": _certified,
    "dvwu": _dvwu,
    "finetune": _finetune,
    "gradient_ascent": _gradient_ascent,
}

#: Methods that choose their own weights along the way (see the module docstring).
ITERATIVE_METHODS = ("iterated",)

#: Certified-removal methods (Guo et al.): their guarantee needs the logistic loss, rows with ‖x‖ ≤ 1 and no
#: unpenalised intercept (:func:`softunlearn.pipeline.unit_ball`, ``fit_intercept=False``).
CERTIFIED_METHODS = ("certified", "dvwu")


def method_names():
    """Every name SoftUnlearner and the CLI accept: the table's keys (read now, so later entries count)
    and the iterative methods."""
    return tuple(UPDATE_METHODS) + ITERATIVE_METHODS


def apply_weights(method: str, model, X, y, eps, *, influence, sample_weight=None, **options):
    """Apply weight changes ``eps`` with the named method (a key of ``UPDATE_METHODS``)."""
    try:
        fn = UPDATE_METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"method: expected one of {tuple(UPDATE_METHODS)}, got {method!r}") from None
    return fn(model, X, y, eps, influence=influence, sample_weight=sample_weight, **options)


# After the registry: the iterated method applies its steps with the registry's entries.
from .iterated import IteratedSoftWeights, iterated_soft_weights  # noqa: E402

__all__ = [
    "CERTIFIED_METHODS",
    "ITERATIVE_METHODS",
    "UPDATE_METHODS",
    "CertifiedLogisticRegression",
    "IteratedSoftWeights",
    "apply_weights",
    "certified_update",
    "dvwu_update",
    "finetune",
    "gradient_ascent",
    "iterated_soft_weights",
    "method_names",
    "refit",
]

"""The one-call workflow: influence → soft weights → unlearning update."""
from __future__ import annotations

import numpy as np

from .influence import Influence
from .linear_model import check_model
from .methods import apply_weights, method_names
from .targets import DemographicParity, EqualOpportunity, Robustness, Target, Utility, as_target, required_change

_TARGETS = ("dp", "eop", "robustness")


def make_target(target, Xv, yv, sv=None, model=None) -> Target:
    """A built-in target by name ("dp", "eop", "robustness") on the validation set, or any target as is."""
    if isinstance(target, str):
        if target == "dp":
            return DemographicParity(Xv, _need(sv, "sv", target))
        if target == "eop":
            return EqualOpportunity(Xv, yv, _need(sv, "sv", target))
        if target == "robustness":
            return Robustness(Xv, yv, model=model)
        raise ValueError(f"target: expected one of {_TARGETS} or a target object, got {target!r}")
    return as_target(target)


def _need(v, name, target):
    if v is None:
        raise ValueError(f"{name}: the {target!r} target needs the validation sensitive attribute")
    return v


class SoftUnlearner:
    """Fix a target property of a fitted model by soft-weighted unlearning.

    Steps: (1) influence scores T of the target and U of validation utility (removal convention,
    ``scoreᵢ = gᵢᵀH⁻¹∇f``); (2) weight changes ε from :func:`softunlearn.soft_weights` asking the target
    to drop by Δ = ``fraction`` · f(θ̂) while utility does not get worse; (3) apply them: ``method="newton"``
    (θ̂ − H⁻¹X̃ᵀ(ε⊙r), milliseconds) or ``"refit"`` (exact warm-started refit with weights s(1+ε)), or any
    other entry of :data:`softunlearn.methods.UPDATE_METHODS`. ``method="iterated"`` replaces steps (2)–(3)
    by :func:`softunlearn.iterated_soft_weights` (K re-linearised steps; ``method_options`` are its keyword
    arguments: ``steps``, ``inner``, ``inner_options``, ``step_rule``, ``tol``) with this object's target,
    validation utility, Δ, ``lam``, ``scheme`` and ``bounds``.

    Parameters
    ----------
    target : "dp", "eop", "robustness", or a target object.
    scheme, lam, bounds : passed to :func:`softunlearn.soft_weights`. ``bounds=(-1, None)`` (default) keeps
        every sample weight non-negative.
    fraction : share of the target value to remove (1 drives a fairness gap to zero; use < 1 for
        robustness, whose value is a loss).
    method : a key of :data:`softunlearn.methods.UPDATE_METHODS` ("newton", "refit", "finetune",
        "gradient_ascent", ...) or "iterated".
    method_options : dict of keyword arguments for the method.
    backend : "auto", "cpu" or "cuda" for the influence computation (see :mod:`softunlearn.backend`);
        the model's own ``backend`` decides where a refit runs.

    Attributes after ``fit``: ``model_`` (the unlearned model; the input model is untouched), ``eps_``,
    ``weights_`` (the solver's result), ``target_``, ``delta_``, ``scores_`` (T), ``utility_scores_`` (U),
    ``influence_``, ``target_before_``, ``target_after_``. With ``method="iterated"``: ``eps_`` is the total
    change E (weights s⊙(1+E)), ``weights_`` the last step's solver result, ``iterated_`` the full
    :class:`~softunlearn.iterated.IteratedSoftWeights` (per-step history).
    """

    def __init__(self, target="dp", *, scheme="auto", lam=0.1, bounds=(-1.0, None), fraction=None, method="newton",
                 solver="auto", method_options=None, backend="auto"):
        self.target = target
        self.scheme = scheme
        self.lam = lam
        self.bounds = bounds
        self.fraction = fraction
        self.method = method
        self.solver = solver
        self.method_options = method_options
        self.backend = backend

    def fit(self, model, X, y, Xv, yv, sv=None, sample_weight=None):
        from .weights import soft_weights

        model = check_model(model)
        if self.method not in method_names():
            raise ValueError(f"method: expected one of {method_names()}, got {self.method!r}")
        self.target_ = make_target(self.target, Xv, yv, sv, model=model)
        fraction = self.fraction if self.fraction is not None else (0.1 if self.target == "robustness" else 1.0)
        self.delta_ = required_change(self.target_, model, fraction)
        self.target_before_ = self.target_.value(model)
        self.influence_ = Influence(model, X, y, sample_weight, solver=self.solver, backend=self.backend)
        S = self.influence_.scores([self.target_, Utility(Xv, yv)])
        self.scores_, self.utility_scores_ = S[:, 0], S[:, 1]
        if self.method == "iterated":
            from .iterated import iterated_soft_weights

            self.iterated_ = iterated_soft_weights(model, X, y, self.target_, Utility(Xv, yv), self.delta_,
                                                   lam=self.lam, scheme=self.scheme, bounds=self.bounds,
                                                   sample_weight=sample_weight, solver=self.solver,
                                                   influence=self.influence_, **(self.method_options or {}))
            self.weights_, self.eps_, self.model_ = self.iterated_.last_weights, self.iterated_.eps, self.iterated_.model
            self.target_after_ = self.target_.value(self.model_)
            return self
        self.weights_ = soft_weights(self.scores_, self.utility_scores_, self.delta_, lam=self.lam, scheme=self.scheme,
                                     bounds=self.bounds)
        self.eps_ = self.weights_.eps
        self.model_ = apply_weights(self.method, model, X, y, self.eps_, influence=self.influence_,
                                    sample_weight=sample_weight, **(self.method_options or {}))
        self.target_after_ = self.target_.value(self.model_)
        return self

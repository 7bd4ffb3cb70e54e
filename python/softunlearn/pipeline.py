"""The one-call workflow: influence → soft weights → unlearning update, and the names it accepts.

:class:`SoftUnlearner` is the library's entry point and what ``softunlearn run`` calls; the names of the
built-in targets (:data:`TARGETS`), of the models the CLI builds (:data:`MODELS`) and the default share of
the target to remove (:func:`default_fraction`) are defined here, the weight schemes in
:data:`softunlearn.weights.SCHEMES` and the update methods in :func:`softunlearn.methods.method_names`.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager

from . import methods as _methods
from . import weights as _weights
from ._validation import is_dask
from .influence import Influence
from .linear_model import LinearSVC, LogisticRegression, check_model
from .methods import method_names
from .targets import DemographicParity, EqualOpportunity, Robustness, Target, Utility, as_target, required_change

#: The built-in targets by name, with what they measure (see :mod:`softunlearn.targets`).
TARGET_NAMES = {"dp": "demographic parity", "eop": "equal opportunity", "robustness": "robustness"}
TARGETS = tuple(TARGET_NAMES)

#: Share of the target value :class:`SoftUnlearner` asks to remove by default: all of a signed fairness gap
#: (driving it to zero) and, as in the paper's robustness experiments, all of the robustness target: the
#: official code (Qiao et al., SEC-5-2-0-2.py) gives scheme 2.3 Δ = the summed adversarial validation loss.
#: The loss itself cannot reach zero; Δ is the first-order decrease asked for. With Δ = 10 % of it the weights
#: meet their target but robust accuracy does not move (the mirror attack flips every prediction of θ̂).
ROBUSTNESS_FRACTION = 1.0


def default_fraction(target) -> float:
    """The default ``fraction`` for a target: :data:`ROBUSTNESS_FRACTION` for ``"robustness"``, 1 otherwise
    (the built-in gaps and any target object)."""
    return ROBUSTNESS_FRACTION if isinstance(target, str) and target == "robustness" else 1.0


#: Model kinds :func:`make_model` builds (the CLI's ``--model``).
MODELS = ("logistic", "squared_hinge", "smooth_hinge")


def make_model(kind="logistic", *, C=1.0, temperature=0.1, fit_intercept=True):
    """An unfitted model by name: ``"logistic"`` → :class:`~softunlearn.LogisticRegression`, ``"squared_hinge"``
    or ``"smooth_hinge"`` → :class:`~softunlearn.LinearSVC` with that loss (``temperature`` is the smooth
    hinge's)."""
    if kind == "logistic":
        return LogisticRegression(C=C, fit_intercept=fit_intercept)
    if kind not in MODELS:
        raise ValueError(f"model: expected one of {MODELS}, got {kind!r}")
    return LinearSVC(C=C, loss=kind, temperature=temperature, fit_intercept=fit_intercept)


def unit_ball(X, *others, C=1.0):
    """Rescale data for the certified methods (:data:`softunlearn.methods.CERTIFIED_METHODS`): Guo et al.'s
    theory needs ‖x‖ ≤ 1 and no unpenalised intercept. Returns the rows of ``X`` scaled by 1/k so that every
    training row has ‖x‖ ≤ 1, with a constant column appended (fit the model with ``fit_intercept=False``),
    the same transform of every array in ``others`` (validation, test), and ``C·k²``: the C that keeps the
    unscaled model's regularisation."""
    from .methods.certified import UnitBallScaler

    sc = UnitBallScaler(add_constant=True).fit(X)
    return (sc.transform(X), *(sc.transform(o) for o in others), C * sc.scale_**2)


lam_star = _weights.lam_star


@contextmanager
def _recorded(into, reemit):
    """Append the warnings raised in the block to ``into``; then show them as usual (under the caller's
    filters) when ``reemit``, or keep them only in the record."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    into.extend(caught)
    if reemit:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def make_target(target, Xv, yv, sv=None, model=None) -> Target:
    """A built-in target by name (one of :data:`TARGETS`) on the validation set, or any target as is."""
    if isinstance(target, str):
        if target == "dp":
            return DemographicParity(Xv, _need(sv, "sv", target))
        if target == "eop":
            return EqualOpportunity(Xv, yv, _need(sv, "sv", target))
        if target == "robustness":
            return Robustness(Xv, yv, model=model)
        raise ValueError(f"target: expected one of {TARGETS} or a target object, got {target!r}")
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
    other entry of :data:`softunlearn.methods.UPDATE_METHODS`. ``method="iterated"`` replaces step (3)
    by :func:`softunlearn.iterated_soft_weights` (K re-linearised steps; ``method_options`` are its keyword
    arguments: ``steps``, ``inner``, ``inner_options``, ``step_rule``, ``tol``) with this object's target,
    validation utility, Δ, ``lam``, ``scheme`` and ``bounds``.

    With ``hard_fraction`` the fit also builds the hard-deletion baseline: ε = −1 on that share of the
    training rows, chosen by :func:`softunlearn.hard_weights` from the same scores and Δ, applied with the
    same method (with ``method="iterated"``: with its inner update, ``method_options["inner"]``, default
    "refit", and ``inner_options``), so the two can be compared.

    Parameters
    ----------
    target : one of :data:`TARGETS` ("dp", "eop", "robustness"), or a target object.
    scheme, lam, lam_scale, bounds : passed to :func:`softunlearn.soft_weights`. ``lam`` defaults to
        :data:`softunlearn.weights.DEFAULT_LAM` = 1 in units of λ* = TᵀT/(2|Δ|) (``lam_scale="relative"``: the
        weights exactly meet Δ); ``lam_scale="absolute"`` takes ``lam`` as the paper's absolute λ.
        ``bounds=(-1, None)`` (default) keeps every sample weight non-negative.
    fraction : share of the target value to remove (1 drives a fairness gap to zero; for robustness, 1 is
        the paper's Δ: the whole summed adversarial loss, to first order). Default :func:`default_fraction`
        (1 for every built-in target).
    method : a key of :data:`softunlearn.methods.UPDATE_METHODS` ("newton", "refit", "finetune",
        "gradient_ascent", ...) or "iterated" (every name in :func:`softunlearn.methods.method_names`).
    method_options : dict of keyword arguments for the method.
    hard_fraction : optional share in (0, 1] of training rows to delete for the hard baseline.
    backend : "auto", "cpu" or "cuda" for the influence computation (see :mod:`softunlearn.backend`);
        the model's own ``backend`` decides where a refit runs.

    Attributes after ``fit``: ``model_`` (the unlearned model; the input model is untouched), ``eps_``,
    ``weights_`` (the solver's result), ``target_``, ``fraction_``, ``delta_``, ``scores_`` (T),
    ``utility_scores_`` (U), ``influence_``, ``target_before_``, ``target_after_``;
    ``one_shot_weights_`` (the weight QP for the whole Δ: the same object as ``weights_`` unless
    ``method="iterated"``) and ``unbounded_weights_`` (the same QP without ``bounds``, to see how far the box
    moved the optimum; ``one_shot_weights_`` itself when ``bounds`` is None); ``lam_star_`` (:func:`lam_star`);
    ``hard_eps_`` and ``hard_model_`` (None without ``hard_fraction``); ``iterated_`` (None unless
    ``method="iterated"``); ``timings_`` (seconds: ``influence`` (scores), ``weights_hard``,
    ``weights_soft``, ``update_hard``, ``update_soft``); ``warnings_``: the :class:`warnings.WarningMessage`
    records of the weight QPs and of the iterated run, in order. Those of the weights actually applied (and
    of the iterated run) are also shown as usual; those of the diagnostic QPs (``unbounded_weights_``, and
    ``one_shot_weights_`` when ``method="iterated"``) are only recorded.

    With ``method="iterated"``: ``eps_`` is the total change E (weights s⊙(1+E)), ``weights_`` the last
    step's solver result, ``iterated_`` the full :class:`~softunlearn.IteratedSoftWeights`
    (per-step history).

    With a dask X (docs/dask.md), ``scores_``, ``utility_scores_``, ``eps_`` and ``hard_eps_`` are dask
    arrays with X's row chunks, kept on the workers; every weight solve runs as distributed passes.
    """

    def __init__(
        self,
        target="dp",
        *,
        scheme="auto",
        lam=_weights.DEFAULT_LAM,
        lam_scale="relative",
        bounds=(-1.0, None),
        fraction=None,
        method="newton",
        solver="auto",
        method_options=None,
        backend="auto",
        hard_fraction=None,
    ):
        self.target = target
        self.scheme = scheme
        self.lam = lam
        self.lam_scale = lam_scale
        self.bounds = bounds
        self.fraction = fraction
        self.method = method
        self.solver = solver
        self.method_options = method_options
        self.backend = backend
        self.hard_fraction = hard_fraction

    def fit(self, model, X, y, Xv, yv, sv=None, sample_weight=None):
        model = check_model(model)
        if self.method not in method_names():
            raise ValueError(f"method: expected one of {method_names()}, got {self.method!r}")
        iterated = self.method == "iterated"
        _weights._lam_scale(self.lam_scale)
        options = dict(self.method_options or {})
        self.target_ = make_target(self.target, Xv, yv, sv, model=model)
        self.fraction_ = self.fraction if self.fraction is not None else default_fraction(self.target)
        self.delta_ = required_change(self.target_, model, self.fraction_)
        self.target_before_ = self.target_.value(model)
        self.timings_: dict[str, float] = {}
        self.warnings_: list[warnings.WarningMessage] = []

        t = time.perf_counter()
        self.influence_ = Influence(model, X, y, sample_weight, solver=self.solver, backend=self.backend)
        S = self.influence_.scores([self.target_, Utility(Xv, yv)])
        if is_dask(S):  # computed once onto the workers; the weight solves' passes read them there
            S = S.persist()  # type: ignore[attr-defined]
        self.scores_, self.utility_scores_ = S[:, 0], S[:, 1]
        self.timings_["influence"] = time.perf_counter() - t
        self.lam_star_ = lam_star(self.scores_, self.delta_)

        self.hard_eps_ = self.hard_model_ = None
        if self.hard_fraction is not None:
            t = time.perf_counter()
            self.hard_eps_ = _weights.hard_weights(self.scores_, fraction=self.hard_fraction, delta=self.delta_)
            self.timings_["weights_hard"] = time.perf_counter() - t
        t = time.perf_counter()
        with _recorded(self.warnings_, reemit=not iterated):
            self.one_shot_weights_ = _weights.soft_weights(
                self.scores_,
                self.utility_scores_,
                self.delta_,
                lam=self.lam,
                scheme=self.scheme,
                bounds=self.bounds,
                lam_scale=self.lam_scale,
            )
        self.timings_["weights_soft"] = time.perf_counter() - t
        if self.bounds is None:
            self.unbounded_weights_ = self.one_shot_weights_
        else:
            with _recorded(self.warnings_, reemit=False):
                self.unbounded_weights_ = _weights.soft_weights(
                    self.scores_, self.utility_scores_, self.delta_, lam=self.lam, scheme=self.scheme,
                    lam_scale=self.lam_scale,
                )  # fmt: skip

        if self.hard_eps_ is not None:
            t = time.perf_counter()
            # the hard deletion has nothing to re-solve: "iterated" applies it with its inner update
            how, opts = (
                (options.get("inner", "refit"), options.get("inner_options", {}))
                if iterated
                else (self.method, options)
            )
            self.hard_model_ = _methods.apply_weights(
                how, model, X, y, self.hard_eps_, influence=self.influence_, sample_weight=sample_weight, **opts
            )
            self.timings_["update_hard"] = time.perf_counter() - t
        t = time.perf_counter()
        self.iterated_ = None
        if iterated:
            from .methods.iterated import iterated_soft_weights

            with _recorded(self.warnings_, reemit=True):
                self.iterated_ = iterated_soft_weights(
                    model,
                    X,
                    y,
                    self.target_,
                    Utility(Xv, yv),
                    self.delta_,
                    lam=self.lam,
                    lam_scale=self.lam_scale,
                    scheme=self.scheme,
                    bounds=self.bounds,
                    sample_weight=sample_weight,
                    solver=self.solver,
                    influence=self.influence_,
                    **options,
                )
            it = self.iterated_
            self.weights_, self.eps_, self.model_ = it.last_weights, it.eps, it.model
        else:
            self.weights_ = self.one_shot_weights_
            self.eps_ = self.weights_.eps
            self.model_ = _methods.apply_weights(
                self.method, model, X, y, self.eps_, influence=self.influence_, sample_weight=sample_weight, **options
            )
        self.timings_["update_soft"] = time.perf_counter() - t
        self.target_after_ = self.target_.value(self.model_)
        return self

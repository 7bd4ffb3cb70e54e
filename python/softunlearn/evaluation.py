"""Test-set metrics of an original model and its unlearned versions: the table ``softunlearn run`` prints
and writes to ``report.json``, as library functions.

Notation: on a test split (X, y, s) with labels y in the model's ``classes_`` and a binary sensitive
attribute s ∈ {0, 1}, "ŷ=1"/"y=1" meaning the label is ``pos_label`` (default ``classes_[1]``; pos_label
= classes_[0] negates the dp gaps and measures the eop gaps on the other class), ŷ = ``model.predict(X)``,
z = x̃ᵀθ the decision value, p = σ(z) and ℓ the **model's own loss** (the
log-loss for :class:`~softunlearn.LogisticRegression`, the squared or smooth hinge for
:class:`~softunlearn.LinearSVC`). Every gap is **signed, group s=1 minus group s=0** — fairlearn's
two-group ``demographic_parity_difference`` and ``equal_opportunity_difference`` are the absolute values
of the label gaps. The soft gaps are the values of the targets in :mod:`softunlearn.targets`, which are
what the weights drive toward zero.

====================  ========================================================================================
metric                definition
====================  ========================================================================================
``accuracy``          mean 1[ŷ = y]
``log_loss``          mean ℓ(z, y) over the split (key ``svm_loss`` for an SVM: the hinge variant it was fit on)
``gap`` (dp)          P(ŷ=1 | s=1) − P(ŷ=1 | s=0)
``soft_gap`` (dp)     mean p over s=1 − mean p over s=0   (:class:`~softunlearn.targets.DemographicParity`)
``gap`` (eop)         TPR(s=1) − TPR(s=0), TPR = P(ŷ=1 | y=1)
``soft_gap`` (eop)    mean ℓ over {s=0, y=1} − mean ℓ over {s=1, y=1}: the same sign as the label gap
                      (:class:`~softunlearn.targets.EqualOpportunity`)
``robust_accuracy``   accuracy on the mirror-attacked points xᵃ = x − factor·(wᵀx + b)/‖w‖²·w, computed once
                      from the *reference* (original) model and then held fixed, so every model is measured on
                      the same points (:class:`~softunlearn.targets.Robustness`, factor 1.3)
``robust_loss``       mean ℓ at those points
``val_target``        the value of the validation target the weights were chosen for (when one is given)
====================  ========================================================================================

A dp or eop table has ``accuracy, <loss>, gap, soft_gap``; a robustness table ``accuracy, <loss>,
robust_accuracy, robust_loss``; both end with ``val_target`` when a validation target is given.

Example::

    ev = Evaluator("dp", Xte, yte, ste, reference_model=model, validation_target=unlearner.target_)
    table = evaluate_models({"original": model, "soft": unlearner.model_}, ev)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import metrics as _metrics
from .linear_model import LogisticRegression
from .pipeline import TARGETS
from .targets import Robustness, Utility

#: What the label gap of each built-in target measures (sign convention: group s=1 minus group s=0).
GAP_DEFINITIONS = {
    "dp": "gap = P(ŷ=1|s=1) − P(ŷ=1|s=0)",
    "eop": "gap = TPR(s=1) − TPR(s=0)",
    "robustness": "robust accuracy on mirror-attacked test points fixed from θ̂",
}


def loss_name(model) -> str:
    """The key under which the model's own mean loss is reported: ``"log_loss"`` for logistic regression,
    ``"svm_loss"`` for a linear SVM (squared or smooth hinge)."""
    return "log_loss" if isinstance(model, LogisticRegression) else "svm_loss"


def mean_loss(model, X, y) -> float:
    """Mean of the model's own loss ℓ(zᵢ, yᵢ) over the rows of X (the log-loss for logistic regression:
    scikit-learn's ``log_loss(y, predict_proba(X)[:, 1])``). No regularisation term."""
    return Utility(X, y).value(model) / np.shape(X)[0]


def _check_kind(target):
    if not isinstance(target, str) or target not in TARGETS:
        raise ValueError(f"target: expected one of {TARGETS}, got {target!r}")
    return target


class Evaluator:
    """The metrics of one table (module docstring) for any model, on a fixed test split.

    Parameters
    ----------
    target : "dp", "eop" or "robustness": which gap columns (or robustness columns) the table has.
    X, y, s : the test split; ``s`` is needed for "dp" and "eop".
    reference_model : the original model. It fixes the loss column's name (:func:`loss_name`) and, for
        "robustness", the attacked test points every model is measured on.
    validation_target : optional target object (e.g. ``SoftUnlearner.target_``); its value is reported as
        ``val_target``.
    pos_label : the class the dp/eop gaps are about (default ``reference_model.classes_[1]``).

    Calling the evaluator on a model returns its row as a dict (keys in table order). The loss and the
    robust points are set up once, so evaluating many models (a trade-off curve) costs one pass each.
    """

    def __init__(self, target, X, y, s=None, *, reference_model, validation_target=None, pos_label=None):
        self.target = _check_kind(target)
        self.pos_label = np.asarray(reference_model.classes_)[1] if pos_label is None else pos_label
        if self.target in ("dp", "eop") and s is None:
            raise ValueError(f"s: the {self.target!r} metrics need the sensitive attribute of the test split")
        self.X, self.y, self.s = X, y, s
        self.validation_target = validation_target
        self.loss_key = loss_name(reference_model)
        self._utility = Utility(X, y)
        self._n = np.shape(X)[0]
        self.robustness = Robustness(X, y, model=reference_model) if self.target == "robustness" else None

    @property
    def columns(self):
        """The metric columns in the order ``softunlearn run`` prints them (without ``val_target``)."""
        extra = ["robust_accuracy", "robust_loss"] if self.target == "robustness" else ["gap", "soft_gap"]
        return ["accuracy"] + extra + [self.loss_key]

    def __call__(self, model) -> dict[str, float]:
        X, y, s = self.X, self.y, self.s
        yp = model.predict(X)
        out = {"accuracy": _metrics.accuracy(y, yp), self.loss_key: self._utility.value(model) / self._n}
        if self.target == "dp":
            out["gap"] = _metrics.demographic_parity_gap(yp, s, pos_label=self.pos_label)
            out["soft_gap"] = _metrics.soft_demographic_parity_gap(model, X, s, pos_label=self.pos_label)
        elif self.target == "eop":
            out["gap"] = _metrics.equal_opportunity_gap(y, yp, s, pos_label=self.pos_label)
            out["soft_gap"] = _metrics.soft_equal_opportunity_gap(model, X, y, s, pos_label=self.pos_label)
        else:
            assert self.robustness is not None  # built in __init__ for target "robustness"
            out["robust_accuracy"] = _metrics.robust_accuracy(model, self.robustness)
            out["robust_loss"] = self.robustness.value(model) / self.robustness.n_samples
        if self.validation_target is not None:
            out["val_target"] = float(self.validation_target.value(model))
        return out

    def tradeoff_x(self, row) -> float:
        """:func:`tradeoff_x` for this table's target."""
        return tradeoff_x(self.target, row)


def tradeoff_x(target, row) -> float:
    """The x coordinate of a table row in a trade-off plot: robust accuracy (higher is better) for
    "robustness", |label gap| (lower is better) for "dp" and "eop"."""
    return row["robust_accuracy"] if target == "robustness" else abs(row["gap"])


def evaluate_models(models: Mapping[str, object], evaluator: Evaluator) -> dict[str, dict[str, float]]:
    """``{name: evaluator(model)}`` for every model, in the given order (e.g. original, hard, soft)."""
    return {name: evaluator(model) for name, model in models.items()}


def model_metrics(model, target, X, y, s=None, *, reference_model=None, validation_target=None) -> dict[str, float]:
    """One model's row (module docstring) on a test split. ``reference_model`` (default: ``model``) fixes
    the attacked points for ``target="robustness"``; for several models build one :class:`Evaluator`."""
    ref = model if reference_model is None else reference_model
    return Evaluator(target, X, y, s, reference_model=ref, validation_target=validation_target)(model)


def weight_summary(eps, eps_unbounded=None) -> dict[str, float]:
    """Statistics of a weight change ε (sample weights s → s(1 + ε)): ``min``, ``max``, ``mean``,
    ``l2_norm``, ``n_moved`` (ε ≠ 0) and ``share_moved``, ``n_deleted`` (ε ≤ −1: weight 0 or below),
    ``n_upweighted`` (ε > 0), ``n_below_minus1`` (ε < −1: negative weights). With ``eps_unbounded`` (the
    same QP without its box): ``n_below_minus1_before_bounds``, ``min_before_bounds``, ``max_before_bounds``,
    i.e. how far the unconstrained optimum left the box."""
    e = np.asarray(eps, dtype=float)
    out = {
        "min": float(e.min()),
        "max": float(e.max()),
        "mean": float(e.mean()),
        "l2_norm": float(np.linalg.norm(e)),
        "n_moved": int(np.count_nonzero(e)),
        "share_moved": float(np.count_nonzero(e) / e.size),
        "n_deleted": int(np.count_nonzero(e <= -1.0)),
        "n_upweighted": int(np.count_nonzero(e > 0)),
        "n_below_minus1": int(np.count_nonzero(e < -1.0)),
    }
    if eps_unbounded is not None:
        u = np.asarray(eps_unbounded, dtype=float)
        out["n_below_minus1_before_bounds"] = int(np.count_nonzero(u < -1.0))
        out["min_before_bounds"] = float(u.min())
        out["max_before_bounds"] = float(u.max())
    return out

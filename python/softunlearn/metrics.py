"""Metrics. Label gaps are signed (group s=1 minus group s=0); fairlearn's two-group
``demographic_parity_difference`` / ``equal_opportunity_difference`` are their absolute values.
The soft gaps are the target values of :mod:`softunlearn.targets`.

Labels are any two values. Without a model the classes are those of the labels given (np.unique, labels
within {0, 1} meaning [0, 1]); ``pos_label`` (the class whose rate the gaps compare) defaults to the
larger one, classes[1] (1 for {0, 1}), as a model's classes_[1]. With pos_label = classes[0] a label gap is
that of the other class: the DP gap is negated, the EOP gap compares the true-negative rates."""

from __future__ import annotations

import numpy as np

from ._validation import as_group, encode_labels, fit_labels, label_array, pos_label_flips
from .targets import DemographicParity, EqualOpportunity, Robustness, Utility


def _binary(named, pos_label=None):
    """Each (array, name) as 0/1 "is pos_label" over the classes of all the arrays together (at most two:
    the argument that adds a third is named); pos_label = None means classes[1]."""
    arrays: list[np.ndarray] = []
    for a, name in named:
        arrays.append(label_array(a, arrays[0].shape[0] if arrays else None, name))
    seen: set = set() if pos_label is None else {pos_label}
    merged: list = []
    for a, (_, name) in zip(arrays, named):
        try:
            seen |= set(np.unique(a).tolist())
            merged = sorted(seen)
        except TypeError:
            raise TypeError(f"{name}: labels of mixed types cannot be compared with the others") from None
        if len(merged) > 2:
            raise ValueError(f"{name}: the labels form {len(merged)} classes {merged[:5]}; only binary is supported")
    if set(merged) <= {0, 1}:
        merged = [0, 1]
    if len(merged) < 2:
        raise ValueError(f"pos_label: the labels hold the single class {merged}; pass pos_label to name the positive")
    classes = fit_labels(np.asarray(merged), None, np.float64, named[0][1])[1]  # as a model's classes_
    flip = pos_label_flips(pos_label, classes)
    out = [encode_labels(a, classes, None, np.float64, name) for a, (_, name) in zip(arrays, named)]
    return [1 - y for y in out] if flip else out


def accuracy(y_true, y_pred) -> float:
    """Share of y_pred equal to y_true (any two labels)."""
    yt, yp = _binary([(y_true, "y_true"), (y_pred, "y_pred")])
    return float(np.mean(yt == yp))


def demographic_parity_gap(y_pred, s, *, pos_label=None) -> float:
    """P(ŷ = pos_label | s=1) − P(ŷ = pos_label | s=0); pos_label defaults to classes[1] (module docstring),
    and pos_label = classes[0] gives exactly the negated gap."""
    (yp,) = _binary([(y_pred, "y_pred")], pos_label)
    g = as_group(s, yp.shape[0], np.float64)
    return float(yp[g == 1].mean() - yp[g == 0].mean())


def equal_opportunity_gap(y_true, y_pred, s, *, pos_label=None) -> float:
    """TPR(s=1) − TPR(s=0), with TPR = P(ŷ = pos_label | y = pos_label); pos_label defaults to classes[1]."""
    yt, yp = _binary([(y_true, "y_true"), (y_pred, "y_pred")], pos_label)
    g = as_group(s, yt.shape[0], np.float64)
    rates = []
    for grp in (1, 0):
        m = (g == grp) & (yt == 1)
        if not m.any():
            raise ValueError(
                f"s: group {grp} has no positive labels (y = pos_label); the true-positive rate is undefined"
            )
        rates.append(yp[m].mean())
    return float(rates[0] - rates[1])


def soft_demographic_parity_gap(model, X, s, *, pos_label=None) -> float:
    """Mean P(pos_label) over s=1 minus over s=0 (the DP target's value)."""
    return DemographicParity(X, s, pos_label=pos_label).value(model)


def soft_equal_opportunity_gap(model, X, y, s, *, pos_label=None) -> float:
    """Mean loss over {s=0, y=pos_label} minus over {s=1, y=pos_label} (the EOP target's value)."""
    return EqualOpportunity(X, y, s, pos_label=pos_label).value(model)


def robust_accuracy(model, robustness: Robustness) -> float:
    """Accuracy on the fixed adversarial points of a Robustness target."""
    return accuracy(robustness._labels, model.predict(robustness.adversarial_X))


def summary(model, X, y, s, robustness: Robustness | None = None, *, pos_label=None) -> dict:
    """Accuracy, loss, label and soft gaps (and robust accuracy when given) in one dict.

    ``log_loss`` (name kept for the CLI's reports) is the mean validation loss of the model's own loss:
    the log-loss for LogisticRegression, the hinge variant for LinearSVC. ``pos_label`` defaults to
    ``model.classes_[1]`` for the label and the soft gaps alike."""
    pos = np.asarray(model.classes_)[1] if pos_label is None else pos_label
    yp = model.predict(X)
    out = {
        "accuracy": accuracy(y, yp),
        "log_loss": Utility(X, y).value(model) / np.shape(X)[0],
        "dp_gap": demographic_parity_gap(yp, s, pos_label=pos),
        "eop_gap": equal_opportunity_gap(y, yp, s, pos_label=pos),
        "soft_dp_gap": soft_demographic_parity_gap(model, X, s, pos_label=pos),
        "soft_eop_gap": soft_equal_opportunity_gap(model, X, y, s, pos_label=pos),
    }
    if robustness is not None:
        out["robust_accuracy"] = robust_accuracy(model, robustness)
        out["robust_loss"] = robustness.value(model) / robustness.n_samples
    return out

"""Metrics. Label gaps are signed (group s=1 minus group s=0); fairlearn's two-group
``demographic_parity_difference`` / ``equal_opportunity_difference`` are their absolute values.
The soft gaps are the target values of :mod:`softunlearn.targets`."""

from __future__ import annotations

import numpy as np

from ._validation import as_group, as_labels
from .targets import DemographicParity, EqualOpportunity, Robustness, Utility


def _labels(y, name, n=None):
    a = np.asarray(y)
    return as_labels(a, a.shape[0] if n is None else n, np.float64, name)


def accuracy(y_true, y_pred) -> float:
    """Share of y_pred equal to y_true."""
    yt = _labels(y_true, "y_true")
    yp = _labels(y_pred, "y_pred", yt.shape[0])
    return float(np.mean(yt == yp))


def demographic_parity_gap(y_pred, s) -> float:
    """P(ŷ=1 | s=1) − P(ŷ=1 | s=0)."""
    yp = _labels(y_pred, "y_pred")
    g = as_group(s, yp.shape[0], np.float64)
    return float(yp[g == 1].mean() - yp[g == 0].mean())


def equal_opportunity_gap(y_true, y_pred, s) -> float:
    """TPR(s=1) − TPR(s=0), with TPR = P(ŷ=1 | y=1)."""
    yt = _labels(y_true, "y_true")
    yp = _labels(y_pred, "y_pred", yt.shape[0])
    g = as_group(s, yt.shape[0], np.float64)
    rates = []
    for grp in (1, 0):
        m = (g == grp) & (yt == 1)
        if not m.any():
            raise ValueError(f"s: group {grp} has no positive labels (y=1); the true-positive rate is undefined")
        rates.append(yp[m].mean())
    return float(rates[0] - rates[1])


def soft_demographic_parity_gap(model, X, s) -> float:
    """Mean σ(z) over s=1 minus over s=0 (the DP target's value)."""
    return DemographicParity(X, s).value(model)


def soft_equal_opportunity_gap(model, X, y, s) -> float:
    """Mean loss over {s=0,y=1} minus over {s=1,y=1} (the EOP target's value)."""
    return EqualOpportunity(X, y, s).value(model)


def robust_accuracy(model, robustness: Robustness) -> float:
    """Accuracy on the fixed adversarial points of a Robustness target."""
    y = next(iter(robustness._data.values()))[1]
    return accuracy(y, model.predict(robustness.adversarial_X))


def summary(model, X, y, s, robustness: Robustness | None = None) -> dict:
    """Accuracy, loss, label and soft gaps (and robust accuracy when given) in one dict.

    ``log_loss`` (name kept for the CLI's reports) is the mean validation loss of the model's own loss:
    the log-loss for LogisticRegression, the hinge variant for LinearSVC."""
    yp = model.predict(X)
    out = {
        "accuracy": accuracy(y, yp),
        "log_loss": Utility(X, y).value(model) / np.shape(X)[0],
        "dp_gap": demographic_parity_gap(yp, s),
        "eop_gap": equal_opportunity_gap(y, yp, s),
        "soft_dp_gap": soft_demographic_parity_gap(model, X, s),
        "soft_eop_gap": soft_equal_opportunity_gap(model, X, y, s),
    }
    if robustness is not None:
        out["robust_accuracy"] = robust_accuracy(model, robustness)
        out["robust_loss"] = robustness.value(model) / robustness.n_samples
    return out

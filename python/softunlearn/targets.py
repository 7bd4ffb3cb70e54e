"""Targets: functions f(θ) of a fitted model on a validation set, with value and gradient.

Influence scores use the removal convention: ``scoreᵢ(f) = gᵢᵀ H⁻¹ ∇f(θ̂)`` is the first-order change
of f when training sample i is deleted (gᵢ = C sᵢ ℓ'(zᵢ) x̃ᵢ). The Koh–Liang up-weighting influence
is its negative. A weight change ε changes f by ≈ −εᵀ score(f).

Built-in targets (docs/conventions.md; x̃ = (x, 1) with an intercept, z = x̃ᵀθ the decision value, p = σ(z),
ℓ the **model's own loss** and ℓ' = ∂ℓ/∂z — for logistic regression ℓ is the log-loss and ℓ' = p − y,
for :class:`~softunlearn.LinearSVC` the smooth or squared hinge of the margin (2y − 1)·z):

=====================  ============================================  ===================================
target                 value                                         gradient
=====================  ============================================  ===================================
Utility(X, y)          Σ ℓ (summed validation loss)                  X̃ᵀℓ'
DemographicParity      mean p over s=1 − mean p over s=0             same difference of means of p(1−p)x̃
EqualOpportunity       mean ℓ over {s=0,y=1} − over {s=1,y=1}        same difference of means of ℓ'x̃
Robustness(X, y)       Σ ℓ at the mirror-attacked points xᵃ          X̃ᵃᵀℓ'(xᵃ), xᵃ held fixed
=====================  ============================================  ===================================

Demographic parity of an SVM. The DP target is the sigmoid of the decision value, σ(z), for every
model, not the mean margin z. Reasons: fairlearn's DP gap compares positive rates, mean 1[z > 0], and σ(z)
is a smooth, bounded surrogate of that step (the mean margin is unbounded, so a few far-away points
dominate it, and it can be zero while positive rates differ widely); the value stays in [−1, 1] and
comparable across models and losses; and driving it to zero (Δ = f(θ̂)) asks the same question for both
models. For an SVM σ(z) is not a calibrated probability (σ(±1) ≈ 0.73/0.27 at the margins); the target is
only used through its value and gradient, which need no calibration. A margin-based DP, if wanted, is a
custom target: value mean z over s=1 minus s=0, gradient the same difference of mean x̃.

Any object with ``value(model)`` and ``gradient(model)`` is a target, and so is a ``(value, gradient)``
pair (see :func:`as_target`).
"""

from __future__ import annotations

import numbers
from typing import Any, SupportsFloat

import numpy as np

from . import _core
from ._validation import (
    as_group,
    as_matrix,
    check_both_groups,
    check_n_threads,
    check_positive,
    encode_labels,
    fit_labels,
    is_dask,
    is_finite_real,
    label_array,
    pos_label_flips,
    unique_labels,
)
from .errors import NonFiniteError
from .linear_model import check_model


class Target:
    """Base class: subclasses implement ``value(model) -> float`` and ``gradient(model) -> (p,)``."""

    name = "target"

    def value(self, model) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def gradient(self, model) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class _BuiltinTarget(Target):
    """Validation data is checked once. Labels are kept as given and mapped to the y01 encoding through the
    ``classes_`` of the model the target is evaluated with (targets are built before a model exists); the
    arrays are cached per (dtype, ``classes_``, positive class). Labels outside the model's ``classes_`` raise.

    X may be a dask array chunked along rows (dense or CSR chunks), with y and s as dask arrays of X's row
    chunks or in memory; a dask y holds the {0, 1} encoding. Value and gradient are then distributed sums
    (:mod:`softunlearn.dask_targets`), and the labels are checked in one pass over y and s at the first
    evaluation."""

    _kind: _core.TargetKind
    _X: Any  # the validated X in memory (ndarray or CSR), or a DaskTargetData

    def __init__(self, X, y=None, s=None, pos_label=None):
        self.pos_label = pos_label
        self._data: dict = {}
        self._dask = is_dask(X)
        if self._dask:
            from .dask_engine import as_dask_matrix
            from .dask_targets import DaskTargetData

            X = as_dask_matrix(X, "X")
            n = int(X.shape[0])
            self._labels = None if y is None or is_dask(y) else self._copied_labels(y, n)
            self._X = DaskTargetData(X, y if self._labels is None else self._labels, s)
            self.n_samples = self._X.n_samples
            return
        X64 = as_matrix(X, "X")
        n = X64.shape[0]
        self._labels = None if y is None else self._copied_labels(y, n)
        self._X = X64
        self._s = as_group(s, n, X64.dtype) if s is not None else np.empty(0, X64.dtype)
        self.n_samples = n
        guess = _classes_of(self._labels)
        if guess is not None:  # labels that fix the classes without a model: check now, not at first use
            self._check(self._encoded(guess, np.dtype(np.float64), pos_label_flips(pos_label, guess)))

    @staticmethod
    def _copied_labels(y, n):
        # A copy: the labels are mapped lazily, so a caller's array changed later must not change the target.
        labels = np.array(label_array(y, n, "y"), copy=True)
        _check_binary(labels)
        return labels

    def _encoded(self, classes, dt, flip):
        y = np.empty(0, dt) if self._labels is None else encode_labels(self._labels, classes, None, dt, "y")
        return 1 - y if flip and y.size else y

    def _check(self, y) -> None:
        """Checks that need the labels encoded: the group sizes the target averages over."""
        self._check_counts(_core.target_counts(kind=self._kind, y=y, group=self._s.astype(y.dtype, copy=False)))

    def _check_counts(self, counts) -> None:
        """Raise when a group the target averages over is empty (DP, EOP); counts as ``_core.target_counts``."""

    def _arrays(self, model):
        """(X, y, s, counts, flip) for this model: y is 1[label = positive class], flip is True when the
        positive class is ``classes_[0]``, where the kernel is evaluated at −θ (see :meth:`evaluate`);
        counts are the group sizes on Dask (None in memory, where the kernel counts them)."""
        dt = model.dtype
        classes = np.asarray(model.classes_)
        flip = pos_label_flips(self.pos_label, classes)
        key = (dt, tuple(classes.tolist()), flip)
        if key not in self._data:
            if self._X.shape[1] != model.n_features_in_:
                raise ValueError(f"X: the target has {self._X.shape[1]} features, the model {model.n_features_in_}")
            if self._dask:
                X, y, s, counts = self._X.arrays(self._kind, classes, dt, flip)
                self._check_counts(counts)
                self._data[key] = (X, y, s, counts)
            else:
                y = self._encoded(classes, dt, flip)
                self._check(y)
                self._data[key] = (self._X.astype(dt, copy=False), y, self._s.astype(dt, copy=False), None)
        return (*self._data[key], flip)

    def evaluate(self, model):
        """(value, gradient) in one pass over the validation set.

        With pos_label = ``classes_[0]`` the target is that of the model relabelled so that pos_label is the
        positive class: θ → −θ (z → −z) and y01 → 1 − y01 (the losses are symmetric, ℓ(−z, 1 − y) = ℓ(z, y)),
        and the gradient is negated back to θ. For DemographicParity this is exactly −(the default value)."""
        model = check_model(model)
        X, y, s, counts, flip = self._arrays(model)
        theta = -model.theta_ if flip else model.theta_
        intercept = bool(model.fit_intercept)
        if self._dask:
            from .dask_engine import dask_threads

            value, grad = self._X.evaluate(
                self._kind, X, y, s, counts, theta, intercept, dask_threads(model.n_threads), model._loss
            )
        else:
            value, grad = _core.evaluate_target(
                kind=self._kind, X=X, theta=theta, y=y, group=s, intercept=intercept,
                n_threads=check_n_threads(model.n_threads), loss=model._loss[0], loss_param=model._loss[1],
            )  # fmt: skip
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            raise NonFiniteError(
                f"{self._overflow_names}: the target's value or gradient overflowed "
                f"{model.dtype.name} (validation X too large for this model); rescale X, e.g. with "
                "StandardScaler"
            )
        return float(value), (-grad if flip else grad)

    _overflow_names = "X"

    def value(self, model) -> float:
        return self.evaluate(model)[0]

    def gradient(self, model) -> np.ndarray:
        return self.evaluate(model)[1]

    def __repr__(self):
        return f"{type(self).__name__}(n_samples={self.n_samples})"


def _check_binary(labels) -> None:
    if labels.dtype.kind in "biuf" and not ((labels != 0) & (labels != 1)).any():
        return
    found = unique_labels(labels, "y")
    if found.size > 2:
        raise ValueError(
            f"y: found {found.size} classes {found[:5].tolist()}. Only binary classification is supported."
        )


def _classes_of(labels):
    """The classes_ a model fitted on these labels would have, or None when they do not fix them (no
    labels, or a single label outside {0, 1})."""
    if labels is None:
        return None
    try:
        return fit_labels(labels, None, np.float64)[1]
    except ValueError:
        return None


class Utility(_BuiltinTarget):
    """Summed validation loss Σ ℓ(zᵢ, yᵢ) with the model's own loss; gradient X̃ᵀℓ'(z). Lower is better.
    The labels are any of the model's ``classes_`` (mapped at evaluation)."""

    name = "utility"
    _kind = _core.TargetKind.utility

    def __init__(self, X, y):
        super().__init__(X, y=_required(y, "y", "the validation labels"))


class DemographicParity(_BuiltinTarget):
    """Soft demographic-parity gap: mean P(pos_label) over s=1 minus mean over s=0 (signed), for every model
    (for an SVM too: see the module docstring for why σ of the decision value rather than the margin).

    ``pos_label`` (default ``model.classes_[1]``, as scikit-learn): the class whose rate is compared.
    P(``classes_[1]``) = σ(z); with pos_label = ``classes_[0]`` it is 1 − σ(z), so value and gradient are exactly
    the negated default ones."""

    name = "dp"
    _kind = _core.TargetKind.dp

    def __init__(self, X, s, *, pos_label=None):
        s = _required(s, "s", "the binary sensitive attribute of the validation rows")
        super().__init__(X, s=s, pos_label=pos_label)

    def _check_counts(self, counts):
        check_both_groups(counts[0], counts[1], "s")


class EqualOpportunity(_BuiltinTarget):
    """Soft equal-opportunity gap: mean loss (the model's own) over {s=0, y=pos_label} minus over
    {s=1, y=pos_label} (signed).

    Positive when the positives of group 0 are fitted worse, i.e. the same sign as TPR(s=1) − TPR(s=0)
    with TPR = P(ŷ = pos_label | y = pos_label). ``pos_label`` defaults to ``model.classes_[1]`` (as
    scikit-learn); pos_label = classes_[0] evaluates the gap of the other class (the loss of a row does not
    depend on which class is called positive, only the rows compared do)."""

    name = "eop"
    _kind = _core.TargetKind.eop

    def __init__(self, X, y, s, *, pos_label=None):
        super().__init__(
            X,
            y=_required(y, "y", "the validation labels"),
            s=_required(s, "s", "the binary sensitive attribute of the validation rows"),
            pos_label=pos_label,
        )

    def _check_counts(self, counts):
        for grp in (0, 1):
            if counts[grp] == 0:
                raise ValueError(
                    f"s: group {grp} has no positive labels (y = pos_label); equal opportunity needs positives "
                    "in both groups"
                )


class Robustness(_BuiltinTarget):
    """Summed loss (the model's own) on mirror-attacked validation points xᵃ = x − factor·(wᵀx + b)/‖w‖²·w.

    The attacked points are computed once, from the first model the target sees (or from ``model``
    given here), and then kept fixed so that the value after unlearning is measured on the same
    points. ``adversarial_X`` exposes them."""

    name = "robustness"
    _kind = _core.TargetKind.utility
    _overflow_names = "X, factor"

    def __init__(self, X, y, factor: float = 1.3, model=None):
        self.factor = check_positive(factor, "factor")
        y = _required(y, "y", "the validation labels")
        if is_dask(X):
            from .dask_engine import as_dask_matrix, as_dask_rows

            self._clean = as_dask_matrix(X, "X")
            if is_dask(y):
                as_dask_rows(y, self._clean, "y")
        else:
            self._clean = as_matrix(X, "X")
        self.n_samples = int(self._clean.shape[0])
        self._labels = y if is_dask(y) else self._copied_labels(y, self.n_samples)
        self._bound = False
        if model is not None:
            self.bind(model)

    def bind(self, model) -> Robustness:
        """Compute the adversarial points from ``model``'s θ (once)."""
        model = check_model(model)
        if self._clean.shape[1] != model.n_features_in_:
            raise ValueError(f"X: the target has {self._clean.shape[1]} features, the model {model.n_features_in_}")
        kw = dict(theta=model.theta_, intercept=bool(model.fit_intercept), factor=model.dtype.type(self.factor))
        if is_dask(self._clean):
            from .dask_engine import dask_threads
            from .dask_targets import mirror_attack

            # Lazy: every evaluation recomputes the points chunk by chunk (one more read of X), and a
            # non-finite point makes the value non-finite, which evaluate() reports.
            Xa = mirror_attack(self._clean.astype(model.dtype), **kw, n_threads=dask_threads(model.n_threads))
        else:
            X = self._clean.astype(model.dtype, copy=False)
            Xa = _core.mirror_attack(X=X, **kw, n_threads=check_n_threads(model.n_threads))
        if not is_dask(Xa) and not np.isfinite(Xa).all():
            raise NonFiniteError(
                f"factor: the attacked points x − factor·(wᵀx + b)/‖w‖²·w overflow {model.dtype.name} "
                f"(factor={self.factor:g}); use a smaller factor or rescale X"
            )
        super().__init__(Xa, y=self._labels)
        self._arrays(model)  # the labels against the model's classes_ now, not at the first evaluation
        self._bound = True
        return self

    @property
    def adversarial_X(self):
        """The attacked points: an ndarray, or a lazy dask array for a dask X."""
        if not self._bound:
            raise AttributeError("the adversarial points are computed at the first use with a model; call bind(model)")
        return self._X.X if self._dask else self._X

    def evaluate(self, model):
        if not self._bound:
            self.bind(model)
        return super().evaluate(model)


class Custom(Target):
    """A target given by its gradient (and optionally its value) at θ̂."""

    name = "custom"

    def __init__(self, gradient, value: SupportsFloat | None = None):
        if gradient is None or (hasattr(gradient, "tocsr") and hasattr(gradient, "nnz")):
            raise TypeError(f"gradient: expected a dense 1-D array, got {type(gradient).__name__}")
        raw = np.asarray(gradient)
        if (
            raw.dtype == object
            or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool)
            or np.iscomplexobj(raw)
        ):
            raise TypeError(f"gradient: expected a real numeric 1-D array, got dtype {raw.dtype}")
        g = raw.astype(np.float64)
        if g.ndim != 1 or not np.isfinite(g).all():
            raise ValueError(f"gradient: expected a finite 1-D array of length n_params, got shape {g.shape}")
        self._grad = g
        self._value = value

    def gradient(self, model) -> np.ndarray:
        p = check_model(model).theta_.shape[0]
        if self._grad.shape[0] != p:
            raise ValueError(f"gradient: expected length {p} (n_features + intercept), got {self._grad.shape[0]}")
        return checked_gradient(self._grad, model)

    def value(self, model) -> float:
        if self._value is None:
            raise ValueError("this custom target was given without a value")
        return float(self._value)


def as_target(obj) -> Target:
    """Accept a Target, an object with ``value(model)``/``gradient(model)``, or a ``(value, gradient)`` pair."""
    if isinstance(obj, Target):
        return obj
    if callable(getattr(obj, "gradient", None)):
        return obj
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], numbers.Real):
        try:
            return Custom(obj[1], value=obj[0])
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"target: a (value, gradient) pair needs a real value first and a 1-D gradient second; its {exc}"
            ) from None
    raise TypeError(
        f"target: expected a softunlearn target, an object with value(model) and gradient(model), or a "
        f"(value, gradient) pair, got {type(obj).__name__}"
    )


def evaluate(target, model):
    """(value, gradient) of any target; the gradient is checked (see :func:`checked_gradient`)."""
    t = as_target(target)
    if hasattr(t, "evaluate"):
        value, grad = t.evaluate(model)
    else:
        value, grad = _value_of(t, model), t.gradient(model)
    return checked_value(value), checked_gradient(grad, model)


def checked_value(value) -> float:
    """A target's value as a finite float (duck-typed targets may return anything)."""
    v = value.item() if isinstance(value, np.ndarray) and value.size == 1 else value
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not is_finite_real(v):
        raise ValueError(f"target value: expected a finite real number, got {value!r}")
    return float(v)


def checked_gradient(grad, model) -> np.ndarray:
    """A target's gradient as a finite 1-D array of exactly n_params values in the model's dtype.

    Duck-typed targets are not trusted: a gradient of another length is an error, never reshaped."""
    p = model.theta_.shape[0]
    if grad is None or (hasattr(grad, "tocsr") and hasattr(grad, "nnz")):
        raise TypeError(f"target gradient: expected a dense array of {p} values, got {type(grad).__name__}")
    g = np.asarray(grad)
    if g.dtype == object or not (np.issubdtype(g.dtype, np.number) or g.dtype == bool) or np.iscomplexobj(g):
        raise TypeError(f"target gradient: expected a real numeric array, got dtype {g.dtype}")
    if g.ndim == 2 and 1 in g.shape:
        g = g.reshape(-1)
    if g.shape != (p,):
        raise ValueError(f"target gradient: expected shape ({p},) (n_features + intercept), got {np.shape(grad)}")
    with np.errstate(over="ignore"):
        g = np.ascontiguousarray(g, dtype=model.dtype)
    if not np.isfinite(g).all():
        raise ValueError(f"target gradient: contains NaN or infinity (in {model.dtype.name})")
    top = float(np.max(np.abs(np.asarray(grad, dtype=np.float64)))) if g.size else 0.0
    floor = float(np.finfo(model.dtype).tiny / np.finfo(model.dtype).eps)
    if 0 < top < floor:
        # Below this the gradient (and H⁻¹∇f, and the scores) lose precision to subnormal rounding or vanish.
        raise ValueError(
            f"target gradient: its largest entry, {top:.3g}, is below {floor:.3g}, where "
            f"{model.dtype.name} loses precision; scale the target up (scores are linear in it)"
        )
    return g


def required_change(target, model, fraction: float = 1.0) -> float:
    """Δ for :func:`softunlearn.soft_weights`: the decrease of the target to ask for.

    ``Δ = fraction · f(θ̂)``. For a signed gap (DP, EOP) ``fraction=1`` drives the gap to zero from either
    side (a negative gap gives a negative Δ: the gap is raised to zero, not doubled). For a loss
    (utility, robustness) ``fraction=1`` asks for a first-order decrease equal to the whole loss, which is
    what the paper's robustness experiments ask for; ``fraction < 1`` asks for less (e.g. 0.1: a 10 % lower
    adversarial loss, too little to move robust accuracy under the mirror attack)."""
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not (0 < fraction <= 1):
        raise ValueError(f"fraction: expected a number in (0, 1], got {fraction!r}")
    return float(fraction) * checked_value(_value_of(as_target(target), model))


def _required(arg, name, what):
    if arg is None:
        raise TypeError(f"{name}: expected {what}, got None")
    return arg


def _value_of(target, model):
    if not callable(getattr(target, "value", None)):
        raise TypeError(
            f"target: {type(target).__name__} has no value(model) method; the required change needs the "
            "target's value (pass a (value, gradient) pair or give the object a value method)"
        )
    return target.value(model)

"""Exception classes of softunlearn, with one common base.

Every error softunlearn raises on purpose is a :class:`SoftunlearnError` and also a subclass of the
built-in exception that scikit-learn users expect (``ValueError`` for bad data or an ill-posed
problem), so ``except ValueError`` keeps working. The compiled core's C++ exceptions are translated to
these classes when it is imported; no code recognises an error by its message.
"""

from __future__ import annotations


class SoftunlearnError(Exception):
    """Base class of the errors softunlearn raises on purpose."""


class NotPositiveDefiniteError(SoftunlearnError, ValueError):
    """The Hessian (or a CG curvature) is not positive definite: the objective is not strictly convex
    at θ. Remedies: a stronger regulariser (smaller C), dropping collinear or constant features, or
    no negative sample weights."""


class NonFiniteError(SoftunlearnError, ValueError):
    """An intermediate (gradient, Hessian, Newton direction, CG residual, weights) stopped being finite:
    the input overflowed the working precision. Rescale X (e.g. ``StandardScaler``), use float64, or
    choose a smaller C; a NaN is never returned as a result."""


class InvalidParameterError(SoftunlearnError, ValueError, TypeError):
    """A parameter of the wrong type or out of range (``max_iter=True``, ``fit_intercept='no'``,
    ``n_threads=-2``). Both a ValueError and a TypeError, as scikit-learn's error of the same name, so
    code written against either keeps working."""


__all__ = ["SoftunlearnError", "InvalidParameterError", "NotPositiveDefiniteError", "NonFiniteError"]

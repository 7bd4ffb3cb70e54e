"""What a loader returns: a :class:`Dataset` of three :class:`Split` parts (train, validation, test)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Split:
    """One part (train, validation or test) of a data set.

    Attributes
    ----------
    X : ndarray of float64, shape (n, d), C-contiguous
    y : ndarray of int64, shape (n,), values in {0, 1}
    s : ndarray of int64, shape (n,), values in {0, 1} (sensitive attribute)
    """

    X: np.ndarray
    y: np.ndarray
    s: np.ndarray

    def __post_init__(self) -> None:
        X = np.ascontiguousarray(self.X, dtype=np.float64)
        y = np.ascontiguousarray(self.y, dtype=np.int64)
        s = np.ascontiguousarray(self.s, dtype=np.int64)
        if X.ndim != 2:
            raise ValueError(f"Split.X must be 2-D, got shape {X.shape}")
        if y.shape != (X.shape[0],) or s.shape != (X.shape[0],):
            raise ValueError(f"Split.y and Split.s must have shape ({X.shape[0]},), got {y.shape} and {s.shape}")
        for name, a in (("y", y), ("s", s)):
            if a.size and not np.isin(a, (0, 1)).all():
                raise ValueError(f"Split.{name} must only contain 0 and 1")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "s", s)

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    def __len__(self) -> int:
        return self.n


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split into train / validation / test parts.

    ``feature_names[j]`` names column ``j`` of every ``X``;
    ``numeric_features`` lists the standardised columns (a prefix of
    ``feature_names``); ``sensitive_name`` says what ``s`` encodes.
    """

    name: str
    train: Split
    val: Split
    test: Split
    feature_names: list[str]
    sensitive_name: str
    description: str
    numeric_features: tuple[str, ...] = field(default=())

    @property
    def n_features(self) -> int:
        return int(self.train.X.shape[1])

    def __repr__(self) -> str:  # the arrays make the default repr unreadable
        return (
            f"Dataset(name={self.name!r}, train={self.train.n}, val={self.val.n}, "
            f"test={self.test.n}, n_features={self.n_features}, "
            f"sensitive_name={self.sensitive_name!r})"
        )

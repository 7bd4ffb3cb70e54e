"""The vocabulary of the spec table: how a label or sensitive attribute is read off the raw columns
(:class:`Flag`, :class:`OneOf`, :class:`Equals`, :class:`Above`, each giving an int64 0/1 array) and how a
categorical feature is rebuilt from columns a data package stores pre-encoded (:class:`OneHot`,
:class:`Recode`). Each is called with the raw pandas frame and the file name (for error messages);
none imports pandas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is optional: only the loaders need it
    import pandas as pd


# --------------------------------------------------------------------------
# Label / sensitive attribute: raw frame -> int64 array of 0 and 1
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """The column already holds 0/1."""

    column: str

    def __call__(self, raw: pd.DataFrame, where: str) -> np.ndarray:
        return raw[self.column].to_numpy().astype(np.int64)


@dataclass(frozen=True)
class OneOf:
    """1 where the column (read as text) is one of ``positive``, 0 where one of ``negative``; any other
    value is an error."""

    column: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]

    def __call__(self, raw: pd.DataFrame, where: str) -> np.ndarray:
        v = raw[self.column].astype(str)
        pos = v.isin(list(self.positive))
        neg = v.isin(list(self.negative))
        bad = ~(pos | neg)
        if bad.any():
            raise ValueError(f"{where}: unexpected {self.column} values: {sorted(set(v[bad]))[:5]}")
        return pos.to_numpy().astype(np.int64)


@dataclass(frozen=True)
class Equals:
    """1 where the column equals ``value``, 0 elsewhere."""

    column: str
    value: Any

    def __call__(self, raw: pd.DataFrame, where: str) -> np.ndarray:
        return (raw[self.column] == self.value).to_numpy().astype(np.int64)


@dataclass(frozen=True)
class Above:
    """1 where the column is greater than ``threshold``, 0 elsewhere."""

    column: str
    threshold: float

    def __call__(self, raw: pd.DataFrame, where: str) -> np.ndarray:
        return (raw[self.column] > self.threshold).to_numpy().astype(np.int64)


# --------------------------------------------------------------------------
# Derived categorical features: raw frame -> array of category names
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class OneHot:
    """A categorical column decoded from a group of 0/1 columns: those whose names start with
    ``prefix`` (in file order), or exactly ``columns``; a category is a column name minus the prefix."""

    prefix: str
    columns: tuple[str, ...] | None = None

    def sources(self, names: Sequence[str]) -> list[str]:
        if self.columns is not None:
            return list(self.columns)
        return [c for c in names if c.startswith(self.prefix)]

    def __call__(self, raw: pd.DataFrame, where: str) -> np.ndarray:
        cols = self.sources(list(raw.columns))
        onehot = raw[cols].to_numpy()
        if not (onehot.sum(axis=1) == 1).all():
            raise ValueError(f"{where}: {self.prefix}* columns are not one-hot")
        return np.asarray([c[len(self.prefix) :] for c in cols])[onehot.argmax(axis=1)]


@dataclass(frozen=True)
class Recode:
    """A categorical column naming the codes of one column, e.g. ``Recode("SEX", {0: "male", 1:
    "female"})``; a code not in ``names`` is an error."""

    column: str
    names: Mapping[Any, str]

    def sources(self, names: Sequence[str]) -> list[str]:
        return [self.column]

    def __call__(self, raw: pd.DataFrame, where: str) -> np.ndarray:
        codes = raw[self.column].to_numpy()
        if not np.isin(codes, list(self.names)).all():
            raise ValueError(f"{where}: {self.column} is not coded {'/'.join(map(str, self.names))}")
        out = np.empty(codes.shape, dtype=np.asarray(list(self.names.values())).dtype)
        for code, name in self.names.items():
            out[codes == code] = name
        return out

"""The one loader behind every ``load_<name>``: read a spec's raw file(s) with pandas (imported here,
lazily: it is an optional dependency), build ``y``, ``s`` and the feature columns, split the rows and
encode them. The keywords every loader takes are declared once, in :data:`KEYWORDS`."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .containers import Dataset, Split
from .locate import PathLike, find_data_dir
from .specs import REST, SPECS, Spec, get_spec

if TYPE_CHECKING:
    import pandas as pd

INSTALL_EXTRA = 'pip install "softunlearn[datasets]"'


def require_pandas():
    """The pandas module, or a ModuleNotFoundError that says how to install it."""
    try:
        import pandas
    except ImportError as exc:
        raise ModuleNotFoundError(
            "the softunlearn.datasets loaders read the raw files with pandas, an optional dependency "
            f'that is not installed: {INSTALL_EXTRA} (or pip install "pandas>=1.5")',
            name="pandas",
        ) from exc
    return pandas


# --------------------------------------------------------------------------
# Reading a spec's files
# --------------------------------------------------------------------------


def _read(spec: Spec, directory: str) -> tuple[pd.DataFrame, ...]:
    """Parse the raw file(s) (pool first, then the test file) and apply the row filters every call
    shares (``dropna``, ``rows``)."""
    pd = require_pandas()
    frames = []
    for i, file in enumerate(spec.files):
        extra = spec.test_csv if spec.test_file and i == 1 else {}
        df = pd.read_csv(Path(directory) / file, **spec.csv, **extra)
        if spec.dropna:
            df = df.dropna().reset_index(drop=True)
        if spec.rows is not None:
            df = df.loc[spec.rows(df)].reset_index(drop=True)
        frames.append(df)
    return tuple(frames)


@functools.lru_cache(maxsize=16)
def _read_cached(name: str, directory: str) -> tuple[pd.DataFrame, ...]:
    return _read(SPECS[name], directory)


def read_raw(name: str, directory: str) -> tuple[pd.DataFrame, ...]:
    """The parsed raw frames of data set ``name`` in ``directory``, memoised unless the spec says
    ``cache=False`` (the large files). Callers never modify them."""
    spec = SPECS[name]
    return _read_cached(name, directory) if spec.cache else _read(spec, directory)


def _is_dropped(column: str, drop: Sequence[str]) -> bool:
    return any(column == d or (d.endswith("*") and column.startswith(d[:-1])) for d in drop)


def feature_columns(spec: Spec, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """The numeric and categorical feature columns of ``spec`` (``REST`` resolved against the raw
    ``columns``), before ``include_sensitive`` is applied."""
    sources = {c for d in spec.derived.values() for c in d.sources(columns)}

    def rest(other: Sequence[str]) -> list[str]:
        return [
            c
            for c in columns
            if c != spec.label.column and c not in sources and c not in other and not _is_dropped(c, spec.drop)
        ]

    if spec.numeric == REST:
        return rest(spec.categorical), list(spec.categorical)
    if spec.categorical == REST:
        return list(spec.numeric), rest(spec.numeric)
    return list(spec.numeric), list(spec.categorical)


def _frame(spec: Spec, raw: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The feature ``columns`` (raw or derived) plus ``_y`` and ``_s``, one row per raw row."""
    pd = require_pandas()
    where = spec.files[0]
    data: dict[str, Any] = {}
    for c in columns:
        data[c] = spec.derived[c](raw, where) if c in spec.derived else raw[c]
    data["_y"] = spec.label(raw, where)
    data["_s"] = spec.sensitive(raw, where)
    return pd.DataFrame(data, index=raw.index)


# --------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def _allocate(counts: np.ndarray, k: int) -> np.ndarray:
    """Split ``k`` over strata proportionally to ``counts`` (largest remainder)."""
    total = counts.sum()
    if total == 0:
        return np.zeros_like(counts)
    quota = counts * (k / total)
    base = np.floor(quota).astype(np.int64)
    rem = k - base.sum()
    if rem > 0:
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:rem]] += 1
    return np.minimum(base, counts)


def _stratified_pick(strata: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask selecting exactly ``k`` rows, stratified by ``strata``."""
    n = strata.shape[0]
    mask = np.zeros(n, dtype=bool)
    if k <= 0:
        return mask
    if k >= n:
        mask[:] = True
        return mask
    groups, inverse = np.unique(strata, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(groups))
    take = _allocate(counts, k)
    for g in range(len(groups)):
        idx = np.flatnonzero(inverse == g)
        if take[g]:
            mask[rng.choice(idx, size=int(take[g]), replace=False)] = True
    return mask


def _subsample(idx: np.ndarray, strata: np.ndarray, n_train: int | None, rng: np.random.Generator) -> np.ndarray:
    if n_train is None:
        return idx
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)):
        raise TypeError(f"n_train must be an int or None, got {type(n_train).__name__}")
    if n_train < 1 or n_train > len(idx):
        raise ValueError(f"n_train must be in [1, {len(idx)}] (training rows available), got {n_train}")
    keep = _stratified_pick(strata[idx], int(n_train), rng)
    return idx[keep]


def split_pool(
    pool: pd.DataFrame,
    *,
    val_fraction: float,
    test_fraction: float,
    n_train: int | None,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified (y, s) split of ``pool`` into train / val / test (+ train subsample).

    ``val_fraction`` and ``test_fraction`` are fractions of the whole pool; ``pool`` has ``_y`` and
    ``_s`` columns; rows keep their order within each part.
    """
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    rng = np.random.default_rng(seed)
    n = len(pool)
    strata = 2 * pool["_y"].to_numpy() + pool["_s"].to_numpy()
    test_mask = _stratified_pick(strata, int(round(test_fraction * n)), rng)
    rest = np.flatnonzero(~test_mask)
    val_sub = _stratified_pick(strata[rest], int(round(val_fraction * n)), rng)
    val_mask = np.zeros(n, dtype=bool)
    val_mask[rest[val_sub]] = True
    train_idx = np.flatnonzero(~test_mask & ~val_mask)
    train_idx = _subsample(train_idx, strata, n_train, rng)
    return pool.iloc[train_idx], pool.iloc[np.flatnonzero(val_mask)], pool.iloc[np.flatnonzero(test_mask)]


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------


class Encoder:
    """Standardise numeric columns and one-hot encode categorical ones.

    Categories come from ``categories_frame`` (the full training file);
    mean/std come from ``fit_rows`` (the final training rows).
    """

    def __init__(
        self,
        numeric: Sequence[str],
        categorical: Sequence[str],
        categories_frame: pd.DataFrame,
    ) -> None:
        pd = require_pandas()
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.categories: dict[str, list[str]] = {
            c: sorted(pd.unique(categories_frame[c].astype(str))) for c in self.categorical
        }
        self.mean = np.zeros(len(self.numeric))
        self.std = np.ones(len(self.numeric))

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for c in self.categorical:
            names += [f"{c}={v}" for v in self.categories[c]]
        return names

    def fit(self, fit_rows: pd.DataFrame) -> Encoder:
        if self.numeric:
            A = fit_rows[self.numeric].to_numpy(dtype=np.float64)
            self.mean = A.mean(axis=0) if len(A) else np.zeros(len(self.numeric))
            std = A.std(axis=0) if len(A) else np.ones(len(self.numeric))
            self.std = np.where(std > 0, std, 1.0)
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        pd = require_pandas()
        n = len(df)
        d = len(self.feature_names)
        X = np.zeros((n, d), dtype=np.float64)
        j = len(self.numeric)
        if self.numeric:
            X[:, :j] = (df[self.numeric].to_numpy(dtype=np.float64) - self.mean) / self.std
        rows = np.arange(n)
        for c in self.categorical:
            cats = self.categories[c]
            codes = np.asarray(pd.Categorical(df[c].astype(str), categories=cats).codes, dtype=np.int64)
            ok = codes >= 0  # unseen categories: all-zero block
            X[rows[ok], j + codes[ok]] = 1.0
            j += len(cats)
        return X


# --------------------------------------------------------------------------
# The loader
# --------------------------------------------------------------------------


def _load(
    spec: Spec,
    path: PathLike | None,
    *,
    val_fraction: float,
    test_fraction: float = 0.0,
    seed: int,
    n_train: int | None,
    include_sensitive: bool,
    **options: str,
) -> Dataset:
    for key, value in options.items():
        choices = spec.options[key].choices
        if value not in choices:
            raise ValueError(f"{key} must be {' or '.join(map(repr, choices))}, got {value!r}")
        spec = dataclasses.replace(spec, **choices[value])
    require_pandas()
    directory = str(find_data_dir(spec.name, path).resolve())
    raws = read_raw(spec.name, directory)
    if spec.keep:
        mask = np.ones(len(raws[0]), dtype=bool)
        for column, values in spec.keep.items():
            mask &= raws[0][column].isin(list(values)).to_numpy()
        raws = (raws[0][mask].reset_index(drop=True),) + raws[1:]
    numeric, categorical = feature_columns(spec, list(raws[0].columns))
    frames = [_frame(spec, raw, numeric + categorical) for raw in raws]
    pool = frames[0]
    if spec.test_file:
        train, val, _ = split_pool(pool, val_fraction=val_fraction, test_fraction=0.0, n_train=n_train, seed=seed)
        test = frames[1]
    else:
        train, val, test = split_pool(
            pool, val_fraction=val_fraction, test_fraction=test_fraction, n_train=n_train, seed=seed
        )
    if not include_sensitive:
        numeric = [c for c in numeric if c not in spec.sensitive_features]
        categorical = [c for c in categorical if c not in spec.sensitive_features]
    enc = Encoder(numeric, categorical, pool).fit(train)

    def encode(df: pd.DataFrame) -> Split:
        return Split(enc.transform(df), df["_y"].to_numpy(), df["_s"].to_numpy())

    return Dataset(
        name=spec.name,
        train=encode(train),
        val=encode(val),
        test=encode(test),
        feature_names=enc.feature_names,
        sensitive_name=spec.sensitive_name,
        description=spec.description,
        numeric_features=tuple(numeric),
    )


#: The keywords of every loader, in signature order (after ``path``): name, default, annotation.
#: ``test_fraction`` only where the data set has no test file of its own; a spec's ``options`` follow.
KEYWORDS: tuple[tuple[str, Any, str], ...] = (
    ("val_fraction", 0.2, "float"),
    ("test_fraction", 0.2, "float"),
    ("seed", 0, "int"),
    ("n_train", None, "Optional[int]"),
    ("include_sensitive", True, "bool"),
)


def _signature(spec: Spec) -> inspect.Signature:
    P = inspect.Parameter
    params = [P("path", P.POSITIONAL_OR_KEYWORD, default=None, annotation="Optional[PathLike]")]
    for name, default, annotation in KEYWORDS:
        if name == "test_fraction" and spec.test_file:
            continue
        params.append(P(name, P.KEYWORD_ONLY, default=default, annotation=annotation))
    for name, option in spec.options.items():
        params.append(P(name, P.KEYWORD_ONLY, default=option.default, annotation="str"))
    return inspect.Signature(params, return_annotation="Dataset")


def make_loader(name: str) -> Callable[..., Dataset]:
    """The public ``load_<name>`` function: :func:`_load` with the keywords of ``name``'s spec."""
    spec = get_spec(name)
    signature = _signature(spec)
    fname = f"load_{name}"

    def loader(*args: Any, **kwargs: Any) -> Dataset:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{fname}() {exc}") from None
        bound.apply_defaults()
        return _load(spec, **bound.arguments)

    loader.__name__ = loader.__qualname__ = fname
    loader.__module__ = __package__ or __name__
    loader.__doc__ = spec.doc
    loader.__signature__ = signature  # type: ignore[attr-defined]  # inspect reads it; functions do not declare it
    return loader


LOADERS: dict[str, Callable[..., Dataset]] = {name: make_loader(name) for name in SPECS}


def load(name: str, path: PathLike | None = None, **kwargs) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASETS`); keyword arguments go to its loader."""
    get_spec(name)
    return LOADERS[name](path, **kwargs)

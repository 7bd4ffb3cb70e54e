"""Input checks at the Python boundary: every array is validated and cast once here, so the compiled
core only ever sees C-contiguous float32/float64 arrays of matching shapes, or CSR matrices whose
data is float32/float64 and whose indptr and indices share one dtype (int32 or int64)."""

from __future__ import annotations

import math
import numbers
from typing import Literal, overload

import numpy as np
import scipy.sparse as sp

from .errors import InvalidParameterError

_FLOATS = (np.float32, np.float64)


def compute_dtype(X) -> np.dtype:
    """float32 input stays float32; everything else is computed in float64."""
    dt = getattr(X, "dtype", None)
    return np.dtype(np.float32) if dt == np.float32 else np.dtype(np.float64)


def _reject_sparse(X, name):
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):
        raise TypeError(f"{name}: expected a dense 1-D array, got a scipy.sparse matrix; pass {name}.toarray().ravel()")


def is_sparse(X) -> bool:
    return sp.issparse(X)


_INDEX_TYPES = (np.dtype(np.int32), np.dtype(np.int64))


def as_csr(X, name: str = "X", dtype=None, n_features: int | None = None):
    """A scipy.sparse matrix as CSR ready for the compiled core, without densifying it.

    A CSR matrix (``csr_matrix`` or ``csr_array``) whose data already has the compute dtype and whose
    ``indptr``/``indices`` share an int32 or int64 dtype is used as is (no copy). Other formats (CSC,
    COO, ...) are converted to CSR once, other dtypes are cast once: both copies, the input is never
    modified. Unsorted indices, explicit zeros and duplicate entries (summed) are accepted as they are.
    Checked: 2-D shape, numeric data, finite values, index ranges."""
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D sparse matrix of shape (n_samples, n_features), got shape {X.shape}")
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name}: expected a numeric sparse matrix, got dtype {X.dtype}")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"{name}: complex values are not supported")
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(f"{name}: expected at least one sample and one feature, got shape {X.shape}")
    if n_features is not None and d != n_features:
        raise ValueError(f"{name}: expected {n_features} features (as in training), got {d}")
    dt = np.dtype(dtype) if dtype is not None else compute_dtype(X)
    if X.format == "csr":
        # Before scipy touches it: its own checks raise messages that do not name the argument.
        check_csr_structure(X, name)
    out = X if X.format == "csr" else X.tocsr()
    if not csr_ready(out, dt):
        idx_dt = np.result_type(out.indptr.dtype, out.indices.dtype)
        if idx_dt not in _INDEX_TYPES:
            idx_dt = np.dtype(np.int64)
        out = sp.csr_matrix(
            (
                contiguous(out.data, dt),
                contiguous(out.indices, idx_dt),
                contiguous(out.indptr, idx_dt),
            ),
            shape=(n, d),
            copy=False,
        )
        if out.indptr.dtype != out.indices.dtype:  # scipy picks one index dtype for both; be sure
            out.indptr = out.indptr.astype(np.int64)
            out.indices = out.indices.astype(np.int64)
    if out is not X:  # a CSR input used as it is was checked above
        check_csr_structure(out, name)
    data = stored_values(out)
    if data.size and not np.isfinite(data.sum(dtype=np.float64)):
        bad = ~np.isfinite(data)
        if bad.any():
            k = int(np.argmax(bad))
            row = int(np.searchsorted(out.indptr, k, side="right")) - 1
            raise ValueError(f"{name} contains NaN or infinity (first at index ({row}, {int(out.indices[k])}))")
    return out


def csr_ready(X, dtype) -> bool:
    """Whether a sparse matrix reaches the compiled core as it is: CSR, data of ``dtype``, indptr and
    indices of one int32/int64 dtype, all three contiguous and aligned (its structure is checked apart)."""
    if X.format != "csr":
        return False
    idx = X.indices.dtype
    return (
        X.data.dtype == dtype
        and X.indptr.dtype == idx
        and idx in _INDEX_TYPES
        and all(a.flags.c_contiguous and a.flags.aligned for a in (X.data, X.indices, X.indptr))
    )


def stored_values(X):
    """The values a matrix stores: a dense one itself; a sparse one's data up to indptr[-1] as CSR (entries
    past it are storage slack no kernel reads)."""
    if not is_sparse(X):
        return X
    X = X if X.format == "csr" else X.tocsr()
    return X.data[: int(X.indptr[-1])]


def contiguous(a, dtype) -> np.ndarray:
    """a as a C-contiguous, *aligned* array of dtype (no copy when it already is one). An array built on an
    odd offset of a buffer (np.frombuffer, a deserialised dask chunk) can be contiguous yet misaligned,
    and the compiled kernels read whole elements: a misaligned element is undefined behaviour there."""
    return np.require(a, dtype=dtype, requirements=["C", "A"])


def check_csr_structure(X, name):
    n, d = X.shape
    ip, ix = np.asarray(X.indptr), np.asarray(X.indices)
    if ip.dtype.kind not in "iu" or ix.dtype.kind not in "iu":
        raise ValueError(f"{name}: malformed CSR matrix (indptr and indices must be integer arrays)")
    if ip.ndim != 1 or ip.shape[0] != n + 1 or ip[0] != 0 or np.any(np.diff(ip) < 0):
        raise ValueError(
            f"{name}: malformed CSR matrix (indptr must start at 0, be non-decreasing and have n_rows+1 entries)"
        )
    nnz = int(ip[-1])
    if ix.shape[0] < nnz or X.data.shape[0] < nnz:
        raise ValueError(f"{name}: malformed CSR matrix (indices/data shorter than indptr[-1] = {nnz})")
    if nnz and (int(ix[:nnz].min()) < 0 or int(ix[:nnz].max()) >= d):
        raise ValueError(f"{name}: malformed CSR matrix (column indices outside [0, {d}))")


def _finite(a: np.ndarray, name: str) -> None:
    # A sum is NaN/inf whenever an entry is; only on that (rare) path do we pay for the full mask.
    if a.size and not np.isfinite(a.sum(dtype=np.float64)):
        bad = ~np.isfinite(a)
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), a.shape)
            raise ValueError(f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in idx)})")


def is_dask(a) -> bool:
    """True for a dask collection, without importing dask when it is not one."""
    return type(a).__module__.split(".")[0] == "dask"


def as_matrix(X, name: str = "X", dtype=None, n_features: int | None = None):
    """2-D, finite, C-contiguous float array (no copy when already so); a scipy.sparse matrix becomes
    CSR (see :func:`as_csr`) and is never densified."""
    if is_sparse(X):
        return as_csr(X, name, dtype, n_features)
    if X is None:
        raise TypeError(f"{name}: expected a 2-D array of shape (n_samples, n_features), got None")
    if is_dataframe(X):
        X = _dataframe_values(X, name)
    if is_dask(X):
        # np.asarray would gather the whole array on the client: only the Dask-aware entry points take one.
        raise TypeError(
            f"{name}: a dask array is accepted by fit, decision_function/predict, Influence, newton_update, "
            f"refit, finetune, gradient_ascent and iterated_soft_weights; this function needs in-memory data "
            f"({name}.compute() if it fits)"
        )
    arr = np.asarray(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name}: complex values are not supported")
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array of shape (n_samples, n_features), got shape {arr.shape}; "
            "Reshape your data: X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        k, what = (arr.shape[0], "sample") if arr.shape[0] == 0 else (arr.shape[1], "feature")
        raise ValueError(
            f"{name}: expected at least one sample and one feature: found {k} {what}(s) "
            f"(shape={arr.shape}) while a minimum of 1 is required."
        )
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features (as in training), got {arr.shape[1]}")
    dt = np.dtype(dtype) if dtype is not None else compute_dtype(arr)
    out = contiguous(arr, dt)
    _finite(out, name)
    return out


@overload
def as_vector(v, n: int, name: str, dtype, *, allow_none: Literal[False] = ...) -> np.ndarray: ...
@overload
def as_vector(v, n: int, name: str, dtype, *, allow_none: bool) -> np.ndarray | None: ...
def as_vector(v, n: int, name: str, dtype, *, allow_none: bool = False) -> np.ndarray | None:
    if v is None:
        if allow_none:
            return None
        raise TypeError(f"{name}: expected an array of length {n}, got None")
    _reject_sparse(v, name)
    arr = np.asarray(v)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name}: complex values are not supported")
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n},) to match X, got {arr.shape}")
    out = contiguous(arr, dtype)
    _finite(out, name)
    return out


def as_labels(y, n: int, dtype, name: str = "y") -> np.ndarray:
    """Binary labels in {0, 1} (bool accepted) as a float array: the encoding the compiled core uses,
    and the form of a sensitive attribute."""
    out = as_vector(y, n, name, dtype)
    bad = (out != 0) & (out != 1)
    if bad.any():
        vals = np.unique(np.asarray(y)[bad])[:5]
        hint = (
            " (a continuous target: classification needs class labels)"
            if np.any(out != np.round(out))
            else " Only binary classification is supported."
            if np.unique(out).size > 2
            else ""
        )
        raise ValueError(f"{name}: labels must be 0 or 1 (binary), found {vals.tolist()}.{hint}")
    return out


# ---- class labels (any two values, as scikit-learn) -------------------------------------------------
#
# A model keeps ``classes_`` (sorted, as np.unique) and the compiled core sees y01 = 1[y == classes_[1]].
# Every function that takes labels maps them here, through the model's classes_: fit infers them
# (:func:`fit_labels`), everything later encodes through them (:func:`encode_labels`).

_ZERO_ONE = np.array([0, 1])
_FALSE_TRUE = np.array([False, True])


def label_array(y, n: int | None, name: str) -> np.ndarray:
    """y as a 1-D array of labels (a column vector is raveled), any dtype; NaN and complex refused."""
    if y is None:
        raise TypeError(f"{name}: expected an array of class labels, got None")
    _reject_sparse(y, name)
    a = np.asarray(y)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = f"({n},) to match X" if n is not None else "(n_samples,)"
        raise ValueError(f"{name}: expected shape {want}, got {np.shape(y)}")
    if np.iscomplexobj(a):
        raise TypeError(f"{name}: complex values are not supported")
    if a.dtype.kind == "f":
        _finite(a, name)
    return a


def _equal(a: np.ndarray, value) -> np.ndarray:
    """Elementwise a == value as a bool array; False where the types do not compare (str against int)."""
    try:
        eq = np.asarray(a == value)
    except (TypeError, ValueError):
        eq = np.asarray(False)
    return eq if eq.shape == a.shape else np.zeros(a.shape, dtype=bool)


def _is_zero_one(classes: np.ndarray) -> bool:
    return classes.dtype.kind in "biuf" and classes.shape == (2,) and classes.tolist() == [0, 1]


def unique_labels(a: np.ndarray, name: str) -> np.ndarray:
    """The sorted distinct labels of a (np.unique), with a clear error for unorderable or continuous ones."""
    try:
        classes = np.unique(a)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in a.tolist()})
        raise TypeError(f"{name}: labels of mixed types {kinds} cannot be sorted into classes_") from None
    fractional = classes[classes != np.round(classes)] if a.dtype.kind == "f" else classes[:0]
    if fractional.size:
        raise ValueError(
            f"{name}: a continuous target (non-integer values such as {fractional[:3].tolist()}); "
            "classification needs class labels"
        )
    return classes


def fit_labels(y, n: int | None, dtype, name: str = "y", classes=None) -> tuple[np.ndarray, np.ndarray]:
    """(y01, classes_) for a fit: classes_ inferred from y, or the given ``classes`` (a refit keeps them).

    classes_ is np.unique(y) as in scikit-learn, except that labels within {0, 1} give classes_ = [0, 1]
    (or [False, True] for bool y) even when one of them is absent: a fit without intercept can have a
    single class, and {0, 1} stays the identity encoding."""
    if classes is not None:
        classes = np.asarray(classes)
        return encode_labels(y, classes, n, dtype, name), classes
    a = label_array(y, n, name)
    if a.dtype == bool:
        return contiguous(a, dtype), _FALSE_TRUE.copy()
    if a.dtype.kind in "iuf" and not ((a != 0) & (a != 1)).any():
        return contiguous(a, dtype), _ZERO_ONE.copy()
    found = unique_labels(a, name)
    if found.size > 2:
        raise ValueError(
            f"{name}: found {found.size} classes {found[:5].tolist()}{'…' if found.size > 5 else ''}. "
            "Only binary classification is supported."  # scikit-learn's wording, matched by its checks
        )
    if found.size < 2:
        raise ValueError(f"{name}: only one class {found.tolist()}; binary classification needs two")
    return encode_labels(a, found, n, dtype, name), found


def encode_labels(y, classes: np.ndarray, n: int | None, dtype, name: str = "y") -> np.ndarray:
    """y01 = 1[y == classes[1]] as a float array; a label outside ``classes`` is an error naming ``name``."""
    a = label_array(y, n, name)
    if _is_zero_one(classes) and a.dtype.kind in "biuf":
        out = contiguous(a, dtype)  # the identity encoding: no mask, the array itself when it can be
        known = (out == 0) | (out == 1)
    else:
        pos = _equal(a, classes[1])
        known = pos | _equal(a, classes[0])
        out = pos.astype(dtype)
    if not known.all():
        bad = unique_labels(a[~known], name) if a.dtype != object else a[~known][:5]
        raise ValueError(
            f"{name}: labels {bad[:5].tolist()} are not among the model's classes_ {classes.tolist()} "
            "(binary classification; the labels must be those the model was fitted on)"
        )
    return out


def pos_label_flips(pos_label, classes: np.ndarray, name: str = "pos_label") -> bool:
    """pos_label (None: classes[1], as scikit-learn) checked against classes: True when it is classes[0],
    i.e. when "positive" is class 0 of the y01 encoding."""
    if pos_label is None:
        return False
    if np.ndim(pos_label) == 0:
        for k in (0, 1):
            if _equal(np.asarray([pos_label]), classes[k])[0]:
                return k == 0
    raise ValueError(f"{name}: {pos_label!r} is not one of the classes {classes.tolist()}")


# ---- pandas DataFrames (pandas is never imported for other input) -----------------------------------


def is_dataframe(X) -> bool:
    return type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "columns") and hasattr(X, "dtypes")


def feature_names(X) -> np.ndarray | None:
    """scikit-learn's rule: a DataFrame's column names when all are strings (object array), None for other
    input or non-string names; a mix of string and non-string names is refused (as scikit-learn does)."""
    if not is_dataframe(X):
        return None
    cols = list(X.columns)
    kinds = {isinstance(c, str) for c in cols}
    if kinds == {True}:
        return np.asarray(cols, dtype=object)
    if kinds == {True, False}:
        types = sorted({type(c).__name__ for c in cols})
        raise TypeError(
            f"X: feature names are only supported when all column names are strings; the columns have "
            f"types {types}. Convert them, e.g. X.columns = X.columns.astype(str)"
        )
    return None


def _dataframe_values(X, name: str) -> np.ndarray:
    """A DataFrame's values as a float or bool array; non-numeric (categorical, object, string) columns
    are refused by name, since a linear model needs them encoded first."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    bad = [c for c, dt in X.dtypes.items() if not (is_numeric_dtype(dt) or is_bool_dtype(dt))]
    if bad:
        shown = ", ".join(repr(c) for c in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise ValueError(
            f"{name}: non-numeric (categorical, object or string) columns {shown}; encode them first, e.g. "
            "with sklearn.preprocessing.OneHotEncoder (in a ColumnTransformer) or pandas.get_dummies"
        )
    dtypes = list(X.dtypes)
    if dtypes and all(isinstance(dt, np.dtype) for dt in dtypes):
        return X.to_numpy(dtype=np.result_type(*dtypes))  # bool next to float is float, not object
    # Nullable extension dtypes (Int64, Float64, boolean) become float, missing values NaN (refused later).
    return X.to_numpy(dtype=np.float64, na_value=np.nan)


def as_group(s, n: int, dtype, name: str = "s") -> np.ndarray:
    """Binary sensitive attribute in {0, 1} with both groups present."""
    out = as_labels(s, n, dtype, name)
    n1 = int(np.count_nonzero(out))
    check_both_groups(n - n1, n1, name)
    return out


def check_both_groups(n0: int, n1: int, name: str = "s") -> None:
    """A sensitive attribute with n0 rows in group 0 and n1 in group 1 has both groups."""
    if n0 == 0 or n1 == 0:
        raise ValueError(
            f"{name}: the sensitive attribute has only one group ({'1' if n1 else '0'}); need both 0 and 1"
        )


def as_sample_weight(
    sample_weight, n: int, dtype, name: str = "sample_weight", *, allow_negative: bool = False
) -> np.ndarray:
    """Sample weights (finite, ≥ 0 unless negative weights are allowed on purpose); empty array means ones."""
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        raise TypeError(f"{name}: expected an array of length {n}, got a scalar")
    out = as_vector(sample_weight, n, name, dtype)
    if not allow_negative and (out < 0).any():
        raise ValueError(f"{name}: sample weights must be non-negative")
    return out


# ---- parameters (one message style: "NAME: expected …, got …") -------------------------------------


def _plain(value):
    """A 0-d NumPy array as its Python scalar; everything else unchanged."""
    return value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value


def is_finite_real(value: numbers.Real) -> bool:
    """math.isfinite for any real number: np.isfinite raises TypeError on a Fraction or an int beyond the
    float range (which counts as not finite here)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_positive(value, name: str) -> float:
    value = _plain(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name}: expected a positive number, got {value!r}")
    if not is_finite_real(value) or value <= 0:
        raise InvalidParameterError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)


def check_bool(value, name: str) -> bool:
    """True or False (also NumPy's bool); strings such as 'no' and integers are refused."""
    value = _plain(value)
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


# Counts cross into the compiled core as C ints.
MAX_COUNT = 2**31 - 1
# More threads than this is a mistake, not a request (OpenMP would try to create them all).
MAX_THREADS = 4096


def check_int(value, name: str, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
    """An integer in [minimum, maximum] (bools refused: max_iter=True is a mistake, not 1)."""
    value = _plain(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name}: expected an integer ≥ {minimum}, got {value!r}")
    if value < minimum:
        raise InvalidParameterError(f"{name}: expected an integer ≥ {minimum}, got {value!r}")
    if int(value) > maximum:
        raise InvalidParameterError(f"{name}: expected an integer ≤ {maximum}, got {value!r}")
    return int(value)


def check_choice(value, name: str, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(f"{name}: expected one of {tuple(choices)}, got {value!r}")
    return value


def check_tol(tol, dtype) -> float:
    """A stopping tolerance the working precision can reach: at least machine epsilon / 16."""
    tol = check_positive(tol, "tol")
    floor = float(np.finfo(dtype).eps) / 16
    if tol < floor:
        raise InvalidParameterError(
            f"tol: expected a number ≥ {floor:.3g} (the {np.dtype(dtype).name} machine "
            f"epsilon / 16: below it the gradient cannot be resolved), got {tol!r}"
        )
    return tol


def check_C(C, dtype, weight_sum: float = 1.0) -> float:
    """C > 0 whose data term C·Σs is representable against ½‖w‖² in the compute dtype: C·Σs must lie in
    [ε⁴, ε⁻⁴] (ε the machine epsilon: about [2e-63, 4e62] in float64, [2e-28, 5e27] in float32). Outside it
    one term of J vanishes next to the other in rounding: θ = 0 would "converge", the unpenalised intercept
    would stay unresolved, or saturated losses would stop the fit far from its optimum."""
    C = check_positive(C, "C")
    eps = float(np.finfo(dtype).eps)
    lo, hi = eps**4, eps**-4
    data = C * float(weight_sum)
    if not lo <= data <= hi:
        raise InvalidParameterError(
            f"C: expected a value whose product with the total sample_weight is representable in "
            f"{np.dtype(dtype).name} against the regulariser (C·Σs in [{lo:.3g}, {hi:.3g}]), got C={C!r} with "
            f"C·Σs = {data:.3g}; use float64 X, a moderate C or rescaled sample weights"
        )
    return C


def check_n_threads(n_threads) -> int:
    """None or 0 means the default thread count; otherwise a positive int."""
    if n_threads is None:
        return 0
    n_threads = _plain(n_threads)
    if (
        isinstance(n_threads, (bool, np.bool_))
        or not isinstance(n_threads, numbers.Integral)
        or not 0 <= int(n_threads) <= MAX_THREADS
    ):
        raise InvalidParameterError(
            f"n_threads: expected None or a positive integer (at most {MAX_THREADS}), got {n_threads!r}"
        )
    return int(n_threads)

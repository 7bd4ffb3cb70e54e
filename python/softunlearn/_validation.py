"""Input checks at the Python boundary: every array is validated and cast once here, so the compiled
core only ever sees C-contiguous float32/float64 arrays of matching shapes."""
from __future__ import annotations

import numbers

import numpy as np

_FLOATS = (np.float32, np.float64)


def compute_dtype(X) -> np.dtype:
    """float32 input stays float32; everything else is computed in float64."""
    dt = getattr(X, "dtype", None)
    return np.dtype(np.float32) if dt == np.float32 else np.dtype(np.float64)


def _reject_sparse(X, name):
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):
        raise TypeError(
            f"{name}: scipy.sparse input is not supported yet; pass a dense array (e.g. {name}.toarray())"
        )


def _finite(a: np.ndarray, name: str) -> None:
    # A sum is NaN/inf whenever an entry is; only on that (rare) path do we pay for the full mask.
    if a.size and not np.isfinite(a.sum(dtype=np.float64)):
        bad = ~np.isfinite(a)
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), a.shape)
            raise ValueError(f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in idx)})")


def as_matrix(X, name: str = "X", dtype=None, n_features: int | None = None) -> np.ndarray:
    """2-D, finite, C-contiguous float array (no copy when already so)."""
    _reject_sparse(X, name)
    if X is None:
        raise TypeError(f"{name}: expected a 2-D array of shape (n_samples, n_features), got None")
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
        raise ValueError(f"{name}: expected at least one sample and one feature: found {k} {what}(s) "
                         f"(shape={arr.shape}) while a minimum of 1 is required.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features (as in training), got {arr.shape[1]}")
    dt = np.dtype(dtype) if dtype is not None else compute_dtype(arr)
    out = np.ascontiguousarray(arr, dtype=dt)
    _finite(out, name)
    return out


def as_vector(v, n: int, name: str, dtype, *, allow_none: bool = False) -> np.ndarray | None:
    if v is None:
        if allow_none:
            return None
        raise TypeError(f"{name}: expected an array of length {n}, got None")
    _reject_sparse(v, name)
    arr = np.asarray(v)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n},) to match X, got {arr.shape}")
    out = np.ascontiguousarray(arr, dtype=dtype)
    _finite(out, name)
    return out


def as_labels(y, n: int, dtype, name: str = "y") -> np.ndarray:
    """Binary labels in {0, 1} (bool accepted) as a float array."""
    out = as_vector(y, n, name, dtype)
    bad = (out != 0) & (out != 1)
    if bad.any():
        vals = np.unique(np.asarray(y)[bad])[:5]
        hint = (" (a continuous target: classification needs class labels)" if np.any(out != np.round(out))
                else " Only binary classification is supported." if np.unique(out).size > 2 else "")
        raise ValueError(f"{name}: labels must be 0 or 1 (binary), found {vals.tolist()}.{hint}")
    return out


def as_group(s, n: int, dtype, name: str = "s") -> np.ndarray:
    """Binary sensitive attribute in {0, 1} with both groups present."""
    out = as_labels(s, n, dtype, name)
    n1 = int(np.count_nonzero(out))
    if n1 == 0 or n1 == n:
        raise ValueError(f"{name}: the sensitive attribute has only one group ({'1' if n1 else '0'}); need both 0 and 1")
    return out


def as_sample_weight(sample_weight, n: int, dtype, name: str = "sample_weight", *, allow_negative: bool = False) -> np.ndarray:
    """Sample weights (finite, ≥ 0 unless negative weights are allowed on purpose); empty array means ones."""
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        raise TypeError(f"{name}: expected an array of length {n}, got a scalar")
    out = as_vector(sample_weight, n, name, dtype)
    if not allow_negative and (out < 0).any():
        raise ValueError(f"{name}: sample weights must be non-negative")
    return out


def check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return float(value)


def check_n_threads(n_threads) -> int:
    """None or 0 means the default thread count; otherwise a positive int."""
    if n_threads is None:
        return 0
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or n_threads < 0:
        raise ValueError(f"n_threads: expected None or a positive integer, got {n_threads!r}")
    return int(n_threads)

"""Built-in targets on a validation set held as dask arrays chunked along rows.

Every target's value and gradient is a sum over rows once the group sizes are known (DP and EOP average
over groups: their rows are scaled by ±1/n_g), so it is one map over the row chunks calling the compiled
kernel with the whole set's n_g, and a tree reduction of the (1, 1 + p) partial results. The group
sizes come from one pass over y and s, which also checks the labels; they are counted once per
(dtype, ``classes_``, positive class). X is never gathered.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import is_dask
from .dask_engine import _dense, _rows, as_dask_matrix, as_dask_rows, blockwise_sum, dask_labels


class DaskTargetData:
    """The validation arrays of one built-in target: X (dense or CSR chunks, rows only), the labels
    (a dask {0, 1} array, or checked in-memory labels of any two classes, mapped through the model's
    ``classes_``) and the binary sensitive attribute s (dask or in memory)."""

    def __init__(self, X, y=None, s=None):
        self.X = as_dask_matrix(X, "X")
        self._y = y
        self.s = None if s is None else as_dask_rows(s, self.X, "s")
        self.n_samples = int(self.X.shape[0])
        if is_dask(self._y):
            as_dask_rows(self._y, self.X, "y")  # shape and chunks now, values at the first evaluation

    @property
    def shape(self) -> tuple[int, int]:
        return self.X.shape

    def arrays(self, kind, classes, dt, flip):
        """(X, y, s, counts) in ``dt`` for a model with these ``classes_``: y is 1[label = positive class]
        (1 − that when ``flip``); counts are the rows per group (see ``_core.target_counts``). One pass over
        y and s checks that both hold 0/1 values and counts the groups."""
        import dask

        X = self.X.astype(dt) if self.X.dtype != dt else self.X
        y = s = None
        checks = {}
        if self._y is not None:
            y = as_dask_rows(dask_labels(self._y, classes)[0], X, "y")
            y = 1 - y if flip else y
            checks["y"] = ((y == 0) | (y == 1)).all()
        if self.s is not None:
            s = self.s.astype(dt)
            checks["s"] = ((s == 0) | (s == 1)).all()
            labelled = [s, "i"] if y is None else [y, "i", s, "i"]
            checks["counts"] = blockwise_sum(_counts_chunk, 2, np.int64, *labelled, kind=int(kind), compute=False)
        (got,) = dask.compute(checks)
        if not got.get("y", True):
            raise ValueError("y: labels must be 0 or 1 (binary)")
        if not got.get("s", True):
            raise ValueError("s: labels must be 0 or 1 (binary)")
        counts = (0, 0) if "counts" not in got else tuple(int(c) for c in got["counts"])
        return X, y, s, counts

    @staticmethod
    def evaluate(kind, X, y, s, counts, theta, intercept: bool, n_threads: int, loss) -> tuple[float, np.ndarray]:
        """(value, gradient) at θ: the chunks' shares, each with the whole set's ``counts``, summed."""
        theta = np.ascontiguousarray(theta, dtype=X.dtype)
        args = [X, "ij"]
        for v in (y, s):
            if v is not None:
                args += [v, "i"]
        total = blockwise_sum(
            _target_chunk, theta.shape[0] + 1, X.dtype, *args,
            kind=int(kind), has=(y is not None, s is not None), counts=counts, theta=theta, intercept=intercept,
            n_threads=n_threads, loss=loss,
        )  # fmt: skip
        return float(total[0]), total[1:]


def mirror_attack(X, *, theta, intercept: bool, factor, n_threads: int):
    """The mirror-attacked points of every chunk, lazily (a dask array with X's chunks, dense)."""
    theta = np.ascontiguousarray(theta, dtype=X.dtype)
    return X.map_blocks(
        _mirror_chunk, theta=theta, intercept=intercept, factor=factor, n_threads=n_threads, dtype=X.dtype,
        meta=np.empty((0, 0), dtype=X.dtype),
    )  # fmt: skip


def _counts_chunk(*vs, kind):
    s = vs[-1]
    y = vs[0] if len(vs) == 2 else np.empty(0, s.dtype)
    dt = s.dtype
    counts = _core.target_counts(kind=kind, y=_dense(y, dt), group=_dense(s, dt))
    return np.asarray(counts, dtype=np.int64)[None, :]


def _target_chunk(X, *vs, kind, has, counts, theta, intercept, n_threads, loss):
    dt = theta.dtype
    it = iter(vs)
    y, s = (_dense(next(it), dt) if present else np.empty(0, dt) for present in has)
    value, grad = _core.evaluate_target(
        kind=kind, X=_rows(X, dt), theta=_dense(theta, dt), y=y, group=s, intercept=intercept, n_threads=n_threads,
        loss=loss[0], loss_param=loss[1], counts=counts,
    )  # fmt: skip
    return np.concatenate(([value], grad)).astype(dt)[None, :]


def _mirror_chunk(X, *, theta, intercept, factor, n_threads):
    dt = theta.dtype
    return _core.mirror_attack(
        X=_rows(X, dt), theta=_dense(theta, dt), intercept=intercept, factor=dt.type(factor), n_threads=n_threads
    )

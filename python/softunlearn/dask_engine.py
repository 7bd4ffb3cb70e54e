"""The Dask engine: the passes of :mod:`softunlearn.engine` over dask arrays chunked along rows.

Every quantity the fit and the influence need is a sum over row blocks (loss, X̃ᵀr, X̃ᵀDX̃, X̃ᵀv) or a
per-row map (z, r, scores). A sum is one ``blockwise`` map over X's row chunks, each chunk calling the
compiled kernel of the in-memory engine on its rows (``penalised=False``: the data term alone), and a
tree reduction of the (1, width) partial results; the client adds ½‖w‖² and R once and solves the p×p
systems. A per-row result stays a lazy dask array aligned with X's row chunks. X is never gathered.

Inside a worker the kernel runs on ``n_threads`` threads (default 1: a worker process or thread per
core is Dask's own parallelism; more would oversubscribe the cores). The kernels release the GIL.

When X is persisted on a ``distributed`` cluster the fit's passes skip the dask.array graph: one task per
chunk goes straight to the chunk's future (``client.map``) and a tree of additions is built on the client,
which cuts the overhead of a pass from ~0.1 s to a few hundredths (``_PersistedChunks``).

Dask is an optional dependency (``pip install softunlearn[dask]``): dask itself is imported only when an
argument is a dask array.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import (
    as_csr,
    check_csr_structure,
    check_n_threads,
    contiguous,
    csr_ready,
    fit_labels,
    is_dask,
    is_sparse,
    stored_values,
)
from .engine import CpuEngine, Engine

__all__ = ["DaskEngine", "as_dask_matrix", "as_dask_rows", "checked_finite", "dask_data", "is_dask", "predict_rows"]


def _require_dask():
    try:
        import dask.array as da
    except ImportError:  # pragma: no cover - exercised only without the extra installed
        raise ImportError("dask arrays need the optional dependency: pip install 'softunlearn[dask]'") from None
    return da


# ---- validation ------------------------------------------------------------------------------------
def as_dask_matrix(X, name: str = "X", dtype=None, n_features: int | None = None):
    """X as a 2-D float32/float64 dask array with dense (NumPy) or CSR (scipy.sparse) chunks, chunked
    along rows only, known chunk sizes (and n_features columns when given: the model's)."""
    da = _require_dask()
    if not isinstance(X, da.Array):
        raise TypeError(f"{name}: expected a dask.array.Array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got {X.ndim} dimension(s)")
    if any(np.isnan(c) for c in X.chunks[0]) or any(np.isnan(c) for c in X.chunks[1]):
        raise ValueError(f"{name}: unknown chunk sizes (NaN); call {name}.compute_chunk_sizes() first")
    if len(X.chunks[1]) != 1:
        raise ValueError(
            f"{name}: chunked along columns ({len(X.chunks[1])} column chunks); the engine maps over row chunks "
            f"that hold whole rows: use {name}.rechunk({{1: -1}})"
        )
    if not (isinstance(X._meta, np.ndarray) or is_sparse(X._meta)):
        raise TypeError(
            f"{name}: expected NumPy or scipy.sparse chunks, got {type(X._meta).__name__} chunks "
            "(give map_blocks a meta, e.g. meta=scipy.sparse.csr_matrix((0, 0)))"
        )
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected a real numeric dtype, got {X.dtype}")
    if dtype is None:
        dtype = np.float32 if X.dtype == np.float32 else np.float64
    dt = np.dtype(dtype)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one row and one column, got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features (as in training), got {X.shape[1]}")
    return X.astype(dt) if X.dtype != dt else X


def as_dask_rows(v, X, name: str):
    """A per-row vector (NumPy or dask) as a dask array with X's row chunks and dtype."""
    da = _require_dask()
    if isinstance(v, da.Array):
        if v.ndim == 2 and v.shape[1:] == (1,):
            v = v[:, 0]
        if v.ndim != 1 or v.shape[0] != X.shape[0]:
            raise ValueError(f"{name}: expected shape ({X.shape[0]},), got {v.shape}")
        if v.chunks[0] != X.chunks[0]:
            raise ValueError(
                f"{name}: row chunks {v.chunks[0]} do not match X's {X.chunks[0]}; rechunk one to the other"
            )
        return v.astype(X.dtype) if v.dtype != X.dtype else v
    a = np.asarray(v)
    if a.ndim == 2 and a.shape[1:] == (1,):
        a = a[:, 0]
    if a.ndim != 1 or a.shape[0] != X.shape[0]:
        raise ValueError(f"{name}: expected shape ({X.shape[0]},), got {a.shape}")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
    return da.from_array(a.astype(X.dtype), chunks=(X.chunks[0],))


def finite_rows(v, X, name: str):
    """as_dask_rows, checked finite in one pass over v."""
    da = _require_dask()
    out = as_dask_rows(v, X, name)
    if not bool(da.isfinite(out).all().compute()):
        raise ValueError(f"{name}: contains NaN or infinity")
    return out


def dask_threads(n_threads) -> int:
    """Kernel threads per task: 1 unless asked. A worker process or thread per core is Dask's own
    parallelism; more kernel threads would oversubscribe the cores."""
    return 1 if n_threads is None else check_n_threads(n_threads)


def check_dask_data(X, y, s, *, need_both_classes: bool, allow_negative: bool = False) -> None:
    """y in {0, 1} (both classes where needed), s finite, ≥ 0 and not all 0: one pass over y and s only.

    X is not read here: a non-finite entry makes the first pass over X non-finite, and the engine then
    names X (:meth:`DaskEngine.loss_pass`), so valid data costs no extra pass over X."""
    import dask

    da = _require_dask()
    checks = {"y": ((y == 0) | (y == 1)).all()}
    present = y if s is None else y[s > 0]
    if need_both_classes:
        checks["ymin"], checks["ymax"] = present.min(), present.max()
    if s is not None:
        checks["s"] = (da.isfinite(s) & ((s >= 0) | allow_negative)).all()
        checks["s_any"] = (s != 0).any()
    (got,) = dask.compute(checks)
    if not got["y"]:
        raise ValueError("y: labels must be 0 or 1")
    if s is not None and not got["s"]:
        raise ValueError("sample_weight: expected finite" + ("" if allow_negative else ", non-negative") + " weights")
    if s is not None and not got["s_any"]:
        raise ValueError("sample_weight: all sample weights are zero; the objective has no data term")
    if need_both_classes and got["ymin"] == got["ymax"]:
        raise ValueError(
            "y: only one class among the samples with positive weight; with an unpenalised intercept the fit "
            "has no minimiser (need both 0 and 1)"
        )


def dask_labels(y, classes=None):
    """``(y, classes_)`` for the Dask paths. An in-memory y is encoded through ``classes`` (inferred when None)
    like any other; a dask y must already be the {0, 1} encoding (checked in the validation pass), since
    finding its classes would cost a pass of its own."""
    if not is_dask(y):
        return fit_labels(y, None, np.float64, classes=classes)
    zero_one = classes is None or (np.asarray(classes).dtype.kind in "biuf" and np.asarray(classes).tolist() == [0, 1])
    if not zero_one:
        raise ValueError(
            f"y: a dask y must hold the labels {{0, 1}}, and this model's classes_ are "
            f"{np.asarray(classes).tolist()}; pass y as a NumPy array, or the dask array (y == classes_[1])"
        )
    return y, np.array([0, 1]) if classes is None else np.asarray(classes)


def dask_data(X, y, sample_weight, *, dtype=None, need_both_classes=False, allow_negative=False, classes=None):
    """Validated (X, y, s) dask arrays with X's row chunks (s None without weights): one distributed pass.
    y is encoded through ``classes`` (a fitted model's ``classes_``; see :func:`.dask_labels`)."""
    if y is None:
        raise ValueError("y: required, but the target y is None")
    y, _ = dask_labels(y, classes)
    Xd = as_dask_matrix(X, "X", dtype=dtype)
    yd = as_dask_rows(y, Xd, "y")
    sd = None if sample_weight is None else as_dask_rows(sample_weight, Xd, "sample_weight")
    check_dask_data(Xd, yd, sd, need_both_classes=need_both_classes, allow_negative=allow_negative)
    return Xd, yd, sd


# ---- chunk kernels (run on the workers) -------------------------------------------------------------
def _dense(X, dt):
    # Every array a task receives (chunks, θ, U, V) is deserialised on the worker and can sit on an odd
    # offset of its buffer: aligned is required as well as contiguous.
    return contiguous(X, dt)


def _rows(X, dt):
    """A chunk of X for the compiled kernels: a dense chunk contiguous and aligned; a sparse chunk as CSR
    with its structure checked on every call (the kernels index with it, so a malformed chunk must never
    reach them; O(nnz) integer reads) and converted only when its dtypes or format are not the kernels'."""
    if not is_sparse(X):
        return _dense(X, dt)
    if csr_ready(X, dt):  # as_csr would also check its values finite: the pass's result shows those
        check_csr_structure(X, "X")
        return X
    return as_csr(X, "X", dt)


def _fortran(U, dt):
    return np.require(U, dtype=dt, requirements=["F", "A"])


def _chunk_pass(X, y, s, *, theta, C, intercept, loss, n_threads, hessian=False, r=False, h=False):
    """The in-memory engine's fused pass on one row chunk, data term only (no ½‖w‖², no R)."""
    dt = theta.dtype
    return _core.loss_pass(
        X=_rows(X, dt),
        y=_dense(y, dt),
        s=_dense(s[0], dt) if s else np.zeros(0, dt),
        theta=_dense(theta, dt),
        C=C,
        intercept=intercept,
        want_hessian=hessian,
        want_r=r,
        want_h=h,
        n_threads=n_threads,
        loss=loss[0],
        loss_param=loss[1],
        penalised=False,
    )


def _partials(res, hessian):
    """(1, 1 + p [+ p²]) partial sums of one row chunk: Σ sᵢℓᵢ, C X̃ᵀ(s⊙ℓ'), C X̃ᵀdiag(s⊙ℓ'')X̃."""
    parts = [np.array([res["loss"]], dtype=res["grad"].dtype), res["grad"]]
    if hessian:
        parts.append(res["hessian"].ravel())
    return np.concatenate(parts)[None, :]


def _pass_chunk(X, y, *s, hessian, **kw):
    return _partials(_chunk_pass(X, y, s, hessian=hessian, **kw), hessian)


def _rh_chunk(X, y, *s, which, **kw):
    """r = C s ⊙ ℓ'(z) or h = C s ⊙ ℓ''(z) on one row chunk."""
    return _chunk_pass(X, y, s, **{which: True}, **kw)[which]


def _pass_rows(rows, X, y, *s, **kw):
    """_pass_chunk on the rows `rows` (a slice) of one chunk: a strided subsample is a view until _dense."""
    return _pass_chunk(X[rows], y[rows], *(a[rows] for a in s), **kw)


def _pass_rows_r(rows, X, y, *s, hessian, **kw):
    """_pass_rows and the chunk's r = C s ⊙ ℓ'(z), from the same read of the chunk."""
    res = _chunk_pass(X[rows], y[rows], tuple(a[rows] for a in s), hessian=hessian, r=True, **kw)
    return _partials(res, hessian), res["r"]


def _hv_rows(rows, X, y, *s, theta, C, intercept, loss, V, n_threads):
    """X̃ᵀ(h ⊙ X̃V) on the rows `rows` of one chunk, with h = C s ⊙ ℓ''(X̃θ) computed here, as a (1, p·k) row."""
    h = _rh_chunk(
        X[rows],
        y[rows],
        *(a[rows] for a in s),
        theta=theta,
        C=C,
        intercept=intercept,
        loss=loss,
        which="h",
        n_threads=n_threads,
    )
    return _hv_chunk(X[rows], h, V=V, intercept=intercept, n_threads=n_threads)


def _add(*parts):
    return sum(parts[1:], parts[0])


class _PersistedChunks:
    """The futures of X's, y's and s's row chunks when X is persisted on a distributed cluster.

    The fit's passes then go to the workers as one task per chunk (``client.map``) and a client-built
    tree of additions, instead of a dask.array graph built, optimised and scheduled for every pass: the
    per-pass overhead drops from ~0.1 s to ~0.02 s, which is most of a gradient pass at n = 10⁶."""

    def __init__(self, client, xs, ys, ss, rows):
        self.client, self.xs, self.ys, self.ss, self.rows = client, xs, ys, ss, rows

    @classmethod
    def of(cls, X, y, s):
        try:
            from distributed import futures_of
        except ImportError:  # pragma: no cover - dask without distributed
            return None
        xf = {f.key: f for f in futures_of(X)}
        keys = [k for row in X.__dask_keys__() for k in row]
        if not xf or any(k not in xf for k in keys):
            return None  # X is a graph (or partly persisted): the dask.array path computes it
        client = next(iter(xf.values())).client
        vectors: list[list | None] = []
        for v in (y, s):
            if v is None:
                vectors.append(None)
                continue
            vf = {f.key: f for f in futures_of(v)}
            if any(k not in vf for k in v.__dask_keys__()):
                v = client.persist(v)  # n values: small next to X, kept while the engine lives
                vf = {f.key: f for f in futures_of(v)}
            vectors.append([vf[k] for k in v.__dask_keys__()])
        return cls(client, [xf[k] for k in keys], vectors[0], vectors[1], [slice(None)] * len(keys))

    def subsample(self, X, k, m):
        """The same chunks with row slices that pick every k-th of the first k·m global rows."""
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
        rows = [slice((-int(o)) % k, max(0, k * m - int(o)), k) for o in starts]
        return _PersistedChunks(self.client, self.xs, self.ys, self.ss, rows)

    def _map(self, func, **kw):
        args = [self.rows, self.xs, self.ys] + ([self.ss] if self.ss is not None else [])
        return self.client.map(func, *args, pure=False, **kw)

    def sum(self, func, **kw):
        return tree_sum(self.client, self._map(func, **kw))

    def sum_and_rows(self, func, X, dtype, **kw):
        """Σ of func's first results, and its second results (one n_i-vector per chunk) as a dask array
        with X's row chunks whose chunks stay on the workers that made them."""
        import uuid

        pairs = self._map(func, **kw)
        parts = self.client.map(_item, pairs, [0] * len(pairs), pure=False)
        kept = self.client.map(_item, pairs, [1] * len(pairs), pure=False)
        del pairs  # the workers drop the pairs once both halves are taken
        name = f"rows-{uuid.uuid4().hex}"
        da = _require_dask()
        graph = {(name, i): f for i, f in enumerate(kept)}
        rows = da.Array(graph, name, chunks=(X.chunks[0],), dtype=dtype, meta=np.empty((0,), dtype=dtype))
        return tree_sum(self.client, parts), rows


def blockwise_sum(func, width: int, dtype, *args, compute: bool = True, **kwargs):
    """Σ over row chunks of func(chunk…) (each a (1, width) row) by Dask's tree reduction: (width,),
    computed unless ``compute=False``. ``args`` are blockwise's (array, index) pairs, rows indexed "i"."""
    da = _require_dask()
    parts = da.blockwise(
        func,
        "ik",
        *args,
        new_axes={"k": width},
        adjust_chunks={"i": 1},
        concatenate=True,
        dtype=dtype,
        meta=np.empty((0, 0), dtype=dtype),
        **kwargs,
    )
    total = parts.sum(axis=0)
    return total.compute() if compute else total


def _item(pair, k):
    return pair[k]


def tree_sum(client, parts):
    """The sum of the (1, width) rows behind futures `parts`, added on the workers in a tree of 8-way
    additions; only the total comes to the client: (width,)."""
    while len(parts) > 1:
        parts = [client.submit(_add, *parts[i : i + 8], pure=False) for i in range(0, len(parts), 8)]
    return parts[0].result()[0]


def chunk_futures(*arrays):
    """The futures of each 1-D array's chunks, in order, when every array is persisted on one distributed
    client; None otherwise (the caller then builds a dask.array graph)."""
    try:
        from distributed import futures_of
    except ImportError:  # pragma: no cover - dask without distributed
        return None
    out = []
    for a in arrays:
        held = {f.key: f for f in futures_of(a)}
        keys = list(a.__dask_keys__())
        if not held or any(k not in held for k in keys):
            return None
        out.append([held[k] for k in keys])
    return out


def _xtv_chunk(X, v, *, intercept, n_threads):
    dt = X.dtype
    return _core.xtv(X=_rows(X, dt), v=_dense(v, dt), intercept=intercept, n_threads=n_threads)[None, :]


def _hv_chunk(X, h, *, V, intercept, n_threads):
    """X̃ᵀ(h ⊙ X̃V) of one chunk, as a (1, p·k) row (no regulariser: hessian_matvec adds it once)."""
    dt = V.dtype
    reg = np.zeros(V.shape[0], dtype=dt)
    out = _core.hessian_matvec(
        X=_rows(X, dt), h=_dense(h, dt), reg=reg, V=_fortran(V, dt), intercept=intercept, n_threads=n_threads
    )
    return out.ravel()[None, :]


def _predict_chunk(X, *, theta, intercept, n_threads):
    dt = theta.dtype
    return _core.predict(X=_rows(X, dt), theta=_dense(theta, dt), intercept=intercept, n_threads=n_threads)


def _scores_chunk(X, r, *, U, intercept, n_threads):
    dt = U.dtype
    return _core.scores(X=_rows(X, dt), U=_fortran(U, dt), r=_dense(r, dt), intercept=intercept, n_threads=n_threads)


def predict_rows(X, theta, intercept: bool, n_threads: int):
    """z = X̃θ as a lazy dask array with X's row chunks."""
    da = _require_dask()
    theta = np.ascontiguousarray(theta, dtype=X.dtype)
    return da.map_blocks(
        _predict_chunk, X, theta=theta, intercept=intercept, n_threads=n_threads, drop_axis=1, dtype=X.dtype
    )


def _abs_max_chunk(X):
    v = stored_values(X)
    return np.array([float(np.abs(v).max()) if v.size else 0.0])


def _all_finite_chunk(X):
    return np.array([float(np.isfinite(stored_values(X)).all())])


def _finite_chunk(block, message):
    if not np.isfinite(block).all():
        from .errors import NonFiniteError

        raise NonFiniteError(message)
    return block


def checked_finite(a, message: str):
    """a, lazily: each chunk raises NonFiniteError(message) when it is computed and is not finite."""
    return a.map_blocks(_finite_chunk, message, dtype=a.dtype, meta=np.empty((0,) * a.ndim, dtype=a.dtype))


class DaskEngine(Engine):
    """The passes over a dask array X (row chunks, dense or CSR), y and s with X's row chunks (s may be None)."""

    name = "dask"
    # The fit leaves the Hessian at θ̂ to Influence, which assembles it in the pass it makes anyway (r and
    # ∇J at θ̂): reusing a fit's Hessian costs that pass plus an H·probe pass to check the data, so on
    # Dask the deferred Hessian is never more work, and a fit alone saves a Hessian pass (~6 gradient
    # passes at p = 101).
    final_hessian = False

    def __init__(self, X, y, s, *, fit_intercept: bool, loss: tuple[int, float], n_threads: int = 1):
        # The base class's s is "no host weights"; s_dask holds the weights (or None).
        super().__init__(X, y, np.zeros(0, dtype=X.dtype), fit_intercept=fit_intercept, loss=loss, n_threads=n_threads)
        self.s_dask = s
        self._chunks = _PersistedChunks.of(X, y, s)
        self._h_at: dict[str, tuple] = {}  # name of a lazy h this engine made → (θ, C) it was taken at

    def _labelled(self):
        return (self.X, "ij", self.y, "i") + ((self.s_dask, "i") if self.s_dask is not None else ())

    def _sum(self, func, width: int, *args, **kwargs) -> np.ndarray:
        return blockwise_sum(func, width, self.dtype, *args, **kwargs)

    def weight_sum(self) -> float:
        return float(self.s_dask.sum().compute()) if self.s_dask is not None else float(self.n_samples)

    def abs_weight_sum(self) -> float:
        da = _require_dask()
        return float(da.abs(self.s_dask).sum().compute()) if self.s_dask is not None else float(self.n_samples)

    def feature_scale(self) -> float:
        if self.fit_intercept:
            return 1.0
        return min(1.0, float(self._per_chunk(_abs_max_chunk).max()))

    def _per_chunk(self, func) -> np.ndarray:
        """func(chunk) → float for every row chunk of X (dense or sparse), computed: (n_chunks,)."""
        da = _require_dask()
        parts = da.blockwise(
            func, "i", self.X, "ij", adjust_chunks={"i": 1}, concatenate=True, dtype=np.float64,
            meta=np.empty((0,)),
        )  # fmt: skip
        return parts.compute()

    def loss_pass(self, theta, C, *, hessian=False, r=False, h=False) -> dict:
        """J, ∇J (and ∇²J) computed now; r and h as lazy dask arrays aligned with X's row chunks."""
        da = _require_dask()
        theta = np.ascontiguousarray(theta, dtype=self.dtype)
        C = self.dtype.type(C)
        p, d = self.n_params, self.n_features
        kw = dict(theta=theta, C=C, intercept=self.fit_intercept, loss=self.loss, n_threads=self.n_threads)
        kept_r = None
        if self._chunks is not None and r:
            # Persisted X: r comes from the same read of each chunk and stays on its worker, so the scores
            # and the update after it read X once each instead of recomputing r next to it.
            tot, kept_r = self._chunks.sum_and_rows(_pass_rows_r, self.X, self.dtype, hessian=hessian, **kw)
        elif self._chunks is not None:
            tot = self._chunks.sum(_pass_rows, hessian=hessian, **kw)
        else:
            tot = self._sum(_pass_chunk, 1 + p + (p * p if hessian else 0), *self._labelled(), hessian=hessian, **kw)
        if not np.isfinite(tot).all():
            self._check_finite()
        grad = tot[1 : 1 + p].copy()
        grad[:d] += theta[:d]
        out = {
            "loss": tot[0],
            "objective": self.dtype.type(0.5) * theta[:d].dot(theta[:d]) + C * tot[0],
            "grad": grad,
        }
        if hessian:
            H = tot[1 + p :].reshape(p, p).copy()
            H[np.arange(d), np.arange(d)] += 1
            out["hessian"] = H
        if kept_r is not None:
            out["r"] = kept_r
        for which, wanted in (("r", r and kept_r is None), ("h", h)):
            if wanted:
                out[which] = da.blockwise(
                    _rh_chunk, "i", *self._labelled(), concatenate=True, dtype=self.dtype, which=which, **kw
                )
        if h:
            self._h_at[out["h"].name] = (theta, C)
        return out

    def _check_finite(self) -> None:
        """After a non-finite pass: a NaN or infinity in X is the input's fault and named as such (otherwise
        the caller reports an overflow)."""
        if not self._per_chunk(_all_finite_chunk).all():
            raise ValueError("X: contains NaN or infinity")

    def predict(self, theta):
        return predict_rows(self.X, theta, self.fit_intercept, self.n_threads)

    def xtv(self, v) -> np.ndarray:
        v = as_dask_rows(v, self.X, "v")
        return self._sum(
            _xtv_chunk, self.n_params, self.X, "ij", v, "i", intercept=self.fit_intercept, n_threads=self.n_threads
        )

    def hessian_matvec(self, h, V) -> np.ndarray:
        V = np.ascontiguousarray(np.asarray(V, dtype=self.dtype).reshape(self.n_params, -1))
        k = V.shape[1]
        source = self._h_at.get(getattr(h, "name", ""))
        if self._chunks is not None and source is not None:
            # h is this engine's own lazy h at (θ, C): each task recomputes its chunk of h next to the product.
            theta, C = source
            kw = dict(theta=theta, C=C, intercept=self.fit_intercept, loss=self.loss, n_threads=self.n_threads)
            out = self._chunks.sum(_hv_rows, V=V, **kw).reshape(self.n_params, k)
            return out + self.regulariser()[:, None] * V
        h = as_dask_rows(h, self.X, "h")
        out = self._sum(
            _hv_chunk,
            self.n_params * k,
            self.X,
            "ij",
            h,
            "i",
            V=V,
            intercept=self.fit_intercept,
            n_threads=self.n_threads,
        ).reshape(self.n_params, k)
        return out + self.regulariser()[:, None] * V

    def scores(self, U, r):
        """r ⊙ X̃U as a lazy (n, k) dask array with X's row chunks."""
        da = _require_dask()
        U = np.asfortranarray(U, dtype=self.dtype)
        r = as_dask_rows(r, self.X, "r")
        return da.blockwise(
            _scores_chunk,
            "ik",
            self.X,
            "ij",
            r,
            "i",
            new_axes={"k": U.shape[1]},
            concatenate=True,
            dtype=self.dtype,
            U=U,
            intercept=self.fit_intercept,
            n_threads=self.n_threads,
        )

    def subsample(self, k: int, m: int):
        rows = slice(0, k * m, k)
        s = self.s_dask[rows] if self.s_dask is not None else None
        sub = DaskEngine(
            self.X[rows], self.y[rows], s, fit_intercept=self.fit_intercept, loss=self.loss, n_threads=self.n_threads
        )
        if self._chunks is not None:  # the same persisted chunks, read through strided row slices
            sub._chunks = self._chunks.subsample(self.X, k, m)
        return sub

    def fit(self, theta0, C, tol, max_iter, *, subsample=0, linear=None, hessian_free=False, cg_budget=0):
        if hessian_free:
            raise ValueError(
                "X: a dask X needs a dense p×p Hessian on the client; this problem has too many parameters "
                "for one (the Hessian-free fit runs on in-memory X only)"
            )
        return super().fit(theta0, C, tol, max_iter, subsample=subsample, linear=linear)

    cholesky = staticmethod(CpuEngine.cholesky)

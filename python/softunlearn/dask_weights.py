"""The weight QP on dask score vectors: every O(n) pass of the solvers as a distributed reduction.

:func:`~softunlearn.soft_weights`, :func:`~softunlearn.soft_weights_path` and the bounded dual behind them
are written once in the compiled core against a *passes* interface (``host_weight_passes.hpp``). Here
each pass is one map over the row chunks of T and U — every chunk running the compiled host passes on
its rows (``_core.WeightPasses``) — and a sum (min/max for the LP's domain) of the small result rows.
The solvers themselves (the two nested root searches of the dual, the LP, the polish) run once, on the
client, through ``_core.weights_bounded_engine`` and friends. ε stays a lazy dask array with T's chunks;
the scores are persisted once (2 × 8n bytes spread over the workers) so that each pass reads them.

The LP's weighted selection (its only non-sum step) narrows a bracket of breakpoints with quantiles
gathered from the chunks until at most ``_GATHER`` breakpoints remain, then selects among those on the
client with the compiled selection.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core
from ._validation import contiguous, is_dask

_CLIP_KEYS = ("tt", "tu", "ee", "at", "au", "m11", "m12", "m22", "n_free", "changed")
# Breakpoints gathered onto the client for the final selection (2 floats each).
_GATHER = 1 << 17
# Quantiles of the bracket each chunk reports per narrowing round.
_QUANTILES = 64


def _passes(t, u, slots, names):
    f64 = np.float64
    return _core.WeightPasses(contiguous(t, f64), contiguous(u, f64), **dict(zip(names, slots)))


def _row_chunk(t, u, *slots, op, args, names):
    """One chunk's result of pass `op` as a (1, width) row."""
    out = getattr(_passes(t, u, slots, names), op)(*args)
    return np.atleast_1d(np.asarray(out, dtype=np.float64))[None, :]


def _slot_chunk(t, u, *slots, op, args, names, slot):
    """One chunk's `slot` (ε or the LP point) after pass `op`."""
    ps = _passes(t, u, slots, names)
    getattr(ps, op)(*args)
    return getattr(ps, slot)


def _bracket_chunk(t, u, *, sign, lo, hi, above, upto, pivots, gather):
    """The LP breakpoints of one chunk in (above, upto]: with `pivots`, their cumulative weights at each
    pivot; else their count, min, max and quantiles (or, with `gather`, the breakpoints themselves)."""
    pts = _passes(t, u, (), ()).lp_breakpoints(sign, lo, hi, above, upto)
    if gather:
        return pts
    if pivots is not None:
        order = np.argsort(pts[:, 0], kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(pts[order, 1])])
        return cum[np.searchsorted(pts[order, 0], pivots, side="right")][None, :]
    q = np.full(_QUANTILES, np.nan)
    if len(pts):
        q = np.quantile(pts[:, 0], np.linspace(0, 1, _QUANTILES), method="inverted_cdf")
    head = [len(pts), pts[:, 0].min() if len(pts) else np.inf, pts[:, 0].max() if len(pts) else -np.inf]
    return np.concatenate([head, q])[None, :]


class DaskWeightPasses:
    """The passes of ``_core.WeightPasses`` summed over the chunks of dask T and U (float64, equal
    chunks, persisted). ``eps`` and ``lp`` are the slots: lazy dask arrays with T's chunks (None: 0)."""

    def __init__(self, T, U):
        from .dask_engine import chunk_futures

        self.T, self.U = T, U
        self.eps = None
        self.lp = None
        # Persisted on a distributed client: the passes without slots (most of a solve) go to the chunks'
        # futures as one task each, without building a dask.array graph per pass.
        self._futures = chunk_futures(T, U)

    # ---- plumbing ----
    def _slots(self, names):
        import dask.array as da

        args = []
        for name in names:
            v = getattr(self, name)
            args += [da.zeros_like(self.T) if v is None else v, "i"]
        return args

    def _rows(self, op, args, width, names=()):
        import dask.array as da

        return da.blockwise(
            _row_chunk, "ik", self.T, "i", self.U, "i", *self._slots(names),
            new_axes={"k": width}, adjust_chunks={"i": 1}, concatenate=True, dtype=np.float64,
            meta=np.empty((0, 0)), op=op, args=tuple(args), names=tuple(names),
        )  # fmt: skip

    def _sum(self, op, args, width, names=()):
        if self._futures is not None and not names:
            from .dask_engine import tree_sum

            ts, us = self._futures
            client = ts[0].client
            parts = client.map(_row_chunk, ts, us, pure=False, op=op, args=tuple(args), names=())
            return tree_sum(client, parts)
        return self._rows(op, args, width, names).sum(axis=0).compute()

    def _slot(self, op, args, slot, names=()):
        import dask.array as da

        return da.blockwise(
            _slot_chunk, "i", self.T, "i", self.U, "i", *self._slots(names),
            concatenate=True, dtype=np.float64, meta=np.empty((0,)), op=op, args=tuple(args), names=tuple(names),
            slot=slot,
        )  # fmt: skip

    def _per_chunk(self, **kw):
        import dask.array as da

        width = len(kw["pivots"]) if kw.get("pivots") is not None else 3 + _QUANTILES
        return da.blockwise(
            _bracket_chunk, "ik", self.T, "i", self.U, "i", new_axes={"k": width}, adjust_chunks={"i": 1},
            concatenate=True, dtype=np.float64, meta=np.empty((0, 0)), gather=False, **kw,
        )  # fmt: skip

    # ---- the passes the compiled solvers call ----
    def moments(self):
        return self._sum("moments", (), 5)

    def residual_norm2(self, r):
        return float(self._sum("residual_norm2", (r,), 1)[0])

    def clip(self, alpha, beta, lo, hi, write):
        if write:
            self.eps = self._slot("clip", (alpha, beta, lo, hi, True), "eps")
        return self._sum("clip", (alpha, beta, lo, hi, False), 10)

    def correct(self, kt, ku, alpha, beta, lo, hi):
        args = (kt, ku, alpha, beta, lo, hi)
        stats = self._sum("correct", args, 10, ("eps",))
        self.eps = self._slot("correct", args, "eps", ("eps",))
        return stats

    def free_residual(self, sign, q, lo, hi):
        return float(self._sum("free_residual", (sign, q, lo, hi), 1, ("eps",))[0])

    def stats(self):
        return self._sum("stats", (), 10, ("eps",))

    def use_lp(self, unbounded):
        import dask.array as da

        self.eps = da.zeros_like(self.T) if unbounded or self.lp is None else self.lp
        return self.stats()

    def lp_domain(self, sign, lo, hi):
        rows = self._rows("lp_domain", (sign, lo, hi), 3).compute()
        return np.array([rows[:, 0].max(), rows[:, 1].min(), float(rows[:, 2].any())])

    def lp_slope(self, sign, kappa, lo, hi):
        return float(self._sum("lp_slope", (sign, kappa, lo, hi), 1)[0])

    def lp_assign(self, sign, kappa, lo, hi):
        args = (sign, kappa, lo, hi)
        self.lp = self._slot("lp_assign", args, "lp")
        return self._sum("lp_assign", args, 5)

    def lp_tie_sums(self, sign, kappa, lo, hi, direction, tau):
        return self._sum("lp_tie_sums", (sign, kappa, lo, hi, direction, tau), 3)

    def lp_fill(self, sign, kappa, lo, hi, direction, tau):
        args = (sign, kappa, lo, hi, direction, tau)
        value = float(self._sum("lp_fill", args, 1, ("lp",))[0])
        self.lp = self._slot("lp_fill", args, "lp", ("lp",))
        return value

    def lp_crossing(self, sign, lo, hi, d0):
        """Smallest κ with d0 + Σ_{κᵢ ≤ κ} wᵢ ≥ 0 over the breakpoints, by bracket narrowing."""
        import dask

        above, upto, base = -math.inf, math.inf, d0
        bp = dict(sign=sign, lo=lo, hi=hi)
        while True:
            head = self._per_chunk(**bp, above=above, upto=upto, pivots=None).compute()
            count, kmin, kmax = head[:, 0].sum(), head[:, 1].min(), head[:, 2].max()
            if count == 0:  # none at all (κ = 0), or past the last one by a rounding sliver: as in memory
                return float(above) if math.isfinite(above) else 0.0
            if count <= _GATHER or kmin == kmax:
                if kmin == kmax:  # one value left in the bracket: the crossing is there
                    return float(kmin)
                chunks = [
                    dask.delayed(_bracket_chunk)(t, u, **bp, above=above, upto=upto, pivots=None, gather=True)
                    for t, u in zip(self.T.to_delayed(), self.U.to_delayed())
                ]
                pts = np.concatenate(dask.compute(*chunks))
                return float(_core.weighted_crossing(pts, base))
            q = head[:, 3:]
            pivots = np.unique(q[np.isfinite(q)])
            cum = self._per_chunk(**bp, above=above, upto=upto, pivots=pivots).sum(axis=0).compute()
            reached = np.flatnonzero(base + cum >= 0)
            if reached.size == 0:  # past the last pivot (or only a rounding sliver short of the end)
                above, base = float(pivots[-1]), base + cum[-1]
            else:
                j = int(reached[0])
                upto = float(pivots[j])
                if j > 0:
                    above, base = float(pivots[j - 1]), base + cum[j - 1]


class DaskWeightOps:
    """The weight solvers' calls for dask T and U (the interface of ``weights._HostOps``)."""

    def __init__(self, Tc, Uc):
        self.Tc, self.Uc = Tc, Uc
        self.passes = DaskWeightPasses(Tc, Uc)
        self._moments = None

    def moments(self):
        if self._moments is None:  # T and U were checked finite by dask_scores
            self._moments = tuple(float(v) for v in self.passes.moments()[:3])
        return self._moments

    def sq_norm_t(self):
        return self.moments()[0]

    def norms(self):
        a, b, _ = self.moments()
        return math.sqrt(a), math.sqrt(b)

    def residual_norm2(self, r):
        return self.passes.residual_norm2(r)

    def combine(self, alpha, beta, lo, hi):
        st = self.passes.clip(alpha, beta, lo, hi, True)
        return self.passes.eps, dict(zip(_CLIP_KEYS, (float(v) for v in st)))

    def correct(self, eps, alpha, beta, sign, dp, lo, hi, target, utility, st, tol):
        self.passes.eps = eps
        st, alpha, beta = _core.weight_correct_engine(
            self.passes, alpha, beta, sign, dp, lo, hi, target, utility, st, tol
        )
        return st, self.passes.eps

    def bounded(self, sign, dp, rho_min, lo, hi):
        out = _core.weights_bounded_engine(self.passes, sign, dp, rho_min, lo, hi)
        out["eps"] = self.passes.eps
        return out

    def bounded_path(self, sign, dp, rho_mins, lo, hi):
        out = _core.weights_bounded_path_engine(self.passes, sign, dp, rho_mins, lo, hi)
        out["lp_eps"] = self.passes.lp if out["lp"] else None
        return out

    def stats_of(self, eps):
        self.passes.eps = eps
        return dict(zip(_CLIP_KEYS[:5], (float(v) for v in self.passes.stats()[:5])))

    def zeros(self):
        import dask.array as da

        return da.zeros_like(self.Tc)

    def scatter(self, eps_c):
        return eps_c  # candidates are T, U masked to 0: ε is already full length

    def finite(self, eps_c):
        return True  # ε is finite iff ‖ε‖² is, which the caller checks

    def copy(self, eps_c):
        return eps_c  # lazy arrays are immutable

    def stack(self, rows):
        import dask.array as da

        return da.stack(rows) if rows else da.zeros((0, self.Tc.shape[0]), chunks=(1, self.Tc.chunks[0]))


def n_rows(T, U) -> int:
    """The length of the dask one of T and U (T's if both are), checked 1-D with known chunk sizes."""
    for v, name in ((T, "T"), (U, "U")):
        if not is_dask(v):
            continue
        if v.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
        if any(np.isnan(c) for c in v.chunks[0]):
            raise ValueError(f"{name}: unknown chunk sizes (NaN); call {name}.compute_chunk_sizes() first")
    return int((T if is_dask(T) else U).shape[0])


def dask_scores(T, U, mask):
    """T and U as float64 dask arrays with the chunks of the dask one (T's if both are), masked to the
    candidates (ε = 0 elsewhere; a masked T and U give exactly the weights of the restricted problem)
    and persisted, and the largest magnitude of each: one pass, which also rejects NaN and infinity."""
    import dask
    import dask.array as da

    from .dask_engine import as_dask_rows

    ref = T if is_dask(T) else U
    n_rows(T, U)
    like = da.zeros(ref.shape, chunks=ref.chunks, dtype=np.float64)
    out = []
    for v, name in ((T, "T"), (U, "U")):
        if is_dask(v) and v.ndim == 1 and v.shape == ref.shape and v.chunks != ref.chunks:
            v = v.rechunk(ref.chunks)
        if is_dask(v) and not (np.issubdtype(v.dtype, np.floating) or np.issubdtype(v.dtype, np.integer)):
            raise TypeError(f"{name} must be a real numeric array, got dtype {v.dtype}")
        out.append(as_dask_rows(v, like, name))
    Tc, Uc = out
    if mask is not None:
        m = da.from_array(mask, chunks=ref.chunks)
        Tc, Uc = da.where(m, Tc, 0.0), da.where(m, Uc, 0.0)
    Tc, Uc = dask.persist(Tc, Uc)
    tops = dask.compute(da.maximum(Tc.max(), -Tc.min()), da.maximum(Uc.max(), -Uc.min()))
    for top, name in zip(tops, ("T", "U")):
        if not math.isfinite(top):
            raise ValueError(f"{name} contains NaN or infinite values")
    return Tc, Uc, [float(t) for t in tops]

"""Which linear solver the Hessian gets: a dense p×p matrix and its Cholesky factor, or matrix-free CG.

Used by :class:`softunlearn.Influence` (``solver="auto"``) and by the Newton fit (the estimators'
``solver="auto"``), which takes Hessian-free (truncated) Newton steps under the same memory rule, or
where its cost model finds them cheaper than assembling Hessians.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from . import _core

_CG_AUTO_PARAMS = 4000
# "auto" keeps a dense Hessian only when its assembly fits in this share of the available memory.
_DENSE_MEMORY_SHARE = 0.5


def available_memory() -> int | None:
    """Bytes of memory available to new allocations, or None when unknown.

    Linux's ``MemAvailable`` (free memory plus what the page cache can give back) when /proc/meminfo is
    readable, else ``os.sysconf`` free physical pages × page size (a lower figure), else None; capped by
    what an address-space limit (``ulimit -v``, ``RLIMIT_AS``) leaves this process."""
    physical = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    physical = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if physical is None:
        try:
            physical = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):
            physical = None
    limited = _address_space_left()
    if limited is None:
        return physical
    return limited if physical is None else min(physical, limited)


def _address_space_left() -> int | None:
    """RLIMIT_AS minus this process's current virtual size, or None without such a limit."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        return max(0, soft - used)
    except (ImportError, OSError, ValueError, AttributeError):
        return None


def check_dense_memory(n_params: int, dtype, n_threads: int, what: str) -> None:
    """MemoryError before allocating when the dense Hessian path cannot fit, naming the need and remedies."""
    need = dense_hessian_bytes(n_params, dtype, n_threads)
    avail = available_memory()
    if avail is not None and need > avail:
        nt = n_threads if n_threads > 0 else _core.max_threads()
        raise MemoryError(
            f"{what}: the dense Hessian path needs {need / 2**30:.2f} GiB ({nt} per-thread p×p accumulators, the "
            f"Hessian and its factor, p = {n_params}, {np.dtype(dtype).name}) but only {avail / 2**30:.2f} GiB "
            "are available; use solver='cg' (matrix-free), fewer n_threads, or float32 X"
        )


def dense_hessian_bytes(n_params: int, dtype, n_threads: int) -> int:
    """Peak memory of the dense path: one p×p accumulator per assembling thread, the Hessian and its
    Cholesky factor, i.e. (threads + 2)·p²·itemsize."""
    nt = n_threads if n_threads > 0 else _core.max_threads()
    return (nt + 2) * n_params * n_params * np.dtype(dtype).itemsize


def auto_solver(n_params: int, dtype, n_threads: int = 0) -> str:
    """The solver "auto" picks: "cg" when p > 4,000 or when :func:`dense_hessian_bytes` exceeds half
    of :func:`available_memory`; "cholesky" otherwise."""
    if n_params > _CG_AUTO_PARAMS:
        return "cg"
    avail = available_memory()
    if avail is not None and dense_hessian_bytes(n_params, dtype, n_threads) > _DENSE_MEMORY_SHARE * avail:
        return "cg"
    return "cholesky"


# A dense Newton step costs p³/3 flops for the factorisation: beyond this the fit goes Hessian-free.
_FIT_HESSIAN_FREE_PARAMS = 20000


def fit_hessian_free(n_params: int, dtype, n_threads: int = 0) -> bool:
    """Whether the Newton fit must solve its systems by CG instead of assembling H: when p > 20,000 or when
    the dense path would take more than half of the available memory (:func:`auto_solver`'s rule)."""
    if n_params > _FIT_HESSIAN_FREE_PARAMS:
        return True
    return n_params > 0 and auto_solver(min(n_params, _CG_AUTO_PARAMS), dtype, n_threads) == "cg"


FIT_SOLVERS = ("auto", "newton-cholesky", "newton-cg")


class FitPlan(NamedTuple):
    """How the Newton fit solves its systems: ``hessian_free`` (CG on H·v products) with at most
    ``cg_budget`` CG iterations in all before it turns dense (0: no budget)."""

    hessian_free: bool
    cg_budget: int = 0


# The cost model of solver="auto", in units of one gradient pass over X (measured by
# bench/fit_strategy.py, n = 10⁵, on 2 cores; the ratios were the same on 1 and 2 threads, since the
# Hessian assembly and the passes both scale with the cores there):
# a Hessian pass costs about w/κ gradient passes for rows of width w (p for dense X; Σnnzᵢ²/Σnnzᵢ for
# CSR, whose assembly visits the pairs of a row's entries), plus the p³/6 multiply-adds of its factor.
# The measured dense ratio scatters between w/23 and w/46; κ = 36 puts the crossover where the
# measured fit + Hessian times cross (dense ahead at p = 200, Hessian-free at p = 300).
_HESSIAN_KAPPA = {False: 36.0, True: 4.5}  # dense, CSR
# A dense fit takes about 3 full-data Hessian passes after the subsample warm start (5 without one)
# and 4 gradient passes; a truncated-Newton fit on well-conditioned data about 18 passes' worth
# (≈ 5 loss passes and 20 CG products, one CG iteration ≈ 0.6 of a pass). Influence then assembles
# the one Hessian the dense fit would have left behind, so the Hessian-free fit is charged for it.
_DENSE_HESSIANS = {True: 3, False: 5}
# The Hessian-free estimate is its best case (CG counts vary with the conditioning, which nothing cheap
# predicts), so it must win by this factor; borderline problems, one-hot data among them, stay dense.
_FREE_MARGIN = 1.5
_DENSE_PASSES = 4
_FREE_PASSES = 18
_CG_PASS = 0.6
# The CG budget of a Hessian-free fit: about two Hessian passes' worth of CG iterations. Past that the
# data are too ill-conditioned for Jacobi-preconditioned CG (one-hot data need hundreds per step) and
# the rest of the fit is dense; the subsample warm start usually finds that out at 1/8 of the cost.
_CG_BUDGET_HESSIANS = 2.0


def row_widths(X, fit_intercept: bool) -> tuple[float, float]:
    """(w, w̄) of the cost model: the width that sets a Hessian pass's cost (p for dense X, Σnnzᵢ²/Σnnzᵢ
    for CSR) and the mean entries per row that set a gradient pass's (p, nnz/n); +1 for the intercept."""
    indptr = getattr(X, "indptr", None)
    if indptr is None:
        return (float(X.shape[1] + fit_intercept),) * 2
    nnz = np.diff(indptr).astype(np.float64)
    total = float(nnz.sum())
    wide = float(nnz @ nnz) / total if total > 0 else 0.0
    return wide + fit_intercept, total / max(nnz.size, 1) + fit_intercept


def hessian_cost(n_samples: int, n_params: int, widths: tuple[float, float], sparse: bool) -> float:
    """One Hessian assembly (w/κ) and its Cholesky factor (p³/6 multiply-adds at the dense assembly's
    rate, where a pass of width w̄ is worth 18·n·w̄ of them), in gradient passes."""
    w, w_bar = (max(x, 1.0) for x in widths)
    return w / _HESSIAN_KAPPA[sparse] + n_params**3 / (6.0 * (_HESSIAN_KAPPA[False] / 2) * max(n_samples, 1) * w_bar)


def fit_plan(
    solver, n_samples: int, n_params: int, widths: tuple[float, float], sparse: bool, dtype, n_threads: int
) -> FitPlan:
    """The plan for ``solver``: "newton-cholesky" dense, "newton-cg" Hessian-free; "auto" Hessian-free
    when memory forces it (:func:`fit_hessian_free`) or when the cost model says it is cheaper (then
    with a CG budget), dense otherwise."""
    if solver == "newton-cholesky":
        check_dense_memory(n_params, dtype, n_threads, "solver='newton-cholesky'")
        return FitPlan(False)
    if solver == "newton-cg" or fit_hessian_free(n_params, dtype, n_threads):
        return FitPlan(True)
    hess = hessian_cost(n_samples, n_params, widths, sparse)
    warm = n_samples // 8 >= max(2000, 20 * n_params)  # newton_fit's subsample warm start runs
    dense = _DENSE_HESSIANS[warm] * hess + _DENSE_PASSES
    if _FREE_MARGIN * (_FREE_PASSES + hess) >= dense:
        return FitPlan(False)
    return FitPlan(True, max(1, math.ceil(_CG_BUDGET_HESSIANS * hess / _CG_PASS)))

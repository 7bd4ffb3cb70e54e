"""Which linear solver the Hessian gets: a dense p×p matrix and its Cholesky factor, or matrix-free CG.

Used by :class:`softunlearn.Influence` (``solver="auto"``) and by the Newton fit, which switches to
Hessian-free (truncated) Newton steps under the same rule.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from . import _core

_CG_AUTO_PARAMS = 4000
# "auto" keeps a dense Hessian only when its assembly fits in this share of the available memory.
_DENSE_MEMORY_SHARE = 0.5


def available_memory() -> Optional[int]:
    """Bytes of memory available to new allocations, or None when unknown.

    Linux's ``MemAvailable`` (free memory plus what the page cache can give back) when /proc/meminfo is
    readable, else ``os.sysconf`` free physical pages × page size (a lower figure), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


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
    """Whether the Newton fit solves its systems by CG instead of assembling H: when p > 20,000 or when
    the dense path would take more than half of the available memory (:func:`auto_solver`'s rule)."""
    if n_params > _FIT_HESSIAN_FREE_PARAMS:
        return True
    return n_params > 0 and auto_solver(min(n_params, _CG_AUTO_PARAMS), dtype, n_threads) == "cg"

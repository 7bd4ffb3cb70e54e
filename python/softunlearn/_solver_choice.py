"""Which linear solver the Hessian gets: a dense p×p matrix and its Cholesky factor, or matrix-free CG.

Used by :class:`softunlearn.Influence` (``solver="auto"``) and by the Newton fit, which switches to
Hessian-free (truncated) Newton steps under the same rule.
"""

from __future__ import annotations

import os

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
    """Whether the Newton fit solves its systems by CG instead of assembling H: when p > 20,000 or when
    the dense path would take more than half of the available memory (:func:`auto_solver`'s rule)."""
    if n_params > _FIT_HESSIAN_FREE_PARAMS:
        return True
    return n_params > 0 and auto_solver(min(n_params, _CG_AUTO_PARAMS), dtype, n_threads) == "cg"

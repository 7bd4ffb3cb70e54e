"""What this installation of softunlearn runs on: :func:`show_config` prints it, :func:`config` returns it.

The compiled core exists in one copy per instruction-set level of a portable build (``softunlearn/_runtime``
loads the best one the CPU supports); the report says which copy was loaded and why, how it was built
(compiler, Eigen and the SIMD instructions its kernels use, OpenMP), the threads the kernels use, the
OpenMP runtime library actually loaded, and the compute backends. There is no BLAS: every kernel of the
core is Eigen's.
"""

from __future__ import annotations

import os
import platform
import sys

import numpy as np

from . import _core, _runtime
from . import backend as _backend


def _openmp_libraries():
    """The OpenMP runtimes loaded in this process (threadpoolctl's view; [] when it is not installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {"library": info.get("prefix"), "version": info.get("version"), "path": info.get("filepath")}
        for info in threadpool_info()
        if info.get("user_api") == "openmp"
    ]


def config() -> dict:
    """The build and run-time configuration as a dict (what :func:`show_config` prints).

    Keys: ``version``; ``core`` (``softunlearn._core.build_info()``: ``isa`` — the copy loaded,
    ``baseline``, ``native`` or an x86-64 level —, ``compiler``, ``eigen``, ``eigen_simd``, ``openmp``);
    ``isa`` (``loaded``, ``available``: the levels this installation has copies of, ``supported``: the levels
    this CPU and OS support, ``forced``: the value of ``SOFTUNLEARN_ISA`` or None); ``threads`` (what the
    kernels use by default); ``openmp_runtime`` (the loaded OpenMP libraries); ``blas`` (None: the kernels
    are Eigen's); ``backends`` (:func:`softunlearn.available_backends`); ``python``, ``numpy``, ``machine``.
    """
    from . import __version__

    available = _runtime.available_levels()
    core = dict(_core.build_info())
    return {
        "version": __version__,
        "core": core,
        "isa": {
            "loaded": core["isa"],
            "available": ["baseline", *available] if available else [],
            "supported": list(_runtime.supported_levels()),
            "forced": os.environ.get(_runtime.ISA_ENV) or None,
        },
        "threads": _core.max_threads(),
        "openmp_runtime": _openmp_libraries(),
        "blas": None,
        "backends": _backend.available_backends(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": f"{platform.system()} {platform.machine()}",
    }


def show_config(file=None) -> None:
    """Print :func:`config` as readable lines (to ``file``, default stdout)."""
    c = config()
    core, isa = c["core"], c["isa"]
    omp = ", ".join(
        f"{r['library']} {r['version'] or ''} at {r['path']}".replace("  at", " at") for r in c["openmp_runtime"]
    )
    lines = [
        f"softunlearn {c['version']} on {c['machine']}, Python {c['python']}, NumPy {c['numpy']}",
        f"core:     {core['isa']} copy"
        + (
            f" (this CPU supports {', '.join(isa['supported']) or 'none of the x86-64 levels'}; "
            f"copies here: {', '.join(isa['available'])})"
            if isa["available"]
            else " (the only copy of this build)"
        )
        + (f"; forced by {_runtime.ISA_ENV}={isa['forced']}" if isa["forced"] else ""),
        f"built:    {core['compiler']}; Eigen {core['eigen']}, SIMD: {core['eigen_simd']}",
        f"threads:  {c['threads']} (OpenMP {core['openmp'] or 'not used'}" + (f"; runtime {omp})" if omp else ")"),
        "BLAS:     none (the kernels are Eigen's)",
        f"backends: {', '.join(c['backends'])}",
    ]
    print("\n".join(lines), file=file)

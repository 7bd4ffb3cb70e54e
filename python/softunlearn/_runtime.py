"""Loading the compiled core: the copy built for the best instruction set this CPU supports, with a thread
runtime that does not fight NumPy's BLAS.

**Instruction sets.** A portable build ships the core several times: the baseline (any x86-64, or the
platform's default) as ``softunlearn/_core*.so``, and copies built for higher x86-64 levels in
``softunlearn/_isa/<level>/`` (``x86-64-v3``: AVX2 and FMA; ``x86-64-v4``: AVX-512). Eigen chooses its vector
width from the compiler's target, so a kernel runs at AVX-512 width only in a copy compiled for it. At import
the best copy that the CPU and the operating system support (``softunlearn._cpu``, itself built for the
baseline) is loaded under the name ``softunlearn._core``; a build with ``SOFTUNLEARN_NATIVE=ON`` has a
single copy for the building machine. The environment variable ``SOFTUNLEARN_ISA`` forces a level
(``baseline`` or one of :data:`LEVELS`), e.g. to compare them; a level this CPU lacks or this build does not
have raises ``ImportError`` naming the variable.

**Threads.** The core's OpenMP threads and OpenBLAS's threads both spin after each parallel call by default.
On a machine with few cores, a softunlearn call right after a NumPy BLAS call (or the reverse) then waits for
the other runtime's spinning threads to be descheduled: measured on 2 cores, a 0.4 ms call took 5 ms and a
3.6 ms ``X @ v`` took 22 ms. libgomp reads ``OMP_WAIT_POLICY`` once, when it is loaded, so the core is
imported with ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep) unless the user set the variable; the variable
is restored afterwards, so neither other libraries nor child processes see the change.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

_POLICY = "OMP_WAIT_POLICY"
#: The environment variable that forces a copy of the core.
ISA_ENV = "SOFTUNLEARN_ISA"
#: The levels a portable x86-64 build may carry besides the baseline, best first.
LEVELS = ("x86-64-v4", "x86-64-v3")
_NAME = "softunlearn._core"


def _isa_root() -> Path:
    # The probe is installed beside the baseline copy (also in an editable install, where the package's
    # Python files live elsewhere); once a copy is loaded, softunlearn._core's own spec points into _isa/.
    from . import _cpu

    return Path(_cpu.__file__).parent / "_isa"


def available_levels() -> tuple[str, ...]:
    """The levels of :data:`LEVELS` this installation has a copy of, best first."""
    root = _isa_root()
    return tuple(level for level in LEVELS if _module_file(root / level) is not None)


def supported_levels() -> tuple[str, ...]:
    """The x86-64 levels the running CPU and OS support (empty elsewhere)."""
    from . import _cpu

    return tuple(_cpu.supported_levels())


def _module_file(directory: Path) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = directory / f"_core{suffix}"
        if candidate.is_file():
            return candidate
    return None


def choose_level(available, supported, forced=None) -> str | None:
    """The copy to load: the best available level the CPU supports (None: the baseline), or ``forced``
    (the value of ``SOFTUNLEARN_ISA``) after checking that it exists and can run here."""
    if forced is not None and forced != "":
        if forced == "baseline":
            return None
        if forced not in LEVELS:
            raise ImportError(f"{ISA_ENV}: expected 'baseline' or one of {LEVELS}, got {forced!r}")
        if forced not in available:
            raise ImportError(
                f"{ISA_ENV}={forced}: this softunlearn has no copy of its core for that level (it has: baseline"
                f"{''.join(', ' + a for a in available)}); unset {ISA_ENV} or build without SOFTUNLEARN_NATIVE"
            )
        if forced not in supported:
            raise ImportError(f"{ISA_ENV}={forced}: this CPU (or OS) does not support {forced}")
        return forced
    return next((level for level in available if level in supported), None)


def _load(level):
    if level is None:
        return importlib.import_module(_NAME)
    path = _module_file(_isa_root() / level)
    copy = importlib.util.spec_from_file_location(_NAME, path)
    assert copy is not None and copy.loader is not None
    module = importlib.util.module_from_spec(copy)
    sys.modules[_NAME] = module
    try:
        copy.loader.exec_module(module)
    except BaseException:
        del sys.modules[_NAME]
        raise
    return module


def load_core():
    added = _POLICY not in os.environ
    if added:
        os.environ[_POLICY] = "PASSIVE"
    try:
        available = available_levels()
        level = choose_level(available, supported_levels() if available else (), os.environ.get(ISA_ENV))
        return _load(level)
    finally:
        if added:
            os.environ.pop(_POLICY, None)

"""Loading the compiled core with a thread runtime that does not fight NumPy's BLAS.

The core's OpenMP threads and OpenBLAS's threads both spin after each parallel call by default. On a
machine with few cores, a softunlearn call right after a NumPy BLAS call (or the reverse) then waits for
the other runtime's spinning threads to be descheduled: measured on 2 cores, a 0.4 ms call took 5 ms and
a 3.6 ms ``X @ v`` took 22 ms. libgomp reads ``OMP_WAIT_POLICY`` once, when it is loaded, so the core is
imported with ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep) unless the user set the variable; the
variable is restored afterwards, so neither other libraries nor child processes see the change.
"""

from __future__ import annotations

import importlib
import os

_POLICY = "OMP_WAIT_POLICY"


def load_core():
    added = _POLICY not in os.environ
    if added:
        os.environ[_POLICY] = "PASSIVE"
    try:
        return importlib.import_module("softunlearn._core")
    finally:
        if added:
            os.environ.pop(_POLICY, None)

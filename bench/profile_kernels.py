#!/usr/bin/env python
"""Run one core kernel in a loop, for a sampling profiler (bench/README.md, "Profile of the hot loops").

    python bench/profile_kernels.py {hessian_pass,gradient_pass,weighted_gram,scores} [--reps N]

Synthetic standard-normal X (n=1e5, d=100, float64, the headline size). Build the core with symbols first
(``-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O3 -g -fno-omit-frame-pointer"``;
a Release build's module is stripped) and run under ``perf record -e cpu-clock -g``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import softunlearn  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
from softunlearn import _core


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kernel", choices=("hessian_pass", "gradient_pass", "weighted_gram", "scores"))
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=100)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((a.n, a.d))
    y = (rng.random(a.n) < 0.4).astype(np.float64)
    theta = 0.1 * rng.standard_normal(a.d + 1)
    none = np.empty(0)
    U = np.asfortranarray(rng.standard_normal((a.d + 1, 3)))
    for _ in range(a.reps):
        if a.kernel == "hessian_pass":
            _core.loss_pass(X, y, none, theta, 1.0, True, True, False, False, 0, _core.LOSS_LOGISTIC, 0.0)
        elif a.kernel == "gradient_pass":
            _core.loss_pass(X, y, none, theta, 1.0, True, False, False, False, 0, _core.LOSS_LOGISTIC, 0.0)
        elif a.kernel == "weighted_gram":
            _core.weighted_gram(X, y + 0.1, True, 0)
        else:
            _core.scores(X, U, y, True, 0)


if __name__ == "__main__":
    main()

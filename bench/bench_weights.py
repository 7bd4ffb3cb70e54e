"""Timing of the weight QP: bounded and unbounded solves at n = 10⁶ and 10⁷ (float64) and a 50-value λ path.

    PYTHONPATH=python python bench/bench_weights.py [--sizes 1e6 1e7] [--repeat 5] [--threads 0]

Scores are synthetic but shaped like real influence scores: heavy-tailed (Student t, 3 d.o.f.) target
scores and utility scores correlated with them (c = TᵀU < 0: the utility constraint is active, the
harder case). Δ is 30 % of the largest decrease the box allows, λ = 1e-4 (most weights strictly inside
the box, some clipped). Reports the min and median wall time (ms) of `repeat` calls, including input
validation and the result object.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from softunlearn import _core
from softunlearn import weights as W


def scores(n, seed=0):
    rng = np.random.default_rng(seed)
    T = rng.standard_t(3, size=n) * 1e-3
    U = -0.4 * T + rng.standard_t(3, size=n) * 1e-3
    return T, U


def timed(fn, repeat):
    """(min, median) wall time over `repeat` calls, and the last result. On a shared machine the
    minimum is the figure least disturbed by other load."""
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return (float(np.min(times)), float(np.median(times))), out


def fmt(t):
    return f"{1e3 * t[0]:>8.1f} {1e3 * t[1]:>8.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--lam", type=float, default=1e-4)
    args = ap.parse_args()
    nt = args.threads
    print(f"threads: {_core.max_threads() if nt == 0 else nt}, numpy {np.__version__}")
    print(f"{'case':<44} {'n':>10} {'min ms':>8} {'med ms':>8} {'passes':>7}  note")
    for n in (int(s) for s in args.sizes):
        T, U = scores(n)
        lam = args.lam
        for bounds in [(-1.0, None), (-1.0, 0.0)]:
            lo, hi = bounds[0], np.inf if bounds[1] is None else bounds[1]
            reach = -T[T < 0].sum() * -lo + (T[T > 0].sum() * hi if np.isfinite(hi) else np.inf)
            reach = min(reach, -T[T < 0].sum() * -lo * 3)
            delta = 0.3 * reach
            ms, res = timed(
                lambda: W.soft_weights(T, U, delta, lam, bounds=bounds, n_threads=nt, lam_scale="absolute"), args.repeat
            )
            print(
                f"{'bounded soft_weights ' + str(bounds):<44} {n:>10} {fmt(ms)} {res.info['passes']:>7}  "
                f"scheme={res.scheme} feasible={res.feasible} kkt={res.kkt_residual:.1e} "
                f"clipped={(res.eps <= lo).mean():.1%}"
            )
            # the core alone (no validation, no result object)
            ms, out = timed(lambda: _core.weights_bounded(T, U, 1.0, delta, 1 / (2 * lam), lo, hi, nt), args.repeat)
            print(f"{'  core weights_bounded':<44} {n:>10} {fmt(ms)} {out['passes']:>7}")
        ms, res = timed(lambda: W.soft_weights(T, U, 5.0, lam, n_threads=nt, lam_scale="absolute"), args.repeat)
        print(f"{'unbounded soft_weights auto':<44} {n:>10} {fmt(ms)} {'':>7}  scheme={res.scheme}")
        ms, res = timed(
            lambda: W.soft_weights(T, U, 10 / lam * (T @ T), lam, n_threads=nt, lam_scale="absolute"), args.repeat
        )
        print(f"{'unbounded soft_weights auto (target active)':<44} {n:>10} {fmt(ms)} {'':>7}  scheme={res.scheme}")
        if n <= 2_000_000:
            lams = np.logspace(-6, 2, 50)
            delta = 0.3 * (-T[T < 0].sum())
            ms, path = timed(
                lambda: W.soft_weights_path(T, U, delta, lams, bounds=(-1.0, None), n_threads=nt, lam_scale="absolute"),
                max(1, args.repeat // 2),
            )
            print(
                f"{'lambda path, 50 values, bounds (-1, None)':<44} {n:>10} {fmt(ms)} {'':>7}  "
                f"{1e3 * ms[0] / 50:.2f} ms per λ, schemes={sorted(set(path.schemes))}"
            )
            ms, path = timed(
                lambda: W.soft_weights_path(T, U, delta, lams, n_threads=nt, lam_scale="absolute"),
                max(1, args.repeat // 2),
            )
            print(
                f"{'lambda path, 50 values, unbounded':<44} {n:>10} {fmt(ms)} {'':>7}  "
                f"schemes={sorted(set(path.schemes))}"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ms, res = timed(lambda: W.hard_weights(T, fraction=0.2), args.repeat)
        print(f"{'hard_weights fraction=0.2':<44} {n:>10} {fmt(ms)}")
        T = U = None  # free the scores before the next size is drawn


if __name__ == "__main__":
    main()

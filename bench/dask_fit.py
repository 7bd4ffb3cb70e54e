"""softunlearn on Dask against dask-ml on the same persisted dask array (LocalCluster, 2 workers × 1 thread).

Stages, each on the same X (generated on the workers, persisted there, never on the client):

* fit: ``su.LogisticRegression(C).fit`` against dask-ml's ``LogisticRegression`` with each solver (newton,
  lbfgs, admm; defaults otherwise, each run to its own convergence). Every result is scored on *our*
  objective J(θ) = ½‖w‖² + C Σ ℓᵢ (intercept unpenalised), which dask-ml's solvers do not all minimise
  (``newton`` drops the L2 penalty, the others penalise the intercept): the relative gap to our optimum
  says whether a solver ever gets within 1e-6 of it.
* pipeline: fit + Influence + scores for 3 targets + bounded soft weights + Newton update, with the peak
  RSS of each worker (VmHWM) and the per-row time against the in-memory pipeline at ``--n-memory`` rows.
  On Dask the scores and ε are formed on the workers (persisted), never gathered; the weight QP's
  passes are distributed reductions over them.

Usage::

    python bench/dask_fit.py --n 1e6 --out bench/results/dask_1e6.json
    python bench/dask_fit.py --n 1e7 --solvers newton lbfgs admm --out bench/results/dask_1e7.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from importlib.metadata import version

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster, wait

import softunlearn as su
from softunlearn.dask_engine import DaskEngine
from softunlearn.targets import DemographicParity, EqualOpportunity, Utility


def _peak_rss(client) -> dict:
    def hwm():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) * 1024
        return 0

    return client.run(hwm)


def _reset_peak_rss(client) -> None:
    """Reset each worker's VmHWM to its current RSS (Linux: "5" to /proc/self/clear_refs)."""

    def reset():
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    client.run(reset)


def _data(n, d, chunk, seed=0):
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, d), chunks=(chunk, d))
    w = np.random.default_rng(seed + 1).standard_normal(d) / np.sqrt(d)
    z = X @ w + rng.standard_normal(n, chunks=(chunk,))
    y = (z > 0).astype(np.float64)
    return X, y


def _validation(d, seed=2):
    rng = np.random.default_rng(seed)
    Xv = rng.standard_normal((5000, d))
    yv = (Xv[:, 0] + rng.standard_normal(5000) > 0).astype(np.float64)
    gv = (Xv[:, 1] > 0).astype(np.float64)
    return Xv, yv, gv


def _formed(a):
    """A lazy dask result computed and kept on the workers (in-memory arrays as they are)."""
    if hasattr(a, "persist"):
        a = a.persist()
        wait(a)
    return a


def _pipeline(X, y, C, Xv, yv, gv):
    """fit → Influence → 3 target scores → bounded weights → Newton update; the stage times."""
    t = {}
    t0 = time.perf_counter()
    m = su.LogisticRegression(C=C).fit(X, y)
    t["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    inf = su.Influence(m, X, y)
    t["influence"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    S = inf.scores([Utility(Xv, yv), DemographicParity(Xv, gv), EqualOpportunity(Xv, yv, gv)])
    S = _formed(S)  # on the workers for a dask X (the weight solves read them there), never gathered
    t["scores"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    w = su.soft_weights(
        S[:, 1], S[:, 0], DemographicParity(Xv, gv).value(m), lam=0.1, bounds=(-1, 0), lam_scale="absolute"
    )
    eps = _formed(w.eps)
    t["weights"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = inf.newton_update(eps)
    t["update"] = time.perf_counter() - t0
    t["total"] = sum(t.values())
    return t, m, new


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=250_000, help="rows per chunk")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--solvers", nargs="*", default=["newton", "lbfgs", "admm"], help="dask-ml solvers to run")
    ap.add_argument("--n-memory", type=float, default=1e6, help="rows of the in-memory pipeline (per-row ratio)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    n, d = int(a.n), a.d
    out = {
        "n": n,
        "d": d,
        "chunk": a.chunk,
        "C": a.C,
        "versions": {k: version(k) for k in ("softunlearn", "dask", "distributed", "dask-ml", "numpy")},
        "machine": platform.processor() or platform.machine(),
    }
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            X, y = _data(n, d, a.chunk)
            X, y = client.persist([X, y])
            wait([X, y])
            out["peak_rss_persist"] = _peak_rss(client)  # generating X: not ours
            _reset_peak_rss(client)
            Xv, yv, gv = _validation(d)
            eng = DaskEngine(X, y, None, fit_intercept=True, loss=(0, 0.0))

            def ours(theta):
                return float(eng.loss_pass(np.asarray(theta, dtype=np.float64), a.C)["objective"])

            # The pipeline first, on a fresh cluster: the workers' peak RSS is then ours, not dask-ml's. The
            # first run pays the workers' first imports and function shipping; the second is the steady state.
            cold, _, _ = _pipeline(X, y, a.C, Xv, yv, gv)
            t, _, _ = _pipeline(X, y, a.C, Xv, yv, gv)
            out["pipeline_dask_cold"], out["pipeline_dask"] = cold, t
            out["peak_rss"] = _peak_rss(client)
            print("dask pipeline, first run:", {k: round(v, 3) for k, v in cold.items()})
            print("dask pipeline:", {k: round(v, 3) for k, v in t.items()})
            print("peak RSS per worker (GB):", {k: round(v / 2**30, 2) for k, v in out["peak_rss"].items()})
            fits = {}
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                m = su.LogisticRegression(C=a.C).fit(X, y)
                times.append(time.perf_counter() - t0)
            fits["softunlearn"] = {"time": float(np.median(times)), "times": times, "n_iter": m.n_iter_}
            J_opt = ours(m.theta_)
            fits["softunlearn"]["J"] = J_opt
            ours_t = fits["softunlearn"]["time"]
            print(f"softunlearn fit: {ours_t:.2f} s (median of 3), {m.n_iter_} Newton iterations, J = {J_opt:.10g}")
            from dask_ml.linear_model import LogisticRegression as DmlLR

            for solver in a.solvers:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    dm = DmlLR(C=a.C, solver=solver, fit_intercept=True).fit(X, y)
                    dt = time.perf_counter() - t0
                theta = np.concatenate([np.ravel(dm.coef_), np.ravel([dm.intercept_])])
                J = ours(theta)
                gap = (J - J_opt) / abs(J_opt)
                fits[f"dask-ml {solver}"] = {"time": dt, "J": J, "rel_gap": gap, "ratio": dt / ours_t}
                print(f"dask-ml {solver}: {dt:.2f} s ({dt / ours_t:.1f}× ours), J gap {gap:.2e}")
            out["fit"] = fits
    nm = int(a.n_memory)
    with dask.config.set(scheduler="sync"):
        Xm, ym = (np.asarray(v) for v in dask.compute(*_data(nm, d, a.chunk)))
    _pipeline(Xm, ym, a.C, Xv, yv, gv)
    tm, _, _ = _pipeline(Xm, ym, a.C, Xv, yv, gv)
    out["pipeline_memory"] = {"n": nm, **tm}
    per_row = (t["total"] / n) / (tm["total"] / nm)
    out["per_row_ratio"] = per_row
    print("in-memory pipeline:", {k: round(v, 3) for k, v in tm.items()})
    print(f"per-row time, Dask (n={n:.0e}) / in-memory (n={nm:.0e}): {per_row:.2f}")
    share = n * d * 8 / 2 / 2**30
    print(f"share of X per worker: {share:.2f} GB; chunk: {a.chunk * d * 8 / 2**30:.2f} GB")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

"""CPU vs GPU, end to end, through the public API (so host-to-device transfers are included).

Pipeline timed for each backend, dtype and size (synthetic logistic data, n × d, validation set of 20,000):
  1. fit      LogisticRegression(backend=...).fit(X, y)            (damped Newton to the default tol)
  2. factor   Influence(model, X, y, backend=...)                  (one pass at θ̂ for r, the fit's Hessian
                                                                    confirmed and reused, Cholesky)
  3. scores   influence.scores([DP, EOP, Utility])                 (one solve with 3 right-hand sides,
                                                                    r ⊙ X̃U)
  4. weights  soft_weights(T, U, delta)                            (O(n), CPU for both backends)
  5. update   influence.newton_update(eps)                         (X̃ᵀ(ε⊙r), a solve)
CPU = softunlearn's compiled core on all cores of the machine (n_threads=None). The GPU backend is
warmed up first (CUDA context and cuBLAS/cuSOLVER handles on a tiny problem: timed separately as
"init_s", not in the pipeline). The results of both backends are compared (max relative differences).

Needs a CUDA device and a build with the CUDA extension (see bench/README.md, "GPU benchmark"):

    python bench/bench_gpu.py                           # n = 1e6, d in {100, 1000}, float32 and float64
    python bench/bench_gpu.py --n 200000 --d 100 --repeats 1 --out bench/results/gpu-small.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import softunlearn as su
from softunlearn import backend as be


def make_data(n, d, dtype, seed=0, n_val=20_000):
    rng = np.random.default_rng(seed)
    w = rng.normal(scale=1.5 / np.sqrt(d), size=d)

    def draw(m):
        X = rng.standard_normal((m, d), dtype=np.float32 if dtype == np.float32 else np.float64)
        s = (X[:, 0] + 0.8 * rng.standard_normal(m) > 0).astype(np.int64)
        z = X @ w.astype(X.dtype) + 0.3 + 0.7 * s
        y = (rng.uniform(size=m) < 1 / (1 + np.exp(-z))).astype(np.int64)
        return X, y, s

    return draw(n), draw(n_val)


def pipeline(backend, X, y, Xv, yv, sv):
    t = {}
    t0 = time.perf_counter()
    m = su.LogisticRegression(backend=backend).fit(X, y)
    t["fit"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    inf = su.Influence(m, X, y, backend=backend)
    t["factor"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    targets = [
        su.targets.DemographicParity(Xv, sv),
        su.targets.EqualOpportunity(Xv, yv, sv),
        su.targets.Utility(Xv, yv),
    ]
    S = inf.scores(targets)
    t["scores"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    res = su.soft_weights(S[:, 0], S[:, 2], targets[0].value(m), lam=0.1, lam_scale="absolute")
    t["weights"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    m2 = inf.newton_update(res.eps)
    t["update"] = time.perf_counter() - t4
    t["total"] = time.perf_counter() - t0
    info = {
        "backend_fit": m.backend_,
        "backend_influence": inf.backend,
        "n_iter": m.n_iter_,
        "n_hessian_evals": m.n_hessian_evals_,
        "reused_hessian": bool(inf.reused_hessian),
    }
    return t, info, (m.theta_, S, m2.theta_)


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--repeats", type=int, default=3, help="GPU runs per configuration (best is reported)")
    ap.add_argument("--cpu-repeats", type=int, default=1)
    ap.add_argument("--skip-cpu", action="store_true", help="GPU only (no ratio)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "gpu.json"))
    args = ap.parse_args(argv)

    module, why = be._cuda_status()
    if module is None:
        sys.exit(f"bench_gpu.py needs the CUDA backend: {why}")
    t0 = time.perf_counter()
    tiny = np.random.default_rng(0).standard_normal((256, 4))
    su.Influence(su.LogisticRegression(backend="cuda").fit(tiny, tiny[:, 0] > 0), tiny, tiny[:, 0] > 0, backend="cuda")
    init_s = time.perf_counter() - t0

    out = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "cpu_threads_used": int(su._core.max_threads()),
            "gpu": module.device_name(0),
            "cuda_runtime": module.runtime_version(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "init_s": init_s,
        "runs": [],
    }
    print(
        f"GPU {out['machine']['gpu']}, CPU threads {out['machine']['cpu_threads_used']}, init {init_s:.2f} s",
        flush=True,
    )
    for dt_name in args.dtypes:
        dtype = np.dtype(dt_name).type
        for d in args.d:
            (X, y, _), (Xv, yv, sv) = make_data(args.n, d, dtype)
            row = {"n": args.n, "d": d, "dtype": dt_name}
            best = {}
            for backend, reps in (("cuda", args.repeats), ("cpu", 0 if args.skip_cpu else args.cpu_repeats)):
                runs = []
                for _ in range(reps):
                    t, info, res = pipeline(backend, X, y, Xv, yv, sv)
                    runs.append(t)
                if not runs:
                    continue
                best[backend] = min(runs, key=lambda r: r["total"])
                row[backend] = {"best": best[backend], "runs": runs, **info}
                row[f"{backend}_results"] = res
                print(
                    f"n={args.n} d={d} {dt_name} {backend}: "
                    + ", ".join(f"{k} {v:.3f}s" for k, v in best[backend].items()),
                    flush=True,
                )
            if "cpu" in best:
                row["speedup_total"] = best["cpu"]["total"] / best["cuda"]["total"]
                (tc, Sc, uc), (tg, Sg, ug) = row.pop("cpu_results"), row.pop("cuda_results")
                row["agreement"] = {"theta": rel(tg, tc), "scores": rel(Sg, Sc), "updated_theta": rel(ug, uc)}
                print(f"  speed-up {row['speedup_total']:.1f}x, agreement {row['agreement']}", flush=True)
            row.pop("cpu_results", None)
            row.pop("cuda_results", None)
            out["runs"].append(row)
            del X
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {Path(args.out).name}")


if __name__ == "__main__":
    main()

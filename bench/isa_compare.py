"""The copies of the compiled core side by side: the portable build's baseline, x86-64-v3 and x86-64-v4 copies
(forced with SOFTUNLEARN_ISA) against a ``SOFTUNLEARN_NATIVE=ON`` build (-march=native) of the same source.

    python bench/isa_compare.py --native-site DIR [--rounds 7] [--out bench/results/isa.json]

DIR holds a native build, e.g. ``pip wheel . --no-deps -w dist-native -Ccmake.define.SOFTUNLEARN_NATIVE=ON``
then ``pip install --no-deps --target DIR dist-native/softunlearn-*.whl``. Each measurement is a fresh
process; the variants alternate within every round (so drifting machine load hits all of them alike) and the
median over rounds is reported, with each copy's ratio to the native build. Workloads (float64):

* headline: fit + Influence + scores of three targets + soft weights + Newton update at n = 10⁵, d = 100;
* gram: the fit and Influence at n = 2·10⁴, d = 1,000 (Hessian assembly dominates).
"""

from __future__ import annotations

import argparse
import json
import os
import site
import statistics
import subprocess
import sys
import tempfile

WORKLOAD = r"""
import json, sys, time
import numpy as np
import softunlearn as su
n, d = {n}, {d}
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d)); y = (X @ rng.standard_normal(d) / 10 + rng.standard_normal(n) > 0).astype(float)
s = (X[:, 0] > 0).astype(float)
Xv, yv, sv = X[: n // 5], y[: n // 5], s[: n // 5]
def run():
    t0 = time.perf_counter()
    m = su.LogisticRegression().fit(X, y)
    inf = su.Influence(m, X, y)
    if {full}:
        dp = su.targets.DemographicParity(Xv, sv)
        S = inf.scores([dp, su.targets.Utility(Xv, yv), su.targets.Robustness(Xv, yv)])
        w = su.soft_weights(S[:, 0], S[:, 1], dp.value(m))
        inf.newton_update(w.eps)
    return time.perf_counter() - t0
run()
print(json.dumps({{"isa": su._core.build_info()["isa"], "seconds": min(run() for _ in range(3))}}))
"""

WORKLOADS = {"headline": dict(n=100_000, d=100, full=True), "gram": dict(n=20_000, d=1000, full=False)}


def measure(variant, workload, native_site):
    env = dict(os.environ)
    env.pop("SOFTUNLEARN_ISA", None)
    python = [sys.executable]
    if variant == "native":
        # -S: no site hooks, so an editable install of the portable build cannot shadow the native one
        env["PYTHONPATH"] = os.pathsep.join([native_site, *site.getsitepackages()])
        python.append("-S")
    else:
        env["SOFTUNLEARN_ISA"] = variant
    code = WORKLOAD.format(**WORKLOADS[workload])
    # a neutral working directory: "-c" puts it first on sys.path
    r = subprocess.run([*python, "-c", code], capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if r.returncode != 0:
        raise RuntimeError(f"{variant}/{workload}: {r.stderr}")
    out = json.loads(r.stdout)
    return out["isa"], out["seconds"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--native-site", required=True)
    ap.add_argument("--variants", nargs="+", default=["native", "x86-64-v4", "x86-64-v3", "baseline"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "isa.json"))
    args = ap.parse_args(argv)
    site = os.path.abspath(args.native_site)
    times = {w: {v: [] for v in args.variants} for w in WORKLOADS}
    loaded = {}
    for r in range(args.rounds):
        for w in WORKLOADS:
            order = args.variants if r % 2 == 0 else args.variants[::-1]
            for v in order:
                isa, sec = measure(v, w, site)
                loaded[v] = isa
                times[w][v].append(sec)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    result = {"rounds": args.rounds, "loaded": loaded, "workloads": {}}
    for w, per in times.items():
        med = {v: statistics.median(t) for v, t in per.items()}
        result["workloads"][w] = {
            "median_seconds": med,
            "all_seconds": per,
            "speed_vs_native": {v: med["native"] / med[v] for v in med} if "native" in med else {},
        }
        print(f"{w}: " + ", ".join(f"{v} ({loaded[v]}) {med[v] * 1e3:.0f} ms" for v in med))
        if "native" in med:
            print("  speed relative to native: " + ", ".join(f"{v} {med['native'] / med[v]:.3f}" for v in med))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()

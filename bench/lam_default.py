"""Evidence for the default ``lam`` (in units of λ* = TᵀT/(2|Δ|)) of the weight QP.

    PYTHONPATH=python python bench/lam_default.py [--datasets adult,compas] [--targets dp,eop]

For each data set and target (logistic regression, C = 1, seed 0 splits of ``softunlearn.datasets``; box
ε ≥ −1, the library's default), :func:`softunlearn.tradeoff` asks the soft weights for shares 0.5 … 2 of the
validation gap Δ, each met exactly (λ = λ*(share·Δ)), and applies them with the exact refit. A share above 1
is what ``lam`` = 1/share in units of λ* asks for when only the target constraint binds; the same λ values
are also solved directly (``soft_weights(..., lam=1/share)``, relative scale, same box) and refit, to check
that reading under the box. Records the test |gap| and accuracy per share in bench/results/lam_default.json
and prints a table. About a minute on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import numpy as np  # noqa: E402

import softunlearn as su  # noqa: E402
from softunlearn import datasets, evaluation, methods, pipeline, plotting  # noqa: E402

DATASETS = ("adult", "compas", "german", "law_school", "credit_default")
TARGETS = ("dp", "eop")
SHARES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
BOUNDS = (-1.0, None)
RESULTS = os.path.join(HERE, "results", "lam_default.json")


def run_one(name, target, seed=0, C=1.0):
    data = datasets.load(name, seed=seed)
    tr, va, te = data.train, data.val, data.test
    model = su.LogisticRegression(C=C).fit(tr.X, tr.y)
    tgt = pipeline.make_target(target, va.X, va.y, va.s, model=model)
    util = su.targets.Utility(va.X, va.y)
    ev = evaluation.Evaluator(target, te.X, te.y, te.s, reference_model=model)
    t0 = time.perf_counter()
    inf = su.Influence(model, tr.X, tr.y)
    res = su.tradeoff(
        model, tr.X, tr.y, tgt, util, ev, updates=("refit",), hard_fractions=(0.1,), delta_shares=SHARES,
        bounds=(BOUNDS,), influence=inf,
    )  # fmt: skip
    curve = res.curves[f"soft {plotting.bounds_label(BOUNDS)} (refit)"]
    by_share = {float(a): r for a, r in zip(curve.amounts, curve.rows) if a > 0}
    T, U = np.asarray(inf.scores([tgt, util])).T
    direct = {}
    for q in SHARES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", su.weights.InfeasibleWarning)
            w = su.soft_weights(T, U, res.delta, lam=1.0 / q, bounds=BOUNDS)
        row = ev(methods.apply_weights("refit", model, tr.X, tr.y, w.eps, influence=inf))
        direct[q] = dict(row, predicted_share=-w.target_change / res.delta, feasible=w.feasible)
    return {
        "rows": {"train": tr.n, "validation": va.n, "test": te.n},
        "delta": res.delta,
        "lam_star": res.lam_star,
        "original": {"accuracy": res.original["accuracy"], "abs_gap": abs(res.original["gap"])},
        "shares": {str(q): {"abs_gap": abs(by_share[q]["gap"]), "accuracy": by_share[q]["accuracy"]} for q in SHARES},
        "relative_lam": {
            f"{1 / q:g}": {
                "abs_gap": abs(direct[q]["gap"]),
                "accuracy": direct[q]["accuracy"],
                "predicted_share": direct[q]["predicted_share"],
                "feasible": direct[q]["feasible"],
            }
            for q in SHARES
        },
        "seconds": time.perf_counter() - t0,
    }


def table(results):
    head = "| data set | target | original \\|gap\\| / acc. | " + " | ".join(f"share {q:g}" for q in SHARES) + " |"
    lines = [head, "|---|---|---|" + "---|" * len(SHARES)]
    for key, r in results.items():
        name, target = key.split("/")
        cells = [f"{r['shares'][str(q)]['abs_gap']:.4f} / {r['shares'][str(q)]['accuracy']:.4f}" for q in SHARES]
        o = r["original"]
        lines.append(f"| {name} | {target} | {o['abs_gap']:.4f} / {o['accuracy']:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results):
    """Across data sets and targets, per share: |test gap| / original |gap| (geometric mean, mean, median),
    the mean change of accuracy in points, and on how many the share has the smallest |gap|."""
    rel = np.array(
        [[r["shares"][str(q)]["abs_gap"] / r["original"]["abs_gap"] for q in SHARES] for r in results.values()]
    )
    acc = np.array(
        [[r["shares"][str(q)]["accuracy"] - r["original"]["accuracy"] for q in SHARES] for r in results.values()]
    )
    best = rel.argmin(axis=1)
    return {
        str(q): {
            "gap_ratio_geomean": float(np.exp(np.log(np.maximum(rel[:, i], 1e-12)).mean())),
            "gap_ratio_mean": float(rel[:, i].mean()),
            "gap_ratio_median": float(np.median(rel[:, i])),
            "accuracy_change_points": float(100 * acc[:, i].mean()),
            "smallest_gap_count": int((best == i).sum()),
        }
        for i, q in enumerate(SHARES)
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--out", default=RESULTS)
    args = p.parse_args(argv)
    results = {}
    for name in args.datasets.split(","):
        for target in args.targets.split(","):
            r = run_one(name, target)
            results[f"{name}/{target}"] = r
            best = min(SHARES, key=lambda q: r["shares"][str(q)]["abs_gap"])
            print(f"{name}/{target} ({r['seconds']:.1f} s): smallest |test gap| at share {best:g}", flush=True)
    summ = summary(results)
    with open(args.out, "w") as f:
        json.dump({"shares": SHARES, "bounds": list(BOUNDS), "summary": summ, "results": results}, f, indent=1)
    print(table(results))
    print("\n| share | |gap| / original: geometric mean | mean | median | accuracy change, points | smallest |gap| |")
    print("|---|---|---|---|---|---|")
    for q, v in summ.items():
        print(
            f"| {q} | {v['gap_ratio_geomean']:.3f} | {v['gap_ratio_mean']:.3f} | {v['gap_ratio_median']:.3f} | "
            f"{v['accuracy_change_points']:+.2f} | {v['smallest_gap_count']} of {len(results)} |"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Hard vs soft weights applied by every unlearning method, on Adult (issue 7).

For each target (DP, EOP) it fits L2 logistic regression (C=1) on Adult's training part, computes the
influence scores once, builds hard weights (delete the 10 % most harmful samples) and soft weights
(``soft_weights(T, U, Δ = f(θ̂), λ, bounds=(-1, None))``), and applies both with each configured method.
``iterated`` re-solves the soft weights along the way (its hard row is its inner update applied to the hard
weights, so it is left out). Reported per row: test accuracy, test label gap (DP: P(ŷ=1|s=1) − P(ŷ=1|s=0);
EOP: TPR(s=1) − TPR(s=0)), the validation target value (soft gap), mean validation log-loss, the update's
time (best of ``--repeats``) and its ratio to the exact refit of the same weights.

Methods are a list of (name, options) pairs; a method added to ``softunlearn.methods.UPDATE_METHODS`` later is
one more line in CONFIGS (or ``--configs '[["name", {...}], ...]'``). Results go to bench/results/ as JSON
and the table is printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import softunlearn as su  # noqa: E402
from softunlearn import datasets  # noqa: E402

# (label, method, options)
CONFIGS = [
    ("newton", "newton", {}),
    ("refit", "refit", {}),
    ("finetune (to convergence)", "finetune", {}),
    ("finetune (10 L-BFGS its)", "finetune", {"max_iter": 10}),
    ("gradient ascent (10 steps, lr=1/L)", "gradient_ascent", {"steps": 10}),
    ("gradient ascent (100 steps, lr=1/L)", "gradient_ascent", {"steps": 100}),
    ("gradient ascent (1000 steps, lr=1/L)", "gradient_ascent", {"steps": 1000}),
    ("gradient ascent + retain ρ=1 (100 steps)", "gradient_ascent", {"steps": 100, "retain": 1.0}),
    ("iterated (10 steps, refit)", "iterated", {"steps": 10, "inner": "refit"}),
    ("iterated (10 steps, newton)", "iterated", {"steps": 10, "inner": "newton"}),
]


def _best_time(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _metrics(kind, model, val, test, target):
    yp = model.predict(test.X)
    gap = (
        su.metrics.demographic_parity_gap(yp, test.s)
        if kind == "dp"
        else su.metrics.equal_opportunity_gap(test.y, yp, test.s)
    )
    return {
        "test_accuracy": float(np.mean(yp == test.y)),
        "test_gap": float(gap),
        "val_target": float(target.value(model)),
        "val_log_loss": float(su.targets.Utility(val.X, val.y).value(model) / val.n),
    }


def run_target(kind, data, configs, lam, hard_fraction, repeats, threads):
    tr, va, te = data.train, data.val, data.test
    model = su.LogisticRegression(C=1.0, n_threads=threads).fit(tr.X, tr.y)
    target = su.pipeline.make_target(kind, va.X, va.y, va.s, model=model)
    utility = su.targets.Utility(va.X, va.y)
    delta = su.targets.required_change(target, model)
    inf = su.Influence(model, tr.X, tr.y)
    T, U = inf.scores([target, utility]).T
    plans = {
        "hard": su.hard_weights(T, fraction=hard_fraction, delta=delta),
        "soft": su.soft_weights(T, U, delta, lam=lam, bounds=(-1.0, None), lam_scale="absolute").eps,
    }
    rows = [dict(method="original", weights="-", seconds=0.0, vs_refit=None, **_metrics(kind, model, va, te, target))]
    refit_time = {k: _best_time(lambda e=e: su.refit(model, tr.X, tr.y, e), repeats)[0] for k, e in plans.items()}
    for label, method, opts in configs:
        for kind_w, eps in plans.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if method == "iterated":
                    if kind_w == "hard":
                        continue
                    secs, res = _best_time(
                        lambda: su.iterated_soft_weights(
                            model,
                            tr.X,
                            tr.y,
                            target,
                            utility,
                            delta,
                            lam=lam,
                            bounds=(-1.0, None),
                            influence=inf,
                            lam_scale="absolute",
                            **opts,
                        ),
                        repeats,
                    )
                    new, extra = (
                        res.model,
                        {"steps_taken": res.n_steps, "reached": res.reached, "min_weight": float((1 + res.eps).min())},
                    )
                else:
                    secs, new = _best_time(
                        lambda: su.methods.apply_weights(method, model, tr.X, tr.y, eps, influence=inf, **opts), repeats
                    )
                    extra = {k: getattr(new, k) for k in ("n_iter_",) if hasattr(new, k)}
            extra["warnings"] = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
            rows.append(
                dict(
                    method=label,
                    weights=kind_w,
                    seconds=secs,
                    vs_refit=secs / refit_time[kind_w],
                    config=[method, opts],
                    **extra,
                    **_metrics(kind, new, va, te, target),
                )
            )
    return {
        "target": kind,
        "delta": delta,
        "lam": lam,
        "hard_fraction": hard_fraction,
        "refit_seconds": refit_time,
        "n_deleted_hard": int(np.sum(plans["hard"] == -1)),
        "rows": rows,
    }


def markdown(result):
    out = [
        (
            f"**{result['target'].upper()}** (Δ = {result['delta']:+.4f}; exact refit: hard "
            f"{result['refit_seconds']['hard'] * 1e3:.0f} ms, "
            f"soft {result['refit_seconds']['soft'] * 1e3:.0f} ms)"
        ),
        "",
        "| method | weights | test acc | test gap | val soft gap | val log-loss | time | × refit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        ratio = "" if r["vs_refit"] is None else f"{r['vs_refit']:.2f}"
        out.append(
            f"| {r['method']} | {r['weights']} | {r['test_accuracy']:.4f} | {r['test_gap']:+.4f} | "
            f"{r['val_target']:+.4f} | {r['val_log_loss']:.4f} | {r['seconds'] * 1e3:.1f} ms | {ratio} |"
        )
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", nargs="+", default=["dp", "eop"], choices=["dp", "eop"])
    p.add_argument("--n-train", type=int, default=None, help="subsample Adult's training part")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--hard-fraction", type=float, default=0.1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads of the compiled kernels (default 1: on a busy machine OpenMP threads that wait for "
        "a core make every pass ~50× slower, which would swamp the comparison)",
    )
    p.add_argument(
        "--configs",
        type=json.loads,
        default=None,
        help="JSON list of [method, options] or [label, method, options], replacing the built-in list",
    )
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "unlearning_methods.json"))
    args = p.parse_args(argv)
    configs = (
        CONFIGS
        if args.configs is None
        else [tuple(c) if len(c) == 3 else (f"{c[0]} {json.dumps(c[1])}", c[0], c[1]) for c in args.configs]
    )
    data = datasets.load_adult(n_train=args.n_train, seed=args.seed)
    results = []
    for kind in args.targets:
        res = run_target(kind, data, configs, args.lam, args.hard_fraction, args.repeats, args.threads)
        results.append(res)
        print(markdown(res), "\n", flush=True)
    doc = {
        "dataset": f"adult: {data.train.n} train, {data.val.n} validation, {data.test.n} test rows, "
        f"{data.n_features} features",
        "seed": args.seed,
        "n_train": args.n_train,
        "C": 1.0,
        "softunlearn_commit": os.popen(f"git -C {ROOT} rev-parse --short HEAD").read().strip(),
        "threads": args.threads,
        "results": results,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    print(f"wrote {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()

"""Hard deletion vs soft weights at matched fairness (and robustness) on five data sets of the paper's tables.

    PYTHONPATH=python python bench/paper/matched.py [--datasets adult,compas] [--targets dp,eop,robustness]

For each data set and target, :func:`softunlearn.tradeoff` sweeps hard deletion of 1–30 % of the training
rows and soft weights (box ε ≥ −1) asked for 10–100 % of Δ (the validation gap; for robustness the whole
summed adversarial validation loss), applies both with the exact refit and the Newton step, and compares
the frontiers at equal x: |test label gap| for DP and EOP, test robust accuracy for robustness (see
``softunlearn.frontiers``). Writes bench/paper/matched.json and re-renders the table of bench/paper/README.md
between the MATCHED markers. Logistic regression, C = 1, seed 0 splits (``softunlearn.datasets``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import softunlearn as su  # noqa: E402
from softunlearn import datasets, evaluation, pipeline  # noqa: E402

DATASETS = ("adult", "compas", "german", "law_school", "credit_default")
TARGETS = ("dp", "eop", "robustness")
RESULTS = os.path.join(HERE, "matched.json")
README = os.path.join(HERE, "README.md")
BEGIN, END = "<!-- MATCHED BEGIN -->", "<!-- MATCHED END -->"


def run_one(name, target, seed=0, C=1.0):
    data = datasets.load(name, seed=seed)
    tr, va, te = data.train, data.val, data.test
    model = su.LogisticRegression(C=C).fit(tr.X, tr.y)
    tgt = pipeline.make_target(target, va.X, va.y, va.s, model=model)
    ev = evaluation.Evaluator(target, te.X, te.y, te.s, reference_model=model)
    t = time.perf_counter()
    res = su.tradeoff(model, tr.X, tr.y, tgt, su.targets.Utility(va.X, va.y), ev, updates=("refit", "newton"))
    out = {
        "rows": {"train": tr.n, "validation": va.n, "test": te.n, "features": data.n_features},
        "seconds": time.perf_counter() - t,
        "validation_gap": float(tgt.value(model)),
        "original": res.original,
        "refit": res.compare("soft -1:none (refit)", "hard (refit)").as_dict(),
        "newton": res.compare("soft -1:none (newton)", "hard (newton)").as_dict(),
        "tradeoff": res.as_dict(),
    }
    return out


def fmt_range(c):
    if c["x_range"] is None:
        return "—"
    lo, hi = c["x_range"]
    return f"{lo:.3f}–{hi:.3f}"


def fmt_gain(c):
    if c["x_range"] is None:
        return "—"
    return f"{100 * c['mean_gain']:+.2f} ({100 * c['min_gain']:+.2f} … {100 * c['max_gain']:+.2f})"


def table(results):
    lines = [
        (
            "| data set | target | n train | original acc. / x | matched range of x | "
            "refit: soft − hard accuracy, points: mean (min … max) | refit: hard − soft log-loss | "
            "best x soft / hard (refit) | "
            "Newton preview: soft − hard, points |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        name, target = key.split("/")
        c, nw = r["refit"], r["newton"]
        lines.append(
            f"| {name} | {target} | {r['rows']['train']} | {r['original']['accuracy']:.4f} / "
            f"{c['original'][0]:.4f} | "
            f"{fmt_range(c)} | {fmt_gain(c)} | "
            f"{c['mean_loss_gain']:+.4f} | {c['soft_best']:.4f} / {c['hard_best']:.4f} | {fmt_gain(nw)} |"
        )
    return "\n".join(lines)


def render(results):
    text = open(README).read()
    block = f"{BEGIN}\n{table(results)}\n{END}"
    if BEGIN in text:
        a, b = text.index(BEGIN), text.index(END) + len(END)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(README, "w") as f:
        f.write(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--targets", default=",".join(TARGETS))
    args = p.parse_args(argv)
    results = {}
    for name in args.datasets.split(","):
        for target in args.targets.split(","):
            r = run_one(name, target)
            results[f"{name}/{target}"] = r
            print(f"{name}/{target} ({r['seconds']:.1f} s): {r['refit']['sentence']}", flush=True)
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1)
    render(results)


if __name__ == "__main__":
    main()

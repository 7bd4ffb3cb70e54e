"""Reproduction of "Soft Weighted Machine Unlearning" (Qiao et al. 2025) on logistic regression.

    PYTHONPATH=python python bench/paper/reproduce.py [--quick] [--refits N] [--budget SECONDS]

Writes bench/paper/results.json after every section (a run cut off by a timeout keeps what finished)
and re-renders the tables of bench/paper/README.md between the TABLES markers (the hand-written text
around them is kept). Sections:

1. influence vs exact leave-one-out refits on Adult (utility, DP, EOP, robustness);
2. Adult 600-sample DP demo and 1,000-sample robustness demo (hard 10 % vs soft);
3. hard vs soft on Adult, COMPAS, Law School, Credit default (DP, EOP, robustness), Newton and refit;
4. the over-unlearning statistic on Adult.

Sign conventions (docs/conventions.md): T_i is the first-order change of the target when sample i is deleted;
weight changes ε change it by ≈ -εᵀT. Δ is the required *decrease* of the target.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import softunlearn as su  # noqa: E402
from softunlearn import datasets as D  # noqa: E402
from softunlearn import metrics as M  # noqa: E402
from softunlearn import targets as TG  # noqa: E402

C = 1.0
FIT_TOL = 1e-13  # relative to max(1, C Σ s): the LOO differences are tiny, fit θ̂ and refits tightly
LAM = 0.1  # the paper's absolute λ (lam_scale="absolute"; the library's default is 1 in units of λ*)
HARD_FRACTION = 0.1
RESULTS = os.path.join(HERE, "results.json")
README = os.path.join(HERE, "README.md")

PAPER = {
    "loo_spearman": "≈ 1.00 (Fig., all four targets)",
    "dp_demo": {"hard": {"accuracy": 0.7583, "dp": 0.0957}, "soft_2.3": {"accuracy": 0.8083, "dp": -0.0143}},
    "rob_demo": {"hard": {"robust_accuracy": 0.690}, "soft": {"robust_accuracy": 0.765}},
    "over_unlearning_adult": "≈ 60 %",
}


def fit(X, y):
    return su.LogisticRegression(C=C, tol=FIT_TOL).fit(X, y)


def save(res):
    with open(RESULTS, "w") as f:
        json.dump(res, f, indent=1, default=float)
    render_readme(res)


# ------------------------------------------------------------------------------------------------
# 1. influence vs leave-one-out


def section_loo(res, n_refit, budget, min_refits, seed=0):
    ds = D.load_adult(seed=0)
    X, y = ds.train.X, ds.train.y
    m = fit(X, y)
    inf = su.Influence(m, X, y)
    rng = np.random.default_rng(seed)
    sub = np.sort(rng.choice(ds.val.n, size=1000, replace=False))
    Xv, yv, sv = ds.val.X[sub], ds.val.y[sub], ds.val.s[sub]
    tg = {
        "utility": TG.Utility(Xv, yv),
        "dp": TG.DemographicParity(Xv, sv),
        "eop": TG.EqualOpportunity(Xv, yv, sv),
        "robustness": TG.Robustness(Xv, yv, model=m),
        "utility_full_val": TG.Utility(ds.val.X, ds.val.y),
    }
    names = list(tg)
    S = inf.scores([tg[k] for k in names])  # (n, k): predicted change on deletion
    f0 = np.array([tg[k].value(m) for k in names])
    idx = rng.permutation(X.shape[0])[:n_refit]
    actual, done = [], []
    eps = np.zeros(X.shape[0])
    t0 = time.time()
    for i in idx:
        eps[i] = -1.0
        mi = su.refit(m, X, y, eps, tol=FIT_TOL)
        eps[i] = 0.0
        actual.append([tg[k].value(mi) for k in names])
        done.append(int(i))
        if len(done) >= min_refits and time.time() - t0 > budget:
            break
    A = np.array(actual) - f0
    P = S[done]
    out = {
        "n_train": int(X.shape[0]),
        "n_val_subset": 1000,
        "n_val_full": int(ds.val.n),
        "n_refits": len(done),
        "seconds": time.time() - t0,
        "grad_norm": inf.grad_norm,
        "targets": {},
    }
    for j, k in enumerate(names):
        a, p = A[:, j], P[:, j]
        out["targets"][k] = {
            "spearman": float(stats.spearmanr(a, p)[0]),
            "pearson": float(stats.pearsonr(a, p)[0]),
            "value": float(f0[j]),
            "mean_abs_actual": float(np.mean(np.abs(a))),
            "mean_abs_error": float(np.mean(np.abs(a - p))),
            "median_rel_error": float(np.median(np.abs(a - p) / np.maximum(np.abs(a), 1e-300))),
            "slope": float(np.polyfit(p, a, 1)[0]),
        }
    res["loo"] = out
    return out


# ------------------------------------------------------------------------------------------------
# shared: one unlearning experiment


def _targets(ds, m, which):
    v = ds.val
    if which == "dp":
        return TG.DemographicParity(v.X, v.s)
    if which == "eop":
        return TG.EqualOpportunity(v.X, v.y, v.s)
    if which == "robustness":
        return TG.Robustness(v.X, v.y, model=m)
    raise ValueError(which)


def _evaluate(model, ds, rob_test):
    te = ds.test
    yp = model.predict(te.X)
    out = {
        "accuracy": M.accuracy(te.y, yp),
        "dp_gap": M.demographic_parity_gap(yp, te.s),
        "soft_dp_gap": M.soft_demographic_parity_gap(model, te.X, te.s),
        "eop_gap": M.equal_opportunity_gap(te.y, yp, te.s),
        "soft_eop_gap": M.soft_equal_opportunity_gap(model, te.X, te.y, te.s),
    }
    if rob_test is not None:
        out["robust_accuracy"] = M.robust_accuracy(model, rob_test)
        out["robust_loss_mean"] = rob_test.value(model) / rob_test.n_samples
    return out


def _weights(method, T, U, delta, which):
    """ε for one method; returns (eps, info)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        if method == "hard":
            eps = su.hard_weights(T, fraction=HARD_FRACTION, delta=delta)
            info = {}
        elif method == "soft_2.3":
            r = su.soft_weights(T, U, delta, lam=LAM, scheme="2.3", lam_scale="absolute")
            eps, info = r.eps, {"scheme": r.scheme}
        elif method == "soft_auto":
            bounds = (-1.0, 0.0) if which == "robustness" else (-1.0, None)
            r = su.soft_weights(T, U, delta, lam=LAM, scheme="auto", bounds=bounds, lam_scale="absolute")
            eps, info = r.eps, {"scheme": r.scheme, "bounds": list(bounds), "feasible": bool(r.feasible)}
        else:
            raise ValueError(method)
    info["warnings"] = sorted({type(x.message).__name__ for x in w})
    info["pred_target_change"] = float(-eps @ T)
    info["pred_utility_change"] = float(-eps @ U)
    info["eps_min"], info["eps_max"] = float(eps.min()), float(eps.max())
    info["n_changed"] = int(np.count_nonzero(eps))
    info["n_below_minus1"] = int(np.count_nonzero(eps < -1))
    info["sum_eps"] = float(eps.sum())
    return eps, info


def unlearn_experiment(ds, which, methods=("hard", "soft_2.3", "soft_auto"), apply=("newton", "refit")):
    X, y = ds.train.X, ds.train.y
    m = fit(X, y)
    inf = su.Influence(m, X, y)
    tgt = _targets(ds, m, which)
    util = TG.Utility(ds.val.X, ds.val.y)
    T, U = inf.scores([tgt, util]).T
    frac = su.pipeline.default_fraction(which)  # robustness: the whole summed adversarial loss, as the official code
    delta = TG.required_change(tgt, m, frac)
    rob_test = TG.Robustness(ds.test.X, ds.test.y, model=m) if which == "robustness" else None
    out = {
        "n_train": int(X.shape[0]),
        "target_value": tgt.value(m),
        "delta": delta,
        "lam_star": float(T @ T / (2 * abs(delta))) if delta else None,
        "original": _evaluate(m, ds, rob_test),
        "val_utility": util.value(m),
        "methods": {},
    }
    for meth in methods:
        eps, info = _weights(meth, T, U, delta, which)
        rec = {"weights": info}
        for ap in apply:
            try:
                m2 = inf.newton_update(eps) if ap == "newton" else su.refit(m, X, y, eps, tol=1e-10)
                ev = _evaluate(m2, ds, rob_test)
                ev["val_target"] = tgt.value(m2)
                ev["val_utility"] = util.value(m2)
            except Exception as e:  # noqa: BLE001 (recorded as a result) e.g. negative sample weights making the refit non-convex
                ev = {"error": f"{type(e).__name__}: {str(e)[:160]}"}
            rec[ap] = ev
        out["methods"][meth] = rec
    return out


# ------------------------------------------------------------------------------------------------
# 2. demos, 3. benchmarks, 4. over-unlearning


def section_demos(res, seeds):
    res["demos"] = {"seeds": list(seeds), "dp600": {}, "rob1000": {}}
    for sd in seeds:
        ds = D.load_adult(seed=sd, n_train=600)
        res["demos"]["dp600"][str(sd)] = unlearn_experiment(ds, "dp")
        ds = D.load_adult(seed=sd, n_train=1000)
        res["demos"]["rob1000"][str(sd)] = unlearn_experiment(ds, "robustness")
        save(res)


LOADERS = {
    "adult": D.load_adult,
    "compas": D.load_compas,
    "law_school": D.load_law_school,
    "credit_default": D.load_credit_default,
}


def section_bench(res, names):
    res.setdefault("bench", {})
    for nm in names:
        ds = LOADERS[nm](seed=0)
        res["bench"][nm] = {
            "n_train": int(ds.train.n),
            "n_val": int(ds.val.n),
            "n_test": int(ds.test.n),
            "n_features": int(ds.n_features),
        }
        for which in ("dp", "eop", "robustness"):
            res["bench"][nm][which] = unlearn_experiment(ds, which)
            save(res)


def section_over(res):
    ds = D.load_adult(seed=0)
    X, y = ds.train.X, ds.train.y
    m = fit(X, y)
    inf = su.Influence(m, X, y)
    util = TG.Utility(ds.val.X, ds.val.y)
    out = {}
    for which in ("dp", "eop", "robustness"):
        tgt = _targets(ds, m, which)
        T, U = inf.scores([tgt, util]).T
        delta = TG.required_change(tgt, m, su.pipeline.default_fraction(which))
        # deleting i changes the target by +T_i: it helps when T_i has the opposite sign of Δ
        helps = (T < 0) if delta > 0 else (T > 0)
        hurts = U > 0  # deleting i changes validation loss by +U_i
        hard = su.hard_weights(T, fraction=HARD_FRACTION, delta=delta) < 0
        out[which] = {
            "delta": delta,
            "n_helpful": int(helps.sum()),
            "share_helpful_that_hurt_utility": float(hurts[helps].mean()),
            "share_hard10_that_hurt_utility": float(hurts[hard].mean()),
            "share_all_that_hurt_utility": float(hurts.mean()),
        }
    res["over_unlearning"] = out


# ------------------------------------------------------------------------------------------------
# README tables


def _f(x, nd=4, pct=False):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{100 * x:.2f} %" if pct else f"{x:.{nd}f}"


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def tables(res):
    L = []
    if "loo" in res:
        lo = res["loo"]
        L += [
            (
                f"### 1. Influence vs exact leave-one-out (Adult, n = {lo['n_train']}, "
                f"{lo['n_refits']} refits in {lo['seconds']:.0f} s)"
            ),
            "",
            (
                "| target (validation set) | Spearman | Pearson | fitted slope actual/predicted | median rel. error "
                "| paper Spearman |"
            ),
            "|---|---|---|---|---|---|",
        ]
        for k, v in lo["targets"].items():
            lab = {
                "utility": "utility (1,000-row subset)",
                "utility_full_val": f"utility (full validation, {lo['n_val_full']} rows)",
                "dp": "DP (1,000-row subset)",
                "eop": "EOP (1,000-row subset)",
                "robustness": "robustness (1,000-row subset)",
            }[k]
            L.append(
                f"| {lab} | {v['spearman']:.4f} | {v['pearson']:.4f} | {v['slope']:.4f} | "
                f"{v['median_rel_error']:.3g} | {'—' if k == 'utility_full_val' else '≈ 1.00'} |"
            )
        L.append("")
    if "demos" in res:
        de = res["demos"]
        for key, title, metric in (
            ("dp600", "Adult 600-sample DP demo", "dp"),
            ("rob1000", "Adult 1,000-sample robustness demo", "rob"),
        ):
            runs = de[key]
            if not runs:
                continue
            seeds = sorted(runs, key=int)
            L += [f"### 2. {title} (mean over seeds {', '.join(seeds)}; seed 0 in brackets)", ""]
            if metric == "dp":
                L += [
                    "| method | apply | test accuracy | DP label gap | DP soft gap | paper (acc / DP) |",
                    "|---|---|---|---|---|---|",
                ]
                cols = ("accuracy", "dp_gap", "soft_dp_gap")
            else:
                L += [
                    "| method | apply | test accuracy | robust accuracy | robust loss (mean) | paper robust acc |",
                    "|---|---|---|---|---|---|",
                ]
                cols = ("accuracy", "robust_accuracy", "robust_loss_mean")
            r0 = runs[seeds[0]]
            rows = [("original", None)] + [(mm, ap) for mm in r0["methods"] for ap in ("newton", "refit")]
            for mm, ap in rows:
                cells = []
                for c in cols:

                    def get(r):
                        d = r["original"] if ap is None else r["methods"][mm][ap]
                        return d.get(c)

                    vals = [get(runs[s]) for s in seeds]
                    pct = c in ("accuracy", "robust_accuracy")
                    cells.append(f"{_f(_mean(vals), pct=pct)} [{_f(vals[0], pct=pct)}]")
                if metric == "dp":
                    pp = PAPER["dp_demo"].get(mm)
                    paper = f"{pp['accuracy'] * 100:.2f} % / {pp['dp']}" if pp else "—"
                else:
                    pp = {"hard": PAPER["rob_demo"]["hard"], "soft_2.3": PAPER["rob_demo"]["soft"]}.get(mm)
                    paper = f"{pp['robust_accuracy'] * 100:.1f} %" if pp else "—"
                L.append(f"| {mm} | {ap or '—'} | " + " | ".join(cells) + f" | {paper if ap != 'refit' else ''} |")
            nb = [runs[s]["methods"].get("soft_2.3", {}).get("weights", {}).get("n_below_minus1") for s in seeds]
            L += [
                "",
                (
                    f"soft_2.3: samples with ε < −1 (negative sample weight) per seed: {nb}; "
                    f"Δ per seed: {[round(runs[s]['delta'], 4) for s in seeds]}"
                ),
                "",
            ]
    if "bench" in res:
        L += [
            "### 3. Hard (10 %) vs soft on four data sets (seed-0 split; test set)",
            "",
            (
                "Metric: DP → label gap [soft gap]; EOP → label gap [soft gap]; robustness → robust accuracy "
                "[mean adversarial loss]."
            ),
            "",
            "| data | target | method | apply | test acc | metric | val target | val utility (Σ loss) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for nm, b in res["bench"].items():
            for which in ("dp", "eop", "robustness"):
                if which not in b:
                    continue
                r = b[which]
                mk = {
                    "dp": ("dp_gap", "soft_dp_gap"),
                    "eop": ("eop_gap", "soft_eop_gap"),
                    "robustness": ("robust_accuracy", "robust_loss_mean"),
                }[which]
                o = r["original"]
                L.append(
                    f"| {nm} | {which} | original | — | {_f(o['accuracy'], pct=True)} | "
                    f"{_f(o[mk[0]])} [{_f(o[mk[1]])}] | {_f(r['target_value'])} | {_f(r['val_utility'], 1)} |"
                )
                for mm, rec in r["methods"].items():
                    for ap in ("newton", "refit"):
                        e = rec[ap]
                        if "error" in e:
                            L.append(f"| {nm} | {which} | {mm} | {ap} | error: {e['error'][:60]} | | | |")
                            continue
                        L.append(
                            f"| {nm} | {which} | {mm} | {ap} | {_f(e['accuracy'], pct=True)} | "
                            f"{_f(e[mk[0]])} [{_f(e[mk[1]])}] | {_f(e['val_target'])} | "
                            f"{_f(e['val_utility'], 1)} |"
                        )
        L.append("")
    if "over_unlearning" in res:
        L += [
            "### 4. Over-unlearning on Adult (paper: ≈ 60 %)",
            "",
            (
                "| target | Δ | # samples whose deletion helps the target | share of them whose deletion hurts utility "
                "| same share in the hard 10 % set | share over all samples |"
            ),
            "|---|---|---|---|---|---|",
        ]
        for k, v in res["over_unlearning"].items():
            L.append(
                f"| {k} | {v['delta']:.4g} | {v['n_helpful']} | "
                f"{_f(v['share_helpful_that_hurt_utility'], pct=True)} | "
                f"{_f(v['share_hard10_that_hurt_utility'], pct=True)} | "
                f"{_f(v['share_all_that_hurt_utility'], pct=True)} |"
            )
        L.append("")
    L.append(
        f"_Generated by `reproduce.py{' --quick' if res.get('quick') else ''}`; sections finished: "
        f"{', '.join(res.get('finished', []))}; total {res.get('elapsed', 0):.0f} s._"
    )
    return "\n".join(L)


BEGIN, END = "<!-- TABLES BEGIN -->", "<!-- TABLES END -->"


def render_readme(res):
    if not os.path.exists(README):
        text = f"# Paper reproduction\n\n{BEGIN}\n{END}\n"
    else:
        text = open(README).read()
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    a, rest = text.split(BEGIN, 1)
    _, b = rest.split(END, 1)
    with open(README, "w") as f:
        f.write(a + BEGIN + "\n" + tables(res) + "\n" + END + b)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer refits, 1 seed, Adult only (< 3 min)")
    ap.add_argument("--refits", type=int, default=None, help="max leave-one-out refits")
    ap.add_argument("--budget", type=float, default=None, help="seconds for the leave-one-out refits")
    a = ap.parse_args(argv)
    n_refit = a.refits or (300 if a.quick else 24130)
    budget = a.budget or (40.0 if a.quick else 330.0)
    seeds = [0] if a.quick else [0, 1, 2, 3, 4]
    names = ["adult"] if a.quick else list(LOADERS)
    res = {
        "quick": a.quick,
        "C": C,
        "lam": LAM,
        "hard_fraction": HARD_FRACTION,
        "fit_tol": FIT_TOL,
        "paper": PAPER,
        "finished": [],
    }
    t0 = time.time()
    for name, fn in (
        ("over_unlearning", lambda: section_over(res)),
        ("demos", lambda: section_demos(res, seeds)),
        ("bench", lambda: section_bench(res, names)),
        ("loo", lambda: section_loo(res, n_refit, budget, 300 if a.quick else 2000)),
    ):
        ts = time.time()
        fn()
        res["finished"].append(name)
        res["elapsed"] = time.time() - t0
        save(res)
        print(f"[{name}] done in {time.time() - ts:.1f} s", flush=True)
    print(tables(res))


if __name__ == "__main__":
    main()

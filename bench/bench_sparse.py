"""Sparse (CSR) versus dense input on one-hot data: fit, influence scores, Hessian assembly, CG.

Data: UCI Census-Income (KDD) through ``softunlearn.datasets.load_census_kdd`` (train + validation +
test parts stacked: ~299k rows; 7 standardised numeric columns + one-hot categories), as a CSR matrix
and as the same matrix dense. ``--synthetic`` builds a one-hot matrix of the same shape and sparsity
instead (for machines without the data package). Writes JSON to bench/results/.

    python bench/bench_sparse.py [--rows N] [--repeat 3] [--synthetic] [--out bench/results/sparse.json]

Timing: best of ``--repeat`` runs with time.perf_counter (the CG solve: one run), same process, same data,
default threads.
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
import scipy
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import softunlearn as su  # noqa: E402
from softunlearn import _core  # noqa: E402
from softunlearn import targets as T  # noqa: E402


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), times, out


def load(rows, synthetic, seed=0):
    if not synthetic:
        from softunlearn import datasets

        ds = datasets.load_census_kdd()
        X = np.vstack([ds.train.X, ds.val.X, ds.test.X])
        y = np.concatenate([ds.train.y, ds.val.y, ds.test.y])
        s = np.concatenate([ds.train.s, ds.val.s, ds.test.s])
        Xv, yv, sv = ds.val.X, ds.val.y, ds.val.s
        name = f"census_kdd train+val+test ({len(ds.numeric_features)} numeric + one-hot)"
        if rows:
            X, y, s = X[:rows], y[:rows], s[:rows]
        return name, sp.csr_matrix(X), y, s, sp.csr_matrix(Xv), yv, sv
    # Same shape and sparsity as Census-KDD: 7 dense numeric columns and 31 one-hot blocks.
    rng = np.random.default_rng(seed)
    n = rows or 299_285
    levels = rng.integers(2, 30, size=31)
    levels = np.round(levels * (404 / levels.sum())).astype(int)

    def draw(m):
        codes = np.column_stack([rng.integers(0, L, size=m) for L in levels])
        offsets = 7 + np.concatenate([[0], np.cumsum(levels)[:-1]])
        num = rng.normal(size=(m, 7))
        cols = np.column_stack([np.tile(np.arange(7), (m, 1)), codes + offsets])
        vals = np.column_stack([num, np.ones((m, 31))])
        k = cols.shape[1]
        X = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, m * k + 1, k)), shape=(m, 7 + levels.sum()))
        z = num @ rng.normal(size=7) * 0.5 + 0.1 * (codes % 3).sum(axis=1) - 3
        y = (rng.uniform(size=m) < 1 / (1 + np.exp(-z))).astype(np.int64)
        s = (rng.uniform(size=m) < 0.5).astype(np.int64)
        return X, y, s

    X, y, s = draw(n)
    Xv, yv, sv = draw(n // 5)
    return "synthetic one-hot (Census-KDD shape)", X, y, s, Xv, yv, sv


def run(args):
    name, Xs, y, s, Xvs, yv, sv = load(args.rows, args.synthetic)
    Xd, Xvd = Xs.toarray(), Xvs.toarray()
    n, d = Xs.shape
    out = {
        "data": name,
        "n": n,
        "d": d,
        "nnz": int(Xs.nnz),
        "density": Xs.nnz / (n * d),
        "bytes_dense": Xd.nbytes,
        "bytes_csr": Xs.data.nbytes + Xs.indices.nbytes + Xs.indptr.nbytes,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "threads": _core.max_threads(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "load_average_at_start": os.getloadavg(),
        },
        "repeat": args.repeat,
        "results": {},
    }
    C = 1.0
    res = out["results"]
    for kind, X, Xv in (("csr", Xs, Xvs), ("dense", Xd, Xvd)):
        r = {}
        r["fit_s"], r["fit_all_s"], m = best(lambda: su.LogisticRegression(C=C).fit(X, y), args.repeat)
        targets = lambda: [T.DemographicParity(Xv, sv), T.Utility(Xv, yv)]  # noqa: E731

        def scores_fresh():  # Hessian assembled from scratch + Cholesky + 2 target gradients + scores
            inf = su.Influence(m, X, y, reuse_hessian=False)
            return inf.scores(targets())

        def scores_reuse():  # the usual path right after fit: the fit's Hessian is reused
            inf = su.Influence(m, X, y)
            return inf.scores(targets())

        def scores_cg():
            inf = su.Influence(m, X, y, solver="cg")
            S = inf.scores(targets())
            return S, inf.cg_info

        r["scores_fresh_hessian_s"], r["scores_fresh_all_s"], S = best(scores_fresh, args.repeat)
        r["scores_reuse_hessian_s"], _, _ = best(scores_reuse, args.repeat)
        r["scores_cg_s"], _, (S_cg, info) = best(scores_cg, 1)  # hundreds of passes: once
        r["cg_info"] = info
        r["cg_vs_cholesky_rel"] = float(np.max(np.abs(S_cg - S)) / np.max(np.abs(S)))
        r["fit_plus_scores_s"] = r["fit_s"] + r["scores_reuse_hessian_s"]
        h = su.Influence(m, X, y, solver="cg")._h
        r["weighted_gram_s"], _, H = best(lambda: _core.weighted_gram(X, h, True, 0), args.repeat)
        theta = m.theta_
        r["predict_s"], _, _ = best(lambda: _core.predict(X, theta, True, 0), args.repeat)
        r["theta"] = theta
        r["scores"] = S
        r["H"] = H
        res[kind] = r
    # Alternative Hessian assembly for CSR: scipy's sparse product Xᵀ diag(h) X (SpGEMM).
    h = su.Influence(su.LogisticRegression(C=C).fit(Xs, y), Xs, y, solver="cg")._h
    Xa = sp.hstack([Xs, np.ones((n, 1))], format="csr")
    t, _, Hs = best(lambda: (Xa.T @ sp.diags(h) @ Xa).toarray(), args.repeat)
    res["csr"]["weighted_gram_scipy_spgemm_s"] = t
    res["csr"]["weighted_gram_vs_scipy_rel"] = float(np.max(np.abs(Hs - res["csr"]["H"])) / np.max(np.abs(Hs)))
    out["agreement"] = {
        "theta_rel": float(
            np.max(np.abs(res["csr"]["theta"] - res["dense"]["theta"])) / np.max(np.abs(res["dense"]["theta"]))
        ),
        "scores_rel": float(
            np.max(np.abs(res["csr"]["scores"] - res["dense"]["scores"])) / np.max(np.abs(res["dense"]["scores"]))
        ),
        "hessian_rel": float(np.max(np.abs(res["csr"]["H"] - res["dense"]["H"])) / np.max(np.abs(res["dense"]["H"]))),
    }
    for r in res.values():
        for k in ("theta", "scores", "H"):
            r.pop(k, None)
    out["load_average_at_end"] = os.getloadavg()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=0, help="use the first N rows (default: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--synthetic", action="store_true", help="synthetic one-hot data of the same shape")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sparse.json"))
    args = ap.parse_args()
    out = run(args)
    Path(args.out).write_text(json.dumps(out, indent=1, default=float))
    r = out["results"]
    print(
        f"{out['data']}: n={out['n']} d={out['d']} density={out['density']:.3f} "
        f"X dense {out['bytes_dense'] / 1e6:.0f} MB, CSR {out['bytes_csr'] / 1e6:.0f} MB"
    )
    for key in (
        "fit_s",
        "scores_reuse_hessian_s",
        "scores_fresh_hessian_s",
        "scores_cg_s",
        "fit_plus_scores_s",
        "weighted_gram_s",
        "predict_s",
    ):
        print(
            f"  {key:26s} csr {r['csr'][key]:8.3f} s   dense {r['dense'][key]:8.3f} s   "
            f"dense/csr {r['dense'][key] / r['csr'][key]:6.1f}x"
        )
    print(f"  weighted_gram scipy SpGEMM {r['csr']['weighted_gram_scipy_spgemm_s']:.3f} s")
    print("  agreement", out["agreement"], " CG iterations", r["csr"]["cg_info"]["iterations"])


if __name__ == "__main__":
    main()

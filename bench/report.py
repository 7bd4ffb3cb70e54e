#!/usr/bin/env python
"""Markdown tables from bench/run.py result files: ``python bench/report.py bench/results/*.json``.

Prints, per file, the headline stage table (n=1e5, d=100), a ratio table over all sizes, the issue's
targets (met / missed) and the fitted complexity exponents; with several files, the spread of the key
ratios over the runs of the same size (the machine is shared: read the spread before the digits).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STAGES = ("fit", "hessian", "factor", "scores_3_targets", "weights", "update", "end_to_end")
PIPES = ("official", "tuned", "softunlearn", "softunlearn_float32")


def ms(x):
    if x is None:
        return "—"
    return f"{x * 1e3:.1f}" if x < 10 else f"{x * 1e3:.0f}"


def fx(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}×"


def ratios(R):
    """The issue's ratios for one size (None where a piece was not run)."""
    P, ex, rf, A, M = R["pipelines"], R["softunlearn_extras"], R["roofline"], R["agreement"], R["memory"]
    su = P.get("softunlearn", {})
    e = ex.get("float64", {})
    e32 = ex.get("float32", {})
    r64, r32 = rf.get("float64", {}), rf.get("float32", {})
    g = lambda d, k: d.get(k) if isinstance(d, dict) else None  # noqa: E731
    div = lambda a, b: (a / b) if (a is not None and b) else None  # noqa: E731
    out = {
        "tuned_over_su": div(g(P.get("tuned", {}), "end_to_end"), su.get("end_to_end")),
        "official_over_su": div(g(P.get("official", {}), "end_to_end"), su.get("end_to_end")),
        "tuned_over_su_after_fit": div(
            (P["tuned"]["end_to_end"] - P["tuned"]["fit"]) if "tuned" in P else None,
            (su["end_to_end"] - su["fit"]) if su else None,
        ),
        "fit_tuned_over_su": div(g(P.get("tuned", {}), "fit"), su.get("fit")),
        "scratch_over_xtx": div(g(e, "influence_from_scratch"), g(r64, "XtX")),
        "losspass_over_xtx": div(g(e, "loss_pass_hessian"), g(r64, "XtX")),
        "gram_over_xtx": div(g(e, "weighted_gram"), g(r64, "XtX")),
        "scores_over_pass": div(su.get("scores_3_targets"), g(r64, "X_at_v")),
        "scores_kernel_over_pass": div(g(e, "scores_kernel"), g(r64, "X_at_v")),
        "f32_speedup_losspass": div(g(e, "loss_pass_hessian"), g(e32, "loss_pass_hessian")),
        "f32_speedup_gram": div(g(e, "weighted_gram"), g(e32, "weighted_gram")),
        "f32_speedup_scratch": div(g(e, "influence_from_scratch"), g(e32, "influence_from_scratch")),
        "f32_speedup_xtx_numpy": div(g(r64, "XtX"), g(r32, "XtX")),
        "f32_speedup_e2e": div(su.get("end_to_end"), g(P.get("softunlearn_float32", {}), "end_to_end")),
        "mem_su": g(M.get("softunlearn"), "peak_total_over_budget"),
        "mem_su_f32": g(M.get("softunlearn_float32"), "peak_total_over_budget"),
        "mem_tuned": g(M.get("tuned"), "peak_total_over_budget"),
        "mem_official": g(M.get("official"), "peak_total_over_budget"),
        "theta_su_tuned": g(A.get("softunlearn_vs_tuned"), "theta_max_abs"),
        "theta_su_official": g(A.get("softunlearn_vs_official"), "theta_max_abs"),
        "scores_su_tuned": g(A.get("softunlearn_vs_tuned"), "scores_rel"),
        "scores_su_official": g(A.get("softunlearn_vs_official"), "scores_rel"),
        "theta_new_su_tuned": g(A.get("softunlearn_vs_tuned"), "theta_new_max_abs"),
        "theta_new_su_official": g(A.get("softunlearn_vs_official"), "theta_new_max_abs"),
        "scores_same_theta": g(A.get("softunlearn_vs_numpy_at_same_theta"), "scores_rel"),
        "scores_f32": g(A.get("float32_vs_float64"), "scores_rel"),
    }
    return out


def headline(doc):
    for R in doc["results"]:
        if R["kind"] == "synthetic" and R["n"] == 100_000 and R["d"] == 100:
            return R
    return None


def stage_table(R):
    P = R["pipelines"]
    cols = [p for p in PIPES if p in P]
    lines = [
        "| stage (ms) | " + " | ".join(cols) + " | roofline | tuned / su | official / su |",
        "|---|" + "---:|" * (len(cols) + 3),
    ]
    ex = R["softunlearn_extras"].get("float64", {})
    rf = R["roofline"].get("float64", {})
    roof = {"hessian": ("X.T@X", rf.get("XtX")), "scores_3_targets": ("X@v", rf.get("X_at_v"))}
    for s in STAGES:
        row = []
        for c in cols:
            v = P[c].get(s)
            if s == "factor" and c.startswith("softunlearn"):
                row.append("(in hessian)")
            else:
                row.append(ms(v))
        rl = f"{ms(roof[s][1])} ({roof[s][0]})" if s in roof else ""
        su = P.get("softunlearn", {}).get(s)
        t = P.get("tuned", {}).get(s)
        o = P.get("official", {}).get(s)
        if s == "hessian" and su is not None:  # compare like with like: softunlearn's hessian includes the factor
            t = t + P["tuned"]["factor"] if t is not None else None
            o = o + P["official"]["factor"] if o is not None else None
        r_t = f"{t / su:.1f}×" if (t is not None and su) else ""
        r_o = f"{o / su:.0f}×" if (o is not None and su) else ""
        name = "hessian (+factor for su)" if s == "hessian" else s
        lines.append(f"| {name} | " + " | ".join(row) + f" | {rl} | {r_t} | {r_o} |")
    extra = []
    for k, label in (
        ("influence_from_scratch", "Influence(reuse_hessian=False)"),
        ("loss_pass_hessian", "fused loss/grad/Hessian pass (kernel)"),
        ("weighted_gram", "_core.weighted_gram(X, h, True, 0)"),
        ("factor_only", "Cholesky alone"),
        ("input_check_X", "input check of X (as_matrix)"),
        ("loss_pass_r_only", "loss pass without Hessian (r, gradient)"),
        ("scores_kernel", "_core.scores kernel, 3 columns"),
        ("scores_from_gradients", "inf.scores_from_gradients (solve + kernel)"),
    ):
        v64 = ex.get(k)
        v32 = R["softunlearn_extras"].get("float32", {}).get(k)
        if v64 is not None:
            extra.append(f"| {label} | {ms(v64)} | {ms(v32)} |")
    if extra:
        lines += ["", "| softunlearn pieces (ms) | float64 | float32 |", "|---|---:|---:|"] + extra
        lines.append(f"| roofline X.T@X | {ms(rf.get('XtX'))} | {ms(R['roofline'].get('float32', {}).get('XtX'))} |")
        lines.append(
            f"| roofline X@v (one pass) | {ms(rf.get('X_at_v'))} | "
            f"{ms(R['roofline'].get('float32', {}).get('X_at_v'))} |"
        )
        lines.append(
            f"| NumPy X@V, V of 3 columns | {ms(rf.get('X_at_V3'))} | "
            f"{ms(R['roofline'].get('float32', {}).get('X_at_V3'))} |"
        )
    return "\n".join(lines)


TARGETS = (
    ("end to end vs tuned", "tuned_over_su", ">=", 5.0),
    ("end to end vs official", "official_over_su", ">=", 100.0),
    ("Hessian (Influence from scratch) vs X.T@X", "scratch_over_xtx", "<=", 1.1),
    ("Hessian kernel (fused pass) vs X.T@X", "losspass_over_xtx", "<=", 1.1),
    ("weighted_gram vs X.T@X", "gram_over_xtx", "<=", 1.1),
    ("scores stage, 3 targets, vs one pass X@v", "scores_over_pass", "<=", 1.5),
    ("scores kernel, 3 targets, vs one pass X@v", "scores_kernel_over_pass", "<=", 1.5),
    ("peak memory / (X + p² + O(n)), float64", "mem_su", "<=", 1.2),
    ("float32 Hessian speedup (fused pass)", "f32_speedup_losspass", ">=", 1.7),
    ("float32 Hessian speedup (weighted_gram)", "f32_speedup_gram", ">=", 1.7),
)


def targets_table(R):
    q = ratios(R)
    lines = ["| target | required | measured | verdict |", "|---|---:|---:|---|"]
    for label, key, op, want in TARGETS:
        v = q.get(key)
        if v is None:
            lines.append(f"| {label} | {op} {want:g} | — | not measured |")
            continue
        ok = v >= want if op == ">=" else v <= want
        verdict = "met" if ok else (f"missed by {want / v:.2f}×" if op == ">=" else f"missed by {v / want:.2f}×")
        lines.append(f"| {label} | {op} {want:g} | {v:.2f} | {verdict} |")
    return "\n".join(lines)


def other(R):
    if "n_runs" in R:
        return f"best of {R['n_runs']}"
    o = R.get("other_processes")
    return "?" if not o else f"{100 * o['foreign_share']:.0f}%"


def extras_text(R):
    """Convergence of each fit and the thread-interference probe."""
    out = []
    g = R.get("grad_inf_at_fit")
    if g:
        out.append("‖∇J(θ̂)‖∞ of each fit: " + ", ".join(f"{k} {v:.1e}" for k, v in g.items()) + ".")
    i = R.get("interference")
    if i:
        out.append(
            f"Thread interference (best of 10): DP target value alone {i['dp_value_alone'] * 1e3:.2f} ms, right after "
            f"a NumPy dot {i['dot_then_dp_value'] * 1e3:.2f} ms (dot alone {i['dot_alone'] * 1e3:.2f} ms); "
            f"X@v alone {i['X_at_v_alone'] * 1e3:.2f} ms, right after the DP value "
            f"{i['dp_value_then_X_at_v'] * 1e3:.2f} ms."
        )
    o = R.get("other_processes")
    if o:
        out.append(
            f"Other processes used {o['foreign_cpu_s']:.1f} CPU-s ({100 * o['foreign_share']:.0f}% of the "
            f"machine) while this size ran."
        )
    return "\n".join(out)


def grid_table(doc):
    lines = [
        (
            "| data | n | d | su e2e (ms) | tuned/su | official/su | scratch H / X.T@X | fused H / X.T@X | "
            "scores / pass | f32 H speedup | mem su | mem tuned | mem official | Δθ su–tuned | "
            "rel Δscores su–tuned | rel Δscores su–official | rel Δscores f32 | other CPU |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for R in doc["results"]:
        q = ratios(R)
        name = "synthetic" if R["kind"] == "synthetic" else R["name"]
        if q["official_over_su"]:
            off = fx(q["official_over_su"], 0)
        else:
            off = "skipped" if "official" in R["skipped"] else "—"
        e = lambda v: "—" if v is None else f"{v:.0e}"  # noqa: E731
        lines.append(
            f"| {name} | {R['n']} | {R['d']} | {ms(R['pipelines'].get('softunlearn', {}).get('end_to_end'))} | "
            f"{fx(q['tuned_over_su'], 1)} | {off} | {fx(q['scratch_over_xtx'])} | {fx(q['losspass_over_xtx'])} | "
            f"{fx(q['scores_over_pass'])} | {fx(q['f32_speedup_losspass'])} | {fx(q['mem_su'])} | "
            f"{fx(q['mem_tuned'])} | {fx(q['mem_official'], 1)} | {e(q['theta_su_tuned'])} | "
            f"{e(q['scores_su_tuned'])} | {e(q['scores_su_official'])} | {e(q['scores_f32'])} | {other(R)} |"
        )
    return "\n".join(lines)


def complexity_table(doc):
    C = doc.get("complexity", {})
    lines = ["| quantity | axis | fixed | exponent | points (size, s) |", "|---|---|---|---:|---|"]
    for axis in ("vs_n", "vs_d"):
        for key, groups in C.get(axis, {}).items():
            for fixed, v in groups.items():
                pts = ", ".join(f"{int(a):g}: {b:.3g}" for a, b in v["points"])
                lines.append(f"| {key} | {axis[3:]} | {fixed} | {v['exponent']:.2f} | {pts} |")
    return "\n".join(lines)


def spread(docs):
    """Key ratios for the same synthetic size over several runs."""
    keys = (
        "tuned_over_su",
        "official_over_su",
        "scratch_over_xtx",
        "losspass_over_xtx",
        "gram_over_xtx",
        "scores_over_pass",
        "f32_speedup_losspass",
    )
    by = {}
    for path, doc in docs:
        for R in doc["results"]:
            by.setdefault((R["name"]), []).append((Path(path).stem, R))
    lines = [
        "| data | runs | other CPU | su e2e ms (min–max) | " + " | ".join(keys) + " |",
        "|---|---:|---|---|" + "---|" * len(keys),
    ]
    for name, runs in by.items():
        if len(runs) < 2:
            continue
        e2e = [R["pipelines"]["softunlearn"]["end_to_end"] * 1e3 for _, R in runs if "softunlearn" in R["pipelines"]]
        cells = []
        for k in keys:
            vals = [ratios(R)[k] for _, R in runs]
            vals = [v for v in vals if v is not None]
            cells.append(f"{min(vals):.2f}–{max(vals):.2f}" if vals else "—")
        sh = [100 * R["other_processes"]["foreign_share"] for _, R in runs if R.get("other_processes")]
        shs = f"{min(sh):.0f}–{max(sh):.0f}%" if sh else "?"
        lines.append(f"| {name} | {len(runs)} | {shs} | {min(e2e):.0f}–{max(e2e):.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _min_tree(a, b):
    """Element-wise minimum of two nested dicts of timings (keys present in either)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {
            k: _min_tree(a.get(k), b.get(k)) if (k in a and k in b) else (a[k] if k in a else b[k]) for k in {**a, **b}
        }
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return min(a, b)
    return a


def merge_best(docs):
    """One document whose timings are, per data set and quantity, the best over the runs given.

    On a shared machine the minimum over runs is the least disturbed estimate; end to end is re-summed
    from the best stages. Memory, agreement and notes are those of the first run of each size."""
    import copy

    by = {}
    for _, doc in docs:
        for R in doc["results"]:
            by.setdefault(R["name"], []).append(R)
    results = []
    for runs in by.values():
        M = copy.deepcopy(runs[0])
        for R in runs[1:]:
            for key in ("softunlearn_extras", "roofline"):
                M[key] = _min_tree(M[key], R[key])
            for pname, P in R["pipelines"].items():
                if pname in M["pipelines"]:
                    Q = M["pipelines"][pname]
                    for st in STAGES[:-1]:
                        if isinstance(P.get(st), float) and isinstance(Q.get(st), float):
                            Q[st] = min(Q[st], P[st])
                    Q["end_to_end"] = sum(Q[st] for st in STAGES[:-1] if isinstance(Q.get(st), float))
                else:
                    M["pipelines"][pname] = copy.deepcopy(P)
        M["n_runs"] = len(runs)
        M.pop("other_processes", None)
        results.append(M)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import complexity

    first = docs[0][1]
    return {
        "command": " + ".join(d["command"] for _, d in docs),
        "mode": "best of " + str(len(docs)) + " runs",
        "machine": first["machine"],
        "started": first["started"],
        "loadavg_start": None,
        "loadavg_end": None,
        "results": results,
        "not_run": first.get("not_run", []),
        "complexity": complexity(results),
        "elapsed_s": sum(d.get("elapsed_s", 0) for _, d in docs),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument(
        "--best",
        action="store_true",
        help="also print the tables for the best timing of every quantity over all the files given",
    )
    ap.add_argument("--only-best", action="store_true", help="print only those")
    args = ap.parse_args(argv)
    docs = [(f, json.loads(Path(f).read_text())) for f in args.files]
    if args.best or args.only_best:
        merged = ("best over " + ", ".join(Path(f).name for f, _ in docs), merge_best(docs))
        docs_print = [merged] if args.only_best else docs + [merged]
    else:
        docs_print = docs
    for path, doc in docs_print:
        m = doc["machine"]
        print(f"## {path}\n")
        env = {k: v for k, v in m.get("env_threads", {}).items() if v}
        print(
            f"`{' '.join(f'{k}={v}' for k, v in env.items())}{' ' if env else ''}{doc['command']}` — "
            f"{doc['mode']} mode, {doc.get('elapsed_s', 0):.0f} s, started {doc['started']}, "
            f"load average {doc.get('loadavg_start')} → {doc.get('loadavg_end')}; {m.get('cpu_model')} × "
            f"{m.get('cpu_logical')}, numpy {m['numpy']}, scipy {m['scipy']}, sklearn {m['sklearn']}\n"
        )
        if doc.get("not_run"):
            print("Not run: " + "; ".join(doc["not_run"]) + "\n")
        skipped = [f"{R['name']}: {k} {v}" for R in doc["results"] for k, v in R["skipped"].items()]
        notes = [
            f"{R['name']}: official {R['pipelines']['official']['note']}"
            for R in doc["results"]
            if "official" in R["pipelines"] and "chunks" in R["pipelines"]["official"].get("note", "")
        ]
        if skipped or notes:
            print("Skipped / chunked: " + "; ".join(skipped + notes) + "\n")
        H = headline(doc)
        if H:
            print("### headline n=1e5, d=100\n")
            print(stage_table(H) + "\n")
            print(targets_table(H) + "\n")
            et = extras_text(H)
            if et:
                print(et + "\n")
        print("### all sizes\n")
        print(grid_table(doc) + "\n")
        ct = complexity_table(doc)
        if ct.count("\n") > 1:
            print("### complexity\n")
            print(ct + "\n")
    if len(docs) > 1:
        print("## spread over runs\n")
        print(spread(docs) + "\n")


if __name__ == "__main__":
    main()

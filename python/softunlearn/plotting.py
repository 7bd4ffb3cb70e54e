"""The plots of ``softunlearn run``: where the influence lies and which weights move (``influence.png``), and
the accuracy / target-metric trade-off of hard deletion against soft weights (``tradeoff.png``).

matplotlib is imported only when a figure is drawn (``pip install matplotlib``); :func:`have_matplotlib`
says whether it is there. The figures are plain :class:`matplotlib.figure.Figure` objects, not registered
with pyplot (no backend is selected, no global state; nothing to close): save them with :func:`save_png`
(or ``fig.savefig``), or display them in a notebook.

Example, after ``u = SoftUnlearner("dp", hard_fraction=0.1).fit(model, X, y, Xv, yv, sv)``::

    from softunlearn import evaluation, plotting
    ev = evaluation.Evaluator("dp", Xte, yte, ste, reference_model=model)
    plotting.save_png(plotting.influence_figure(u.scores_, u.hard_eps_, u.eps_, delta=u.delta_), "influence.png")
    res = su.tradeoff(model, X, y, u.target_, su.targets.Utility(Xv, yv), ev, bounds=[u.bounds])
    plotting.save_png(plotting.frontier_figure(res), "tradeoff.png")
"""

from __future__ import annotations

import numpy as np

from .pipeline import TARGET_NAMES

#: Resolution of the PNG files.
PNG_DPI = 110

_STYLES = [("tab:red", "o-"), ("tab:green", "s--"), ("tab:blue", "^-"), ("tab:purple", "v:"), ("tab:orange", "D-.")]


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported (the figures need it; the rest of this module does not)."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def bounds_label(bounds) -> str:
    """A box on ε as the CLI spells it: ``none``, ``-1:none``, ``-1:0``."""
    if bounds is None:
        return "none"
    return ":".join("none" if v is None else f"{v:g}" for v in bounds)


def _target_name(target):
    return TARGET_NAMES.get(target, target) if isinstance(target, str) else str(target)


def save_png(fig, file, dpi=PNG_DPI):
    """Write ``fig`` as PNG to a path or a binary file object."""
    fig.savefig(file, format="png", dpi=dpi)


def influence_figure(scores, eps_hard, eps_soft, *, delta, target="dp", dataset=None):
    """``influence.png``: the target scores Tᵢ = gᵢᵀH⁻¹∇f sorted (left axis; removal convention: deleting
    row i changes the target by ≈ +Tᵢ), and the hard and soft weight changes ε of the same rows in the same
    order (right axis; hard: only the deleted rows). ``target`` names the target in the title (a name in
    :data:`softunlearn.pipeline.TARGETS` or any text); ``dataset`` prefixes it."""
    T = np.asarray(scores)
    eps_soft, eps_hard = np.asarray(eps_soft), np.asarray(eps_hard)
    order = np.argsort(T, kind="stable")
    idx = np.arange(T.size)
    fig = _figure(figsize=(9, 5))
    ax = fig.subplots()
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
    ax.set_title(
        f"{dataset + ': ' if dataset else ''}influence on {_target_name(target)} (Δ = {delta:+.4f}) and weight changes"
    )
    fig.tight_layout()
    return fig


def frontier_figure(result, *, dataset=None):
    """The frontiers of a :class:`softunlearn.frontiers.Tradeoff`, one column per update method (the refit
    first; a Newton column is labelled as the one-step preview). Top: test accuracy against the target
    metric, each curve's points in sweep order (faint) and its Pareto frontier (bold), the original model as
    a star, and for a gap the line x = 0 (no gap); the view is the region between the best metric reached
    and the original model, points outside it are counted in the title. Bottom: the accuracy each soft
    curve keeps over hard deletion at equal metric, F_soft − F_hard in accuracy points, on the range both
    reach (:meth:`~softunlearn.frontiers.Tradeoff.compare`), with a shared zero line."""
    from .frontiers import frontier

    updates = list(dict.fromkeys(c.update for c in result.curves.values()))
    updates.sort(key=lambda u: u != "refit")
    fig = _figure(figsize=(6.5 * len(updates), 8))
    axes = fig.subplots(2, len(updates), sharex=True, squeeze=False, gridspec_kw={"height_ratios": (3, 2)})
    first = next(iter(result.curves.values()))
    x0, a0 = float(first.x[0]), float(result.original["accuracy"])
    sign = 1.0 if result.lower_is_better else -1.0
    xs = np.concatenate([c.x for c in result.curves.values()])
    accs = np.concatenate([c.accuracy for c in result.curves.values()])
    useful = sign * xs <= sign * x0
    best = float(xs[useful].min() if result.lower_is_better else xs[useful].max())
    xlo, xhi = sorted((min(best, 0.0) if result.lower_is_better else best, x0))
    pad = 0.05 * (xhi - xlo or 1.0)
    ylo = float(accs[useful].min())
    ypad = 0.05 * (max(a0, float(accs.max())) - ylo or 0.01)
    for col, update in enumerate(updates):
        ax, gx = axes[0, col], axes[1, col]
        labels = result.labels(update=update)
        hard = [k for k in labels if result.curves[k].family == "hard"]
        outside = 0
        for label, (color, fmt) in zip(labels, _STYLES):
            c = result.curves[label]
            ax.plot(c.x, c.accuracy, fmt[0], color=color, alpha=0.45, ms=4)
            outside += int(np.count_nonzero(sign * c.x > sign * x0))
            fx, fa = frontier(c.x, c.accuracy, lower_is_better=result.lower_is_better)
            name = label.rsplit(" (", 1)[0]
            ax.plot(fx, fa, "-", color=color, lw=2.2, label=name)
            if hard and c.family != "hard":
                cmp = result.compare(label, hard[0])
                if cmp.x_range is not None:
                    gx.plot(cmp.grid, 100 * cmp.gain, "-", color=color, lw=1.8, label=f"{name} − hard")
        ax.scatter([x0], [a0], marker="*", s=220, color="black", label="original", zorder=5)
        for a in (ax, gx):
            if result.lower_is_better:
                a.axvline(0, color="grey", lw=0.8)
            a.grid(alpha=0.3)
        gx.axhline(0, color="black", lw=0.8)
        ax.set_xlim(xlo - pad, xhi + pad)
        ax.set_ylim(ylo - ypad, max(a0, float(accs.max())) + ypad)
        title = update + (" (one-step preview)" if update == "newton" else "")
        hidden = f"; {outside} points beyond the original's value not shown" if outside else ""
        ax.set_title(title + hidden, fontsize=10)
        ax.legend(fontsize=8, loc="lower right" if result.lower_is_better else "lower left")
        gx.set_xlabel(
            "robust accuracy on attacked test points (higher is better)"
            if not result.lower_is_better
            else f"{result.metric} on test (lower is better)"
        )
        if any(not line.get_label().startswith("_") for line in gx.lines):
            gx.legend(fontsize=8)
    axes[0, 0].set_ylabel("test accuracy (frontier bold)")
    axes[1, 0].set_ylabel("soft − hard accuracy at equal metric (points)")
    fig.suptitle(
        f"{dataset + ', ' if dataset else ''}{_target_name(result.target)}: accuracy kept at each value of the "
        "target:\nhard deletion vs soft weights"
    )
    fig.tight_layout()
    return fig

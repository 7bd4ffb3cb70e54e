"""The trade-off between unlearning a property and keeping accuracy: hard deletion against soft weights.

Deleting more of the most harmful samples, or asking the soft weights for a larger share of the required
change Δ, moves a fairness gap (or robust accuracy) further, and usually costs some test accuracy. One
point of either method therefore says little; what the soft-weighting claim is about is the **frontier**:
at the same value of the target metric, which method keeps more accuracy. :func:`tradeoff` sweeps both:

* **hard**: ε = −1 on the share k ∈ ``hard_fractions`` (default 1 % … 30 %) of the training rows whose
  deletion moves the target furthest (:func:`softunlearn.hard_weights`);
* **soft**: the weight QP (:func:`softunlearn.soft_weights`) asked for the share q ∈ ``delta_shares``
  (default 0.1 … 1) of Δ, for each box in ``bounds``, with λ = λ*(qΔ) = TᵀT/(2q|Δ|): the weights just meet
  qΔ to first order (for any larger λ they are the same: the target constraint binds);
* optionally **iterated** soft weights (:func:`softunlearn.iterated_soft_weights`) for the same shares;

applies every weight vector with each update in ``updates`` (``"refit"``, the exact reweighted refit, by
default; ``"newton"`` is the one-step preview, ``"finetune"`` the first-order one) and measures each model
on the test split with an :class:`~softunlearn.evaluation.Evaluator`. Every curve starts at the original
model (amount 0).

:meth:`Tradeoff.compare` reads the headline off two curves. The x axis is the target metric of the test
split: |label gap| for ``"dp"``/``"eop"`` (lower is better), robust accuracy for ``"robustness"`` (higher
is better). Each curve's **frontier** F(x) is the best test accuracy among its points whose metric is at
least as good as x, linearly interpolated between the frontier's points. Over the range of x that both
methods reach, from the better of the two curves' worst best value to the original model's value, the
accuracy gain F_soft(x) − F_hard(x) is evaluated on a uniform grid of 201 points; its mean, minimum and
maximum are reported, together with the best metric value each method reaches alone (soft weights reach
gaps that deletion cannot, and sometimes the other way round).

Example::

    import softunlearn as su
    from softunlearn import evaluation, targets
    ev = evaluation.Evaluator("dp", Xte, yte, ste, reference_model=model)
    res = su.tradeoff(model, X, y, targets.DemographicParity(Xv, sv), targets.Utility(Xv, yv), ev)
    print(res.compare().sentence())
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import methods as _methods
from . import weights as _weights
from .influence import Influence
from .linear_model import check_model
from .pipeline import default_fraction
from .plotting import bounds_label
from .targets import as_target, required_change

#: Shares of the training rows hard deletion removes (0 is the original model).
HARD_FRACTIONS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3)
#: Shares of Δ the soft weights are asked for.
DELTA_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: Points of the grid on which two frontiers are compared.
GRID_POINTS = 201


@dataclass(frozen=True)
class Curve:
    """One method's points, in sweep order, starting with the original model.

    ``family`` is "hard", "soft" or "iterated"; ``bounds`` the box on ε (None for hard deletion);
    ``update`` the method that applied the weights; ``amounts`` the deleted share of the training rows
    (hard) or the share of Δ asked for (soft, iterated); ``rows`` the evaluator's test metrics per point;
    ``x`` the target metric per point (:func:`softunlearn.evaluation.tradeoff_x`); ``accuracy`` and
    ``loss`` the test accuracy and mean loss; ``moved`` the share of training rows with ε ≠ 0;
    ``seconds`` the time to compute the weights and apply them."""

    label: str
    family: str
    update: str
    bounds: tuple | None
    amounts: np.ndarray
    rows: list[dict]
    x: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray
    moved: np.ndarray
    seconds: np.ndarray


@dataclass(frozen=True)
class Comparison:
    """Two frontiers compared at matched values of the target metric (see the module docstring).

    ``x_range``: the common range (None when the curves share no range beyond the original value);
    ``grid`` and ``gain``: x and F_soft(x) − F_hard(x) on it (accuracy, not percentage points);
    ``mean_gain``, ``min_gain``, ``max_gain``: over the grid (NaN without a common range);
    ``loss_gain``, ``mean_loss_gain``: the same for the mean test loss, L_hard(x) − L_soft(x) with L the
    lowest loss among the points at least as good as x (positive: soft has the lower loss), ``loss``
    the loss's name;
    ``soft_best`` / ``hard_best``: the best metric value each curve reaches; ``original``: the original
    model's value and accuracy; ``lower_is_better``: the direction of x; ``metric``: its name."""

    soft: str
    hard: str
    metric: str
    lower_is_better: bool
    original: tuple[float, float]
    x_range: tuple[float, float] | None
    grid: np.ndarray
    gain: np.ndarray
    mean_gain: float
    min_gain: float
    max_gain: float
    soft_best: float
    hard_best: float
    loss: str = "loss"
    loss_gain: np.ndarray = field(default_factory=lambda: np.empty(0))
    mean_loss_gain: float = float("nan")

    def sentence(self) -> str:
        """The comparison in one line, read off the numbers (whichever method they favour)."""
        reach = (
            f"best {self.metric} reached: soft {self.soft_best:.4f}, hard {self.hard_best:.4f} "
            f"(original {self.original[0]:.4f})"
        )
        if self.x_range is None:
            return f"no common range of {self.metric} to compare at; {reach}"
        lo, hi = self.x_range
        pts = 100 * self.mean_gain
        if abs(pts) < 0.05:
            verdict = "soft and hard keep the same accuracy (within 0.05 points) on average"
        else:
            winner = "soft weights keep" if pts > 0 else "hard deletion keeps"
            loser = "hard deletion" if pts > 0 else "soft weights"
            verdict = f"{winner} {abs(pts):.2f} accuracy points more than {loser} on average"
        share = float(np.mean(self.gain > 0)) if self.gain.size else 0.0
        lg = self.mean_loss_gain
        loss = f"{'soft' if lg > 0 else 'hard'} has the lower mean test {self.loss} by {abs(lg):.4f} on average"
        return (
            f"at equal {self.metric} ({lo:.4f} to {hi:.4f}), {verdict} "
            f"(from {100 * self.min_gain:+.2f} to {100 * self.max_gain:+.2f}; soft ahead on {share:.0%} of the "
            f"range) and {loss}; {reach}"
        )

    def as_dict(self) -> dict:
        """The comparison as plain Python values (for JSON)."""
        return {
            "soft": self.soft,
            "hard": self.hard,
            "metric": self.metric,
            "lower_is_better": self.lower_is_better,
            "original": list(self.original),
            "x_range": None if self.x_range is None else list(self.x_range),
            "mean_gain": self.mean_gain,
            "min_gain": self.min_gain,
            "max_gain": self.max_gain,
            "loss": self.loss,
            "mean_loss_gain": self.mean_loss_gain,
            "soft_best": self.soft_best,
            "hard_best": self.hard_best,
            "sentence": self.sentence(),
        }


def frontier(x, accuracy, *, lower_is_better=True) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto frontier of points (x, accuracy): the points no other point beats in both, sorted from
    the best x to the worst, with accuracy strictly increasing along them."""
    x = np.asarray(x, dtype=float)
    a = np.asarray(accuracy, dtype=float)
    key = x if lower_is_better else -x
    order = np.lexsort((-a, key))  # best x first; at equal x the higher accuracy first
    fx, fa, best = [], [], -np.inf
    for i in order:
        if a[i] > best:
            fx.append(x[i])
            fa.append(a[i])
            best = a[i]
    return np.array(fx), np.array(fa)


def _frontier_at(grid, fx, fa, lower_is_better):
    """F(x): the frontier's accuracy at metric value x, linear between its points (x within its range)."""
    if lower_is_better:
        return np.interp(grid, fx, fa)
    return np.interp(-grid, -fx, fa)


@dataclass
class Tradeoff:
    """Result of :func:`tradeoff`: the curves by label, the original model's test row and what was swept.

    ``target`` is the kind of the evaluator ("dp", "eop", "robustness"); ``delta`` the full required
    change Δ on the validation target; ``lam_star`` λ* = TᵀT/(2|Δ|); ``loss_name`` the evaluator's loss
    column (``log_loss`` or ``svm_loss``); ``influence_seconds`` the time of
    the Hessian, its factorisation and the scores."""

    target: str
    original: dict
    delta: float
    lam_star: float | None
    loss_name: str = "loss"
    curves: dict[str, Curve] = field(default_factory=dict)
    influence_seconds: float = 0.0

    @property
    def lower_is_better(self) -> bool:
        """True when a lower x is better (|gap|), False for robust accuracy (higher is better)."""
        return self.target != "robustness"

    @property
    def metric(self) -> str:
        """Name of the x axis."""
        return "robust accuracy" if self.target == "robustness" else f"|{self.target.upper()} gap|"

    def labels(self, family=None, update=None) -> list[str]:
        """Labels of the curves of one family and/or update, in sweep order."""
        return [
            k
            for k, c in self.curves.items()
            if (family is None or c.family == family) and (update is None or c.update == update)
        ]

    def compare(self, soft=None, hard=None) -> Comparison:
        """Compare two curves at matched metric values (module docstring). Defaults: the first soft curve
        and the hard curve of the same update, preferring the refit."""
        if soft is None:
            updates = [c.update for c in self.curves.values() if c.family == "soft"]
            if not updates:
                raise ValueError("soft: this trade-off has no soft curve")
            update = "refit" if "refit" in updates else updates[0]
            soft = self.labels("soft", update)[0]
        if soft not in self.curves:
            raise ValueError(f"soft: expected one of {list(self.curves)}, got {soft!r}")
        if hard is None:
            hards = self.labels("hard", self.curves[soft].update) or self.labels("hard")
            if not hards:
                raise ValueError("hard: this trade-off has no hard curve")
            hard = hards[0]
        for name, label in (("soft", soft), ("hard", hard)):
            if label not in self.curves:
                raise ValueError(f"{name}: expected one of {list(self.curves)}, got {label!r}")
        return compare_curves(
            self.curves[soft], self.curves[hard], lower_is_better=self.lower_is_better, metric=self.metric,
            loss=self.loss_name,
        )  # fmt: skip

    def as_dict(self) -> dict:
        """Every point and the default comparison as plain Python values (for JSON)."""
        out = {
            "target": self.target,
            "metric": self.metric,
            "delta": self.delta,
            "lam_star": self.lam_star,
            "influence_seconds": self.influence_seconds,
            "original": self.original,
            "curves": {
                k: {
                    "family": c.family,
                    "update": c.update,
                    "bounds": None if c.bounds is None else bounds_label(c.bounds),
                    "points": [
                        dict(amount=float(a), share_moved=float(m), seconds=float(s), **r)
                        for a, m, s, r in zip(c.amounts, c.moved, c.seconds, c.rows)
                    ],
                }
                for k, c in self.curves.items()
            },
        }
        if self.labels("soft") and self.labels("hard"):
            out["comparison"] = self.compare().as_dict()
        return out


def compare_curves(soft: Curve, hard: Curve, *, lower_is_better=True, metric="metric", loss="loss") -> Comparison:
    """:meth:`Tradeoff.compare` for two :class:`Curve` objects (both starting at the original model)."""
    x0, a0 = float(soft.x[0]), float(soft.accuracy[0])
    sign = 1.0 if lower_is_better else -1.0
    # points that leave the metric worse than the original model's are not unlearning it
    s_in, h_in = sign * soft.x <= sign * x0, sign * hard.x <= sign * x0
    sx, sa = frontier(soft.x[s_in], soft.accuracy[s_in], lower_is_better=lower_is_better)
    hx, ha = frontier(hard.x[h_in], hard.accuracy[h_in], lower_is_better=lower_is_better)
    slx, sl = frontier(soft.x[s_in], -soft.loss[s_in], lower_is_better=lower_is_better)
    hlx, hl = frontier(hard.x[h_in], -hard.loss[h_in], lower_is_better=lower_is_better)
    # each frontier is defined from its best x on; both from the worse of the two best values on
    lo = max(sign * sx[0], sign * hx[0]) * sign
    hi = x0
    nan = float("nan")
    if sign * lo >= sign * hi:
        grid = gain = loss_gain = np.empty(0)
        x_range = None
        mean = mn = mx = loss_mean = nan
    else:
        grid = np.linspace(lo, hi, GRID_POINTS)
        gain = _frontier_at(grid, sx, sa, lower_is_better) - _frontier_at(grid, hx, ha, lower_is_better)
        # the loss frontiers are of −loss: their difference is hard's loss minus soft's
        loss_gain = _frontier_at(grid, slx, sl, lower_is_better) - _frontier_at(grid, hlx, hl, lower_is_better)
        x_range = (float(min(lo, hi)), float(max(lo, hi)))
        mean, mn, mx = float(gain.mean()), float(gain.min()), float(gain.max())
        loss_mean = float(loss_gain.mean())
    return Comparison(
        soft=soft.label,
        hard=hard.label,
        metric=metric,
        lower_is_better=lower_is_better,
        original=(x0, a0),
        x_range=x_range,
        grid=grid,
        gain=gain,
        mean_gain=mean,
        min_gain=mn,
        max_gain=mx,
        soft_best=float(sx[0]),
        hard_best=float(hx[0]),
        loss=loss,
        loss_gain=loss_gain,
        mean_loss_gain=loss_mean,
    )


def _shares(values, name, upper):
    try:
        v = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a sequence of numbers, got {values!r}") from None
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0) or (upper is not None and np.any(v > upper)):
        limit = f"(0, {upper:g}]" if upper is not None else "(0, ∞)"
        raise ValueError(f"{name}: expected a non-empty sequence of numbers in {limit}, got {values!r}")
    return tuple(float(a) for a in v)


def _updates(updates):
    if isinstance(updates, str):
        updates = (updates,)
    updates = tuple(updates)
    for u in updates:
        if u not in _methods.UPDATE_METHODS or u in _methods.CERTIFIED_METHODS:
            allowed = tuple(m for m in _methods.UPDATE_METHODS if m not in _methods.CERTIFIED_METHODS)
            raise ValueError(f"updates: expected names in {allowed}, got {u!r}")
    if not updates:
        raise ValueError("updates: expected at least one update method")
    return updates


def tradeoff(
    model,
    X,
    y,
    target,
    utility,
    evaluator,
    *,
    fraction=None,
    updates: str | Sequence[str] = ("refit",),
    hard_fractions: Sequence[float] = HARD_FRACTIONS,
    delta_shares: Sequence[float] = DELTA_SHARES,
    bounds: Sequence[tuple | None] = ((-1.0, None),),
    iterated: bool = False,
    iterated_options: dict | None = None,
    update_options: dict | None = None,
    sample_weight=None,
    influence: Influence | None = None,
    progress: Callable | None = None,
) -> Tradeoff:
    """Sweep hard deletion and soft weights over the amount of unlearning (module docstring).

    Parameters
    ----------
    model, X, y, sample_weight : the fitted model and its training data (in memory).
    target, utility : validation targets, e.g. ``DemographicParity(Xv, sv)`` and ``Utility(Xv, yv)``: the
        weights are chosen to lower ``target`` by shares of Δ while the ``utility`` loss does not rise.
    evaluator : :class:`~softunlearn.evaluation.Evaluator` on the test split; its ``target`` kind sets the
        x axis.
    fraction : Δ = ``fraction`` · f(θ̂) (default :func:`softunlearn.pipeline.default_fraction` of the
        evaluator's kind: 1, the whole gap or the whole summed adversarial loss).
    updates : update methods applied to every weight vector (keys of ``softunlearn.methods.UPDATE_METHODS``
        except the certified ones); ``update_options`` maps a method name to its keyword arguments.
    hard_fractions : shares in (0, 1] of the training rows to delete.
    delta_shares : shares (> 0) of Δ to ask for; shares above 1 overshoot Δ (the same weights as
        ``lam`` = 1/share in units of λ* when no constraint but the target binds).
    bounds : boxes on ε, one soft curve each (None: unbounded; default ``[(-1, None)]``: no negative weight).
    iterated : also sweep :func:`softunlearn.iterated_soft_weights` (with the first box, each update as its
        inner update; ``iterated_options`` its other keyword arguments, e.g. ``{"steps": 5}``).
    influence : an :class:`~softunlearn.Influence` already built for (model, X, y, sample_weight).
    progress : optional ``progress(iterable, desc)`` wrapping the sweep (e.g. tqdm).

    Returns
    -------
    Tradeoff
        Curves labelled ``"hard (UPDATE)"``, ``"soft BOUNDS (UPDATE)"`` and ``"iterated BOUNDS (UPDATE)"``.
    """
    model = check_model(model)
    target = as_target(target)
    updates = _updates(updates)
    hard_fractions = _shares(hard_fractions, "hard_fractions", 1.0)
    delta_shares = _shares(delta_shares, "delta_shares", None)
    boxes = [b if b is None else tuple(b) for b in bounds]
    if not boxes:
        raise ValueError("bounds: expected at least one box (or None for unbounded weights)")
    options = dict(update_options or {})
    progress = progress or (lambda iterable, desc: iterable)
    frac = default_fraction(evaluator.target) if fraction is None else fraction
    delta = required_change(target, model, frac)

    t = time.perf_counter()
    if influence is None:
        influence = Influence(model, X, y, sample_weight)
    T, U = np.asarray(influence.scores([target, utility])).T
    out = Tradeoff(
        target=evaluator.target,
        original=evaluator(model),
        delta=delta,
        lam_star=_weights.lam_star(T, delta),
        loss_name=evaluator.loss_key,
        influence_seconds=time.perf_counter() - t,
    )

    plans: list[tuple[str, str, tuple | None, float, Callable]] = []
    for f in hard_fractions:
        plans.append(("hard", "hard", None, f, lambda f=f: _weights.hard_weights(T, fraction=f, delta=delta)))
    for b in boxes:
        for q in delta_shares:
            plans.append((f"soft {bounds_label(b)}", "soft", b, q, lambda q=q, b=b: _soft(T, U, q * delta, b)))

    def apply(update, eps):
        return _methods.apply_weights(
            update, model, X, y, eps, influence=influence, sample_weight=sample_weight, **options.get(update, {})
        )

    points: dict[str, list] = {}

    def record(name, family, update, box, amount, new, eps, seconds):
        points.setdefault(f"{name} ({update})", [family, update, box, []])[3].append(
            (amount, evaluator(new), float(np.count_nonzero(eps)) / eps.size, seconds)
        )

    for name, family, box, amount, weights in progress(plans, "trade-off"):
        t = time.perf_counter()
        eps = weights()
        t_weights = time.perf_counter() - t
        for update in updates:
            t = time.perf_counter()
            new = apply(update, eps)
            record(name, family, update, box, amount, new, eps, t_weights + time.perf_counter() - t)
    if iterated:
        from .methods.iterated import iterated_soft_weights

        box = boxes[0]
        for update in updates:
            for q in progress(delta_shares, f"iterated ({update})"):
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    it = iterated_soft_weights(
                        model, X, y, target, utility, q * delta, bounds=box, inner=update,
                        inner_options=options.get(update, {}), sample_weight=sample_weight, influence=influence,
                        **(iterated_options or {}),
                    )  # fmt: skip
                record(f"iterated {bounds_label(box)}", "iterated", update, box, q, it.model, it.eps,
                       time.perf_counter() - t)  # fmt: skip
    for label, (family, update, box, pts) in points.items():
        out.curves[label] = _curve(label, family, update, box, [(0.0, out.original, 0.0, 0.0), *pts], evaluator)
    return out


def _soft(T, U, delta, box):
    """The weight QP asking for ``delta`` at λ = λ*(δ) (``lam`` = 1 on the relative scale, whatever the
    library default): the weights just meet δ to first order. Expected warnings (a share the box cannot
    reach) are silenced; the point then shows what was reached."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _weights.InfeasibleWarning)
        return _weights.soft_weights(T, U, delta, lam=1.0, bounds=box, lam_scale="relative").eps


def _curve(label, family, update, box, pts, evaluator) -> Curve:
    amounts, rows, moved, seconds = zip(*pts)
    return Curve(
        label=label,
        family=family,
        update=update,
        bounds=box,
        amounts=np.array(amounts),
        rows=list(rows),
        x=np.array([evaluator.tradeoff_x(r) for r in rows]),
        accuracy=np.array([r["accuracy"] for r in rows]),
        loss=np.array([r[evaluator.loss_key] for r in rows]),
        moved=np.array(moved),
        seconds=np.array(seconds),
    )


__all__ = [
    "DELTA_SHARES",
    "GRID_POINTS",
    "HARD_FRACTIONS",
    "Comparison",
    "Curve",
    "Tradeoff",
    "compare_curves",
    "frontier",
    "tradeoff",
]

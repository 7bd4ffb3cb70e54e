"""softunlearn.frontiers (softunlearn.tradeoff): the Pareto frontier against a brute-force dominance check,
against curves whose answer is known in closed form and against a brute-force interpolation, the hard
points against scikit-learn fits on the kept rows, the soft points against the weight QP's definition."""
from __future__ import annotations

import io

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import softunlearn as su
from softunlearn import evaluation, plotting
from softunlearn import frontiers as to
from softunlearn.targets import DemographicParity, Utility


def dominated(i, x, a, lower_is_better):
    """Whether another point is at least as good in both coordinates and better in one (brute force)."""
    better_x = (x <= x[i]) if lower_is_better else (x >= x[i])
    strictly = (x < x[i]) if lower_is_better else (x > x[i])
    return bool(np.any(better_x & (a >= a[i]) & (strictly | (a > a[i]))))


@pytest.mark.parametrize("lower_is_better", [True, False])
@pytest.mark.parametrize("seed", range(20))
def test_frontier_is_the_set_of_non_dominated_points(seed, lower_is_better):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    x = rng.choice(np.linspace(0, 1, 12), size=n)  # ties in x on purpose
    a = rng.choice(np.linspace(0.5, 0.9, 9), size=n)  # and in accuracy
    fx, fa = to.frontier(x, a, lower_is_better=lower_is_better)
    expected = {(x[i], a[i]) for i in range(n) if not dominated(i, x, a, lower_is_better)}
    assert set(zip(fx, fa)) == expected and len(fx) == len(expected)
    assert np.all(np.diff(fa) > 0)
    assert np.all(np.diff(fx) > 0) if lower_is_better else np.all(np.diff(fx) < 0)


def curve(label, family, x, acc, loss=None):
    x, acc = np.asarray(x, float), np.asarray(acc, float)
    loss = np.zeros_like(x) if loss is None else np.asarray(loss, float)
    return to.Curve(label=label, family=family, update="refit", bounds=None, amounts=np.arange(x.size) / 10,
                    rows=[{}] * x.size, x=x, accuracy=acc, loss=loss, moved=np.zeros_like(x),
                    seconds=np.zeros_like(x))


def test_compare_parallel_lines_known_gain():
    # hard: acc = 0.80 + 0.1 x down to x = 0.05; soft: 0.805 + 0.1 x (same original point) down to x = 0
    xh = np.array([0.2, 0.15, 0.1, 0.05])
    xs = np.array([0.2, 0.16, 0.12, 0.08, 0.04, 0.0])
    hard = curve("hard", "hard", xh, 0.80 + 0.1 * xh, loss=1.0 - xh)
    soft_acc = np.r_[0.82, 0.805 + 0.1 * xs[1:]]
    soft = curve("soft", "soft", xs, soft_acc, loss=np.r_[0.8, 0.7 - xs[1:]])
    c = to.compare_curves(soft, hard, metric="|gap|", loss="log_loss")
    assert c.x_range == (0.05, 0.2)
    assert c.soft_best == 0.0 and c.hard_best == 0.05 and c.original == (0.2, 0.82)
    # on [0.05, 0.16] the lines are 0.005 apart; above 0.16 soft's point (0.16, 0.821) dominates the
    # original (0.2, 0.82), so soft's frontier stays at 0.821
    inner = c.grid <= 0.16
    np.testing.assert_allclose(c.gain[inner], 0.005, rtol=0, atol=1e-15)
    np.testing.assert_allclose(c.gain[~inner], 0.821 - (0.80 + 0.1 * c.grid[~inner]), rtol=0, atol=1e-15)
    assert c.mean_gain == pytest.approx(np.mean(c.gain)) and c.min_gain == pytest.approx(np.min(c.gain))
    assert "soft weights keep" in c.sentence() and "soft 0.0000, hard 0.0500" in c.sentence()
    # the loss frontier: lowest loss at a metric at least as good; hard's loss minus soft's
    assert np.all(c.loss_gain > 0) and c.mean_loss_gain > 0


def brute_frontier_at(g, x, a, lower_is_better):
    """F(g) from the definition: the Pareto points by dominance, then the linear interpolation between
    the two neighbouring ones (constant past the last)."""
    keep = [i for i in range(x.size) if not dominated(i, x, a, lower_is_better)]
    px, pa = x[keep], a[keep]
    order = np.argsort(px)
    px, pa = px[order], pa[order]
    if g <= px[0]:
        return pa[0]
    if g >= px[-1]:
        return pa[-1]
    j = np.searchsorted(px, g)
    if px[j] == g:
        return pa[j]
    t = (g - px[j - 1]) / (px[j] - px[j - 1])
    return pa[j - 1] + t * (pa[j] - pa[j - 1])


@pytest.mark.parametrize("lower_is_better", [True, False])
@pytest.mark.parametrize("seed", range(10))
def test_compare_random_curves_against_brute_force(seed, lower_is_better):
    rng = np.random.default_rng(seed)
    x0, a0 = 0.5, 0.85
    sign = 1 if lower_is_better else -1
    xs = np.r_[x0, x0 - sign * rng.uniform(0, 0.5, 8), x0 + sign * 0.1]  # the last one is worse than the original
    xh = np.r_[x0, x0 - sign * rng.uniform(0, 0.5, 6)]
    soft = curve("s", "soft", xs, np.r_[a0, rng.uniform(0.7, 0.9, 9)])
    hard = curve("h", "hard", xh, np.r_[a0, rng.uniform(0.7, 0.9, 6)])
    c = to.compare_curves(soft, hard, lower_is_better=lower_is_better)
    ok_s = sign * xs <= sign * x0
    for g, gain in zip(c.grid, c.gain):
        want = (brute_frontier_at(g, xs[ok_s], soft.accuracy[ok_s], lower_is_better)
                - brute_frontier_at(g, xh, hard.accuracy, lower_is_better))
        assert gain == pytest.approx(want, abs=1e-12)
    best = min if lower_is_better else max
    assert c.soft_best == best(xs[ok_s]) and c.hard_best == best(xh)


def test_compare_without_common_range():
    hard = curve("h", "hard", [0.2, 0.3], [0.8, 0.9])  # deletion only makes the gap worse
    soft = curve("s", "soft", [0.2, 0.1], [0.8, 0.79])
    c = to.compare_curves(soft, hard)
    assert c.x_range is None and np.isnan(c.mean_gain) and "no common range" in c.sentence()


@pytest.fixture
def sweep(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    ev = evaluation.Evaluator("dp", data.Xv, data.yv, data.sv, reference_model=m)
    target, utility = DemographicParity(data.Xv, data.sv), Utility(data.Xv, data.yv)
    res = to.tradeoff(m, data.X, data.y, target, utility, ev, updates=("refit", "newton"),
                      hard_fractions=(0.05, 0.1, 0.2), delta_shares=(0.5, 1.0), bounds=[(-1.0, None), None])
    return m, ev, target, utility, res


def test_tradeoff_hard_points_are_sklearn_fits_on_the_kept_rows(sweep, data):
    m, ev, target, utility, res = sweep
    T = su.Influence(m, data.X, data.y).scores(target)
    hard = res.curves["hard (refit)"]
    assert list(hard.amounts) == [0.0, 0.05, 0.1, 0.2] and hard.rows[0] == ev(m)
    for f, row, moved in zip(hard.amounts[1:], hard.rows[1:], hard.moved[1:]):
        keep = su.hard_weights(T, fraction=f, delta=res.delta) == 0
        sk = SkLogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(data.X[keep], data.y[keep])
        assert moved == pytest.approx(1 - keep.mean(), abs=1e-15)
        assert row["accuracy"] == np.mean(sk.predict(data.Xv) == data.yv)
        assert row["log_loss"] == pytest.approx(
            np.mean(np.logaddexp(0, sk.decision_function(data.Xv)) - data.yv * sk.decision_function(data.Xv)),
            rel=1e-6)


def test_tradeoff_soft_points_meet_their_share_of_delta(sweep, data):
    m, ev, target, utility, res = sweep
    inf = su.Influence(m, data.X, data.y)
    T, U = inf.scores([target, utility]).T
    assert res.delta == pytest.approx(target.value(m), rel=1e-15)
    assert res.lam_star == pytest.approx(T @ T / (2 * abs(res.delta)), rel=1e-12)
    for label, box in (("soft -1:none", (-1.0, None)), ("soft none", None)):
        for update in ("refit", "newton"):
            c = res.curves[f"{label} ({update})"]
            assert c.bounds == box and list(c.amounts) == [0.0, 0.5, 1.0]
        newton = res.curves[f"{label} (newton)"]
        for q, row in zip(newton.amounts[1:], newton.rows[1:]):
            # the weights just meet qΔ to first order: the QP at any λ ≥ λ*(qΔ) gives the same ε
            eps = su.soft_weights(T, U, q * res.delta, lam=1e6 * res.lam_star, bounds=box, lam_scale="absolute").eps
            assert eps @ T == pytest.approx(q * res.delta, rel=1e-9)  # predicted change of f: −εᵀT = −qΔ
            assert row == pytest.approx(ev(inf.newton_update(eps)), rel=1e-9, abs=1e-12)


def test_tradeoff_compare_defaults_and_json(sweep):
    *_, res = sweep
    c = res.compare()
    assert (c.soft, c.hard) == ("soft -1:none (refit)", "hard (refit)")
    assert res.compare("soft none (newton)").hard == "hard (newton)"
    d = res.as_dict()
    assert d["comparison"]["sentence"] == c.sentence()
    assert [p["amount"] for p in d["curves"]["hard (refit)"]["points"]] == [0.0, 0.05, 0.1, 0.2]
    with pytest.raises(ValueError, match="soft"):
        res.compare("nope")


@pytest.mark.parametrize("kwargs, name", [
    (dict(updates=("certified",)), "updates"),
    (dict(updates=()), "updates"),
    (dict(hard_fractions=(0.1, 1.5)), "hard_fractions"),
    (dict(delta_shares=(0.0,)), "delta_shares"),
    (dict(delta_shares="a"), "delta_shares"),
    (dict(bounds=[]), "bounds"),
])
def test_tradeoff_bad_arguments(data, kwargs, name):
    m = su.LogisticRegression().fit(data.X, data.y)
    ev = evaluation.Evaluator("dp", data.Xv, data.yv, data.sv, reference_model=m)
    with pytest.raises((ValueError, TypeError), match=name):
        to.tradeoff(m, data.X, data.y, DemographicParity(data.Xv, data.sv), Utility(data.Xv, data.yv), ev, **kwargs)


def test_frontier_figure(sweep):
    *_, res = sweep
    fig = plotting.frontier_figure(res, dataset="toy")
    assert fig._suptitle.get_text().startswith("toy, demographic parity")
    top = [ax for ax in fig.axes if ax.get_ylabel() or ax.get_title()]
    assert [ax.get_title().split(";")[0] for ax in fig.axes[:2]] == ["refit", "newton (one-step preview)"]
    assert len(top) >= 2
    buf = io.BytesIO()
    plotting.save_png(fig, buf)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"

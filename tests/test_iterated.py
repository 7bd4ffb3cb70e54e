"""Iterated (path-following) soft weighting: one step is the one-shot pipeline; more steps reach the goal on
the actual target; compounded weights obey the bounds; the final model is the exact refit with the total
weights (softunlearn.reference.refit as the oracle)."""
import warnings

import numpy as np
import pytest

import softunlearn as su
from softunlearn import reference as ref


@pytest.fixture
def setup(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    tgt = su.targets.DemographicParity(data.Xv, data.sv)
    ut = su.targets.Utility(data.Xv, data.yv)
    return m, tgt, ut, tgt.value(m)


@pytest.mark.parametrize("inner", ["refit", "newton"])
def test_one_step_equals_one_shot(data, setup, inner):
    m, tgt, ut, delta = setup
    one = su.SoftUnlearner("dp", method=inner, lam=0.5,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=1, lam=0.5, inner=inner,
        lam_scale="absolute")
    np.testing.assert_allclose(it.eps, one.eps_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(it.model.theta_, one.model_.theta_, rtol=1e-10, atol=1e-12)
    assert it.n_steps == 1 and it.history[0]["delta"] == pytest.approx(delta)


def test_reaches_the_goal_and_is_the_refit_with_total_weights(data, setup):
    m, tgt, ut, delta = setup
    th0 = m.theta_.copy()
    one = su.SoftUnlearner("dp", method="refit", lam=0.1,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=10, max_steps=15, lam=0.1, tol=0.01,
        lam_scale="absolute")
    assert it.reached and abs(it.target_value - it.goal) <= 0.01 * abs(delta)
    assert it.goal == pytest.approx(0.0, abs=1e-12)
    # the actual target value, recomputed independently
    assert ref.target_value("dp", it.model.theta_, data.Xv, s=data.sv) == pytest.approx(it.target_value, abs=1e-12)
    # first order: the one-shot refit misses by more than the path does
    assert abs(one.target_after_) > abs(it.target_value)
    # path consistency: with refit inner steps the model is the refit with the compounded weights
    oracle = ref.refit(data.X, data.y, it.eps, C=1.0, theta0=th0)
    np.testing.assert_allclose(it.model.theta_, oracle, atol=1e-7)
    assert (1 + it.eps).min() >= 0
    hist = it.history
    assert [h["step"] for h in hist] == list(range(1, len(hist) + 1))
    assert all(a["target_after"] == b["target_before"] for a, b in zip(hist, hist[1:]))
    np.testing.assert_array_equal(m.theta_, th0)


@pytest.mark.parametrize("bounds", [(-1.0, None), (-0.5, 1.0), (-1.0, 0.0)])
def test_compounded_weights_stay_within_bounds(data, setup, bounds):
    m, tgt, ut, delta = setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", su.weights.InfeasibleWarning)
        it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=6, bounds=bounds, inner="newton")
    lo, hi = bounds
    assert it.eps.min() >= lo - 1e-12
    if hi is not None:
        assert it.eps.max() <= hi + 1e-12
    assert abs(it.target_value) < abs(delta)  # moved toward the goal


def test_soft_unlearner_iterated_and_bad_arguments(data, setup):
    m, tgt, ut, delta = setup
    out = su.SoftUnlearner("dp", method="iterated", lam=0.1,
                           method_options={"steps": 4, "inner": "newton"},
                               lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv,
                                                                               data.sv)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=4, lam=0.1, inner="newton",
        lam_scale="absolute")
    np.testing.assert_allclose(out.eps_, it.eps, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.model_.theta_, it.model.theta_, rtol=1e-12, atol=1e-14)
    assert out.iterated_.n_steps == 4 and out.target_after_ == pytest.approx(it.target_value)
    for kwargs, name in (({"bounds": None}, "bounds"), ({"steps": 0}, "steps"), ({"inner": "magic"}, "inner"),
                         ({"step_rule": "x"}, "step_rule"), ({"steps": 3, "max_steps": 2}, "max_steps"),
                         ({"bounds": (-2.0, None)}, "bounds")):
        with pytest.raises(ValueError, match=name):
            su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, **kwargs)


# ---- inner="newton" against an independent re-implementation of the path (issue 15) --------------------
def newton_path_oracle(theta0, X, y, Xv, yv, sv, delta, *, C, steps, lam, tol, max_steps, sample_weight=None,
                       compound=True, relative=False):
    """The iterated path of softunlearn.methods.iterated's docstring, step_rule "remaining", bounds (−1, None), from
    softunlearn.reference's blocks: at each step the DP and utility scores on the *compounded* weights
    s⊙(1+E), the closed-form weight QP, the Newton update with those weights' Hessian and gradients.

    The per-step box is (−1, None); the oracle asserts it is inactive (every εᵏ > −1), where the bounded QP's
    optimum is the closed form's. ``compound=False`` scores and steps on the original weights s at every step
    (the wrong path, to show the test can tell the two apart). ``relative=True`` reads ``lam`` in units of each
    step's own λ* = T_kᵀT_k/(2|Δ_k|)."""
    n = X.shape[0]
    s0 = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

    def f(th):
        return ref.target_value("dp", th, Xv, s=sv)

    f0 = f(theta0)
    goal, atol = f0 - delta, tol * abs(delta)
    th, f_cur, factor, history = np.array(theta0, dtype=np.float64), f0, np.ones(n), []
    for k in range(1, max_steps + 1):
        remaining = f_cur - goal
        if abs(remaining) <= atol and k > 1:
            break
        delta_k = remaining / max(steps - k + 1, 1)
        s_k = s0 * factor if compound else s0
        G = np.column_stack([ref.target_gradient("dp", th, Xv, s=sv), ref.target_gradient("utility", th, Xv, yv)])
        T, U = ref.influence_scores(th, X, y, G, C, True, s_k).T
        lam_k = lam * (T @ T) / (2 * abs(delta_k)) if relative else lam
        e = ref.soft_weights(T, U, delta_k, lam_k, "auto")
        assert e.min() > -1, "the oracle's closed form needs an inactive box"
        th = ref.newton_update(th, X, y, e, C, True, s_k)
        factor = factor * (1.0 + e)
        f_new = f(th)
        history.append(dict(delta=delta_k, target_before=f_cur, target_after=f_new, eps_min=e.min(), eps_max=e.max()))
        f_cur = f_new
    return th, factor - 1.0, history, goal


@pytest.mark.parametrize("weighted", [False, True])
def test_newton_inner_path_against_oracle(data, weighted):
    sw = data.sw if weighted else None
    C, lam = 1.0, 2.0
    m = su.LogisticRegression(C=C).fit(data.X, data.y, sample_weight=sw)
    tgt = su.targets.DemographicParity(data.Xv, data.sv)
    ut = su.targets.Utility(data.Xv, data.yv)
    delta = tgt.value(m)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=4, max_steps=6, lam=lam, tol=1e-3,
                                  inner="newton", sample_weight=sw, lam_scale="absolute")
    th, E, hist, goal = newton_path_oracle(m.theta_, data.X, data.y, data.Xv, data.yv, data.sv, delta, C=C, steps=4,
                                           lam=lam, tol=1e-3, max_steps=6, sample_weight=sw)
    assert len(hist) >= 3 and it.n_steps == len(hist)  # a real path: several re-linearised steps
    assert it.goal == pytest.approx(goal, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(it.eps, E, rtol=0, atol=1e-9 * np.abs(E).max())
    np.testing.assert_allclose(it.model.theta_, th, rtol=0, atol=1e-9 * np.linalg.norm(th))
    for got, want in zip(it.history, hist):
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    # the compounded weights matter at this tolerance: the path on the original weights ends elsewhere
    wrong = newton_path_oracle(m.theta_, data.X, data.y, data.Xv, data.yv, data.sv, delta, C=C, steps=4, lam=lam,
                               tol=1e-3, max_steps=6, sample_weight=sw, compound=False)[0]
    assert np.linalg.norm(wrong - th) > 1e-4 * np.linalg.norm(th)


@pytest.mark.parametrize("r", [0.5, 1.0])
def test_relative_lam_is_relative_to_each_steps_lam_star(data, r):
    """On the default relative scale every step solves its own QP at λ = r·T_kᵀT_k/(2|Δ_k|): with r = 1 each
    step's predicted change is exactly its Δ_k."""
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    tgt = su.targets.DemographicParity(data.Xv, data.sv)
    ut = su.targets.Utility(data.Xv, data.yv)
    delta = tgt.value(m)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=3, max_steps=4, lam=r, tol=1e-3,
                                  inner="newton")
    th, E, hist, _ = newton_path_oracle(m.theta_, data.X, data.y, data.Xv, data.yv, data.sv, delta, C=1.0,
                                        steps=3, lam=r, tol=1e-3, max_steps=4, relative=True)
    assert len(hist) >= 2 and it.n_steps == len(hist)
    np.testing.assert_allclose(it.eps, E, rtol=0, atol=1e-9 * np.abs(E).max())
    np.testing.assert_allclose(it.model.theta_, th, rtol=0, atol=1e-9 * np.linalg.norm(th))
    for rec in it.history:
        if r == 1:
            assert rec["predicted_change"] == pytest.approx(-rec["delta"], rel=1e-9)
        else:  # at least Δ_k (more unless the utility constraint binds: its threshold is below λ*)
            assert abs(rec["predicted_change"]) >= abs(rec["delta"]) * (1 - 1e-9)
    with pytest.raises(ValueError, match="lam_scale"):
        su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, lam_scale="λ*")

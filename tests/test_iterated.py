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
    one = su.SoftUnlearner("dp", method=inner, lam=0.5).fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=1, lam=0.5, inner=inner)
    np.testing.assert_allclose(it.eps, one.eps_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(it.model.theta_, one.model_.theta_, rtol=1e-10, atol=1e-12)
    assert it.n_steps == 1 and it.history[0]["delta"] == pytest.approx(delta)


def test_reaches_the_goal_and_is_the_refit_with_total_weights(data, setup):
    m, tgt, ut, delta = setup
    th0 = m.theta_.copy()
    one = su.SoftUnlearner("dp", method="refit", lam=0.1).fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=10, max_steps=15, lam=0.1, tol=0.01)
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
                           method_options={"steps": 4, "inner": "newton"}).fit(m, data.X, data.y, data.Xv, data.yv,
                                                                               data.sv)
    it = su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, steps=4, lam=0.1, inner="newton")
    np.testing.assert_allclose(out.eps_, it.eps, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.model_.theta_, it.model.theta_, rtol=1e-12, atol=1e-14)
    assert out.iterated_.n_steps == 4 and out.target_after_ == pytest.approx(it.target_value)
    for kwargs, name in (({"bounds": None}, "bounds"), ({"steps": 0}, "steps"), ({"inner": "magic"}, "inner"),
                         ({"step_rule": "x"}, "step_rule"), ({"steps": 3, "max_steps": 2}, "max_steps"),
                         ({"bounds": (-2.0, None)}, "bounds")):
        with pytest.raises(ValueError, match=name):
            su.iterated_soft_weights(m, data.X, data.y, tgt, ut, delta, **kwargs)

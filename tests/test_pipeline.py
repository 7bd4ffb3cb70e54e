"""SoftUnlearner end to end: it must equal the steps done by hand, and the first-order prediction must
match what the Newton update actually does to the target."""
import numpy as np
import pytest

import softunlearn as su
from softunlearn import reference as ref


@pytest.mark.parametrize("target", ["dp", "eop", "robustness"])
@pytest.mark.parametrize("method", ["newton", "refit"])
def test_pipeline_equals_manual_steps(data, target, method):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    theta_before = m.theta_.copy()
    out = su.SoftUnlearner(target, method=method, lam=1.0).fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    np.testing.assert_array_equal(m.theta_, theta_before)  # the input model is untouched

    t = su.pipeline.make_target(target, data.Xv, data.yv, data.sv, model=m)
    inf = su.Influence(m, data.X, data.y)
    T, U = inf.scores([t, su.targets.Utility(data.Xv, data.yv)]).T
    delta = su.targets.required_change(t, m, 0.1 if target == "robustness" else 1.0)
    eps = su.soft_weights(T, U, delta, lam=1.0, bounds=(-1.0, None)).eps
    np.testing.assert_allclose(out.eps_, eps, rtol=1e-9, atol=1e-12)
    expected = inf.newton_update(eps) if method == "newton" else su.refit(m, data.X, data.y, eps)
    np.testing.assert_allclose(out.model_.theta_, expected.theta_, rtol=1e-8, atol=1e-10)
    assert out.eps_.min() >= -1 - 1e-12


def test_pipeline_moves_dp_gap_toward_zero(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    out = su.SoftUnlearner("dp", fraction=0.5, lam=10.0).fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    # First order: the target drops by delta; the Newton step lands close to that on a small problem.
    predicted = out.target_before_ - out.delta_
    assert abs(out.target_after_ - predicted) < 0.2 * abs(out.delta_)
    assert abs(out.target_after_) < abs(out.target_before_)


def test_pipeline_bad_arguments(data):
    m = su.LogisticRegression().fit(data.X, data.y)
    with pytest.raises(ValueError, match="method"):
        su.SoftUnlearner("dp", method="magic").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    with pytest.raises(ValueError, match="target"):
        su.SoftUnlearner("fairness").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    with pytest.raises(ValueError, match="sv"):
        su.SoftUnlearner("dp").fit(m, data.X, data.y, data.Xv, data.yv)


@pytest.mark.parametrize("method, options", [("finetune", {"max_iter": 5}), ("gradient_ascent", {"steps": 3})])
def test_pipeline_first_order_methods_equal_direct_calls(data, method, options):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    out = su.SoftUnlearner("dp", method=method, method_options=options).fit(m, data.X, data.y, data.Xv, data.yv,
                                                                          data.sv)
    direct = getattr(su, method)(m, data.X, data.y, out.eps_, **options)
    np.testing.assert_array_equal(out.model_.theta_, direct.theta_)
    assert out.model_.n_iter_ == list(options.values())[0]


# ---- with sample weights, against softunlearn.reference (issue 15) -------------------------------------
@pytest.mark.parametrize("method, options", [("newton", {}), ("refit", {}), ("finetune", {"tol": 1e-13})])
def test_pipeline_with_sample_weight_equals_the_weighted_oracle(data, method, options):
    """Scores, weight QP and update all on the weighted problem s = ``data.sw``: the reference's influence
    scores with s, its closed-form QP (the (−1, ∞) box is inactive here, asserted), and its Newton update or
    exact refit with weights s(1 + ε) (fine-tuning converges to the same refit)."""
    C, lam, fraction = 1.0, 1.0, 0.3
    sw = data.sw
    m = su.LogisticRegression(C=C).fit(data.X, data.y, sample_weight=sw)
    th = m.theta_.copy()
    out = su.SoftUnlearner("dp", lam=lam, fraction=fraction, method=method, method_options=options).fit(
        m, data.X, data.y, data.Xv, data.yv, data.sv, sample_weight=sw)
    G = np.column_stack([ref.target_gradient("dp", th, data.Xv, s=data.sv),
                         ref.target_gradient("utility", th, data.Xv, data.yv)])
    T, U = ref.influence_scores(th, data.X, data.y, G, C, True, sw).T
    delta = fraction * ref.target_value("dp", th, data.Xv, s=data.sv)
    eps = ref.soft_weights(T, U, delta, lam, "auto")
    assert eps.min() > -1  # the box is inactive: the bounded QP's optimum is the closed form
    np.testing.assert_allclose(out.scores_, T, rtol=0, atol=1e-9 * np.abs(T).max())
    np.testing.assert_allclose(out.utility_scores_, U, rtol=0, atol=1e-9 * np.abs(U).max())
    assert out.delta_ == pytest.approx(delta, rel=1e-9)
    np.testing.assert_allclose(out.eps_, eps, rtol=0, atol=1e-9 * np.abs(eps).max())
    if method == "newton":
        oracle = ref.newton_update(th, data.X, data.y, eps, C, True, sw)
    else:
        oracle = ref.refit(data.X, data.y, eps, C, True, sw, theta0=th)
    np.testing.assert_allclose(out.model_.theta_, oracle, rtol=0, atol=1e-9 * np.linalg.norm(oracle))
    # the weights matter far beyond that tolerance: the same ε applied without them lands elsewhere
    unweighted = (ref.newton_update(th, data.X, data.y, eps, C, True) if method == "newton"
                  else ref.refit(data.X, data.y, eps, C, True, theta0=th))
    assert np.linalg.norm(unweighted - oracle) > 1e-3 * np.linalg.norm(oracle)
    np.testing.assert_array_equal(m.theta_, th)

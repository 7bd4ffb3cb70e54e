"""SoftUnlearner end to end: it must equal the steps done by hand, and the first-order prediction must
match what the Newton update actually does to the target."""
import warnings

import numpy as np
import pytest

import softunlearn as su
from softunlearn import reference as ref


@pytest.mark.parametrize("target", ["dp", "eop", "robustness"])
@pytest.mark.parametrize("method", ["newton", "refit"])
def test_pipeline_equals_manual_steps(data, target, method):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    theta_before = m.theta_.copy()
    out = su.SoftUnlearner(target, method=method, lam=1.0,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    np.testing.assert_array_equal(m.theta_, theta_before)  # the input model is untouched

    t = su.pipeline.make_target(target, data.Xv, data.yv, data.sv, model=m)
    inf = su.Influence(m, data.X, data.y)
    T, U = inf.scores([t, su.targets.Utility(data.Xv, data.yv)]).T
    delta = su.targets.required_change(t, m, 1.0)
    eps = su.soft_weights(T, U, delta, lam=1.0, bounds=(-1.0, None), lam_scale="absolute").eps
    np.testing.assert_allclose(out.eps_, eps, rtol=1e-9, atol=1e-12)
    expected = inf.newton_update(eps) if method == "newton" else su.refit(m, data.X, data.y, eps)
    np.testing.assert_allclose(out.model_.theta_, expected.theta_, rtol=1e-8, atol=1e-10)
    assert out.eps_.min() >= -1 - 1e-12


def test_pipeline_moves_dp_gap_toward_zero(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    out = su.SoftUnlearner("dp", fraction=0.5, lam=10.0,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
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
    assert out.model_.n_iter_ == next(iter(options.values()))


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
    out = su.SoftUnlearner("dp", lam=lam, fraction=fraction, method=method, method_options=options,
        lam_scale="absolute").fit(
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


# ---- what `softunlearn run` takes from SoftUnlearner (issue 16) -----------------------------------------
@pytest.mark.parametrize("method", ["newton", "refit", "iterated"])
def test_pipeline_hard_baseline_and_diagnostics(data, method):
    """hard_fraction: the hard deletion from the same scores and Δ, applied with the same update (its inner
    update for "iterated"); the one-shot and the unbounded QP; λ*; the timings the CLI reports."""
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    opts = {"steps": 2, "inner": "newton"} if method == "iterated" else None
    out = su.SoftUnlearner("dp", method=method, method_options=opts, lam=1.0, hard_fraction=0.1,
        lam_scale="absolute").fit(
        m, data.X, data.y, data.Xv, data.yv, data.sv)
    inf = su.Influence(m, data.X, data.y)
    T, U = inf.scores([out.target_, su.targets.Utility(data.Xv, data.yv)]).T
    hard = su.hard_weights(T, fraction=0.1, delta=out.delta_)
    np.testing.assert_array_equal(out.hard_eps_, hard)
    assert np.count_nonzero(out.hard_eps_ == -1) == 30
    expected = su.refit(m, data.X, data.y, hard) if method == "refit" else inf.newton_update(hard)
    np.testing.assert_allclose(out.hard_model_.theta_, expected.theta_, rtol=1e-8, atol=1e-10)
    one_shot = su.soft_weights(T, U, out.delta_, lam=1.0, bounds=(-1.0, None), lam_scale="absolute")
    np.testing.assert_allclose(out.one_shot_weights_.eps, one_shot.eps, rtol=1e-9, atol=1e-12)
    unbounded = su.soft_weights(T, U, out.delta_, lam=1.0, lam_scale="absolute")
    np.testing.assert_allclose(out.unbounded_weights_.eps, unbounded.eps, rtol=1e-9, atol=1e-12)
    if method == "iterated":
        assert out.weights_ is out.iterated_.last_weights and out.one_shot_weights_ is not out.weights_
    else:
        assert out.weights_ is out.one_shot_weights_ and out.iterated_ is None
    assert out.lam_star_ == pytest.approx(T @ T / (2 * abs(out.delta_)), rel=1e-9)
    assert out.fraction_ == 1.0 and out.target_before_ == out.target_.value(m)
    assert list(out.timings_) == ["influence", "weights_hard", "weights_soft", "update_hard", "update_soft"]
    assert all(v >= 0 for v in out.timings_.values())


def test_pipeline_without_hard_fraction_and_unbounded(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    out = su.SoftUnlearner("dp", lam=1.0, bounds=None,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    assert out.hard_eps_ is None and out.hard_model_ is None
    assert out.unbounded_weights_ is out.one_shot_weights_ is out.weights_
    assert list(out.timings_) == ["influence", "weights_soft", "update_soft"]


def test_pipeline_records_the_weight_warnings(data, monkeypatch):
    """warnings_: the weight QPs' warnings, in order. Those of the weights applied are also shown as usual;
    those of the diagnostic unbounded QP are only recorded."""
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    with pytest.warns(su.weights.SchemeWarning) as shown:  # scheme 2.0 is not the optimum on this data
        out = su.SoftUnlearner("eop", scheme="2.0", bounds=None, lam=1.0,
            lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv,
                                                                              data.sv)
    assert [w.category for w in out.warnings_] == [su.weights.SchemeWarning]
    assert [w.message for w in shown] == [out.warnings_[0].message]  # the same warning object, shown once

    real = su.weights.soft_weights

    def diagnosed(T, U, delta, *args, bounds=None, **kw):
        if bounds is None:
            warnings.warn("from the unbounded QP", UserWarning, stacklevel=2)
        return real(T, U, delta, *args, bounds=bounds, **kw)

    monkeypatch.setattr(su.weights, "soft_weights", diagnosed)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        out = su.SoftUnlearner("dp", lam=1.0, bounds=(-0.01, 0.0),
            lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    assert not out.weights_.feasible
    assert [(w.category, str(w.message)[:21]) for w in out.warnings_] == [
        (su.weights.InfeasibleWarning, "the required target d"), (UserWarning, "from the unbounded QP")]
    assert [w.message for w in shown] == [out.warnings_[0].message]


def test_names_and_defaults_defined_once():
    assert su.pipeline.TARGETS == ("dp", "eop", "robustness") == tuple(su.pipeline.TARGET_NAMES)
    assert su.pipeline.default_fraction("robustness") == su.pipeline.ROBUSTNESS_FRACTION == 1.0
    assert su.pipeline.default_fraction("dp") == su.pipeline.default_fraction("eop") == 1.0
    assert su.pipeline.default_fraction(su.targets.Custom(np.ones(3), 1.0)) == 1.0
    assert set(su.methods.CERTIFIED_METHODS) <= set(su.methods.method_names())
    for kind in su.pipeline.MODELS:
        model = su.pipeline.make_model(kind, C=2.0, temperature=0.3, fit_intercept=False)
        assert model.C == 2.0 and model.fit_intercept is False
        assert isinstance(model, su.LogisticRegression if kind == "logistic" else su.LinearSVC)
        if kind != "logistic":
            assert model.loss == kind and model.temperature == 0.3
    with pytest.raises(ValueError, match="model"):
        su.pipeline.make_model("svm")
    assert su.pipeline.lam_star(np.array([3.0, 4.0]), -0.5) == 25.0 and su.pipeline.lam_star(np.ones(2), 0.0) is None


def test_pipeline_default_fraction_for_robustness(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    out = su.SoftUnlearner("robustness").fit(m, data.X, data.y, data.Xv, data.yv)
    assert out.fraction_ == 1.0 and out.delta_ == pytest.approx(1.0 * out.target_before_, rel=1e-15)


def test_pipeline_default_delta_for_robustness_is_the_papers(data):
    """Δ of the robustness target defaults to what the official code asks for (SEC-5-2-0-2.py passes
    |robust_loss| of robust_fn.calc_robust_acc to scheme 2.3): the whole summed log-loss on the validation
    points mirror-attacked from θ̂, xᵃ = x − 1.3·(wᵀx + b)/‖w‖²·w. Oracle: NumPy attack, sklearn's log_loss."""
    from sklearn.metrics import log_loss

    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    w, b = m.coef_.ravel(), float(m.intercept_[0])
    Xa = data.Xv - np.outer(1.3 * (data.Xv @ w + b) / (w @ w), w)
    p = 1.0 / (1.0 + np.exp(-(Xa @ w + b)))
    summed = log_loss(data.yv, p, normalize=False)
    with warnings.catch_warnings():  # the official code uses 2.3 whether or not it is the QP's optimum
        warnings.simplefilter("ignore", su.weights.SchemeWarning)
        out = su.SoftUnlearner("robustness", scheme="2.3", bounds=None).fit(m, data.X, data.y, data.Xv, data.yv)
    assert out.fraction_ == 1.0
    assert out.target_before_ == pytest.approx(summed, rel=1e-10)
    assert out.delta_ == pytest.approx(summed, rel=1e-10)
    # scheme 2.3 meets Δ exactly to first order: the predicted robust loss change is -Δ, utility unchanged
    assert -out.eps_ @ out.scores_ == pytest.approx(-summed, rel=1e-9)
    assert abs(out.eps_ @ out.utility_scores_) <= 1e-9 * np.abs(out.eps_).sum() * np.abs(out.utility_scores_).max()


def test_unit_ball(data):
    Xtr, Xv, C = su.pipeline.unit_ball(data.X, data.Xv, C=2.0)
    k = np.sqrt((np.column_stack([data.X, np.ones(data.n)]) ** 2).sum(1).max())
    np.testing.assert_allclose(Xtr, np.column_stack([data.X, np.ones(data.n)]) / k, rtol=1e-15)
    np.testing.assert_allclose(Xv, np.column_stack([data.Xv, np.ones(len(data.Xv))]) / k, rtol=1e-15)
    assert np.sqrt((Xtr**2).sum(1)).max() == pytest.approx(1.0) and C == pytest.approx(2.0 * k**2)


def test_pipeline_lam_is_relative_to_lam_star_by_default(data):
    """The default lam is 1 in units of λ* = TᵀT/(2|Δ|): the one-shot QP is the absolute one at λ*."""
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    out = su.SoftUnlearner("dp", bounds=None).fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    T, U = su.Influence(m, data.X, data.y).scores([out.target_, su.targets.Utility(data.Xv, data.yv)]).T
    lam = (T @ T) / (2 * abs(out.delta_))
    assert out.lam == su.weights.DEFAULT_LAM == 1.0 and out.lam_scale == "relative"
    assert out.weights_.lam == pytest.approx(lam, rel=1e-9) and out.lam_star_ == pytest.approx(lam, rel=1e-9)
    np.testing.assert_allclose(out.eps_, ref.soft_weights(T, U, out.delta_, lam, "auto"), rtol=1e-8, atol=1e-12)
    assert out.weights_.target_change == pytest.approx(-out.delta_, rel=1e-9)  # exactly Δ, to first order
    half = su.SoftUnlearner("dp", bounds=None, lam=0.5).fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    np.testing.assert_allclose(half.eps_, ref.soft_weights(T, U, out.delta_, lam / 2, "auto"), rtol=1e-8,
                               atol=1e-12)
    with pytest.raises(ValueError, match="lam_scale"):
        su.SoftUnlearner("dp", lam_scale="relative-ish").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)

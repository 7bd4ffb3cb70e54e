"""softunlearn.Influence, newton_update, refit and the targets against the NumPy reference
(softunlearn.reference) and against exact reweighted refits.

Sign convention under test (docs/conventions.md): scoreᵢ(f) = gᵢᵀ H⁻¹ ∇f is the first-order change of f when
sample i is deleted, and weights s(1 + ε) change f by ≈ −εᵀ score(f)."""
from __future__ import annotations

import numpy as np
import pytest

import softunlearn as su
from softunlearn import reference as ref
from softunlearn import targets as T


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


TOL = {np.float64: 1e-9, np.float32: 1e-4}
KINDS = ("utility", "dp", "eop", "robustness")


def fit(D, dtype=np.float64, C=0.7, fit_intercept=True, weighted=False):
    X = D.X.astype(dtype)
    sw = D.sw.astype(dtype) if weighted else None
    m = su.LogisticRegression(C=C, fit_intercept=fit_intercept).fit(X, D.y, sample_weight=sw)
    return m, X, sw


def make_target(kind, D):
    return {
        "utility": lambda: T.Utility(D.Xv, D.yv),
        "dp": lambda: T.DemographicParity(D.Xv, D.sv),
        "eop": lambda: T.EqualOpportunity(D.Xv, D.yv, D.sv),
        "robustness": lambda: T.Robustness(D.Xv, D.yv),
    }[kind]()


def ref_target_data(kind, D, theta, fit_intercept):
    """(X, y, s) for the reference target: robustness uses the mirror attack at θ̂, computed once."""
    X = ref.mirror_attack(D.Xv, theta, fit_intercept) if kind == "robustness" else D.Xv
    return X, D.yv, D.sv


def ref_scores(kind, D, m, X, sw):
    th = m.theta_.astype(np.float64)
    Xt, yt, st = ref_target_data(kind, D, th, m.fit_intercept)
    g = ref.target_gradient(kind, th, Xt, yt, st, m.fit_intercept)
    return ref.influence_scores(th, X.astype(np.float64), D.y, g, m.C, m.fit_intercept,
                                None if sw is None else sw.astype(np.float64))


# ---------------------------------------------------------------------------------------------
# Hessian
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_matches_reference(data, dtype, fit_intercept, weighted):
    m, X, sw = fit(data, dtype, fit_intercept=fit_intercept, weighted=weighted)
    H_ref = ref.hessian(m.theta_.astype(np.float64), data.X, data.y, m.C, fit_intercept,
                        None if sw is None else sw.astype(np.float64))
    for reuse in (True, False):
        inf = su.Influence(m, X, data.y, sample_weight=sw, reuse_hessian=reuse)
        assert inf.hessian.dtype == dtype and inf.hessian.shape == H_ref.shape
        assert rel(inf.hessian, H_ref) <= TOL[dtype]
        np.testing.assert_array_equal(inf.hessian, inf.hessian.T)
    # the optimum the influence assumes: the gradient at θ̂ is (numerically) zero
    assert inf.grad_norm <= (1e-6 if dtype == np.float64 else 1e-1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("C", [0.05, 1.0, 30.0])
def test_reused_hessian_equals_fresh_one(make_data, dtype, C):
    D = make_data(n=20000, d=8, seed=5)  # ≥ 16,000 rows: the fit starts from an every-8th-row subsample
    m, X, sw = fit(D, dtype, C=C)
    reused = su.Influence(m, X, D.y)
    fresh = su.Influence(m, X, D.y, reuse_hessian=False)
    assert reused.reused_hessian is True
    assert fresh.reused_hessian is False
    assert rel(reused.hessian, fresh.hessian) <= TOL[dtype]
    t = T.DemographicParity(D.Xv, D.sv)
    assert rel(reused.scores(t), fresh.scores(t)) <= TOL[dtype]


def test_hessian_not_reused_for_other_objects(data):
    m, X, _ = fit(data)
    inf = su.Influence(m, X.copy(), data.y)
    assert inf.reused_hessian is False
    assert rel(inf.hessian, ref.hessian(m.theta_, data.X, data.y, m.C)) <= 1e-9
    # fitted with sample weights: an Influence without them must not reuse the weighted Hessian
    mw, _, sw = fit(data, weighted=True)
    inf = su.Influence(mw, data.X, data.y)
    assert inf.reused_hessian is False
    assert rel(inf.hessian, ref.hessian(mw.theta_, data.X, data.y, mw.C)) <= 1e-9


def test_x_modified_in_place_after_fit_is_not_served_a_stale_hessian(data):
    m, X, _ = fit(data)
    X[:10] *= 2.0
    X[20, 3] += 1.0
    inf = su.Influence(m, X, data.y)
    assert inf.reused_hessian is False
    assert rel(inf.hessian, ref.hessian(m.theta_, X, data.y, m.C)) <= 1e-9


@pytest.mark.parametrize("what", ["X", "sample_weight"])
def test_gradient_preserving_in_place_change_is_not_served_a_stale_hessian(data, what):
    """An in-place change of the training data that leaves ∇J(θ̂) unchanged (so a gradient check cannot
    see it) but changes the Hessian: X += a bᵀ with b ⟂ w (z unchanged) and a ⟂ r (gradient unchanged),
    or sample weights s += δ with δ ⟂ every column of r ⊙ X̃ (gradient unchanged)."""
    rng = np.random.default_rng(1)
    m, X, sw = fit(data, weighted=True)
    sw_before = sw.copy()
    th = m.theta_
    w = th[:-1]
    r = sw * (ref.sigmoid(X @ w + th[-1]) - data.y)
    if what == "X":
        b = rng.normal(size=data.d)
        b -= (b @ w) / (w @ w) * w
        a = rng.normal(size=data.n)
        a -= (a @ r) / (r @ r) * r
        X += np.outer(a, b)
    else:
        G = ref.augment(X, True) * (ref.sigmoid(X @ w + th[-1]) - data.y)[:, None]
        delta = rng.uniform(-0.1, 0.1, size=data.n)
        delta -= G @ np.linalg.lstsq(G, delta, rcond=None)[0]  # δ ⟂ columns of G
        sw += delta
        assert (sw > 0).all() and not np.array_equal(sw, sw_before)
    H_true = ref.hessian(th, X, data.y, m.C, True, sw)
    assert np.allclose(ref.gradient(th, X, data.y, m.C, True, sw), 0, atol=1e-7)  # still the optimum
    inf = su.Influence(m, X, data.y, sample_weight=sw)
    assert rel(inf.hessian, H_true) <= 1e-9, f"stale Hessian (reused_hessian={inf.reused_hessian})"
    t = T.DemographicParity(data.Xv, data.sv)
    g = ref.target_gradient("dp", th, data.Xv, s=data.sv)
    assert rel(inf.scores(t), ref.influence_scores(th, X, data.y, g, m.C, True, sw)) <= 1e-9


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_scores_match_reference(data, dtype, fit_intercept, kind):
    m, X, sw = fit(data, dtype, fit_intercept=fit_intercept)
    inf = su.Influence(m, X, data.y)
    sc = inf.scores(make_target(kind, data))
    assert sc.shape == (data.n,) and sc.dtype == dtype
    assert rel(sc, ref_scores(kind, data, m, X, sw)) <= TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
def test_scores_with_sample_weights_match_reference(data, dtype, kind):
    m, X, sw = fit(data, dtype, weighted=True)
    inf = su.Influence(m, X, data.y, sample_weight=sw)
    assert rel(inf.scores(make_target(kind, data)), ref_scores(kind, data, m, X, sw)) <= TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_cg_scores_match_cholesky(data, dtype, fit_intercept):
    m, X, _ = fit(data, dtype, fit_intercept=fit_intercept, C=5.0)
    chol = su.Influence(m, X, data.y, solver="cholesky")
    cg = su.Influence(m, X, data.y, solver="cg")
    assert chol.solver == "cholesky" and cg.solver == "cg"
    tl = [make_target(k, data) for k in KINDS]
    S_chol, S_cg = chol.scores(tl), cg.scores(tl)
    for j in range(len(KINDS)):
        assert rel(S_cg[:, j], S_chol[:, j]) <= (1e-7 if dtype == np.float64 else 1e-3)
    assert rel(cg.hessian, chol.hessian) <= TOL[dtype]


def test_multi_target_scores_equal_stacked_single_scores(data):
    m, X, _ = fit(data)
    inf = su.Influence(m, X, data.y)
    tl = [make_target(k, data) for k in KINDS]
    S = inf.scores(tl)
    assert S.shape == (data.n, len(KINDS))
    single = np.column_stack([inf.scores(t) for t in tl])
    np.testing.assert_allclose(S, single, rtol=1e-12, atol=1e-15 * np.abs(single).max())
    assert inf.scores(tuple(tl[:2])).shape == (data.n, 2)
    assert inf.scores([tl[1]]).shape == (data.n, 1)


def test_scores_do_not_depend_on_thread_count(data):
    m, X, _ = fit(data)
    t = T.EqualOpportunity(data.Xv, data.yv, data.sv)
    s1 = su.Influence(m, X, data.y, n_threads=1).scores(t)
    s2 = su.Influence(m, X, data.y, n_threads=2).scores(t)
    assert rel(s1, s2) <= 1e-12


def test_scores_are_first_order_change_on_deletion(data):
    """Removal convention against exact refits: deleting a sample with a large |score| moves the
    target by about that score, with the same sign."""
    m, X, _ = fit(data, C=0.3)
    inf = su.Influence(m, X, data.y)
    for kind in ("dp", "eop"):
        t = make_target(kind, data)
        sc = inf.scores(t)
        f0 = t.value(m)
        for i in np.argsort(-np.abs(sc))[:3]:
            e = np.zeros(data.n)
            e[i] = -1.0
            actual = t.value(su.refit(m, X, data.y, e, tol=1e-13)) - f0
            assert np.sign(actual) == np.sign(sc[i])
            assert abs(actual - sc[i]) <= 0.1 * abs(sc[i])


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_target_value_and_gradient_match_reference(data, dtype, fit_intercept, kind):
    m, _, _ = fit(data, dtype, fit_intercept=fit_intercept)
    th = m.theta_.astype(np.float64)
    t = make_target(kind, data)
    Xt, yt, st = ref_target_data(kind, data, th, fit_intercept)
    tol = 1e-11 if dtype == np.float64 else 1e-4
    assert t.value(m) == pytest.approx(ref.target_value(kind, th, Xt, yt, st, fit_intercept), rel=tol)
    g = t.gradient(m)
    assert g.shape == th.shape
    assert rel(g, ref.target_gradient(kind, th, Xt, yt, st, fit_intercept)) <= tol
    v2, g2 = T.evaluate(t, m)
    assert v2 == t.value(m)
    np.testing.assert_array_equal(g2, g)


def test_robustness_points_are_fixed_at_first_model(data):
    m, X, _ = fit(data)
    rob = T.Robustness(data.Xv, data.yv)
    rob.value(m)  # binds the adversarial points to θ̂
    Xa = ref.mirror_attack(data.Xv, m.theta_)
    np.testing.assert_allclose(rob.adversarial_X, Xa, rtol=1e-12, atol=1e-12)
    # after unlearning, the value is measured on the same points, not re-attacked
    e = np.zeros(data.n)
    e[:20] = -1.0
    m2 = su.refit(m, X, data.y, e)
    assert rob.value(m2) == pytest.approx(ref.target_value("robustness", m2.theta_, Xa, data.yv), rel=1e-11)
    np.testing.assert_allclose(rob.adversarial_X, Xa, rtol=1e-12, atol=1e-12)
    # binding explicitly at construction gives the same points
    np.testing.assert_allclose(T.Robustness(data.Xv, data.yv, model=m).adversarial_X, Xa, rtol=1e-12, atol=1e-12)
    assert T.Robustness(data.Xv, data.yv, factor=1.0, model=m).value(m) == pytest.approx(
        ref.target_value("robustness", m.theta_, ref.mirror_attack(data.Xv, m.theta_, factor=1.0), data.yv),
        rel=1e-11)


def test_target_gradients_match_finite_differences(data):
    m, _, _ = fit(data)
    th = m.theta_
    h = 1e-6
    for kind in KINDS:
        t = make_target(kind, data)
        t.value(m)
        g = t.gradient(m)
        fd = np.empty_like(th)
        for j in range(th.size):
            e = np.zeros_like(th)
            e[j] = h
            fd[j] = (t.value(m._with_theta(th + e)) - t.value(m._with_theta(th - e))) / (2 * h)
        assert rel(g, fd) <= 1e-6, kind


def test_custom_target_and_value_gradient_pairs(data):
    m, X, _ = fit(data)
    inf = su.Influence(m, X, data.y)
    rng = np.random.default_rng(3)
    g = rng.normal(size=m.theta_.size)
    expected = ref.influence_scores(m.theta_, X, data.y, g, m.C)
    assert rel(inf.scores(T.Custom(g, value=0.5)), expected) <= 1e-9
    assert rel(inf.scores((0.5, g)), expected) <= 1e-9
    assert rel(inf.scores((np.float64(0.5), list(g))), expected) <= 1e-9
    S = inf.scores([(0.5, g), (1.0, 2 * g), T.DemographicParity(data.Xv, data.sv)])
    assert S.shape == (data.n, 3)
    assert rel(S[:, 0], expected) <= 1e-9 and rel(S[:, 1], 2 * expected) <= 1e-9

    class Duck:  # any object with value(model) and gradient(model) is a target
        def value(self, model):
            return 3.0

        def gradient(self, model):
            return g

    assert rel(inf.scores(Duck()), expected) <= 1e-9
    assert T.required_change(Duck(), m, 0.5) == 1.5
    assert T.required_change((0.5, g), m) == 0.5


def test_custom_target_given_only_a_gradient_can_be_scored(data):
    """Custom's docstring: "A target given by its gradient (and optionally its value)". Scores only need
    the gradient, so a value-less Custom target must be scorable."""
    m, X, _ = fit(data)
    inf = su.Influence(m, X, data.y)
    g = np.linspace(-1, 1, m.theta_.size)
    assert rel(inf.scores(T.Custom(g)), ref.influence_scores(m.theta_, X, data.y, g, m.C)) <= 1e-9
    assert inf.scores([T.Custom(g), T.Custom(-g)]).shape == (data.n, 2)


def test_required_change_sign_for_negative_and_positive_gaps(data):
    m, _, _ = fit(data)
    dp = T.DemographicParity(data.Xv, data.sv)
    dp_flipped = T.DemographicParity(data.Xv, 1 - data.sv)
    v = dp.value(m)
    assert v > 0  # s=1 is favoured by construction
    assert dp_flipped.value(m) == pytest.approx(-v, rel=1e-12)
    assert T.required_change(dp, m) == pytest.approx(v, rel=1e-12)
    assert T.required_change(dp_flipped, m) == pytest.approx(-v, rel=1e-12)  # raise a negative gap to 0
    assert T.required_change(dp_flipped, m, fraction=0.25) == pytest.approx(-0.25 * v, rel=1e-12)
    eop = T.EqualOpportunity(data.Xv, data.yv, 1 - data.sv)
    assert eop.value(m) < 0 and T.required_change(eop, m) == pytest.approx(eop.value(m), rel=1e-12)
    u = T.Utility(data.Xv, data.yv)
    assert T.required_change(u, m, fraction=0.1) == pytest.approx(0.1 * u.value(m), rel=1e-12)
    for bad in (0, -0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match="fraction"):
            T.required_change(dp, m, fraction=bad)


# ---------------------------------------------------------------------------------------------
# Applying weights
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_newton_update_matches_reference(data, dtype, fit_intercept, weighted):
    m, X, sw = fit(data, dtype, fit_intercept=fit_intercept, weighted=weighted)
    theta_before = m.theta_.copy()
    eps = np.random.default_rng(4).uniform(-1, 0.5, size=data.n)
    new = su.newton_update(m, X, data.y, eps, sample_weight=sw)
    expected = ref.newton_update(m.theta_.astype(np.float64), data.X, data.y, eps, m.C, fit_intercept,
                                 None if sw is None else sw.astype(np.float64))
    assert type(new) is type(m) and new is not m
    assert new.theta_.dtype == dtype
    assert rel(new.theta_ - theta_before, expected - theta_before) <= TOL[dtype] * (1e2 if dtype == np.float32 else 1)
    assert rel(new.theta_, expected) <= TOL[dtype]
    np.testing.assert_array_equal(m.theta_, theta_before)  # original untouched
    # the same update through a prebuilt Influence, and its parameter_change
    inf = su.Influence(m, X, data.y, sample_weight=sw)
    np.testing.assert_allclose(su.newton_update(m, X, data.y, eps, influence=inf).theta_, new.theta_,
                               rtol=1e-12 if dtype == np.float64 else 1e-5)
    assert rel(inf.parameter_change(eps), expected - theta_before) <= TOL[dtype] * (1e2 if dtype == np.float32 else 1)
    # the updated model predicts with its new parameters
    np.testing.assert_allclose(new.decision_function(X), X @ new.coef_[0] + new.intercept_[0],
                               rtol=1e-10 if dtype == np.float64 else 1e-4, atol=1e-5)


def test_newton_update_with_influence_of_other_model_is_refused(data):
    m, X, _ = fit(data)
    m2, _, _ = fit(data, C=0.2)
    with pytest.raises(ValueError, match="influence"):
        su.newton_update(m2, X, data.y, np.zeros(data.n), influence=su.Influence(m, X, data.y))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_newton_update_matches_exact_refit_for_small_eps(data, fit_intercept, weighted):
    m, X, sw = fit(data, fit_intercept=fit_intercept, weighted=weighted)
    eps = 1e-4 * np.random.default_rng(5).normal(size=data.n)
    new = su.newton_update(m, X, data.y, eps, sample_weight=sw)
    exact = su.refit(m, X, data.y, eps, sample_weight=sw, tol=1e-14)
    exact_ref = ref.refit(X, data.y, eps, m.C, fit_intercept, sw, theta0=m.theta_, tol=1e-14)
    d_exact = exact_ref - m.theta_
    assert rel(exact.theta_ - m.theta_, d_exact) <= 1e-5
    assert rel(new.theta_ - m.theta_, d_exact) <= 1e-3
    # the predicted first-order change of every target matches the exact change
    inf = su.Influence(m, X, data.y, sample_weight=sw)
    for kind in KINDS:
        t = make_target(kind, data)
        actual = t.value(exact) - t.value(m)
        assert inf.predicted_change(t, eps) == pytest.approx(-eps @ inf.scores(t), rel=1e-12)
        assert abs(inf.predicted_change(t, eps) - actual) <= 1e-3 * abs(actual), kind


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_refit_matches_reference(data, dtype, fit_intercept, weighted):
    m, X, sw = fit(data, dtype, fit_intercept=fit_intercept, weighted=weighted)
    theta_before = m.theta_.copy()
    rng = np.random.default_rng(6)
    eps = rng.uniform(-1, 1, size=data.n)
    eps[:15] = -1.0  # deletions
    new = su.refit(m, X, data.y, eps, sample_weight=sw)
    expected = ref.refit(data.X, data.y, eps, m.C, fit_intercept,
                         None if sw is None else sw.astype(np.float64), tol=1e-13)
    assert new is not m and new.theta_.dtype == dtype and new.converged_
    assert rel(new.theta_, expected) <= (1e-9 if dtype == np.float64 else 1e-4)
    np.testing.assert_array_equal(m.theta_, theta_before)


def test_refit_deleting_rows_equals_fit_without_them(data):
    m, X, _ = fit(data)
    drop = np.array([0, 7, 42, 199])
    eps = np.zeros(data.n)
    eps[drop] = -1.0
    keep = np.setdiff1d(np.arange(data.n), drop)
    expected = ref.fit(data.X[keep], data.y[keep], m.C, tol=1e-13)
    assert rel(su.refit(m, X, data.y, eps).theta_, expected) <= 1e-9
    # deletion moves a target by about −εᵀscore = Σ score over the deleted rows
    t = T.DemographicParity(data.Xv, data.sv)
    inf = su.Influence(m, X, data.y)
    predicted = inf.scores(t)[drop].sum()
    actual = t.value(m._with_theta(expected)) - t.value(m)
    assert abs(actual - predicted) <= 0.1 * abs(actual)


def test_fit_hessian_is_reused_only_at_the_fitted_theta():
    # the fit's cache is keyed by θ: output noise released on the fitted object itself moves θ away from it
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 4))
    X /= np.linalg.norm(X, axis=1).max()
    y = (X[:, 0] + 0.1 * rng.standard_normal(300) > 0).astype(float)
    exact = su.CertifiedLogisticRegression(sigma=0.1, noise="objective", random_state=0).fit(X, y)
    assert su.Influence(exact, X, y).reused_hessian  # objective noise releases the fitted θ itself
    noisy = su.CertifiedLogisticRegression(sigma=0.1, noise="output", random_state=0).fit(X, y)
    inf = su.Influence(noisy, X, y)
    assert not inf.reused_hessian
    fresh = su.Influence(noisy, X, y, reuse_hessian=False)
    np.testing.assert_array_equal(inf.hessian, fresh.hessian)


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
@pytest.mark.parametrize("copy", ["pickle", "deepcopy"])
def test_influence_pickles_and_copies_to_an_equal_object(solver, copy):
    import copy as copy_module
    import pickle

    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 4))
    y = (X[:, 0] + rng.standard_normal(200) > 0).astype(float)
    m = su.LogisticRegression().fit(X, y)
    inf = su.Influence(m, X, y, solver=solver)
    other = pickle.loads(pickle.dumps(inf)) if copy == "pickle" else copy_module.deepcopy(inf)
    # equal to rounding: the copied arrays may sit at another alignment, which changes Eigen's SIMD sums
    t = su.targets.Utility(X[:50], y[:50])
    np.testing.assert_allclose(other.scores(t), inf.scores(t), rtol=1e-12, atol=1e-15)
    eps = rng.uniform(-1, 0, 200)
    np.testing.assert_allclose(other.newton_update(eps).theta_, inf.newton_update(eps).theta_, rtol=1e-12,
                               atol=1e-15)

"""Fine-tuning (L-BFGS) and gradient ascent against independent oracles: the exact reweighted refit
(softunlearn.reference.refit, a NumPy/SciPy Newton fit), the reference objective and gradient, and a plain
NumPy implementation of the gradient-ascent iteration written here."""
import numpy as np
import pytest
import scipy.special

import softunlearn as su
from softunlearn import reference as ref


def _fit(data, dtype=np.float64, sw=None, fit_intercept=True):
    X = data.X.astype(dtype)
    return X, su.LogisticRegression(C=0.7, fit_intercept=fit_intercept).fit(X, data.y, sample_weight=sw)


def _eps(n, seed=3):
    rng = np.random.default_rng(seed)
    e = rng.uniform(-0.9, 1.5, size=n)
    e[:5] = -1.0  # some deletions
    return e


# ---- finetune ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_finetune_converges_to_the_reweighted_refit(data, fit_intercept, weighted):
    sw = data.sw if weighted else None
    X, m = _fit(data, sw=sw, fit_intercept=fit_intercept)
    eps = _eps(data.n)
    X0, eps0, th0 = X.copy(), eps.copy(), m.theta_.copy()
    ft = su.finetune(m, X, data.y, eps, sample_weight=sw)
    oracle = ref.refit(X, data.y, eps, C=0.7, fit_intercept=fit_intercept, sample_weight=sw, theta0=th0)
    assert ft.converged_ and ft.n_iter_ > 1
    np.testing.assert_allclose(ft.theta_, oracle, rtol=0, atol=1e-7 * (1 + np.abs(oracle).max()))
    np.testing.assert_allclose(ft.theta_, su.refit(m, X, data.y, eps, sample_weight=sw).theta_, atol=1e-7)
    # inputs untouched
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(eps, eps0)
    np.testing.assert_array_equal(m.theta_, th0)


@pytest.mark.parametrize("loss", ["smooth_hinge", "squared_hinge"])
def test_finetune_and_ascent_use_the_svm_loss(data, loss):
    m = su.LinearSVC(C=0.7, loss=loss, temperature=0.2).fit(data.X, data.y)
    eps = _eps(data.n)
    ft = su.finetune(m, data.X, data.y, eps)
    oracle = ref.refit(data.X, data.y, eps, C=0.7, theta0=m.theta_, loss=loss, temperature=0.2)
    assert isinstance(ft, su.LinearSVC) and ft.converged_
    np.testing.assert_allclose(ft.theta_, oracle, rtol=0, atol=1e-6 * (1 + np.abs(oracle).max()))
    # full retention turns the ascent into gradient descent on the same reweighted SVM objective
    ga = su.gradient_ascent(m, data.X, data.y, eps, retain=1.0, steps=5000, tol=1e-9)
    np.testing.assert_allclose(ga.theta_, oracle, rtol=0, atol=1e-4 * (1 + np.abs(oracle).max()))


def test_finetune_float32(data):
    X, m = _fit(data, np.float32)
    eps = _eps(data.n)
    ft = su.finetune(m, X, data.y, eps)
    assert ft.theta_.dtype == np.float32
    oracle = ref.refit(X.astype(np.float64), data.y, eps, C=0.7, theta0=m.theta_.astype(np.float64))
    np.testing.assert_allclose(ft.theta_, oracle, atol=2e-4 * (1 + np.abs(oracle).max()))


def test_finetune_max_iter_and_callback_values(data):
    X, m = _fit(data)
    eps = _eps(data.n)
    w = 1 + eps
    seen = []
    ft = su.finetune(m, X, data.y, eps, max_iter=3, callback=lambda info: seen.append(info))
    assert ft.n_iter_ == 3 and not ft.converged_ and not ft.unlearn_info_["stopped"]
    assert [i["iteration"] for i in seen] == [1, 2, 3]
    np.testing.assert_array_equal(seen[-1]["theta"], ft.theta_)
    prev = m.theta_
    for info in seen:
        th = info["theta"]
        assert info["objective"] == pytest.approx(ref.objective(th, X, data.y, C=0.7, sample_weight=w), rel=1e-12)
        g = ref.gradient(th, X, data.y, C=0.7, sample_weight=w)
        assert info["grad_norm"] == pytest.approx(np.abs(g).max(), rel=1e-9)
        assert info["step_norm"] == pytest.approx(np.linalg.norm(th - prev), rel=1e-9)
        prev = th
    # L-BFGS descends
    objs = [ref.objective(m.theta_, X, data.y, C=0.7, sample_weight=w)] + [i["objective"] for i in seen]
    assert all(b < a for a, b in zip(objs, objs[1:]))
    # three iterations are not the optimum
    full = su.refit(m, X, data.y, eps)
    assert np.abs(ft.theta_ - full.theta_).max() > 1e-6


def test_finetune_callback_stops_and_raises(data):
    X, m = _fit(data)
    eps = _eps(data.n)
    ft = su.finetune(m, X, data.y, eps, callback=lambda info: info["iteration"] == 2)
    assert ft.n_iter_ == 2 and ft.unlearn_info_["stopped"]

    def boom(info):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        su.finetune(m, X, data.y, eps, callback=boom)


def test_finetune_bad_input(data):
    X, m = _fit(data)
    with pytest.raises(ValueError, match="eps"):
        su.finetune(m, X, data.y, np.zeros(data.n - 1))
    with pytest.raises(ValueError, match="max_iter"):
        su.finetune(m, X, data.y, np.zeros(data.n), max_iter=-1)
    with pytest.raises(TypeError, match="callback"):
        su.finetune(m, X, data.y, np.zeros(data.n), callback=3)
    with pytest.raises(ValueError, match="eps"):  # only class 0 keeps weight
        su.finetune(m, X, data.y, np.where(data.y == 1, -1.0, 0.0))


# ---- gradient ascent ---------------------------------------------------------------------------------------


def _numpy_ascent(theta, X, y, v, C, retain, lr, steps, fit_intercept=True):
    """θ ← θ − lr ∇F, F = C Σ vᵢ ℓᵢ + retain·½‖w‖², written out directly."""
    Xa = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    R = np.ones(Xa.shape[1])
    if fit_intercept:
        R[-1] = 0
    th = theta.astype(np.float64).copy()
    for _ in range(steps):
        p = scipy.special.expit(Xa @ th)
        th = th - lr * (C * Xa.T @ (v * (p - y)) + retain * R * th)
    return th


@pytest.mark.parametrize("retain", [0.0, 0.5])
def test_gradient_ascent_hard_deletion_matches_numpy_iteration(data, retain):
    X, m = _fit(data, sw=data.sw)
    eps = np.zeros(data.n)
    eps[7] = -1.0  # delete one sample
    X0, th0 = X.copy(), m.theta_.copy()
    ga = su.gradient_ascent(m, X, data.y, eps, sample_weight=data.sw, lr=0.05, steps=20, retain=retain)
    v = data.sw * (eps + retain)
    expected = _numpy_ascent(th0, X, data.y, v, 0.7, retain, 0.05, 20)
    np.testing.assert_allclose(ga.theta_, expected, rtol=1e-10, atol=1e-12)
    assert ga.n_iter_ == 20
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(m.theta_, th0)
    # ascent raised the deleted sample's loss
    z0, z1 = m.decision_function(X[7:8]), ga.decision_function(X[7:8])
    assert ref.logistic_loss(z1, data.y[7:8]) > ref.logistic_loss(z0, data.y[7:8])


def test_gradient_ascent_auto_step_is_inverse_curvature(data):
    X, m = _fit(data)
    eps = _eps(data.n)
    retain = 0.25
    ga = su.gradient_ascent(m, X, data.y, eps, steps=3, retain=retain)
    # L = λ_max(C X̃ᵀ diag(max(1, |εᵢ+ρ|) ℓ''ᵢ) X̃ + max(1, ρ)R) from the reference Hessian (which adds R)
    H = ref.hessian(m.theta_, X, data.y, C=0.7, sample_weight=np.maximum(1, np.abs(eps + retain)))
    L = np.linalg.eigvalsh(H).max()
    # it bounds the training Hessian's top eigenvalue
    assert L >= np.linalg.eigvalsh(ref.hessian(m.theta_, X, data.y, C=0.7)).max()
    assert ga.unlearn_info_["curvature"] == pytest.approx(L, rel=1e-5)
    assert ga.unlearn_info_["lr"] == pytest.approx(1 / L, rel=1e-5)
    expected = _numpy_ascent(m.theta_, X, data.y, eps + retain, 0.7, retain, ga.unlearn_info_["lr"], 3)
    np.testing.assert_allclose(ga.theta_, expected, rtol=1e-9, atol=1e-12)


def test_gradient_ascent_first_order_direction(data):
    """One small step moves a target by −lr·Σᵢ εᵢ gᵢᵀ∇f (per-sample gradients and ∇f from the reference),
    and the step is −lr × a central finite difference of F."""
    X, m = _fit(data)
    th = m.theta_
    eps = su.soft_weights(np.arange(data.n) % 7 - 3.0, np.ones(data.n), 1.0, lam=1.0, lam_scale="absolute").eps
    lr = 1e-5
    ga = su.gradient_ascent(m, X, data.y, eps, lr=lr, steps=1)
    G = ref.per_sample_gradients(th, X, data.y, C=0.7)
    gf = ref.target_gradient("dp", th, data.Xv, s=data.sv)
    predicted = -lr * eps @ (G @ gf)
    actual = ref.target_value("dp", ga.theta_, data.Xv, s=data.sv) - ref.target_value("dp", th, data.Xv, s=data.sv)
    assert actual == pytest.approx(predicted, rel=1e-3)

    def F(t):
        z = np.hstack([X, np.ones((data.n, 1))]) @ t
        return 0.7 * np.sum(eps * ref.logistic_loss(z, data.y))

    h = 1e-6
    fd = np.array([(F(th + h * e) - F(th - h * e)) / (2 * h) for e in np.eye(th.size)])
    np.testing.assert_allclose((th - ga.theta_) / lr, fd, rtol=1e-6, atol=1e-6)


def test_gradient_ascent_with_full_retention_descends_to_the_refit(data):
    X, m = _fit(data)
    eps = _eps(data.n)
    ga = su.gradient_ascent(m, X, data.y, eps, retain=1.0, steps=5000, tol=1e-10)
    assert ga.converged_
    oracle = ref.refit(X, data.y, eps, C=0.7, theta0=m.theta_)
    np.testing.assert_allclose(ga.theta_, oracle, atol=1e-6)


def test_gradient_ascent_float32_callback_and_bad_input(data):
    X, m = _fit(data, np.float32)
    eps = np.zeros(data.n)
    eps[:10] = -1
    seen = []
    ga = su.gradient_ascent(m, X, data.y, eps, steps=4,
                            callback=lambda i: seen.append(i["objective"]) or len(seen) == 2)
    assert ga.theta_.dtype == np.float32 and ga.n_iter_ == 2 and ga.unlearn_info_["stopped"]
    expected = _numpy_ascent(m.theta_, X.astype(np.float64), data.y, eps, 0.7, 0.0, ga.unlearn_info_["lr"], 2)
    np.testing.assert_allclose(ga.theta_, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="lr"):
        su.gradient_ascent(m, X, data.y, eps, lr=-1.0)
    with pytest.raises(ValueError, match="retain"):
        su.gradient_ascent(m, X, data.y, eps, retain=-0.5)
    with pytest.raises(ValueError, match="steps"):
        su.gradient_ascent(m, X, data.y, eps, steps=1.5)

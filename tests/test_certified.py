"""Certified removal (Guo et al. 2020) and DVWU, against NumPy/SciPy oracles: softunlearn.reference's
gradient and Hessian on the remaining data, the Balle–Wang condition evaluated with scipy.stats, χ²
quantiles for the noise scale, and scikit-learn for the rescaling identity."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import LogisticRegression as SkLR

import softunlearn as su
from softunlearn import reference as ref
from softunlearn.methods.certified import (
    GAMMA_EXACT,
    BudgetExceededError,
    CertifiedLogisticRegression,
    UnitBallScaler,
    analytic_gaussian_sigma,
    certified_update,
    newton_step,
    noise_multiplier,
)
from softunlearn.methods.dvwu import data_value_weights, dvwu_remove, dvwu_update


def unit_data(n=300, d=5, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1).max()
    w = scale * rng.normal(size=d)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ w))).astype(np.int64)
    Xv = rng.normal(size=(200, d)) / math.sqrt(d) / 2
    yv = (rng.uniform(size=200) < 1 / (1 + np.exp(-Xv @ w))).astype(np.int64)
    return X, y, Xv, yv


def residual(theta, X, y, C, s_new, b=None):
    """‖∇J_b(θ; D')‖ with the reference gradient (D' = the data with weights s_new)."""
    g = ref.gradient(theta, X, y, C, False, s_new)
    return float(np.linalg.norm(g if b is None else g + b))


# ---- the residual bound ---------------------------------------------------------------------------
@pytest.mark.parametrize("C, bound, gamma", [(0.5, "guo", 0.25), (5.0, "guo", 0.25), (50.0, "guo", 0.25),
                                            (5.0, "taylor", GAMMA_EXACT), (50.0, "taylor", GAMMA_EXACT)])
def test_bound_exceeds_actual_residual_on_random_removals(C, bound, gamma):
    X, y, _, _ = unit_data(seed=int(C))
    n = X.shape[0]
    rng = np.random.default_rng(1)
    opts = dict(sigma=1.0, policy="flag", bound=bound, gamma=gamma)
    model = CertifiedLogisticRegression(C=C, epsilon=1.0, delta=1e-4, random_state=2, **opts).fit(X, y)
    for trial in range(40):
        kind = trial % 4
        eps = np.zeros(n)
        idx = rng.choice(n, size=int(rng.integers(1, 60)), replace=False)
        if kind == 0:  # hard removal
            eps[idx] = -1.0
        elif kind == 1:  # soft weights, up and down
            eps[idx] = rng.uniform(-1.0, 2.0, size=idx.size)
        step = None
        if kind == 2:  # DVWU-style step weights on a removal
            eps[idx] = -1.0
            step = -rng.uniform(0.3, 1.7, size=n) * (eps != 0)
        if kind == 3:  # removal with prior sample weights
            eps[idx] = -1.0
        sw = rng.uniform(0.2, 2.0, size=n) if kind == 3 else None
        base = model if sw is None else CertifiedLogisticRegression(C=C, random_state=3, **opts).fit(X, y, sw)
        new = base.reweight(X, y, eps, sw, step_eps=step)
        s_new = (np.ones(n) if sw is None else sw) * (1 + eps)
        actual = residual(new.theta_, X, y, C, s_new, base.b_)
        assert new.beta_ >= actual, (trial, new.beta_, actual)
        assert new.beta_ == pytest.approx(base.beta_ + new.last_bound_, rel=1e-12)
        # the bound is not vacuous: within a few hundred times the truth for a non-trivial change
        assert actual > 0 and new.last_bound_ < 1e3 * actual + 1e-6


def test_zero_noise_step_is_the_newton_step_on_the_remaining_data():
    X, y, _, _ = unit_data(seed=4)
    n, C = X.shape[0], 3.0
    model = su.LogisticRegression(C=C, fit_intercept=False).fit(X, y)
    th = model.theta_
    for eps in (np.r_[-np.ones(25), np.zeros(n - 25)], np.random.default_rng(0).uniform(-1, 1, n)):
        s_new = 1 + eps
        H = ref.hessian(th, X, y, C, False, s_new)
        expect = th - np.linalg.solve(H, ref.gradient(th, X, y, C, False, s_new))
        got = newton_step(th, X, y, eps, C=C).theta
        # Guo's step assumes ∇J(θ̂; D) = 0; the fit leaves ~1e-10 of it, which moves the step by H'⁻¹∇J(θ̂; D)
        fit_residual = np.linalg.norm(np.linalg.solve(H, ref.gradient(th, X, y, C, False)))
        np.testing.assert_allclose(got, expect, rtol=0, atol=2 * fit_residual + 1e-12)
        # the influence update uses the full-data Hessian: a different (first-order equivalent) step
        infl = su.Influence(model, X, y).newton_update(eps).theta_
        assert np.linalg.norm(infl - got) > 1e-6 * np.linalg.norm(got - th)


def test_objective_noise_removal_is_newton_step_on_perturbed_objective():
    X, y, _, _ = unit_data(seed=5)
    n, C = X.shape[0], 2.0
    m = CertifiedLogisticRegression(C=C, epsilon=1.0, delta=1e-4, sigma=3.0, random_state=0).fit(X, y)
    # the fit minimises J_b: reference gradient + b vanishes
    assert residual(m.theta_, X, y, C, np.ones(n), m.b_) < 1e-8
    idx = np.arange(0, n, 17)
    m2 = m.remove(X, y, idx)
    assert m2.certified_ and not m2.retrained_
    s_new = np.ones(n)
    s_new[idx] = 0
    th = m.theta_
    H = ref.hessian(th, X, y, C, False, s_new)
    expect = th - np.linalg.solve(H, ref.gradient(th, X, y, C, False, s_new) + m.b_)
    fit_residual = np.linalg.norm(np.linalg.solve(H, ref.gradient(th, X, y, C, False) + m.b_))
    np.testing.assert_allclose(m2.theta_, expect, rtol=0, atol=2 * fit_residual + 1e-12)
    keep = np.setdiff1d(np.arange(n), idx)  # the next request is served on the remaining rows
    m3 = m2.remove(X[keep], y[keep], [0, 1])
    assert m3.n_updates_ == 2 and m3.beta_ >= residual(m3.theta_, X[keep][2:], y[keep][2:], C, None, m.b_)


# ---- noise scale ----------------------------------------------------------------------------------
def test_noise_multiplier_matches_the_formulas():
    for eps, delta in [(0.1, 1e-4), (1.0, 1e-5), (10.0, 1e-4), (3.0, 0.01)]:
        c = math.sqrt(2 * math.log(1.5 / delta))
        sig = analytic_gaussian_sigma(1.0, eps, delta)

        def bw(s, eps=eps):  # Balle & Wang's δ(σ) for sensitivity 1, with scipy's normal cdf
            return scipy.stats.norm.cdf(0.5 / s - eps * s) - math.exp(eps) * scipy.stats.norm.cdf(-0.5 / s - eps * s)

        assert bw(sig) <= delta * (1 + 1e-9) and bw(sig * 0.999) > delta
        assert noise_multiplier("output", eps, delta) == sig
        assert noise_multiplier("objective", eps, delta) == pytest.approx(max(c / eps, sig), rel=1e-12)
        assert analytic_gaussian_sigma(2.5, eps, delta) == pytest.approx(2.5 * sig, rel=1e-9)
    # Guo's c/ε rules for small ε, the exact Gaussian scale for large ε
    assert noise_multiplier("objective", 0.1, 1e-4) == pytest.approx(math.sqrt(2 * math.log(1.5e4)) / 0.1)
    assert noise_multiplier("objective", 10.0, 1e-4) > math.sqrt(2 * math.log(1.5e4)) / 10.0


@pytest.mark.parametrize("noise", ["objective", "output"])
def test_noise_scale_matches_formula_statistically(noise):
    X, y, _, _ = unit_data(n=60, d=10, seed=6)
    eps, delta, budget = 0.5, 1e-4, 0.2
    sigma = noise_multiplier(noise, eps, delta) * budget
    draws = []
    rng = np.random.default_rng(123)
    for _ in range(150):
        m = CertifiedLogisticRegression(C=1.0, epsilon=eps, delta=delta, budget=budget, noise=noise,
                                        random_state=rng).fit(X, y)
        assert m.sigma_ == pytest.approx(sigma, rel=1e-12)
        draws.append(m.b_ if noise == "objective" else m.theta_ - m.theta_exact_)
    z = np.concatenate(draws)
    N = z.size
    # (N−1)s²/σ² ~ χ²(N−1) and √N·mean/σ ~ N(0, 1): accept unless the draw is a one-in-a-million event
    stat = (N - 1) * z.var(ddof=1) / sigma**2
    lo, hi = scipy.stats.chi2.ppf([5e-7, 1 - 5e-7], N - 1)
    assert lo < stat < hi
    assert abs(z.mean()) * math.sqrt(N) / sigma < scipy.stats.norm.ppf(1 - 5e-7)


# ---- budget and policy ----------------------------------------------------------------------------
def test_budget_accumulates_and_triggers_the_policy():
    X, y, _, _ = unit_data(n=400, seed=7)
    C = 5.0
    kw = dict(C=C, epsilon=1.0, delta=1e-4, sigma=5.0, random_state=0)
    m = CertifiedLogisticRegression(policy="raise", **kw).fit(X, y)
    Xc, yc, betas = X, y, [m.beta_]
    with pytest.raises(BudgetExceededError, match="exceeds the budget"):  # noqa: PT012 (raised by some removal)
        for _ in range(100):
            m = m.remove(Xc, yc, np.arange(2))
            Xc, yc = Xc[2:], yc[2:]
            betas.append(m.beta_)
            assert m.beta_ == pytest.approx(betas[-2] + m.last_bound_, rel=1e-12) and m.beta_ <= m.budget_
    assert len(betas) > 2 and np.all(np.diff(betas) > 0)
    # "flag": the uncertified Newton model, marked
    f = CertifiedLogisticRegression(policy="flag", **kw).fit(Xc, yc).remove(Xc, yc, np.arange(200))
    assert not f.certified_ and f.needs_retrain_ and f.beta_ > f.budget_
    # "retrain": exact minimiser of J_b on the remaining data with fresh noise; β restarts
    r0 = CertifiedLogisticRegression(policy="retrain", **kw).fit(Xc, yc)
    r = r0.remove(Xc, yc, np.arange(200))
    assert r.retrained_ and r.certified_ and r.beta_ < 1e-6
    assert not np.array_equal(r.b_, r0.b_)
    assert residual(r.theta_, Xc[200:], yc[200:], C, None, r.b_) < 1e-7


def test_plain_model_policies():
    X, y, _, _ = unit_data(seed=8)
    m = su.LogisticRegression(C=10.0, fit_intercept=False).fit(X, y)
    eps = np.zeros(X.shape[0])
    eps[:40] = -1
    with pytest.raises(BudgetExceededError):
        certified_update(m, X, y, eps, budget=1e-9, policy="raise")
    r = certified_update(m, X, y, eps, sigma=1e-12, policy="retrain", random_state=0)
    assert r.certificate_["retrained"]
    np.testing.assert_allclose(r.theta_, ref.refit(X, y, eps, 10.0, False), atol=1e-8)
    f = certified_update(m, X, y, eps, budget=1e-9, policy="flag")
    assert not f.certificate_["certified"]
    a = certified_update(m, X, y, eps, epsilon=1.0, delta=1e-5, random_state=0)  # per-request calibration
    c = a.certificate_
    assert c["certified"] and c["budget"] == c["beta"] and c["sigma"] == pytest.approx(
        analytic_gaussian_sigma(c["beta"], 1.0, 1e-5))


# ---- DVWU ----------------------------------------------------------------------------------------
def test_dvwu_with_unit_weights_is_guos_update():
    X, y, Xv, yv = unit_data(seed=9)
    m = CertifiedLogisticRegression(C=4.0, sigma=50.0, policy="raise", random_state=0).fit(X, y)
    idx = np.arange(10, 30)
    guo = m.remove(X, y, idx)
    assert np.array_equal(m.remove(X, y, idx, weights=np.ones(idx.size)).theta_, guo.theta_)
    d0 = dvwu_remove(m, X, y, idx, Xv=Xv, yv=yv, kappa=0.0)
    assert np.array_equal(d0.theta_, guo.theta_) and d0.beta_ == guo.beta_
    np.testing.assert_array_equal(d0.dvwu_weights_, np.ones(idx.size))
    # with κ > 0 the step differs and the bias term enters the bound
    d = dvwu_remove(m, X, y, idx, Xv=Xv, yv=yv, kappa=0.5)
    assert not np.allclose(d.theta_, guo.theta_) and d.last_step_.bias > 0 and guo.last_step_.bias == 0
    s_new = np.ones(X.shape[0])
    s_new[idx] = 0
    assert d.beta_ >= residual(d.theta_, X, y, 4.0, s_new, m.b_)
    # plain model, output noise: same seed, κ = 0 → the same released model as certified_update
    p = su.LogisticRegression(C=4.0, fit_intercept=False).fit(X, y)
    eps = np.where(np.isin(np.arange(X.shape[0]), idx), -1.0, 0.0)
    a = certified_update(p, X, y, eps, random_state=1, sigma=0.1)
    b = dvwu_update(p, X, y, eps, Xv=Xv, yv=yv, kappa=0.0, random_state=1, sigma=0.1)
    assert np.array_equal(a.theta_, b.theta_)


def test_data_value_weights_maps():
    rng = np.random.default_rng(0)
    v = rng.normal(size=31)
    kappa = 0.4
    ranks = np.empty(31)
    ranks[np.argsort(v)] = np.arange(31)  # distinct values: rank 0 … m−1
    np.testing.assert_allclose(data_value_weights(v, kappa), 1 - kappa * (2 * ranks / 30 - 1))
    mm = data_value_weights(v, kappa, mapping="minmax")
    np.testing.assert_allclose(mm, 1 - kappa * (2 * (v - v.min()) / (v.max() - v.min()) - 1))
    for w in (data_value_weights(v, kappa), mm):
        assert w.min() == pytest.approx(1 - kappa) and w.max() == pytest.approx(1 + kappa)
        assert w[np.argmax(v)] == pytest.approx(1 - kappa)  # most valuable: smallest unlearning step
    assert np.array_equal(data_value_weights(np.array([3.0]), 0.9), [1.0])
    np.testing.assert_allclose(data_value_weights(np.array([1.0, 1.0, 2.0]), 0.5), [1.25, 1.25, 0.5])
    np.testing.assert_allclose(data_value_weights(np.array([1.0, 2.0]), np.float32(0.5)), [1.5, 0.5])


@pytest.mark.parametrize("kappa", ["0.5", 0.5 + 0j, np.True_, True, 1.5, -0.1, float("nan"), np.array(0.5)])
def test_data_value_weights_needs_a_real_kappa_in_0_1(kappa):
    # A string used to be converted with float(), a complex number raised a TypeError from float().
    with pytest.raises(ValueError, match=r"kappa: expected a number in \[0, 1\]"):
        data_value_weights(np.arange(3.0), kappa)


def test_utility_values_are_validation_loss_increase_on_deletion():
    X, y, Xv, yv = unit_data(seed=10)
    m = su.LogisticRegression(C=2.0, fit_intercept=False).fit(X, y)
    v = su.methods.dvwu.utility_values(m, X, y, Xv, yv)
    top = int(np.argmax(np.abs(v)))
    eps = np.zeros(X.shape[0])
    eps[top] = -1
    loss = su.targets.Utility(Xv, yv)
    change = loss.value(su.refit(m, X, y, eps)) - loss.value(m)
    assert np.sign(change) == np.sign(v[top]) and change == pytest.approx(v[top], rel=0.2)


# ---- registry, pipeline, helpers -----------------------------------------------------------------
def test_soft_unlearner_certified_and_dvwu(make_data):
    dat = make_data(n=400, seed=3)
    sc = UnitBallScaler(add_constant=True).fit(dat.X)
    X, Xv = sc.transform(dat.X), sc.transform(dat.Xv)
    X0, Xv0 = X.copy(), Xv.copy()
    m = su.LogisticRegression(C=sc.scale_**2, fit_intercept=False).fit(X, dat.y)
    before = m.theta_.copy()
    out = su.SoftUnlearner("dp", method="certified", method_options={"epsilon": 1.0, "random_state": 0}).fit(
        m, X, dat.y, Xv, dat.yv, dat.sv)
    cert = out.model_.certificate_
    assert cert["certified"] and cert["epsilon"] == 1.0 and cert["sigma"] > 0
    newton = su.SoftUnlearner("dp", method="newton").fit(m, X, dat.y, Xv, dat.yv, dat.sv).model_
    assert np.linalg.norm(out.model_.theta_ - newton.theta_) < 10 * cert["sigma"] * math.sqrt(X.shape[1])
    d = su.SoftUnlearner("dp", method="dvwu", method_options={"Xv": Xv, "yv": dat.yv, "random_state": 0}).fit(
        m, X, dat.y, Xv, dat.yv, dat.sv)
    assert d.model_.certificate_["certified"]
    assert np.array_equal(m.theta_, before) and np.array_equal(X, X0) and np.array_equal(Xv, Xv0)
    with pytest.raises(ValueError, match="Xv, yv"):
        su.SoftUnlearner("dp", method="dvwu").fit(m, X, dat.y, Xv, dat.yv, dat.sv)
    with pytest.raises(ValueError, match="fit_intercept=False"):
        su.SoftUnlearner("dp", method="certified").fit(su.LogisticRegression().fit(X, dat.y), X, dat.y, Xv,
                                                       dat.yv, dat.sv)


def test_unit_ball_scaler_keeps_the_model_with_scaled_C():
    rng = np.random.default_rng(0)
    X = 3 * rng.normal(size=(200, 4))
    y = (rng.uniform(size=200) < 0.4).astype(int)
    sc = UnitBallScaler(add_constant=True)
    Xs = sc.fit_transform(X)
    assert Xs.shape == (200, 5) and np.linalg.norm(Xs, axis=1).max() == pytest.approx(1.0)
    k = sc.scale_
    ours = su.LogisticRegression(C=0.7 * k**2, fit_intercept=False).fit(Xs, y).theta_ / k
    sk = SkLR(C=0.7, fit_intercept=False, tol=1e-12, max_iter=10000).fit(np.hstack([X, np.ones((200, 1))]), y)
    np.testing.assert_allclose(ours, sk.coef_.ravel(), rtol=1e-5, atol=1e-7)


def test_float32_input():
    X, y, _, _ = unit_data(seed=11)
    X32 = X.astype(np.float32)
    m = CertifiedLogisticRegression(C=2.0, sigma=1.0, random_state=0).fit(X32, y)
    assert m.dtype == np.float64 and m.remove(X32, y, [0, 1]).certified_
    p = su.LogisticRegression(C=2.0, fit_intercept=False).fit(X32, y)
    eps = np.zeros(X.shape[0])
    eps[:3] = -1
    out = certified_update(p, X32, y, eps, random_state=0)
    assert out.dtype == np.float32 and out.certificate_["certified"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(epsilon=0.0, sigma=1.0), "epsilon"),
    (dict(epsilon=-1.0, sigma=1.0), "epsilon"),
    (dict(delta=0.0, sigma=1.0), "delta"),
    (dict(delta=1.0, sigma=1.0), "delta"),
    (dict(delta=1.5, sigma=1.0), "delta"),
    (dict(), "sigma, budget"),
    (dict(sigma=1.0, budget=1.0), "sigma, budget"),
    (dict(sigma=-1.0), "sigma"),
    (dict(sigma=1.0, fit_intercept=True), "fit_intercept=False"),
    (dict(sigma=1.0, noise="laplace"), "noise"),
    (dict(sigma=1.0, policy="ignore"), "policy"),
    (dict(sigma=1.0, gamma=0.05), "gamma"),
    (dict(sigma=1.0, bound="exact"), "bound"),
])
def test_bad_parameters(kwargs, match):
    X, y, _, _ = unit_data(n=50)
    with pytest.raises(ValueError, match=match):
        CertifiedLogisticRegression(**kwargs).fit(X, y)


def test_bad_inputs():
    X, y, Xv, yv = unit_data(n=80)
    with pytest.raises(ValueError, match="‖xᵢ‖₂ ≤ 1"):
        CertifiedLogisticRegression(sigma=1.0).fit(2 * X, y)
    m = CertifiedLogisticRegression(sigma=1.0, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="‖xᵢ‖₂ ≤ 1"):
        m.remove(2 * X, y, [0])
    with pytest.raises(ValueError, match="eps"):
        m.reweight(X, y, np.full(80, -1.5))
    with pytest.raises(ValueError, match="idx"):
        m.remove(X, y, [80])
    with pytest.raises(ValueError, match="weights"):
        m.remove(X, y, [0, 1], weights=[1.0])
    with pytest.raises(ValueError, match="carries its own"):
        certified_update(m, X, y, np.zeros(80), epsilon=2.0)
    with pytest.raises(ValueError, match="kappa"):
        dvwu_remove(m, X, y, [0, 1], Xv=Xv, yv=yv, kappa=1.5)
    with pytest.raises(ValueError, match="mapping"):
        data_value_weights([1.0, 2.0], 0.5, mapping="softmax")
    p = su.LogisticRegression(fit_intercept=False).fit(X, y)
    for bad in (dict(epsilon=0), dict(delta=2.0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            certified_update(p, X, y, np.zeros(80), **bad)
    with pytest.raises(ValueError, match="‖xᵢ‖₂ ≤ 1"):
        certified_update(su.LogisticRegression(fit_intercept=False).fit(2 * X, y), 2 * X, y, np.zeros(80))


def test_cli_run_certified(tmp_path, capsys):
    import json

    from softunlearn import cli, datasets

    if datasets.available().get("adult") is None:
        pytest.skip(f"Adult not installed ({datasets.install_hint('adult')})")
    assert cli.main(["run", "--n-train", "1000", "--method", "certified", "--certified-epsilon", "10", "--json",
                     "--no-plots", "--out", str(tmp_path)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["config"]["fit_intercept"] is False and rep["config"]["certified_epsilon"] == 10
    for name in ("hard", "soft"):
        c = rep["certificates"][name]
        assert c["certified"] and c["sigma"] == pytest.approx(analytic_gaussian_sigma(c["beta"], 10, 1e-5))


# ---- released models against independent oracles (issue 15): the Newton step, the bound, the noise -----
# ref.certified_newton_step / certified_residual_bound / analytic_gaussian_sigma / data_value_weights are
# NumPy/SciPy re-derivations (np.linalg.solve on the remaining data's Hessian, an SVD for ‖A‖₂, Brent's
# method on the Balle–Wang condition, ranks counted directly); the released noise is redrawn from the seed.
def _soft_request(n, seed):
    rng = np.random.default_rng(seed)
    eps = np.zeros(n)
    eps[:20] = -1.0  # deletions
    eps[20:60] = rng.uniform(-0.8, 1.5, size=40)  # soft weights, down and up
    return eps


def _assert_released(theta, expect, rtol=1e-9):
    np.testing.assert_allclose(theta, expect, rtol=0, atol=rtol * np.linalg.norm(expect))


@pytest.mark.parametrize("weighted", [False, True])
def test_certified_update_releases_the_remaining_data_newton_step_plus_the_seeded_noise(weighted):
    X, y, _, _ = unit_data(n=300, d=6, seed=12)
    n, C = X.shape[0], 4.0
    sw = np.random.default_rng(5).uniform(0.5, 1.5, n) if weighted else None
    m = su.LogisticRegression(C=C, fit_intercept=False).fit(X, y, sample_weight=sw)
    eps = _soft_request(n, 6)
    newton = ref.certified_newton_step(m.theta_, X, y, eps, C, sw)
    start, bias, rem = ref.certified_residual_bound(m.theta_, X, y, eps, C, sw)
    assert bias == 0 and rem > 0
    beta = start + bias + rem
    p = X.shape[1]
    # per-request calibration: σ = σ_AGM(β, ε, δ)
    out = certified_update(m, X, y, eps, sample_weight=sw, epsilon=1.0, delta=1e-5, random_state=7)
    c = out.certificate_
    assert c["certified"] and not c["retrained"]
    assert c["beta"] == pytest.approx(beta, rel=1e-9) and c["bound"] == pytest.approx(bias + rem, rel=1e-9)
    sigma = ref.analytic_gaussian_sigma(beta, 1.0, 1e-5)
    assert c["sigma"] == pytest.approx(sigma, rel=1e-9)
    _assert_released(out.theta_, newton + np.random.default_rng(7).normal(0.0, c["sigma"], p))
    # a fixed σ (Guo's setting) that covers β: the same step, that σ's noise
    fixed = certified_update(m, X, y, eps, sample_weight=sw, sigma=2 * sigma, random_state=8)
    assert fixed.certificate_["sigma"] == 2 * sigma and not fixed.certificate_["retrained"]
    _assert_released(fixed.theta_, newton + np.random.default_rng(8).normal(0.0, 2 * sigma, p))
    # "flag" past the budget: the uncertified Newton step, still released with the noise
    flag = certified_update(m, X, y, eps, sample_weight=sw, sigma=0.5 * sigma, policy="flag", random_state=9)
    assert not flag.certificate_["certified"]
    _assert_released(flag.theta_, newton + np.random.default_rng(9).normal(0.0, 0.5 * sigma, p))


def test_certified_update_noise_has_the_calibrated_distribution():
    """θ_released − θ_Newton (oracle) over 400 seeds: N(0, σ²I) with σ = σ_AGM(β) of the oracle's β.

    Small C and 4 deletions keep σ (0.075) below the step (‖v‖ = 0.12): a released θ̂ + noise (no Newton
    step) shifts the mean by up to 22 standard errors per coordinate; dropped, halved or doubled noise fails the
    variance test."""
    X, y, _, _ = unit_data(n=200, d=5, seed=13)
    n, C = X.shape[0], 0.5
    m = su.LogisticRegression(C=C, fit_intercept=False, tol=1e-14).fit(X, y)
    eps = np.zeros(n)
    eps[:4] = -1.0
    newton = ref.certified_newton_step(m.theta_, X, y, eps, C)
    sigma = ref.analytic_gaussian_sigma(sum(ref.certified_residual_bound(m.theta_, X, y, eps, C)), 1.0, 1e-5)
    Z = np.array([certified_update(m, X, y, eps, epsilon=1.0, delta=1e-5, random_state=seed).theta_ - newton
                  for seed in range(400)])
    N, p = Z.shape
    # the test has power against a skipped step: its mean shift alone would give a χ²(p) statistic > 10× the cut
    assert N * np.sum((newton - m.theta_) ** 2) / sigma**2 > 10 * scipy.stats.chi2.ppf(1 - 1e-6, p)
    # per coordinate √N·mean/σ ~ N(0, 1): Σ over coordinates ~ χ²(p); Σ (z − mean)²/σ² ~ χ²(p(N − 1))
    mean_stat = float(np.sum((math.sqrt(N) * Z.mean(axis=0) / sigma) ** 2))
    var_stat = float(np.sum((Z - Z.mean(axis=0)) ** 2) / sigma**2)
    assert mean_stat < scipy.stats.chi2.ppf(1 - 1e-6, p)
    lo, hi = scipy.stats.chi2.ppf([5e-7, 1 - 5e-7], p * (N - 1))
    assert lo < var_stat < hi


@pytest.mark.parametrize("noise", ["output", "objective"])
def test_certified_model_noise_and_removal_step_against_oracles(noise):
    X, y, _, _ = unit_data(n=300, d=6, seed=14)
    n, C, sigma, seed = X.shape[0], 1.0, 4.0, 21
    m = CertifiedLogisticRegression(C=C, epsilon=1.0, delta=1e-4, sigma=sigma, noise=noise, policy="raise",
                                    random_state=seed).fit(X, y)
    rng = np.random.default_rng(seed)  # the model's noise stream: one draw at fit, one per release
    first = rng.normal(0.0, sigma, X.shape[1])
    if noise == "objective":
        np.testing.assert_array_equal(m.b_, first)
        assert residual(m.theta_, X, y, C, np.ones(n), m.b_) < 1e-8  # θ̂ minimises J_b
    else:
        assert m.b_ is None and residual(m.theta_exact_, X, y, C, np.ones(n)) < 1e-8
        _assert_released(m.theta_, m.theta_exact_ + first)
    eps = np.zeros(n)
    eps[:6] = -1.0
    eps[6:16] = np.random.default_rng(15).uniform(-0.5, 1.0, size=10)
    new = m.reweight(X, y, eps)
    newton = ref.certified_newton_step(m.theta_exact_, X, y, eps, C)
    _, bias, rem = ref.certified_residual_bound(m.theta_exact_, X, y, eps, C)
    assert new.certified_ and new.last_bound_ == pytest.approx(bias + rem, rel=1e-9)
    assert new.beta_ == pytest.approx(m.beta_ + bias + rem, rel=1e-9)
    _assert_released(new.theta_exact_, newton)
    _assert_released(new.theta_, newton + (rng.normal(0.0, sigma, X.shape[1]) if noise == "output" else 0.0))


# ---- DVWU with κ > 0 against the oracle of the value-to-weight map and of the weighted step ----------
def _utility_values_oracle(theta, X, y, Xv, yv, C, sw=None):
    """vᵢ = gᵢᵀH⁻¹∇Σ_V ℓ from softunlearn.reference (no intercept)."""
    return ref.influence_scores(theta, X, y, ref.target_gradient("utility", theta, Xv, yv, fit_intercept=False),
                                C, False, sw)


@pytest.mark.parametrize("mapping", ["rank", "minmax"])
@pytest.mark.parametrize("source", ["validation", "values_with_ties"])
def test_dvwu_update_weights_and_step_against_oracle(mapping, source):
    X, y, Xv, yv = unit_data(n=300, d=6, seed=16)
    n, C, kappa = X.shape[0], 4.0, 0.6
    sw = np.random.default_rng(3).uniform(0.5, 1.5, n)
    m = su.LogisticRegression(C=C, fit_intercept=False).fit(X, y, sample_weight=sw)
    eps = _soft_request(n, 17)
    moved = np.flatnonzero(eps != 0)
    if source == "validation":
        values = _utility_values_oracle(m.theta_, X, y, Xv, yv, C, sw)
        kw = dict(Xv=Xv, yv=yv)
    else:
        values = np.round(np.random.default_rng(4).normal(size=n), 1)  # many ties among the 60 moved rows
        assert np.unique(values[moved]).size < moved.size
        kw = dict(values=values)
    omega = ref.data_value_weights(values[moved], kappa, mapping)
    # the map's direction: the most valuable moved row gets the smallest step 1 − κ, the least the largest
    assert omega[np.argmax(values[moved])] == pytest.approx(1 - kappa)
    assert omega[np.argmin(values[moved])] == pytest.approx(1 + kappa)
    step = np.zeros(n)
    step[moved] = omega * eps[moved]
    newton = ref.certified_newton_step(m.theta_, X, y, eps, C, sw, step_eps=step)
    start, bias, rem = ref.certified_residual_bound(m.theta_, X, y, eps, C, sw, step_eps=step)
    assert bias > 0
    out = dvwu_update(m, X, y, eps, kappa=kappa, mapping=mapping, sample_weight=sw, epsilon=1.0, delta=1e-5,
                      random_state=11, **kw)
    np.testing.assert_allclose(out.dvwu_weights_, omega, rtol=1e-12, atol=1e-12)
    c = out.certificate_
    assert c["certified"] and not c["retrained"]
    assert c["beta"] == pytest.approx(start + bias + rem, rel=1e-9)
    assert c["sigma"] == pytest.approx(ref.analytic_gaussian_sigma(start + bias + rem, 1.0, 1e-5), rel=1e-9)
    _assert_released(out.theta_, newton + np.random.default_rng(11).normal(0.0, c["sigma"], X.shape[1]))
    # and it is not Guo's step (ω = 1): the weights matter at this tolerance
    guo = ref.certified_newton_step(m.theta_, X, y, eps, C, sw)
    assert np.linalg.norm(newton - guo) > 1e-3 * np.linalg.norm(newton - m.theta_)


def test_dvwu_remove_objective_noise_against_oracle():
    X, y, Xv, yv = unit_data(n=300, d=6, seed=18)
    n, C, kappa = X.shape[0], 2.0, 0.8
    m = CertifiedLogisticRegression(C=C, epsilon=1.0, delta=1e-4, sigma=20.0, policy="raise",
                                    random_state=0).fit(X, y)
    idx = np.arange(5, 45, 2)
    v = _utility_values_oracle(m.theta_, X, y, Xv, yv, C)
    omega = ref.data_value_weights(v[idx], kappa, "rank")
    eps = np.zeros(n)
    eps[idx] = -1.0
    step = np.zeros(n)
    step[idx] = -omega
    d = dvwu_remove(m, X, y, idx, Xv=Xv, yv=yv, kappa=kappa)
    np.testing.assert_allclose(d.dvwu_weights_, omega, rtol=1e-12, atol=1e-12)
    _, bias, rem = ref.certified_residual_bound(m.theta_, X, y, eps, C, step_eps=step)
    assert d.certified_ and d.last_bound_ == pytest.approx(bias + rem, rel=1e-9)
    _assert_released(d.theta_, ref.certified_newton_step(m.theta_, X, y, eps, C, step_eps=step))


def test_reference_value_weights_and_agm_oracles_agree_with_the_formulas():
    """The oracles themselves: ranks of distinct values are argsort positions; σ_AGM meets its condition."""
    v = np.random.default_rng(0).normal(size=9)
    ranks = np.empty(9)
    ranks[np.argsort(v)] = np.arange(9)
    np.testing.assert_allclose(ref.data_value_weights(v, 0.3), 1 - 0.3 * (ranks / 4 - 1), rtol=1e-15)
    # tied: rank 2.5
    np.testing.assert_allclose(ref.data_value_weights([2.0, 1.0, 2.0, 0.0], 1.0), [1 / 3, 4 / 3, 1 / 3, 2.0])
    np.testing.assert_allclose(ref.data_value_weights([5.0, 5.0], 0.5, "minmax"), [1.0, 1.0])
    for eps, delta in [(0.1, 1e-4), (1.0, 1e-5), (10.0, 1e-4)]:
        s = ref.analytic_gaussian_sigma(1.0, eps, delta)
        bw = scipy.stats.norm.cdf(0.5 / s - eps * s) - math.exp(eps) * scipy.stats.norm.cdf(-0.5 / s - eps * s)
        assert bw == pytest.approx(delta, rel=1e-8)
        assert analytic_gaussian_sigma(1.0, eps, delta) == pytest.approx(s, rel=1e-9)


def test_hessian_free_fit_is_refused_with_a_clear_error(monkeypatch):
    """A problem too wide for a dense Hessian in memory is fitted Hessian-free; the certified model needs
    the dense Hessian anyway and says so before fitting (it used to fail with an AttributeError)."""
    import softunlearn._solver_choice as solver_choice

    X, y, _, _ = unit_data(n=60, d=4, seed=2)
    monkeypatch.setattr(solver_choice, "fit_hessian_free", lambda *args, **kwargs: True)
    with pytest.raises(ValueError, match="fitted Hessian-free"):
        CertifiedLogisticRegression(C=1.0, epsilon=1.0, delta=1e-4, sigma=1.0, random_state=0).fit(X, y)

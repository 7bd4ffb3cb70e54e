"""Tests of the pure NumPy reference (python/softunlearn/reference.py).

The reference is the oracle for everything else, so it is checked against
independent ground truth: scikit-learn fits, finite differences, exact
leave-one-out refits, a generic QP solver (cvxpy + Clarabel) and fairlearn.
"""

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr

_p = pathlib.Path(__file__).resolve().parents[1] / "python" / "softunlearn" / "reference.py"
try:
    from softunlearn import reference as ref
except ImportError:
    _s = importlib.util.spec_from_file_location("su_reference", _p)
    ref = importlib.util.module_from_spec(_s)
    _s.loader.exec_module(ref)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def make_data(n=200, d=5, seed=0, with_s=True):
    """Synthetic logistic data with a sensitive attribute correlated with x0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    s = (X[:, 0] + 0.8 * rng.normal(size=n) > 0).astype(float)
    w = rng.normal(size=d)
    z = X @ w + 0.3 + 0.7 * s
    y = (rng.uniform(size=n) < ref.sigmoid(z)).astype(float)
    return X, y, s


def rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(b), 1e-300)


def central_fd(f, x, h=1e-6):
    """Central finite-difference gradient of scalar f (or Jacobian of vector f) at x."""
    x = np.asarray(x, dtype=float)
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


CASES = [  # (C, fit_intercept, weighted)
    (1.0, True, False),
    (0.3, False, False),
    (2.0, True, True),
    (0.7, False, True),
]


def weights_for(n, weighted, seed=1):
    if not weighted:
        return None
    return np.random.default_rng(seed).uniform(0.2, 2.0, size=n)


# ---------------------------------------------------------------------------
# Basic functions
# ---------------------------------------------------------------------------


def test_augment_and_sigmoid_loss():
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    Xa = ref.augment(X, True)
    assert Xa.dtype == np.float64 and Xa.shape == (3, 3)
    np.testing.assert_array_equal(Xa[:, -1], 1.0)
    X2 = ref.augment(X, False)
    assert X2.dtype == np.float64 and not np.shares_memory(X2, X)
    Xd = np.ones((2, 2))
    assert not np.shares_memory(ref.augment(Xd, False), Xd)

    z = np.array([-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = ref.sigmoid(z)
        loss1 = ref.logistic_loss(z, np.ones_like(z))
        loss0 = ref.logistic_loss(z, np.zeros_like(z))
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p[2:5], 1 / (1 + np.exp(-z[2:5])), rtol=1e-15)
    np.testing.assert_allclose(p + ref.sigmoid(-z), 1.0, rtol=1e-15)
    assert ref.sigmoid(0.0) == 0.5
    # l(z,1) = log(1+e^{-z}), l(z,0) = log(1+e^{z})
    np.testing.assert_allclose(loss1, np.logaddexp(0, -z), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(loss0, np.logaddexp(0, z), rtol=1e-14)
    np.testing.assert_allclose(loss1[-1], 0.0, atol=1e-300)
    np.testing.assert_allclose(loss1[0], 800.0, rtol=1e-15)
    # accurate in the tail, where logaddexp(0, z) - z cancels
    np.testing.assert_allclose(ref.logistic_loss(30.0, 1.0), np.log1p(np.exp(-30.0)), rtol=1e-14)
    # same function as logaddexp(0, z) - y z for any real y
    zz = np.linspace(-5, 5, 11)
    for yy in (0.0, 0.3, 1.0, 1.7):
        np.testing.assert_allclose(ref.logistic_loss(zz, yy), np.logaddexp(0, zz) - yy * zz, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("C,fit_intercept,weighted", CASES)
def test_gradient_and_hessian_finite_differences(C, fit_intercept, weighted):
    X, y, _ = make_data(n=60, d=4, seed=3)
    sw = weights_for(len(y), weighted)
    p = X.shape[1] + fit_intercept
    theta = np.random.default_rng(5).normal(scale=0.5, size=p)
    args = dict(C=C, fit_intercept=fit_intercept, sample_weight=sw)

    g = ref.gradient(theta, X, y, **args)
    g_fd = central_fd(lambda t: ref.objective(t, X, y, **args), theta, h=1e-5)
    np.testing.assert_allclose(g, g_fd, rtol=1e-7, atol=1e-7)

    H = ref.hessian(theta, X, y, **args)
    H_fd = central_fd(lambda t: ref.gradient(t, X, y, **args), theta, h=1e-5)
    np.testing.assert_allclose(H, H_fd, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(H, H.T)

    H_e = ref.hessian_einsum(theta, X, y, **args)
    np.testing.assert_allclose(H, H_e, rtol=1e-12, atol=1e-12)

    # the per-sample gradients sum to the data part of the gradient
    G = ref.per_sample_gradients(theta, X, y, **args)
    assert G.shape == (len(y), p)
    reg = theta.copy()
    if fit_intercept:
        reg[-1] = 0.0
    np.testing.assert_allclose(G.sum(axis=0) + reg, g, rtol=1e-12, atol=1e-12)
    # regulariser: identity on w, 0 on the (unpenalised) intercept
    Xa = ref.augment(X, fit_intercept)
    sv = np.ones(len(y)) if sw is None else sw
    pr = ref.sigmoid(Xa @ theta)
    data_part = C * (Xa * (sv * pr * (1 - pr))[:, None]).T @ Xa
    reg_diag = np.ones(p)
    if fit_intercept:
        reg_diag[-1] = 0.0
    np.testing.assert_allclose(H - data_part, np.diag(reg_diag), atol=1e-12)


# ---------------------------------------------------------------------------
# Fit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("C,fit_intercept,weighted", CASES)
def test_fit_matches_sklearn(C, fit_intercept, weighted):
    from sklearn.linear_model import LogisticRegression

    X, y, _ = make_data(n=300, d=6, seed=11)
    sw = weights_for(len(y), weighted)
    theta = ref.fit(X, y, C=C, fit_intercept=fit_intercept, sample_weight=sw)
    assert theta.shape == (X.shape[1] + fit_intercept,)
    g = ref.gradient(theta, X, y, C=C, fit_intercept=fit_intercept, sample_weight=sw)
    assert np.max(np.abs(g)) < 1e-9

    for solver in ("newton-cholesky", "lbfgs"):
        clf = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-12, solver=solver, max_iter=10000)
        clf.fit(X, y, sample_weight=sw)
        sk = np.concatenate([clf.coef_.ravel(), clf.intercept_]) if fit_intercept else clf.coef_.ravel()
        assert rel(theta, sk) < 1e-6, (solver, theta, sk)


def test_fit_warm_start_and_weights():
    X, y, _ = make_data(n=150, d=3, seed=2)
    th = ref.fit(X, y)
    # warm start at the optimum returns immediately (gradient already at float64 floor)
    th2 = ref.fit(X, y, theta0=th)
    np.testing.assert_allclose(th2, th, rtol=1e-10, atol=1e-12)
    # integer weights == duplicated rows
    sw = np.ones(len(y))
    sw[:10] = 2.0
    th_w = ref.fit(X, y, sample_weight=sw)
    th_dup = ref.fit(np.vstack([X, X[:10]]), np.concatenate([y, y[:10]]))
    np.testing.assert_allclose(th_w, th_dup, rtol=1e-9, atol=1e-11)
    # zero weight == removed row
    sw0 = np.ones(len(y))
    sw0[7] = 0.0
    np.testing.assert_allclose(ref.fit(X, y, sample_weight=sw0), ref.fit(np.delete(X, 7, 0), np.delete(y, 7)),
                               rtol=1e-9, atol=1e-11)


def test_fit_raises_when_not_converged():
    X, _, _ = make_data(n=40, d=2, seed=4)
    y = np.ones(40)  # single class: intercept diverges (not penalised)
    with pytest.raises(RuntimeError):
        ref.fit(X, y, max_iter=20)
    with pytest.raises(ValueError, match="C must be > 0"):
        ref.fit(X, y, C=0.0)


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ref.TARGET_KINDS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_target_gradients_finite_differences(kind, fit_intercept):
    X, y, s = make_data(n=120, d=4, seed=7)
    theta = np.random.default_rng(8).normal(size=X.shape[1] + fit_intercept)
    Xt = ref.mirror_attack(X, theta, fit_intercept) if kind == "robustness" else X
    f = lambda t: ref.target_value(kind, t, Xt, y, s, fit_intercept)  # noqa: E731
    g = ref.target_gradient(kind, theta, Xt, y, s, fit_intercept)
    assert g.shape == theta.shape
    np.testing.assert_allclose(g, central_fd(f, theta, h=1e-6), rtol=1e-6, atol=1e-8)


def test_target_values_by_hand():
    X, y, s = make_data(n=100, d=3, seed=9)
    th = ref.fit(X, y)
    Xa = ref.augment(X, True)
    p = ref.sigmoid(Xa @ th)
    loss = -y * np.log(p) - (1 - y) * np.log(1 - p)
    np.testing.assert_allclose(ref.target_value("utility", th, X, y), loss.sum(), rtol=1e-12)
    np.testing.assert_allclose(ref.target_value("dp", th, X, s=s), p[s == 1].mean() - p[s == 0].mean(), rtol=1e-12)
    eop = loss[(s == 0) & (y == 1)].mean() - loss[(s == 1) & (y == 1)].mean()
    np.testing.assert_allclose(ref.target_value("eop", th, X, y, s), eop, rtol=1e-12)
    with pytest.raises(ValueError, match=r"a group \(s == 0 or s == 1\) is empty"):
        ref.target_value("dp", th, X, s=np.ones(len(y)))
    with pytest.raises(ValueError, match="kind must be one of"):
        ref.target_value("nope", th, X, y)


def test_mirror_attack():
    X, y, _ = make_data(n=50, d=3, seed=1)
    th = ref.fit(X, y)
    w, b = th[:-1], th[-1]
    Xa = ref.mirror_attack(X, th)
    assert Xa.shape == X.shape
    # margin is mapped to -(factor-1) * margin, displacement is along w
    np.testing.assert_allclose(Xa @ w + b, -0.3 * (X @ w + b), rtol=1e-10, atol=1e-12)
    D = Xa - X
    np.testing.assert_allclose(D - np.outer(D @ w / (w @ w), w), 0.0, atol=1e-12)
    np.testing.assert_allclose(ref.mirror_attack(X, th, factor=1.0) @ w + b, 0.0, atol=1e-12)
    # without intercept b = 0
    th0 = ref.fit(X, y, fit_intercept=False)
    np.testing.assert_allclose(ref.mirror_attack(X, th0, fit_intercept=False) @ th0, -0.3 * (X @ th0), atol=1e-12)


# ---------------------------------------------------------------------------
# Influence, Newton update, refit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["utility", "dp"])
def test_influence_scores_vs_leave_one_out(kind):
    X, y, s = make_data(n=200, d=5, seed=21)
    Xv, yv, sv = make_data(n=300, d=5, seed=22)
    C = 1.0
    th = ref.fit(X, y, C=C)
    f0 = ref.target_value(kind, th, Xv, yv, sv)
    grad_f = ref.target_gradient(kind, th, Xv, yv, sv)
    scores = ref.influence_scores(th, X, y, grad_f, C=C)
    assert scores.shape == (len(y),)

    actual = np.empty(len(y))
    for i in range(len(y)):
        eps = np.zeros(len(y))
        eps[i] = -1.0
        th_i = ref.refit(X, y, eps, C=C, theta0=th)
        actual[i] = ref.target_value(kind, th_i, Xv, yv, sv) - f0
    rho = spearmanr(scores, actual).statistic
    assert rho >= 0.99, rho
    # first-order magnitude: close overall (high-leverage points are under-estimated by a
    # few tens of percent, as expected of a first-order method), tight for typical points
    assert rel(scores, actual) < 0.2, rel(scores, actual)
    assert np.median(np.abs(scores - actual) / np.abs(actual)) < 0.05
    assert 0.9 < (scores @ actual) / (scores @ scores) < 1.2
    # removal convention: the sign agrees (not the Koh-Liang up-weighting sign)
    assert np.corrcoef(scores, actual)[0, 1] > 0.99


def test_influence_scores_multi_target_and_weighted():
    X, y, s = make_data(n=80, d=3, seed=31)
    sw = weights_for(len(y), True)
    for fi in (True, False):
        th = ref.fit(X, y, C=0.5, fit_intercept=fi, sample_weight=sw)
        G = np.stack([ref.target_gradient(k, th, X, y, s, fi) for k in ("utility", "dp", "eop")], axis=1)
        S = ref.influence_scores(th, X, y, G, C=0.5, fit_intercept=fi, sample_weight=sw)
        assert S.shape == (len(y), 3)
        for j in range(3):
            np.testing.assert_allclose(S[:, j], ref.influence_scores(th, X, y, G[:, j], 0.5, fi, sw), rtol=1e-12)
        # explicit formula g_i^T H^-1 grad_f
        H = ref.hessian(th, X, y, 0.5, fi, sw)
        Gs = ref.per_sample_gradients(th, X, y, 0.5, fi, sw)
        np.testing.assert_allclose(S, Gs @ np.linalg.solve(H, G), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("C,fit_intercept,weighted", CASES)
def test_newton_update_vs_refit_small_eps(C, fit_intercept, weighted):
    X, y, s = make_data(n=200, d=5, seed=41)
    sw = weights_for(len(y), weighted)
    args = dict(C=C, fit_intercept=fit_intercept, sample_weight=sw)
    th = ref.fit(X, y, **args)
    eps = 1e-3 * np.random.default_rng(42).normal(size=len(y))
    th_n = ref.newton_update(th, X, y, eps, **args)
    th_r = ref.refit(X, y, eps, theta0=th, **args)
    assert rel(th_n - th, th_r - th) <= 1e-3
    assert rel(th_n, th_r) <= 1e-6
    # refit is the fit with weights s * (1 + eps)
    s0 = np.ones(len(y)) if sw is None else sw
    np.testing.assert_allclose(th_r, ref.fit(X, y, C, fit_intercept, s0 * (1 + eps)), rtol=1e-9, atol=1e-11)
    # predicted target change -eps^T score
    grad_f = ref.target_gradient("dp", th, X, y, s, fit_intercept)
    pred = -eps @ ref.influence_scores(th, X, y, grad_f, **args)
    true = ref.target_value("dp", th_r, X, y, s, fit_intercept) - ref.target_value("dp", th, X, y, s, fit_intercept)
    assert abs(pred - true) <= 1e-2 * abs(true)
    # input untouched
    th_copy = th.copy()
    ref.newton_update(th, X, y, eps, **args)
    np.testing.assert_array_equal(th, th_copy)


# ---------------------------------------------------------------------------
# Weight QP vs cvxpy
# ---------------------------------------------------------------------------


def qp_instance(seed, c_sign, n=30):
    rng = np.random.default_rng(seed)
    T = rng.normal(size=n)
    U = c_sign * 0.5 * T + rng.normal(size=n)
    assert np.sign(T @ U) == c_sign
    return T, U


def cvx_solve(T, U, delta, lam, scheme):
    """Each scheme's defining problem, oriented by sigma = sign(delta), solved by Clarabel."""
    import cvxpy as cp

    sig = 1.0 if delta >= 0 else -1.0
    To, do = sig * T, sig * delta
    e = cp.Variable(T.size)
    obj = -To @ e + lam * cp.sum_squares(e)
    cons = {
        "2.0": [],
        "2.1": [To @ e == do],
        "2.2": [U @ e == 0],
        "2.3": [To @ e == do, U @ e == 0],
        "auto": [-To @ e <= -do, -U @ e <= 0],
    }[scheme]
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert prob.status == cp.OPTIMAL, prob.status
    return e.value


@pytest.mark.parametrize("c_sign", [1, -1])
@pytest.mark.parametrize("delta_sign", [1, -1])
@pytest.mark.parametrize("regime", ["loose", "tight"])
def test_soft_weights_vs_cvxpy(c_sign, delta_sign, regime):
    for seed in range(3):
        T, U = qp_instance(100 * seed + 7, c_sign)
        a, b, c = T @ T, U @ U, T @ U
        gnorm2 = a if c * delta_sign >= 0 else a - c * c / b
        # loose: the unconstrained step already meets the target; tight: target constraint active
        lam = 0.3
        delta = delta_sign * (0.2 if regime == "loose" else 5.0) * gnorm2 / (2 * lam)
        for scheme in ref.SOFT_SCHEMES:
            eps = ref.soft_weights(T, U, delta, lam, scheme)
            eps_cvx = cvx_solve(T, U, delta, lam, scheme)
            assert rel(eps, eps_cvx) < 1e-6, (scheme, rel(eps, eps_cvx))
        # auto picks the expected branch
        eps = ref.soft_weights(T, U, delta, lam, "auto")
        sig = np.sign(delta)
        expected = {
            (True, "loose"): "2.0", (True, "tight"): "2.1",
            (False, "loose"): "2.2", (False, "tight"): "2.3",
        }[(c * sig >= 0, regime)]
        np.testing.assert_allclose(eps, ref.soft_weights(T, U, delta, lam, expected), rtol=1e-12, atol=1e-14)
        # and it is feasible for the oriented inequality constraints
        assert sig * (eps @ T) >= sig * delta - 1e-9 * abs(delta)
        assert eps @ U >= -1e-9 * np.sqrt(b * (eps @ eps))


def test_soft_weights_kkt_and_closed_forms():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = 20
        T = rng.normal(size=n)
        U = rng.uniform(-1, 1) * T + rng.normal(size=n)
        delta = rng.normal() * rng.choice([0.1, 1, 10])
        lam = 10 ** rng.uniform(-2, 2)
        eps = ref.soft_weights(T, U, delta, lam, "auto")
        sig = 1.0 if delta >= 0 else -1.0
        To, do = sig * T, sig * delta
        # primal feasibility
        t_slack = eps @ To - do
        u_slack = eps @ U
        assert t_slack >= -1e-9 * max(1, abs(do)) and u_slack >= -1e-9 * max(1, np.linalg.norm(eps))
        # stationarity with non-negative multipliers: -To + 2 lam eps = alpha To + beta U
        r = 2 * lam * eps - To
        (alpha, beta), *_ = np.linalg.lstsq(np.stack([To, U], 1), r, rcond=None)
        np.testing.assert_allclose(alpha * To + beta * U, r, atol=1e-9 * max(1, np.linalg.norm(r)))
        assert alpha >= -1e-9 and beta >= -1e-9
        # complementary slackness
        assert abs(alpha * t_slack) <= 1e-7 * max(1, abs(do)) and abs(beta * u_slack) <= 1e-7
    # the equality schemes satisfy their constraints with a signed delta
    T, U = qp_instance(5, -1)
    for d in (2.0, -2.0):
        np.testing.assert_allclose(ref.soft_weights(T, U, d, 1.0, "2.1") @ T, d)
        e23 = ref.soft_weights(T, U, d, 1.0, "2.3")
        np.testing.assert_allclose([e23 @ T, e23 @ U], [d, 0.0], atol=1e-12)
        np.testing.assert_allclose(ref.soft_weights(T, U, d, 1.0, "2.2") @ U, 0.0, atol=1e-12)
    # closed forms for delta > 0 are the table of docs/conventions.md verbatim
    a, b, c = T @ T, U @ U, T @ U
    np.testing.assert_allclose(ref.soft_weights(T, U, 1.0, 0.4, "2.0"), T / 0.8)
    np.testing.assert_allclose(ref.soft_weights(T, U, 1.0, 0.4, "2.2"), (T - c / b * U) / 0.8)
    np.testing.assert_allclose(ref.soft_weights(T, U, 1.5, 0.4, "2.3"), 1.5 * (b * T - c * U) / (a * b - c * c))


def test_soft_weights_degenerate():
    T = np.array([1.0, 2.0, -1.0])
    # T anti-parallel to U: cannot move the target without losing utility
    with pytest.raises(ValueError, match="scheme auto: infeasible"):
        ref.soft_weights(T, -2 * T, 1.0, 0.5, "auto")
    np.testing.assert_array_equal(ref.soft_weights(T, -2 * T, 0.0, 0.5, "auto"), 0.0)
    with pytest.raises(ValueError, match=r"T and U are \(nearly\) parallel"):
        ref.soft_weights(T, 3 * T, 1.0, 0.5, "2.3")
    with pytest.raises(ValueError, match="lam must be > 0"):
        ref.soft_weights(T, T, 1.0, 0.0, "auto")
    with pytest.raises(ValueError, match="scheme must be one of"):
        ref.soft_weights(T, T, 1.0, 0.5, "2.9")
    # U = 0: no utility constraint
    np.testing.assert_allclose(ref.soft_weights(T, 0 * T, 1.0, 0.5, "2.2"), T)


def test_hard_weights():
    T = np.array([0.5, -1.0, 2.0, -1.0, 2.0, 0.0])
    np.testing.assert_array_equal(ref.hard_weights(T, 1, 1.0), [0, -1, 0, 0, 0, 0])
    np.testing.assert_array_equal(ref.hard_weights(T, 3, 1.0), [0, -1, 0, -1, 0, -1])
    np.testing.assert_array_equal(ref.hard_weights(T, 1, -0.3), [0, 0, -1, 0, 0, 0])
    np.testing.assert_array_equal(ref.hard_weights(T, 3, -0.3), [-1, 0, -1, 0, -1, 0])
    np.testing.assert_array_equal(ref.hard_weights(T, 0), 0.0)
    np.testing.assert_array_equal(ref.hard_weights(T, 6), -1.0)
    with pytest.raises(ValueError, match=r"k must be in \[0, 6\]"):
        ref.hard_weights(T, 7)


# ---------------------------------------------------------------------------
# Label metrics vs fairlearn
# ---------------------------------------------------------------------------


def test_label_metrics_vs_fairlearn():
    from fairlearn.metrics import demographic_parity_difference, equal_opportunity_difference

    rng = np.random.default_rng(0)
    for _ in range(10):
        n = 200
        s = rng.integers(0, 2, size=n)
        y_true = rng.integers(0, 2, size=n)
        y_pred = (rng.uniform(size=n) < 0.3 + 0.3 * s).astype(int)
        dp = ref.dp_gap_labels(y_pred, s)
        eop = ref.eop_gap_labels(y_true, y_pred, s)
        np.testing.assert_allclose(abs(dp), demographic_parity_difference(y_true, y_pred, sensitive_features=s),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(abs(eop), equal_opportunity_difference(y_true, y_pred, sensitive_features=s),
                                   rtol=1e-12, atol=1e-15)
        # signs: group 1 minus group 0
        assert np.sign(dp) == np.sign(y_pred[s == 1].mean() - y_pred[s == 0].mean())
        assert ref.accuracy(y_true, y_pred) == pytest.approx(np.mean(y_true == y_pred))
    with pytest.raises(ValueError, match="s must contain both groups"):
        ref.dp_gap_labels(np.ones(5), np.ones(5))

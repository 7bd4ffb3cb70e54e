"""softunlearn.LinearSVC (smooth hinge, squared hinge) against independent oracles: finite differences of
the NumPy reference's losses, scipy.optimize on the same objective, scikit-learn's LinearSVC (liblinear),
the reference's Hessian / influence / Newton update / refit, and exact leave-one-out refits on Adult."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import spearmanr
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC as SkLinearSVC

import softunlearn as su
from softunlearn import _core
from softunlearn import reference as ref
from softunlearn import targets as T

LOSSES = ("smooth_hinge", "squared_hinge")
TEMP = 0.5  # a temperature at which the smooth hinge is clearly not the hinge, so the tests see the difference


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def svc(loss, **kw):
    kw.setdefault("temperature", TEMP)
    return su.LinearSVC(loss=loss, **kw)


def lkw(loss):
    return dict(loss=loss, temperature=TEMP)


# ---------------------------------------------------------------------------------------------
# The oracle's losses, and the core's passes against it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ref.LOSSES)
def test_reference_derivatives_match_finite_differences(loss):
    rng = np.random.default_rng(1)
    z = rng.uniform(-4, 4, size=400)
    y = rng.integers(0, 2, size=400).astype(float)
    m = (2 * y - 1) * z
    keep = np.abs(1 - m) > 1e-3  # away from the squared hinge's kink
    z, y = z[keep], y[keep]
    h = 1e-6
    ell, d1, d2 = ref.loss_derivatives(z, y, loss, TEMP)
    lp, d1p, _ = ref.loss_derivatives(z + h, y, loss, TEMP)
    lm, d1m, _ = ref.loss_derivatives(z - h, y, loss, TEMP)
    np.testing.assert_allclose(d1, (lp - lm) / (2 * h), atol=1e-7)
    np.testing.assert_allclose(d2, (d1p - d1m) / (2 * h), atol=1e-6)
    mm = (2 * y - 1) * z
    if loss == "squared_hinge":
        np.testing.assert_allclose(ell, np.maximum(0, 1 - mm) ** 2)
    elif loss == "smooth_hinge":
        hinge = np.maximum(0, 1 - mm)
        assert np.all(ell >= hinge) and np.all(ell - hinge <= TEMP * np.log(2) + 1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", LOSSES)
def test_loss_pass_matches_reference(data, loss, dtype):
    rng = np.random.default_rng(2)
    theta = rng.normal(size=data.d + 1)
    X = np.ascontiguousarray(data.X, dtype=dtype)
    y, sw = data.y.astype(dtype), data.sw.astype(dtype)
    C = 0.7
    code = su.LinearSVC(loss=loss, temperature=TEMP)._loss
    res = _core.loss_pass(X, y, sw, theta.astype(dtype), dtype(C), True, True, True, True, 0, *code)
    tol = 1e-11 if dtype == np.float64 else 2e-5
    kw = dict(C=C, sample_weight=data.sw, **lkw(loss))
    Xr = X.astype(np.float64)
    th = theta.astype(dtype).astype(np.float64)
    assert res["objective"] == pytest.approx(ref.objective(th, Xr, data.y, **kw), rel=tol)
    assert rel(res["grad"], ref.gradient(th, Xr, data.y, **kw)) <= tol
    assert rel(res["hessian"], ref.hessian(th, Xr, data.y, **kw)) <= tol
    _, d1, d2 = ref.loss_derivatives(np.c_[Xr, np.ones(data.n)] @ th, data.y, **lkw(loss))
    assert rel(res["r"], C * data.sw * d1) <= tol
    assert rel(res["h"], C * data.sw * d2) <= tol


# ---------------------------------------------------------------------------------------------
# Fit
# ---------------------------------------------------------------------------------------------


def scipy_fit(X, y, C, fit_intercept, sw, loss):
    """The same objective minimised by scipy (BFGS on the reference objective and gradient)."""
    p = X.shape[1] + fit_intercept
    kw = dict(C=C, fit_intercept=fit_intercept, sample_weight=sw, **lkw(loss))
    res = minimize(lambda th: ref.objective(th, X, y, **kw), np.zeros(p), jac=lambda th: ref.gradient(th, X, y, **kw),
                   method="L-BFGS-B", options=dict(maxiter=20000, maxcor=50, ftol=0, gtol=1e-11))
    return res.x


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_matches_reference_and_scipy(data, loss, fit_intercept, weighted):
    sw = data.sw if weighted else None
    C = 0.5
    m = svc(loss, C=C, fit_intercept=fit_intercept).fit(data.X, data.y, sample_weight=sw)
    assert m.converged_
    th_ref = ref.fit(data.X, data.y, C, fit_intercept, sw, tol=1e-13, **lkw(loss))
    th_sp = scipy_fit(data.X, data.y, C, fit_intercept, sw, loss)
    assert rel(m.theta_, th_ref) <= 1e-9
    assert rel(m.theta_, th_sp) <= 1e-7
    # the optimum of the same objective: scipy's J is not below ours
    kw = dict(C=C, fit_intercept=fit_intercept, sample_weight=sw, **lkw(loss))
    assert ref.objective(m.theta_, data.X, data.y, **kw) <= ref.objective(th_sp, data.X, data.y, **kw) + 1e-12
    assert m.objective_ == pytest.approx(ref.objective(m.theta_, data.X, data.y, **kw), rel=1e-12)


def test_squared_hinge_matches_sklearn_without_intercept(data):
    for C in (0.05, 1.0, 10.0):
        m = su.LinearSVC(C=C, loss="squared_hinge", fit_intercept=False).fit(data.X, data.y)
        sk = SkLinearSVC(C=C, loss="squared_hinge", fit_intercept=False, dual=False, tol=1e-12,
                         max_iter=100000).fit(data.X, data.y)
        assert rel(m.coef_, sk.coef_) <= 1e-5
        np.testing.assert_array_equal(m.predict(data.X), sk.predict(data.X))


def test_squared_hinge_with_intercept_matches_liblinear_objective(data):
    """liblinear fits b as the weight of a constant feature of value intercept_scaling and penalises it: its
    objective is ours on [X, intercept_scaling] without intercept. With a large intercept_scaling the
    penalty ½(b/intercept_scaling)² is negligible and both objectives have (almost) the same optimum."""
    C = 1.0
    m = su.LinearSVC(C=C, loss="squared_hinge").fit(data.X, data.y)
    for scaling in (1.0, 10.0):
        sk = SkLinearSVC(C=C, loss="squared_hinge", dual=False, tol=1e-12, max_iter=100000,
                         intercept_scaling=scaling).fit(data.X, data.y)
        aug = su.LinearSVC(C=C, loss="squared_hinge", fit_intercept=False).fit(
            np.c_[data.X, np.full(data.n, scaling)], data.y)
        sk_theta = np.r_[sk.coef_.ravel(), sk.intercept_]
        assert rel(np.r_[aug.coef_.ravel()[:-1], aug.coef_.ravel()[-1] * scaling], sk_theta) <= 1e-5
    sk = SkLinearSVC(C=C, loss="squared_hinge", dual=False, tol=1e-12, max_iter=100000,
                     intercept_scaling=1e3).fit(data.X, data.y)
    assert rel(np.r_[sk.coef_.ravel(), sk.intercept_], m.theta_) <= 1e-5
    # with the default intercept_scaling=1 the penalised intercept is visibly different (the shift grows as
    # C·n falls relative to the penalty)
    sk1 = SkLinearSVC(C=C, loss="squared_hinge", dual=False, tol=1e-12, max_iter=100000).fit(data.X, data.y)
    assert rel(np.r_[sk1.coef_.ravel(), sk1.intercept_], m.theta_) > 1e-4


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_squared_hinge_newton_terminates_finitely(make_data, C):
    """Generalised Newton: once the margin-violating set is right the step is exact, so the gradient drops
    to rounding in one step; the reference (plain damped Newton) agrees on θ and on that set."""
    d = make_data(n=2000, d=8, seed=3)
    m = su.LinearSVC(C=C, loss="squared_hinge", tol=1e-14).fit(d.X, d.y)
    assert m.converged_ and m.n_iter_ <= 15
    th = ref.fit(d.X, d.y, C, tol=1e-14, loss="squared_hinge")
    assert rel(m.theta_, th) <= 1e-10
    margin = lambda t: (2 * d.y - 1) * (d.X @ t[:-1] + t[-1])  # noqa: E731
    np.testing.assert_array_equal(margin(m.theta_) < 1, margin(th) < 1)
    g = ref.gradient(m.theta_, d.X, d.y, C, loss="squared_hinge")
    assert np.max(np.abs(g)) <= 1e-9 * max(1.0, C * d.n)


@pytest.mark.parametrize("loss", LOSSES)
def test_fit_from_a_start_with_no_sample_inside_the_margin(loss):
    """Separable data, warm start far beyond every margin: the (generalised) Hessian has no curvature
    along the intercept there; the damped step must still reach the optimum."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3))
    w = np.array([1.0, -2.0, 0.5])
    X = X[np.abs(X @ w + 0.3) > 0.5]  # a gap around the separating plane
    y = (X @ w + 0.3 > 0).astype(int)
    theta0 = 100 * np.r_[w, 0.3]
    # every margin ≥ 50: the squared hinge's ℓ'' is 0 everywhere, the smooth hinge's (t = 0.5) below e⁻⁹⁸
    assert np.all((2 * y - 1) * (X @ theta0[:-1] + theta0[-1]) >= 50)
    H0 = _core.loss_pass(X, y.astype(float), np.empty(0), theta0, 1.0, True, True, False, False, 0,
                         *svc(loss)._loss)["hessian"]
    assert H0[-1, -1] <= 1e-30  # a plain Cholesky of H0 fails
    m = svc(loss, C=1.0).fit(X, y, theta0=theta0)
    assert m.converged_
    th = ref.fit(X, y, 1.0, tol=1e-13, **lkw(loss))
    assert rel(m.theta_, th) <= 1e-8


def test_smooth_hinge_approaches_hinge_as_temperature_falls(data):
    """t → 0: ℓ_t → hinge (0 ≤ ℓ_t − hinge ≤ t·log 2) and the fit approaches the hinge-loss SVM (sklearn
    LinearSVC(loss="hinge"), no intercept so both solve the same problem)."""
    C = 0.1
    sk = SkLinearSVC(C=C, loss="hinge", fit_intercept=False, dual=True, tol=1e-12, max_iter=1000000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(data.X, data.y)
    dist = []
    for t in (1.0, 0.1, 0.01, 0.001):
        m = su.LinearSVC(C=C, loss="smooth_hinge", temperature=t, fit_intercept=False, max_iter=500).fit(data.X, data.y)
        assert m.converged_
        dist.append(rel(m.coef_, sk.coef_))
        summed = T.Utility(data.X, data.y).value(m)
        hinge = np.maximum(0, 1 - (2 * data.y - 1) * m.decision_function(data.X)).sum()
        assert 0 <= summed - hinge <= data.n * t * np.log(2) * (1 + 1e-12)
    assert all(b < a for a, b in zip(dist, dist[1:])), dist
    assert dist[-1] <= 0.01


# ---------------------------------------------------------------------------------------------
# Influence, targets, updates
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=LOSSES)
def fitted(request, data):
    loss = request.param
    m = svc(loss, C=0.5, tol=1e-13).fit(data.X, data.y, sample_weight=data.sw)
    return loss, m


def test_targets_match_reference(data, fitted):
    loss, m = fitted
    kinds = {"utility": T.Utility(data.Xv, data.yv), "dp": T.DemographicParity(data.Xv, data.sv),
             "eop": T.EqualOpportunity(data.Xv, data.yv, data.sv), "robustness": T.Robustness(data.Xv, data.yv)}
    for kind, t in kinds.items():
        value, grad = t.evaluate(m)
        Xt = t.adversarial_X if kind == "robustness" else data.Xv
        if kind == "robustness":
            np.testing.assert_allclose(Xt, ref.mirror_attack(data.Xv, m.theta_), rtol=1e-12, atol=1e-12)
        want = ref.target_value(kind, m.theta_, Xt, data.yv, data.sv, **lkw(loss))
        assert value == pytest.approx(want, rel=1e-11, abs=1e-14), kind
        assert rel(grad, ref.target_gradient(kind, m.theta_, Xt, data.yv, data.sv, **lkw(loss))) <= 1e-11, kind


def test_hessian_and_scores_match_reference(data, fitted):
    loss, m = fitted
    inf = su.Influence(m, data.X, data.y, data.sw)
    kw = dict(C=0.5, sample_weight=data.sw, **lkw(loss))
    assert rel(inf.hessian, ref.hessian(m.theta_, data.X, data.y, **kw)) <= 1e-12
    tl = [T.Utility(data.Xv, data.yv), T.DemographicParity(data.Xv, data.sv),
          T.EqualOpportunity(data.Xv, data.yv, data.sv)]
    G = np.column_stack([t.gradient(m) for t in tl])
    S = inf.scores(tl)
    assert rel(S, ref.influence_scores(m.theta_, data.X, data.y, G, **kw)) <= 1e-10
    # CG gives the same scores
    S_cg = su.Influence(m, data.X, data.y, data.sw, solver="cg").scores(tl)
    assert rel(S_cg, S) <= 1e-8


def test_newton_update_and_refit_match_reference(data, fitted):
    loss, m = fitted
    rng = np.random.default_rng(5)
    eps = np.zeros(data.n)
    idx = rng.choice(data.n, 20, replace=False)
    eps[idx] = rng.uniform(-1, 0.5, size=20)
    kw = dict(C=0.5, sample_weight=data.sw, **lkw(loss))
    X0, y0, e0 = data.X.copy(), data.y.copy(), eps.copy()
    new = su.newton_update(m, data.X, data.y, eps, sample_weight=data.sw)
    assert rel(new.theta_, ref.newton_update(m.theta_, data.X, data.y, eps, **kw)) <= 1e-10
    exact = su.refit(m, data.X, data.y, eps, sample_weight=data.sw, tol=1e-13)
    assert exact.converged_
    assert rel(exact.theta_, ref.refit(data.X, data.y, eps, theta0=m.theta_, tol=1e-13, **kw)) <= 1e-9
    # the update is a first-order approximation of the refit: much closer to it than θ̂ is
    assert rel(new.theta_, exact.theta_) <= 0.2 * rel(m.theta_, exact.theta_)
    assert type(new) is su.LinearSVC and new.loss == loss and new.temperature == TEMP
    np.testing.assert_array_equal(data.X, X0), np.testing.assert_array_equal(data.y, y0)
    np.testing.assert_array_equal(eps, e0)


def test_soft_unlearner_reduces_dp_gap(data):
    m = su.LinearSVC(C=0.5, loss="smooth_hinge").fit(data.X, data.y)
    out = su.SoftUnlearner(target="dp", method="refit").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    assert type(out.model_) is su.LinearSVC
    assert abs(out.target_after_) < 0.5 * abs(out.target_before_)
    # the utility scores are those of the SVM loss on the validation set
    inf = su.Influence(m, data.X, data.y)
    np.testing.assert_allclose(out.utility_scores_, inf.scores(T.Utility(data.Xv, data.yv)), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Leave-one-out on Adult
# ---------------------------------------------------------------------------------------------

N_VAL = 1000
N_TOP = 20
N_RANDOM = 40
KINDS = ("utility", "dp", "eop", "robustness")


@pytest.mark.parametrize("loss", LOSSES)
def test_scores_rank_like_exact_leave_one_out_on_adult(adult_subset, loss):
    """As test_loo_adult.py for the SVM (3,000 Adult rows, 103 features, first 1,000 validation rows): for
    each target the 20 largest-|score| samples plus 40 random ones are deleted one at a time and the model
    refitted exactly (warm start, tol 1e-13).

    C = 0.1 and t = 0.25: first-order influence degrades as the loss gets less smooth (its curvature is up
    to 1/(4t) for the smooth hinge and jumps at the margin for the squared hinge) and as C grows. With the
    same samples, t = 0.1 gives Spearman 0.98 on EOP, and at C = 1 the squared hinge gives 0.97 on DP/EOP."""
    X, y = adult_subset.train.X, adult_subset.train.y
    Xv, yv, sv = (a[:N_VAL] for a in (adult_subset.val.X, adult_subset.val.y, adult_subset.val.s))
    n = X.shape[0]
    m = su.LinearSVC(C=0.1, loss=loss, temperature=0.25, tol=1e-13, n_threads=1).fit(X, y)
    tl = [T.Utility(Xv, yv), T.DemographicParity(Xv, sv), T.EqualOpportunity(Xv, yv, sv), T.Robustness(Xv, yv, model=m)]
    S = su.Influence(m, X, y).scores(tl)
    f0 = np.array([t.value(m) for t in tl])
    rng = np.random.default_rng(0)
    top = {k: np.argsort(-np.abs(S[:, j]), kind="stable")[:N_TOP] for j, k in enumerate(KINDS)}
    random_rows = rng.choice(n, N_RANDOM, replace=False)
    actual = {}
    for i in np.unique(np.concatenate([*top.values(), random_rows])):
        eps = np.zeros(n)
        eps[i] = -1.0
        mi = su.refit(m, X, y, eps, tol=1e-13)
        assert mi.converged_
        actual[int(i)] = np.array([t.value(mi) for t in tl]) - f0
    rhos = {}
    for j, kind in enumerate(KINDS):
        rows = np.unique(np.concatenate([top[kind], random_rows]))
        pred = S[rows, j]
        act = np.array([actual[int(i)][j] for i in rows])
        rhos[kind] = spearmanr(pred, act).statistic
        t10 = top[kind][:10]
        np.testing.assert_array_equal(np.sign(S[t10, j]), np.sign([actual[int(i)][j] for i in t10]))
    assert min(rhos.values()) >= 0.99, rhos


# ---------------------------------------------------------------------------------------------
# dtypes and bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_float32_matches_float64(data, loss):
    m64 = svc(loss).fit(data.X, data.y)
    m32 = svc(loss).fit(data.X.astype(np.float32), data.y)
    assert m32.coef_.dtype == np.float32 and m32.converged_
    assert rel(m32.theta_, m64.theta_) <= 1e-4
    S32 = su.Influence(m32, data.X.astype(np.float32), data.y).scores(T.Utility(data.Xv, data.yv))
    S64 = su.Influence(m64, data.X, data.y).scores(T.Utility(data.Xv, data.yv))
    assert S32.dtype == np.float32 and rel(S32, S64) <= 1e-3


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_bad_temperature(data, bad):
    with pytest.raises(ValueError, match="temperature"):
        su.LinearSVC(loss="smooth_hinge", temperature=bad).fit(data.X, data.y)
    with pytest.raises(ValueError, match="temperature"):
        _core.fit(data.X, data.y.astype(float), np.empty(0), np.zeros(data.d + 1), 1.0, True, 1e-8, 10, 0,
                  _core.Loss.smooth_hinge, float(bad))


def test_bad_loss_and_types(data):
    X0 = data.X.copy()
    with pytest.raises(ValueError, match="loss"):
        su.LinearSVC(loss="hinge").fit(data.X, data.y)
    with pytest.raises(ValueError, match="loss"):
        su.LinearSVC(loss=None).fit(data.X, data.y)
    with pytest.raises(TypeError, match="temperature"):
        su.LinearSVC(temperature="0.1").fit(data.X, data.y)
    with pytest.raises(ValueError, match="C"):
        su.LinearSVC(C=0).fit(data.X, data.y)
    with pytest.raises(ValueError, match="binary"):  # {-1, 1} is a valid pair of labels; three are not
        su.LinearSVC().fit(data.X, np.where(np.arange(data.n) == 0, 0, 2 * data.y - 1))
    with pytest.raises(ValueError, match="unknown loss"):
        _core.loss_pass(data.X, data.y.astype(float), np.empty(0), np.zeros(data.d + 1), 1.0, True, False, False,
                        False, 0, 7, 0.0)
    np.testing.assert_array_equal(data.X, X0)


def test_no_predict_proba():
    assert not hasattr(su.LinearSVC(), "predict_proba")

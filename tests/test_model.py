"""softunlearn.LogisticRegression and softunlearn.metrics against independent oracles:
scikit-learn's LogisticRegression (same objective at the same C), the NumPy reference
(softunlearn.reference), fairlearn's fairness metrics and sklearn.metrics."""
from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equal_opportunity_difference
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import softunlearn as su
from softunlearn import metrics, targets
from softunlearn import reference as ref


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def sk_fit(X, y, C, fit_intercept, sample_weight=None):
    sk = SkLogisticRegression(C=C, fit_intercept=fit_intercept, solver="newton-cholesky", tol=1e-12,
                              max_iter=1000)
    return sk.fit(X, y, sample_weight=sample_weight)


def sk_with_coef(model):
    """A scikit-learn LogisticRegression carrying exactly the coefficients of ``model``."""
    sk = SkLogisticRegression()
    sk.coef_ = np.asarray(model.coef_, dtype=np.float64).copy()
    sk.intercept_ = np.asarray(model.intercept_, dtype=np.float64).copy()
    sk.classes_ = np.array([0, 1])
    sk.n_features_in_ = model.coef_.shape[1]
    return sk


CASES = [(C, fi, w) for C in (0.05, 1.0, 20.0) for fi in (True, False) for w in (False, True)]


# ---------------------------------------------------------------------------------------------
# Fit
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("C,fit_intercept,weighted", CASES)
def test_fit_matches_sklearn(data, C, fit_intercept, weighted):
    sw = data.sw if weighted else None
    m = su.LogisticRegression(C=C, fit_intercept=fit_intercept).fit(data.X, data.y, sample_weight=sw)
    sk = sk_fit(data.X, data.y, C, fit_intercept, sw)
    assert m.converged_
    assert m.coef_.shape == (1, data.d) and m.intercept_.shape == (1,)
    assert rel(m.coef_, sk.coef_) <= 1e-6
    if fit_intercept:
        assert abs(m.intercept_[0] - sk.intercept_[0]) <= 1e-6 * max(1.0, abs(sk.intercept_[0]))
    else:
        assert m.intercept_[0] == 0.0
    np.testing.assert_array_equal(m.classes_, [0, 1])
    assert m.n_features_in_ == data.d


@pytest.mark.parametrize("C,fit_intercept,weighted", CASES)
def test_fit_matches_reference(data, C, fit_intercept, weighted):
    sw = data.sw if weighted else None
    m = su.LogisticRegression(C=C, fit_intercept=fit_intercept).fit(data.X, data.y, sample_weight=sw)
    th = ref.fit(data.X, data.y, C, fit_intercept, sample_weight=sw, tol=1e-13)
    assert m.theta_.shape == th.shape
    assert rel(m.theta_, th) <= 1e-8
    # the objective the model reports is J at its θ
    J = ref.objective(th, data.X, data.y, C, fit_intercept, sw)
    assert abs(m.objective_ - J) <= 1e-10 * abs(J)
    assert abs(m.objective(data.X, data.y, sample_weight=sw) - J) <= 1e-10 * abs(J)


def test_fit_larger_problem_matches_reference(make_data):
    D = make_data(n=2000, d=30, seed=3)
    m = su.LogisticRegression(C=0.5).fit(D.X, D.y)
    assert rel(m.theta_, ref.fit(D.X, D.y, 0.5, tol=1e-13)) <= 1e-8


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_float32_fit_close_to_float64(data, fit_intercept, weighted):
    sw = data.sw if weighted else None
    m64 = su.LogisticRegression(C=1.0, fit_intercept=fit_intercept).fit(data.X, data.y, sample_weight=sw)
    X32 = data.X.astype(np.float32)
    m32 = su.LogisticRegression(C=1.0, fit_intercept=fit_intercept).fit(
        X32, data.y, sample_weight=None if sw is None else sw.astype(np.float32))
    assert m32.coef_.dtype == np.float32 and m32.theta_.dtype == np.float32
    assert m64.coef_.dtype == np.float64
    assert rel(m32.theta_, m64.theta_) <= 1e-4
    # predictions of a float32 model come in float32 and agree with the float64 model
    z32 = m32.decision_function(X32)
    assert z32.dtype == np.float32
    assert rel(z32, m64.decision_function(data.X)) <= 1e-4


@pytest.mark.parametrize("rows", ["subsample", "first3000"])
def test_float32_fit_close_to_float64_on_adult(adult_subset, rows):
    if rows == "subsample":
        X, y = adult_subset.train.X, adult_subset.train.y
    else:  # the first 3,000 rows of the full training split
        from softunlearn import datasets

        full = datasets.load_adult(seed=0).train
        X, y = full.X[:3000], full.y[:3000]
    m64 = su.LogisticRegression(C=1.0).fit(X, y)
    m32 = su.LogisticRegression(C=1.0).fit(X.astype(np.float32), y)
    assert rel(m32.theta_, m64.theta_) <= 1e-4


def test_warm_start_and_thread_count_give_same_solution(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    warm = su.LogisticRegression(C=1.0).fit(data.X, data.y, theta0=m.theta_ + 0.3)
    one = su.LogisticRegression(C=1.0, n_threads=1).fit(data.X, data.y)
    two = su.LogisticRegression(C=1.0, n_threads=2).fit(data.X, data.y)
    assert rel(warm.theta_, m.theta_) <= 1e-9
    assert rel(one.theta_, m.theta_) <= 1e-12
    assert rel(two.theta_, m.theta_) <= 1e-12


def test_non_convergence_warns(data):
    with pytest.warns(ConvergenceWarning):
        m = su.LogisticRegression(C=100.0, max_iter=1).fit(data.X, data.y)
    assert not m.converged_


def test_fit_returns_self_and_refit_overwrites(data, make_data):
    m = su.LogisticRegression(C=1.0)
    assert m.fit(data.X, data.y) is m
    other = make_data(n=100, d=3, seed=7)
    m.fit(other.X, other.y)
    assert m.n_features_in_ == 3
    assert rel(m.theta_, ref.fit(other.X, other.y, 1.0, tol=1e-13)) <= 1e-8


# ---------------------------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_predictions_match_sklearn_with_same_coefficients(data, fit_intercept):
    m = su.LogisticRegression(C=1.0, fit_intercept=fit_intercept).fit(data.X, data.y)
    sk = sk_with_coef(m)
    Xt = np.vstack([data.Xv, 40.0 * data.Xv[:5], -40.0 * data.Xv[:5]])  # include saturated p
    np.testing.assert_allclose(m.decision_function(Xt), sk.decision_function(Xt), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(Xt), sk.predict_proba(Xt), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(m.predict(Xt), sk.predict(Xt))
    lp = m.predict_log_proba(Xt)
    n = data.Xv.shape[0]  # sklearn's log(predict_proba) is -inf where p rounds to 0 or 1: compare the rest
    np.testing.assert_allclose(lp[:n], sk.predict_log_proba(Xt[:n]), rtol=1e-10, atol=1e-12)
    z = sk.decision_function(Xt)
    np.testing.assert_allclose(lp, np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)]), rtol=1e-12)
    assert np.isfinite(lp).all()  # stable for saturated probabilities
    np.testing.assert_allclose(m.predict_proba(Xt).sum(axis=1), 1.0, rtol=1e-15)
    assert m.score(data.Xv, data.yv) == accuracy_score(data.yv, sk.predict(data.Xv))


def test_predict_labels_are_binary_ints(data):
    m = su.LogisticRegression().fit(data.X, data.y)
    p = m.predict(data.Xv)
    assert p.shape == (data.Xv.shape[0],)
    assert set(np.unique(p)) <= {0, 1}
    assert np.issubdtype(p.dtype, np.integer)


# ---------------------------------------------------------------------------------------------
# scikit-learn estimator protocol
# ---------------------------------------------------------------------------------------------


def test_get_set_params_and_clone(data):
    m = su.LogisticRegression(C=0.3, fit_intercept=False, tol=1e-9, max_iter=50, n_threads=1, solver="newton-cg")
    params = m.get_params()
    assert params == {"C": 0.3, "fit_intercept": False, "tol": 1e-9, "max_iter": 50, "n_threads": 1,
                      "backend": "auto", "solver": "newton-cg"}
    assert m.set_params(C=2.0, fit_intercept=True) is m
    assert m.C == 2.0 and m.fit_intercept is True
    m.fit(data.X, data.y)
    c = clone(m)
    assert type(c) is su.LogisticRegression
    assert c.get_params() == m.get_params()
    assert not hasattr(c, "coef_")
    c.fit(data.X, data.y)
    np.testing.assert_array_equal(c.theta_, m.theta_)
    # the fitted original is unaffected by fitting the clone with other parameters
    before = m.theta_.copy()
    clone(m).set_params(C=0.01).fit(data.X, data.y)
    np.testing.assert_array_equal(m.theta_, before)
    assert "C=2.0" in repr(m)


def test_works_inside_sklearn_pipeline_and_cross_validation(data):
    pipe = make_pipeline(StandardScaler(), su.LogisticRegression(C=1.0))
    ours = cross_val_score(pipe, data.X, data.y, cv=3)
    theirs = cross_val_score(make_pipeline(StandardScaler(), SkLogisticRegression(C=1.0)), data.X, data.y, cv=3)
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def _random_labels(seed, n=400):
    rng = np.random.default_rng(seed)
    s = (rng.uniform(size=n) < 0.4).astype(np.int64)
    y = (rng.uniform(size=n) < 0.3 + 0.3 * s).astype(np.int64)
    yp = (rng.uniform(size=n) < 0.2 + 0.2 * s + 0.4 * y).astype(np.int64)
    return y, yp, s


@pytest.mark.parametrize("seed", range(5))
def test_label_gaps_match_fairlearn(seed):
    y, yp, s = _random_labels(seed)
    dp = metrics.demographic_parity_gap(yp, s)
    eop = metrics.equal_opportunity_gap(y, yp, s)
    assert abs(abs(dp) - demographic_parity_difference(y, yp, sensitive_features=s)) <= 1e-12
    assert abs(abs(eop) - equal_opportunity_difference(y, yp, sensitive_features=s)) <= 1e-12
    assert abs(dp - ref.dp_gap_labels(yp, s)) <= 1e-12
    assert abs(eop - ref.eop_gap_labels(y, yp, s)) <= 1e-12
    assert metrics.accuracy(y, yp) == accuracy_score(y, yp)


def test_label_gap_sign_is_group1_minus_group0():
    s = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    y = np.array([1, 1, 1, 0, 1, 1, 1, 0])
    yp = np.array([1, 1, 1, 1, 1, 0, 0, 0])  # group 1 favoured
    assert metrics.demographic_parity_gap(yp, s) == pytest.approx(1.0 - 0.25)
    assert metrics.equal_opportunity_gap(y, yp, s) == pytest.approx(1.0 - 1.0 / 3.0)
    # relabelling the groups flips the sign, fairlearn's (unsigned) difference stays
    assert metrics.demographic_parity_gap(yp, 1 - s) == pytest.approx(-0.75)
    assert metrics.equal_opportunity_gap(y, yp, 1 - s) == pytest.approx(-(1.0 - 1.0 / 3.0))
    assert demographic_parity_difference(y, yp, sensitive_features=1 - s) == pytest.approx(0.75)


def test_metrics_accept_bool_and_float_labels():
    y, yp, s = _random_labels(11)
    assert metrics.accuracy(y.astype(bool), yp.astype(float)) == accuracy_score(y, yp)
    assert metrics.demographic_parity_gap(yp.astype(bool), s.astype(float)) == metrics.demographic_parity_gap(yp, s)


def test_soft_gaps_summary_and_robust_accuracy(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    th = m.theta_
    assert metrics.soft_demographic_parity_gap(m, data.Xv, data.sv) == pytest.approx(
        ref.target_value("dp", th, data.Xv, s=data.sv), rel=1e-12)
    assert metrics.soft_equal_opportunity_gap(m, data.Xv, data.yv, data.sv) == pytest.approx(
        ref.target_value("eop", th, data.Xv, data.yv, data.sv), rel=1e-12)
    rob = targets.Robustness(data.Xv, data.yv, model=m)
    Xa = ref.mirror_attack(data.Xv, th)
    assert metrics.robust_accuracy(m, rob) == accuracy_score(data.yv, (Xa @ th[:-1] + th[-1] > 0).astype(int))
    out = metrics.summary(m, data.Xv, data.yv, data.sv, robustness=rob)
    yp = m.predict(data.Xv)
    assert out["accuracy"] == accuracy_score(data.yv, yp)
    assert out["dp_gap"] == pytest.approx(ref.dp_gap_labels(yp, data.sv), abs=1e-15)
    assert out["eop_gap"] == pytest.approx(ref.eop_gap_labels(data.yv, yp, data.sv), abs=1e-15)
    assert out["log_loss"] == pytest.approx(ref.target_value("utility", th, data.Xv, data.yv) / len(data.yv),
                                            rel=1e-12)
    assert out["robust_loss"] == pytest.approx(ref.target_value("robustness", th, Xa, data.yv) / len(data.yv),
                                               rel=1e-10)
    # the mirror attack flips (almost) every prediction: robust accuracy is far below clean accuracy
    assert out["robust_accuracy"] < out["accuracy"] - 0.3

"""scikit-learn interoperability: from_sklearn / to_sklearn against scikit-learn's own estimators, the
scikit-learn estimator checks (binary-only subset), and use inside Pipeline, clone and GridSearchCV."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression as SkLR
from sklearn.linear_model import LogisticRegressionCV as SkLRCV
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC as SkSVC

import softunlearn as su
from softunlearn import targets as T


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def sk_theta(est):
    return np.r_[est.coef_.ravel(), est.intercept_] if est.fit_intercept else est.coef_.ravel()


SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "liblinear", "sag", "saga"]


# ---------------------------------------------------------------------------------------------
# from_sklearn
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_from_sklearn_logistic_refits_to_our_optimum(data, solver, fit_intercept):
    Xs = (data.X - data.X.mean(0)) / data.X.std(0)  # sag/saga converge on scaled data
    sk = SkLR(C=0.5, fit_intercept=fit_intercept, solver=solver, max_iter=5000, random_state=0).fit(Xs, data.y)
    before = (np.copy(sk.coef_), np.copy(sk.intercept_))
    ours = su.LogisticRegression(C=0.5, fit_intercept=fit_intercept).fit(Xs, data.y)
    m = su.from_sklearn(sk, Xs, data.y)
    assert type(m) is su.LogisticRegression and m.C == 0.5 and m.fit_intercept == fit_intercept
    assert m.converged_
    assert rel(m.theta_, ours.theta_) <= 1e-9
    # a few polishing steps at most from scikit-learn's solution of the same objective (liblinear's
    # penalised intercept included)
    assert m.n_iter_ <= 6
    np.testing.assert_array_equal(sk.coef_, before[0]), np.testing.assert_array_equal(sk.intercept_, before[1])


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky", "liblinear"])
def test_from_sklearn_logistic_without_data_copies_coefficients(data, solver):
    sk = SkLR(C=2.0, solver=solver, tol=1e-10, max_iter=1000).fit(data.X, data.y)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = su.from_sklearn(sk)
    penalised = [w for w in rec if "penalises the intercept" in str(w.message)]
    assert bool(penalised) == (solver == "liblinear")
    np.testing.assert_array_equal(m.coef_, sk.coef_)
    np.testing.assert_array_equal(m.intercept_, sk.intercept_)
    np.testing.assert_allclose(m.decision_function(data.Xv), sk.decision_function(data.Xv), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(data.Xv), sk.predict_proba(data.Xv), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(m.predict(data.Xv), sk.predict(data.Xv))


def test_from_sklearn_logistic_cv_uses_the_chosen_C(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn 1.9 announces changed defaults
        sk = SkLRCV(Cs=[0.01, 1.0, 100.0], cv=3).fit(data.X, data.y)
    m = su.from_sklearn(sk, data.X, data.y)
    assert m.C == sk.C_[0]
    assert rel(m.theta_, su.LogisticRegression(C=sk.C_[0]).fit(data.X, data.y).theta_) <= 1e-9


def test_influence_from_sklearn_equals_our_fit(data):
    """Influence of a converted model equals that of a model we fitted on the same objective; for a tight
    scikit-learn fit of the same objective even without the polishing refit."""
    ours = su.LogisticRegression(C=0.5).fit(data.X, data.y, sample_weight=data.sw)
    tl = [T.Utility(data.Xv, data.yv), T.DemographicParity(data.Xv, data.sv)]
    S = su.Influence(ours, data.X, data.y, data.sw).scores(tl)
    sk = SkLR(C=0.5, solver="lbfgs").fit(data.X, data.y, sample_weight=data.sw)  # default tol 1e-4
    m = su.from_sklearn(sk, data.X, data.y, data.sw)
    assert rel(su.Influence(m, data.X, data.y, data.sw).scores(tl), S) <= 1e-8
    sk_tight = SkLR(C=0.5, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    sk_tight.fit(data.X, data.y, sample_weight=data.sw)
    copied = su.from_sklearn(sk_tight)
    assert rel(su.Influence(copied, data.X, data.y, data.sw).scores(tl), S) <= 1e-6


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_from_sklearn_linear_svc(data, fit_intercept):
    sk = SkSVC(C=0.5, fit_intercept=fit_intercept, dual=False, tol=1e-10, max_iter=10000).fit(data.X, data.y)
    ours = su.LinearSVC(C=0.5, loss="squared_hinge", fit_intercept=fit_intercept).fit(data.X, data.y)
    m = su.from_sklearn(sk, data.X, data.y)
    assert type(m) is su.LinearSVC and m.loss == "squared_hinge" and m.C == 0.5
    assert rel(m.theta_, ours.theta_) <= 1e-9
    tl = [T.Utility(data.Xv, data.yv), T.EqualOpportunity(data.Xv, data.yv, data.sv)]
    assert rel(su.Influence(m, data.X, data.y).scores(tl), su.Influence(ours, data.X, data.y).scores(tl)) <= 1e-8
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        copied = su.from_sklearn(sk)
    assert any("penalises the intercept" in str(w.message) for w in rec) == fit_intercept
    np.testing.assert_array_equal(copied.coef_, sk.coef_)
    np.testing.assert_allclose(copied.decision_function(data.Xv), sk.decision_function(data.Xv), rtol=1e-12,
                               atol=1e-12)
    if not fit_intercept:  # liblinear solved our objective: the copy is already at our optimum
        assert rel(copied.theta_, ours.theta_) <= 1e-6


def test_from_sklearn_float32(data):
    X32 = data.X.astype(np.float32)
    sk = SkLR(C=1.0, solver="newton-cholesky").fit(X32, data.y)
    m = su.from_sklearn(sk, X32, data.y)
    assert m.coef_.dtype == np.float32 and m.converged_
    assert rel(m.theta_, su.LogisticRegression().fit(data.X, data.y).theta_) <= 1e-4


def _fitted(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.mark.parametrize("make,match", [
    (lambda d: _fitted(SkLR(l1_ratio=1.0, solver="liblinear"), d.X, d.y), "L2"),
    (lambda d: _fitted(SkLR(l1_ratio=0.5, solver="saga", max_iter=50), d.X, d.y), "L2"),
    (lambda d: _fitted(SkLR(C=np.inf), d.X, d.y), "penal"),
    (lambda d: _fitted(SkLR(class_weight="balanced"), d.X, d.y), "class_weight"),
    (lambda d: _fitted(SkLR(), d.X, d.y + (d.X[:, 1] > 1)), "binary"),
    # {-1, 1} and string classes convert since labels are any two values (tests/test_sklearn_conventions.py)
    (lambda d: _fitted(SkSVC(loss="hinge"), d.X, d.y), "hinge"),
    (lambda d: _fitted(SkSVC(penalty="l1", dual=False), d.X, d.y), "l2"),
    (lambda d: _fitted(SkSVC(multi_class="crammer_singer"), d.X, d.y), "multi_class"),
    (lambda d: _fitted(SkSVC(class_weight={0: 1.0, 1: 2.0}), d.X, d.y), "class_weight"),
    (lambda d: SkLR(), "not fitted"),
])
def test_from_sklearn_rejects_what_it_cannot_represent(data, make, match):
    with pytest.raises(ValueError, match=match):
        su.from_sklearn(make(data))


def test_from_sklearn_bad_arguments(data):
    from sklearn.linear_model import RidgeClassifier

    with pytest.raises(TypeError, match="estimator"):
        su.from_sklearn(RidgeClassifier().fit(data.X, data.y))
    with pytest.raises(TypeError, match="estimator"):
        su.from_sklearn(su.LogisticRegression().fit(data.X, data.y))
    sk = SkLR().fit(data.X, data.y)
    with pytest.raises(ValueError, match="y"):
        su.from_sklearn(sk, data.X)
    with pytest.raises(ValueError, match="sample_weight"):
        su.from_sklearn(sk, sample_weight=data.sw)
    with pytest.raises(ValueError, match="features"):
        su.from_sklearn(sk, data.X[:, :3], data.y)


# ---------------------------------------------------------------------------------------------
# to_sklearn
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: su.LogisticRegression(C=0.3),
    lambda: su.LogisticRegression(C=3.0, fit_intercept=False),
    lambda: su.LinearSVC(C=0.3, loss="squared_hinge"),
    lambda: su.LinearSVC(C=0.3, loss="smooth_hinge", fit_intercept=False),
])
def test_to_sklearn_round_trip(data, make):
    m = make().fit(data.X, data.y)
    sk = m.to_sklearn()
    assert sk is not su.to_sklearn(m)
    want = SkLR if isinstance(m, su.LogisticRegression) else SkSVC
    assert type(sk) is want and sk.C == m.C and sk.fit_intercept == m.fit_intercept
    assert sk.coef_.shape == (1, data.d) and sk.intercept_.shape == (1,) and sk.n_features_in_ == data.d
    np.testing.assert_array_equal(sk.classes_, [0, 1])
    np.testing.assert_allclose(sk.decision_function(data.Xv), m.decision_function(data.Xv), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(sk.predict(data.Xv), m.predict(data.Xv))
    if isinstance(m, su.LogisticRegression):
        np.testing.assert_allclose(sk.predict_proba(data.Xv), m.predict_proba(data.Xv), rtol=1e-12, atol=1e-15)
    if getattr(m, "loss", "squared_hinge") == "squared_hinge":
        back = su.from_sklearn(sk, data.X, data.y)
        assert type(back) is type(m) and back.n_iter_ <= 1
        assert rel(back.theta_, m.theta_) <= 1e-12
    # an unlearned model converts too
    new = su.newton_update(m, data.X, data.y, -(np.arange(data.n) < 5).astype(float))
    np.testing.assert_allclose(new.to_sklearn().decision_function(data.Xv), new.decision_function(data.Xv),
                               rtol=1e-12, atol=1e-12)


def test_to_sklearn_needs_a_fitted_model():
    with pytest.raises(ValueError, match="not fitted"):
        su.LinearSVC().to_sklearn()


# ---------------------------------------------------------------------------------------------
# Pipeline, clone, GridSearchCV
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("est", [su.LogisticRegression(C=0.5),
                                 su.LinearSVC(C=0.5, loss="smooth_hinge", temperature=0.2)])
def test_clone_pipeline_gridsearch(data, est):
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "coef_")
    pipe = make_pipeline(StandardScaler(), clone(est)).fit(data.X, data.y)
    Xs = StandardScaler().fit(data.X).transform(data.X)
    direct = clone(est).fit(Xs, data.y)
    np.testing.assert_allclose(pipe[-1].coef_, direct.coef_, rtol=1e-10)
    Xvs = StandardScaler().fit(data.X).transform(data.Xv)
    np.testing.assert_array_equal(pipe.predict(data.Xv), direct.predict(Xvs))
    grid = {"C": [0.01, 1.0]}
    if isinstance(est, su.LinearSVC):
        grid["temperature"] = [0.1, 1.0]
    gs = GridSearchCV(clone(est), grid, cv=3).fit(data.X, data.y)
    assert set(gs.best_params_) == set(grid)
    best = clone(est).set_params(**gs.best_params_).fit(data.X, data.y)
    np.testing.assert_allclose(gs.best_estimator_.coef_, best.coef_, rtol=1e-10)

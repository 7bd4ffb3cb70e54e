"""scikit-learn conventions against independent oracles: any two class labels (``classes_``, predictions
and coefficients equal scikit-learn's LogisticRegression on the same labels; bitwise the model of the 0/1
encoding), ``pos_label`` of the fairness targets and metrics (fairlearn and plain NumPy), feature names
from DataFrames (scikit-learn's ``feature_names_in_`` and its mismatch rules), refusal of categorical
columns, and ``from_sklearn`` on a Pipeline (the scikit-learn pipeline's predictions on raw X)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression as SkLR
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC as SkSVC

import softunlearn as su
from softunlearn import metrics
from softunlearn import targets as T

C = 0.7


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def sk_fit(X, y, fit_intercept=True):
    return SkLR(C=C, fit_intercept=fit_intercept, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)


# The labels of the 0/1 encoding y = 1 ↔ the sorted second class, so every relabelling keeps the classes' order.
RELABEL = {
    "strings": lambda y: np.where(y == 1, "yes", "no"),
    "minus_one_one": lambda y: 2 * y - 1,
    "bools": lambda y: y.astype(bool),
    "object_strings": lambda y: np.where(y == 1, "b", "a").astype(object),
    "ints_3_7": lambda y: np.where(y == 1, 7, 3),
}


# ---------------------------------------------------------------------------------------------
# any two labels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(RELABEL))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_labels_match_sklearn(data, kind, fit_intercept):
    y = RELABEL[kind](data.y)
    m = su.LogisticRegression(C=C, fit_intercept=fit_intercept).fit(data.X, y)
    sk = sk_fit(data.X, y, fit_intercept)
    np.testing.assert_array_equal(m.classes_, sk.classes_)
    assert m.classes_.dtype.kind == sk.classes_.dtype.kind
    assert rel(m.coef_, sk.coef_) <= 1e-6
    if fit_intercept:
        assert abs(m.intercept_[0] - sk.intercept_[0]) <= 1e-6 * max(1.0, abs(sk.intercept_[0]))
    pred, want = m.predict(data.Xv), sk.predict(data.Xv)
    np.testing.assert_array_equal(pred, want)
    assert pred.dtype.kind == want.dtype.kind
    np.testing.assert_allclose(m.predict_proba(data.Xv), sk.predict_proba(data.Xv), atol=1e-6)
    assert m.score(data.Xv, RELABEL[kind](data.yv)) == sk.score(data.Xv, RELABEL[kind](data.yv))


@pytest.mark.parametrize("kind", list(RELABEL))
@pytest.mark.parametrize("make", [lambda: su.LogisticRegression(C=C), lambda: su.LinearSVC(C=C),
                                  lambda: su.LinearSVC(C=C, loss="smooth_hinge", fit_intercept=False)])
def test_labels_are_bitwise_the_zero_one_encoding(data, kind, make):
    """Everything that takes labels maps them through classes_: the relabelled run is the 0/1 run, bit for bit."""
    relabel = RELABEL[kind]
    y, yv = relabel(data.y), relabel(data.yv)
    y0, yv0 = data.y.copy(), data.yv.copy()
    m = make().fit(data.X, y, sample_weight=data.sw)
    m0 = make().fit(data.X, data.y, sample_weight=data.sw)
    assert (m.coef_ == m0.coef_).all() and (m.intercept_ == m0.intercept_).all()
    assert m.objective(data.X, y, data.sw) == m0.objective(data.X, data.y, data.sw)
    tg = [T.Utility(data.Xv, yv), T.EqualOpportunity(data.Xv, yv, data.sv), T.DemographicParity(data.Xv, data.sv),
          T.Robustness(data.Xv, yv)]
    tg0 = [T.Utility(data.Xv, data.yv), T.EqualOpportunity(data.Xv, data.yv, data.sv),
           T.DemographicParity(data.Xv, data.sv), T.Robustness(data.Xv, data.yv)]
    inf, inf0 = su.Influence(m, data.X, y, data.sw), su.Influence(m0, data.X, data.y, data.sw)
    assert inf.reused_hessian and inf0.reused_hessian
    assert (inf.scores(tg) == inf0.scores(tg0)).all()
    eps = -(np.arange(data.n) % 7 == 0).astype(float)
    pairs = [
        (su.newton_update(m, data.X, y, eps, sample_weight=data.sw),
         su.newton_update(m0, data.X, data.y, eps, sample_weight=data.sw)),
        (su.refit(m, data.X, y, eps, sample_weight=data.sw), su.refit(m0, data.X, data.y, eps, sample_weight=data.sw)),
        (su.finetune(m, data.X, y, eps, sample_weight=data.sw, max_iter=5),
         su.finetune(m0, data.X, data.y, eps, sample_weight=data.sw, max_iter=5)),
    ]
    for a, b in pairs:
        assert (a.theta_ == b.theta_).all()
        np.testing.assert_array_equal(a.classes_, m.classes_)  # the refit keeps the labels
        np.testing.assert_array_equal(m.classes_.take((b.predict(data.Xv) == 1).astype(int)), a.predict(data.Xv))
    # the labels were not modified
    np.testing.assert_array_equal(relabel(y0), y)
    np.testing.assert_array_equal(relabel(yv0), yv)


def test_soft_unlearner_and_summary_with_string_labels(data):
    lab = RELABEL["strings"]
    m = su.LogisticRegression(C=C).fit(data.X, lab(data.y))
    m0 = su.LogisticRegression(C=C).fit(data.X, data.y)
    u = su.SoftUnlearner("eop").fit(m, data.X, lab(data.y), data.Xv, lab(data.yv), data.sv)
    u0 = su.SoftUnlearner("eop").fit(m0, data.X, data.y, data.Xv, data.yv, data.sv)
    assert (u.model_.theta_ == u0.model_.theta_).all() and (u.eps_ == u0.eps_).all()
    s, s0 = metrics.summary(m, data.Xv, lab(data.yv), data.sv), metrics.summary(m0, data.Xv, data.yv, data.sv)
    assert s == s0


def test_label_errors_name_the_argument(data):
    m = su.LogisticRegression().fit(data.X, RELABEL["strings"](data.y))
    with pytest.raises(ValueError, match=r"^y: labels \[0, 1\] are not among the model's classes_ \['no', 'yes'\]"):
        su.Influence(m, data.X, data.y)
    with pytest.raises(ValueError, match=r"^y: labels \['maybe'\] are not among .*\['no', 'yes'\]"):
        su.refit(m, data.X, np.where(np.arange(data.n) == 3, "maybe", RELABEL["strings"](data.y)), np.zeros(data.n))
    with pytest.raises(ValueError, match=r"^y: labels \[0, 1\] are not among"):
        T.Utility(data.Xv, data.yv).value(m)
    with pytest.raises(ValueError, match=r"^y: only one class \['a'\]; binary classification needs two"):
        su.LogisticRegression().fit(data.X, np.full(data.n, "a"))
    with pytest.raises(ValueError, match=r"^y: found 3 classes \['a', 'b', 'c'\]\. Only binary"):
        su.LogisticRegression().fit(data.X, np.array(["a", "b", "c"])[np.arange(data.n) % 3])
    with pytest.raises(ValueError, match=r"^y: found 3 classes .*Only binary"):
        T.Utility(data.Xv, np.arange(data.Xv.shape[0]) % 3)
    with pytest.raises(ValueError, match=r"^y: a continuous target"):
        su.LogisticRegression().fit(data.X, data.y + 0.5)
    with pytest.raises(ValueError, match=r"^pos_label: 'maybe' is not one of the classes \['no', 'yes'\]"):
        T.DemographicParity(data.Xv, data.sv, pos_label="maybe").value(m)
    with pytest.raises(TypeError, match=r"^y: labels of mixed types"):
        su.LogisticRegression().fit(data.X, np.array(["a", 1] * (data.n // 2), dtype=object))
    # without an intercept a single class is allowed for {0, 1} labels (classes_ stay [0, 1])
    one = su.LogisticRegression(fit_intercept=False).fit(data.X, np.ones(data.n))
    np.testing.assert_array_equal(one.classes_, [0, 1])


# ---------------------------------------------------------------------------------------------
# pos_label
# ---------------------------------------------------------------------------------------------


def _by_group(metric, yt, yp, s, pos_label):
    """Group 1 minus group 0 of a fairlearn metric with the given pos_label."""
    def rate(a, b):
        return metric(a, b, pos_label=pos_label)

    g = MetricFrame(metrics=rate, y_true=yt, y_pred=yp, sensitive_features=s).by_group
    return float(g.loc[1] - g.loc[0])


@pytest.mark.parametrize("kind", ["strings", "minus_one_one"])
def test_label_gaps_with_pos_label_match_fairlearn(data, kind):
    lab = RELABEL[kind]
    m = su.LogisticRegression(C=C).fit(data.X, lab(data.y))
    yt, yp = lab(data.yv), m.predict(data.Xv)
    neg, pos = m.classes_
    for p in (None, pos, neg):
        want = p if p is not None else pos
        dp = _by_group(selection_rate, yt, yp, data.sv, pos_label=want)
        eop = _by_group(true_positive_rate, yt, yp, data.sv, pos_label=want)
        assert metrics.demographic_parity_gap(yp, data.sv, pos_label=p) == pytest.approx(dp, abs=1e-15)
        assert metrics.equal_opportunity_gap(yt, yp, data.sv, pos_label=p) == pytest.approx(eop, abs=1e-15)
    assert metrics.demographic_parity_gap(yp, data.sv, pos_label=neg) == pytest.approx(
        -metrics.demographic_parity_gap(yp, data.sv), abs=1e-15)


def _fd_gradient(f, model, h=1e-6):
    th = model.theta_
    g = np.empty_like(th)
    for k in range(th.size):
        e = np.zeros_like(th)
        e[k] = h
        g[k] = (f(model._with_theta(th + e)) - f(model._with_theta(th - e))) / (2 * h)
    return g


@pytest.mark.parametrize("make", [lambda: su.LogisticRegression(C=C), lambda: su.LinearSVC(C=C),
                                  lambda: su.LinearSVC(C=C, loss="smooth_hinge")])
def test_soft_gaps_with_pos_label_against_numpy(data, make):
    lab = RELABEL["strings"]
    m = make().fit(data.X, lab(data.y))
    yv = lab(data.yv)
    z = m.decision_function(data.Xv)
    p1 = 1 / (1 + np.exp(-z))
    s = data.sv
    # DP of class "no" (classes_[0]): its probability is 1 − σ(z)
    want_dp = (1 - p1)[s == 1].mean() - (1 - p1)[s == 0].mean()
    dp_neg = T.DemographicParity(data.Xv, s, pos_label="no")
    assert dp_neg.value(m) == pytest.approx(want_dp, rel=1e-12)
    assert dp_neg.value(m) == pytest.approx(-T.DemographicParity(data.Xv, s).value(m), rel=1e-12)
    np.testing.assert_allclose(dp_neg.gradient(m), -T.DemographicParity(data.Xv, s).gradient(m), rtol=1e-12)
    # EOP of class "no": the per-row loss of the model (independent of which class is called positive), compared
    # over the rows labelled "no"
    y01 = (yv == "yes").astype(float)
    if isinstance(m, su.LogisticRegression):
        per_row = np.logaddexp(0, z) - y01 * z
    else:
        margin = (2 * y01 - 1) * z
        per_row = (np.maximum(0, 1 - margin) ** 2 if m.loss == "squared_hinge"
                   else m.temperature * np.logaddexp(0, (1 - margin) / m.temperature))
    negs = yv == "no"
    want_eop = per_row[negs & (s == 0)].mean() - per_row[negs & (s == 1)].mean()
    eop_neg = T.EqualOpportunity(data.Xv, yv, s, pos_label="no")
    assert eop_neg.value(m) == pytest.approx(want_eop, rel=1e-10)
    g = eop_neg.gradient(m)
    g_fd = _fd_gradient(eop_neg.value, m)
    assert rel(g, g_fd) <= 1e-5
    # and DP's gradient by finite differences too
    assert rel(dp_neg.gradient(m), _fd_gradient(dp_neg.value, m)) <= 1e-5


def test_pos_label_eop_needs_positives_of_that_class(data):
    yv = RELABEL["strings"](data.yv)
    only_yes_in_group1 = np.where(data.sv == 1, "yes", yv)
    T.EqualOpportunity(data.Xv, only_yes_in_group1, data.sv)  # "yes" is present in both groups
    with pytest.raises(ValueError, match=r"^s: group 1 has no positive labels \(y = pos_label\)"):
        T.EqualOpportunity(data.Xv, only_yes_in_group1, data.sv, pos_label="no")


# ---------------------------------------------------------------------------------------------
# feature names and DataFrames
# ---------------------------------------------------------------------------------------------


def _frame(X, names=None):
    return pd.DataFrame(X, columns=names or [f"f{j}" for j in range(X.shape[1])])


def test_feature_names_match_sklearn(data):
    df, dfv = _frame(data.X), _frame(data.Xv)
    m = su.LogisticRegression(C=C).fit(df, data.y)
    sk = sk_fit(df, data.y)
    np.testing.assert_array_equal(m.feature_names_in_, sk.feature_names_in_)
    assert m.feature_names_in_.dtype == sk.feature_names_in_.dtype
    assert m.n_features_in_ == sk.n_features_in_
    np.testing.assert_array_equal(m.predict(dfv), sk.predict(dfv))
    # scikit-learn's rules at predict time, checked on both
    swapped = dfv[list(dfv.columns[::-1])]
    renamed = dfv.rename(columns={"f0": "g0"})
    for est in (m, sk):
        with pytest.raises(ValueError, match=r"same order|should match"):
            est.predict(swapped)
        with pytest.raises(ValueError, match="should match"):
            est.predict(renamed)
        with pytest.warns(UserWarning, match="does not have valid feature names"):
            est.predict(data.Xv)
    with pytest.raises(ValueError, match=r"^X: .*unseen at fit time: g0.*missing: f0"):
        su.Influence(m, renamed, data.yv)
    # names travel through the updates and the conversions, and a refit on an array forgets them (as sklearn)
    new = su.refit(m, df, data.y, np.zeros(data.n))
    np.testing.assert_array_equal(new.feature_names_in_, sk.feature_names_in_)
    np.testing.assert_array_equal(m.to_sklearn().feature_names_in_, sk.feature_names_in_)
    np.testing.assert_array_equal(su.from_sklearn(sk).feature_names_in_, sk.feature_names_in_)
    m.fit(data.X, data.y)
    sk.fit(data.X, data.y)
    assert not hasattr(m, "feature_names_in_") and not hasattr(sk, "feature_names_in_")
    for est in (m, sk):
        with pytest.warns(UserWarning, match="has feature names, but"):
            est.predict(dfv)
    # non-string column names: no feature names, as sklearn
    m.fit(pd.DataFrame(data.X), data.y)
    assert not hasattr(m, "feature_names_in_")


def test_dataframe_fit_is_the_array_fit_and_inputs_are_unchanged(data):
    df = _frame(data.X)
    df["flag"] = data.X[:, 0] > 0  # a bool column next to floats is numeric
    df["count"] = pd.array(np.arange(data.n) % 4, dtype="Int64")  # a nullable extension dtype
    before = df.copy()
    m = su.LogisticRegression(C=C).fit(df, pd.Series(RELABEL["strings"](data.y)))
    arr = np.column_stack([data.X, data.X[:, 0] > 0, np.arange(data.n) % 4]).astype(float)
    m0 = su.LogisticRegression(C=C).fit(arr, data.y)
    assert (m.coef_ == m0.coef_).all()
    pd.testing.assert_frame_equal(df, before)


def test_categorical_columns_are_refused_by_name(data):
    df = _frame(data.X)
    df["colour"] = pd.Categorical(np.where(data.y == 1, "red", "blue"))
    df["city"] = np.where(data.X[:, 1] > 0, "A", "B")  # object dtype
    df["label"] = pd.array(np.where(data.X[:, 2] > 0, "x", "y"), dtype="string")
    msg = r"^X: non-numeric \(categorical, object or string\) columns 'colour', 'city', 'label'; .*OneHotEncoder"
    with pytest.raises(ValueError, match=msg):
        su.LogisticRegression().fit(df, data.y)
    m = su.LogisticRegression().fit(df[["f0", "f1"]], data.y)
    same_names = df[["f0", "f1"]].assign(f1=df["colour"])
    with pytest.raises(ValueError, match=r"^X: non-numeric .* 'f1'; .*get_dummies"):
        m.predict(same_names)
    with pytest.raises(ValueError, match=r"^X: non-numeric .* 'city'"):
        T.Utility(df[["f0", "city"]], data.y)


# ---------------------------------------------------------------------------------------------
# from_sklearn: any labels, and Pipelines
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["strings", "minus_one_one", "bools"])
@pytest.mark.parametrize("est", [lambda: SkLR(C=C), lambda: SkSVC(C=C, loss="squared_hinge")])
def test_from_sklearn_keeps_the_classes(data, kind, est):
    y = RELABEL[kind](data.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = est().fit(data.X, y)
        copied = su.from_sklearn(sk)
    np.testing.assert_array_equal(copied.classes_, sk.classes_)
    np.testing.assert_array_equal(copied.predict(data.Xv), sk.predict(data.Xv))
    refitted = su.from_sklearn(sk, data.X, y)
    direct = type(refitted)(C=C).fit(data.X, y)
    assert rel(refitted.theta_, direct.theta_) <= 1e-8
    np.testing.assert_array_equal(refitted.classes_, sk.classes_)
    np.testing.assert_array_equal(refitted.to_sklearn().classes_, sk.classes_)
    with pytest.raises(ValueError, match=r"^y: labels .* are not among the model's classes_"):
        su.from_sklearn(sk, data.X, np.where(data.y == 1, "other", "labels"))


@pytest.mark.parametrize("est,tol", [
    (lambda: SkLR(C=C, solver="newton-cholesky", tol=1e-12), 1e-7),
    (lambda: SkSVC(C=C), None),  # liblinear penalises the intercept: same predictions, other coefficients
])
def test_from_sklearn_pipeline_predicts_from_raw_X(data, est, tol):
    X, Xv = 10 * data.X + 3, 10 * data.Xv + 3  # raw features that the scaler does change
    y = RELABEL["strings"](data.y)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", est())]).fit(X, y)
    pm = su.from_sklearn(pipe, X, y)
    assert isinstance(pm, su.PipelineModel) and pm.preprocessor[0] is pipe[0]
    np.testing.assert_array_equal(pm.predict(Xv), pipe.predict(Xv))
    if tol is not None:
        np.testing.assert_allclose(pm.decision_function(Xv), pipe.decision_function(Xv), rtol=tol, atol=tol)
    np.testing.assert_array_equal(pm.classes_, pipe.classes_)
    # the coefficients are softunlearn's optimum on the transformed data
    Xt = pipe[0].transform(X)
    assert rel(pm.model.theta_, type(pm.model)(C=C).fit(Xt, y).theta_) <= 1e-8
    back = pm.to_sklearn()
    assert isinstance(back, Pipeline) and [n for n, _ in back.steps] == ["scale", "clf"]
    np.testing.assert_allclose(back.decision_function(Xv), pm.decision_function(Xv), rtol=1e-12, atol=1e-12)
    # copying without data keeps the pipeline's predictions exactly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LinearSVC: liblinear's penalised intercept warning
        np.testing.assert_array_equal(su.from_sklearn(pipe).predict(Xv), pipe.predict(Xv))
    # unlearning works on the model and transformed X; with_model puts the preprocessing back in front
    eps = -(np.arange(data.n) < 10).astype(float)
    new = su.newton_update(pm.model, pm.transform(X), y, eps)
    np.testing.assert_array_equal(pm.with_model(new).predict(Xv), new.predict(pipe[0].transform(Xv)))
    with pytest.raises(TypeError, match=r"^model: a PipelineModel .*pass its \.model"):
        su.Influence(pm, X, y)


def test_from_sklearn_pipeline_rejects_unsupported_last_steps(data):
    rf = Pipeline([("scale", StandardScaler()), ("rf", RandomForestClassifier(n_estimators=2))]).fit(data.X, data.y)
    with pytest.raises(TypeError, match=r"^estimator: the Pipeline's last step 'rf': .*RandomForestClassifier"):
        su.from_sklearn(rf, data.X, data.y)
    single = Pipeline([("clf", SkLR())]).fit(data.X, data.y)
    with pytest.raises(ValueError, match=r"^estimator: a Pipeline with a single step"):
        su.from_sklearn(single)

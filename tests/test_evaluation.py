"""softunlearn.evaluation (the metrics table of ``softunlearn run``) against independent computations:
scikit-learn's accuracy and log-loss and fairlearn's group metrics on the same predictions, and numpy for
the soft gaps, the mirror attack and the hinge losses."""
from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equal_opportunity_difference,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, log_loss

import softunlearn as su
from softunlearn import evaluation


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _z(model, X):
    w, b = model.coef_.ravel(), (model.intercept_[0] if model.fit_intercept else 0.0)
    return X @ w + b


@pytest.fixture
def models(data):
    """The original model and two unlearned versions of it (Newton and exact refit with soft DP weights),
    evaluated on the validation split used as a test split."""
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    u = su.SoftUnlearner("dp", lam=1.0, hard_fraction=0.1,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    refit = su.refit(m, data.X, data.y, u.eps_)
    return {"original": m, "hard": u.hard_model_, "soft": u.model_, "refit": refit}, u


def _group_diff(metric, y, yp, s):
    by = MetricFrame(metrics=metric, y_true=y, y_pred=yp, sensitive_features=s).by_group
    return by[1] - by[0]


@pytest.mark.parametrize("target", ["dp", "eop"])
def test_gap_tables_match_sklearn_and_fairlearn(data, models, target):
    ms, u = models
    X, y, s = data.Xv, data.yv, data.sv
    ev = evaluation.Evaluator(target, X, y, s, reference_model=ms["original"], validation_target=u.target_)
    assert ev.columns == ["accuracy", "gap", "soft_gap", "log_loss"]
    table = evaluation.evaluate_models(ms, ev)
    assert list(table) == list(ms)
    for name, m in ms.items():
        row = table[name]
        assert list(row) == ["accuracy", "log_loss", "gap", "soft_gap", "val_target"]
        yp = m.predict(X)
        p = _sigmoid(_z(m, X))
        np.testing.assert_allclose(p, m.predict_proba(X)[:, 1], rtol=1e-12)
        assert row["accuracy"] == accuracy_score(y, yp)
        assert row["log_loss"] == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-12)
        if target == "dp":
            # P(ŷ=1|s=1) − P(ŷ=1|s=0), signed; fairlearn's difference is its absolute value
            assert row["gap"] == pytest.approx(_group_diff(selection_rate, y, yp, s), abs=1e-15)
            assert abs(row["gap"]) == pytest.approx(demographic_parity_difference(y, yp, sensitive_features=s),
                                                    abs=1e-15)
            assert row["soft_gap"] == pytest.approx(p[s == 1].mean() - p[s == 0].mean(), rel=1e-12, abs=1e-15)
        else:
            # TPR(s=1) − TPR(s=0); the soft gap is the log-loss of the positives of s=0 minus that of s=1
            assert row["gap"] == pytest.approx(_group_diff(true_positive_rate, y, yp, s), abs=1e-15)
            assert abs(row["gap"]) == pytest.approx(equal_opportunity_difference(y, yp, sensitive_features=s),
                                                    abs=1e-15)
            pos = y == 1
            ref = (log_loss(y[pos & (s == 0)], p[pos & (s == 0)], labels=[0, 1])
                   - log_loss(y[pos & (s == 1)], p[pos & (s == 1)], labels=[0, 1]))
            assert row["soft_gap"] == pytest.approx(ref, rel=1e-10, abs=1e-14)
        assert row["val_target"] == u.target_.value(m)
        # the one-model function gives the same row
        assert evaluation.model_metrics(m, target, X, y, s, validation_target=u.target_) == row
    # the unlearned models moved the gap the weights were chosen for (validation = this split here)
    if target == "dp":
        assert abs(table["soft"]["soft_gap"]) < abs(table["original"]["soft_gap"])


def _mirror_attack(model, X, factor=1.3):
    w, b = model.coef_.ravel(), model.intercept_[0]
    return X - factor * ((X @ w + b) / (w @ w))[:, None] * w[None, :]


def test_robustness_table_uses_points_fixed_from_the_reference(data, models):
    ms, _ = models
    X, y = data.Xv, data.yv
    ref = ms["original"]
    ev = evaluation.Evaluator("robustness", X, y, reference_model=ref)
    assert ev.columns == ["accuracy", "robust_accuracy", "robust_loss", "log_loss"]
    Xa = _mirror_attack(ref, X)
    np.testing.assert_allclose(ev.robustness.adversarial_X, Xa, rtol=1e-12, atol=1e-12)
    # the attack flips the reference model's decisions: (wᵀxᵃ + b) = −0.3 (wᵀx + b)
    np.testing.assert_allclose(_z(ref, Xa), -0.3 * _z(ref, X), rtol=1e-9, atol=1e-9)
    for name, m in ms.items():
        row = ev(m)
        assert list(row) == ["accuracy", "log_loss", "robust_accuracy", "robust_loss"]
        assert row["accuracy"] == accuracy_score(y, m.predict(X))
        assert row["robust_accuracy"] == accuracy_score(y, (_z(m, Xa) > 0).astype(int)), name
        assert row["robust_loss"] == pytest.approx(log_loss(y, _sigmoid(_z(m, Xa)), labels=[0, 1]), rel=1e-10)
        assert ev.tradeoff_x(row) == row["robust_accuracy"]
    # one model alone: its own attacked points unless a reference is given
    alone = evaluation.model_metrics(ms["soft"], "robustness", X, y)
    Xs = _mirror_attack(ms["soft"], X)
    assert alone["robust_accuracy"] == accuracy_score(y, ms["soft"].predict(Xs))
    assert evaluation.model_metrics(ms["soft"], "robustness", X, y, reference_model=ref) == ev(ms["soft"])


@pytest.mark.parametrize("loss, t", [("squared_hinge", None), ("smooth_hinge", 0.25)])
def test_svm_table_reports_its_own_loss(data, loss, t):
    m = su.LinearSVC(C=1.0, loss=loss, **({} if t is None else {"temperature": t})).fit(data.X, data.y)
    X, y, s = data.Xv, data.yv, data.sv
    ev = evaluation.Evaluator("dp", X, y, s, reference_model=m)
    assert evaluation.loss_name(m) == "svm_loss" and ev.columns[-1] == "svm_loss"
    row = ev(m)
    assert "log_loss" not in row and "val_target" not in row
    margin = (2 * y - 1) * _z(m, X)
    ell = np.maximum(0, 1 - margin) ** 2 if loss == "squared_hinge" else t * np.logaddexp(0, (1 - margin) / t)
    assert row["svm_loss"] == pytest.approx(ell.mean(), rel=1e-10)
    assert row["svm_loss"] == pytest.approx(evaluation.mean_loss(m, X, y), rel=1e-15)
    p = _sigmoid(_z(m, X))  # the DP target is σ of the decision value for every model
    assert row["soft_gap"] == pytest.approx(p[s == 1].mean() - p[s == 0].mean(), rel=1e-10, abs=1e-14)
    assert row["accuracy"] == accuracy_score(y, m.predict(X))


def test_tradeoff_x_and_bad_arguments(data, models):
    ms, _ = models
    ev = evaluation.Evaluator("eop", data.Xv, data.yv, data.sv, reference_model=ms["original"])
    row = ev(ms["soft"])
    assert ev.tradeoff_x(row) == abs(row["gap"])
    with pytest.raises(ValueError, match="target"):
        evaluation.Evaluator("fairness", data.Xv, data.yv, data.sv, reference_model=ms["original"])
    with pytest.raises(ValueError, match="s"):
        evaluation.Evaluator("dp", data.Xv, data.yv, reference_model=ms["original"])
    assert set(evaluation.GAP_DEFINITIONS) == set(su.pipeline.TARGETS)


def test_weight_summary():
    rng = np.random.default_rng(1)
    e = np.concatenate([rng.normal(size=50), np.zeros(10), [-1.0, -1.0, -1.5]])
    u = e * 3
    w = evaluation.weight_summary(e, u)
    assert w["min"] == e.min() and w["max"] == e.max() and w["mean"] == pytest.approx(e.mean(), rel=1e-15)
    assert w["l2_norm"] == pytest.approx(np.sqrt((e**2).sum()), rel=1e-14)
    assert w["n_moved"] == 53 and w["share_moved"] == 53 / 63
    assert w["n_deleted"] == int((e <= -1).sum()) and w["n_below_minus1"] == int((e < -1).sum())
    assert w["n_upweighted"] == int((e > 0).sum())
    assert w["n_below_minus1_before_bounds"] == int((u < -1).sum())
    assert (w["min_before_bounds"], w["max_before_bounds"]) == (u.min(), u.max())
    assert "min_before_bounds" not in evaluation.weight_summary(e)
    for v in w.values():
        assert type(v) in (int, float)  # JSON-ready

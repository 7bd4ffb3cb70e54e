"""Conversion between softunlearn models and fitted scikit-learn linear classifiers.

Supported: ``sklearn.linear_model.LogisticRegression`` (and ``LogisticRegressionCV``, through its chosen
``C_``) with an L2 penalty and ``sklearn.svm.LinearSVC`` with the squared hinge; binary (any two
classes: ``classes_`` and ``feature_names_in_`` carry over both ways), no ``class_weight``. A fitted
``sklearn.pipeline.Pipeline`` whose last step is one of these converts to a :class:`softunlearn.PipelineModel`.

Objectives. scikit-learn's ``LogisticRegression`` minimises ½‖w‖² + C Σ sᵢ ℓᵢ, exactly softunlearn's
objective, with every solver except ``liblinear``. liblinear (``solver="liblinear"`` and every
``LinearSVC``) fits the intercept as the weight of a constant feature of value ``intercept_scaling`` and
penalises it like the other weights: its objective has an extra ½(b/intercept_scaling)², so its
coefficients are *not* softunlearn's optimum (the difference vanishes only as intercept_scaling → ∞).
Influence scores assume the model sits at the optimum of softunlearn's objective, hence:

* With training data, ``from_sklearn(est, X, y[, sample_weight])`` refits softunlearn's objective by
  Newton, warm-started from the estimator's coefficients. When scikit-learn solved the same objective
  this only polishes its solution to softunlearn's tolerance (a step or two; scikit-learn's default
  tol=1e-4 leaves coefficients that are visibly off in influence scores); for liblinear it also moves
  the intercept to the unpenalised optimum. This is the recommended use.
* Without data the coefficients are copied as they are (predictions are identical), and a
  ``UserWarning`` says so when the estimator's objective penalised the intercept.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .linear_model import LinearSVC, LogisticRegression, check_model


def _fail(msg):
    raise ValueError(f"estimator: {msg}")


def _binary_classes(est) -> np.ndarray:
    classes = np.asarray(getattr(est, "classes_", []))
    if classes.shape != (2,):
        _fail(f"softunlearn models are binary (two classes); this one has classes_={classes.tolist()}")
    return classes


def _no_class_weight(est):
    if getattr(est, "class_weight", None) is not None:
        _fail(
            f"class_weight={est.class_weight!r} is not supported: fit with class_weight=None and pass the class "
            "weights as sample_weight (sample_weight[i] = class_weight[y[i]]) to both the scikit-learn fit "
            "and softunlearn (from_sklearn, Influence)"
        )


def _logistic_penalty(est):
    """The penalty scikit-learn actually applies (``penalty`` is deprecated in favour of l1_ratio since 1.8)."""
    penalty = getattr(est, "penalty", "l2")
    l1_ratio = getattr(est, "l1_ratio_", None)
    l1_ratio = np.ravel(l1_ratio)[0] if l1_ratio is not None else getattr(est, "l1_ratio", None)
    if penalty == "deprecated":
        penalty = "l2" if l1_ratio in (0, None) else "l1" if l1_ratio == 1 else "elasticnet"
    elif penalty == "elasticnet" and l1_ratio == 0:
        penalty = "l2"
    return penalty


def _from_logistic(est, kw):
    penalty = _logistic_penalty(est)
    C = float(np.ravel(est.C_)[0]) if hasattr(est, "C_") else est.C
    if penalty is None or penalty == "none" or (isinstance(C, numbers.Real) and abs(C) == math.inf):
        _fail(
            "an unpenalised logistic regression has no unique optimum in general; softunlearn needs the L2 "
            "penalty (finite C)"
        )
    if penalty != "l2":
        _fail(
            f"only the L2 penalty is supported (the L1 part of {penalty!r} is not twice differentiable), got "
            f"penalty={penalty!r}"
        )
    if getattr(est, "multi_class", "auto") == "multinomial":
        _fail("multi_class='multinomial' fits a two-class softmax, a different objective; refit with the default")
    penalised_intercept = est.solver == "liblinear" and bool(est.fit_intercept)
    return LogisticRegression(C=C, fit_intercept=bool(est.fit_intercept), **kw), penalised_intercept


def _from_linear_svc(est, kw):
    if est.loss != "squared_hinge":
        _fail(
            f"loss={est.loss!r} is not supported: the hinge is not differentiable at the margin. Use "
            "loss='squared_hinge', or fit softunlearn.LinearSVC(loss='smooth_hinge') on the data"
        )
    if est.penalty != "l2":
        _fail(f"only penalty='l2' is supported, got {est.penalty!r}")
    if getattr(est, "multi_class", "ovr") != "ovr":
        _fail(f"multi_class={est.multi_class!r} is not supported; use the default 'ovr' (binary)")
    model = LinearSVC(C=est.C, loss="squared_hinge", fit_intercept=bool(est.fit_intercept), **kw)
    return model, bool(est.fit_intercept)


def from_sklearn(estimator, X=None, y=None, sample_weight=None, *, tol=None, max_iter=100, n_threads=None):
    """A softunlearn model from a fitted scikit-learn ``LogisticRegression`` or ``LinearSVC``.

    Parameters
    ----------
    estimator : fitted ``sklearn.linear_model.LogisticRegression`` (binary, L2, any solver, with or
        without intercept) or ``sklearn.svm.LinearSVC`` (squared hinge, L2), with any two classes; or a
        fitted ``sklearn.pipeline.Pipeline`` whose last step is one of them (then a :class:`softunlearn.PipelineModel`
        is returned, and X is the raw input of the pipeline, transformed by its preceding steps).
    X, y, sample_weight : the training data (y in the estimator's classes_). When given, softunlearn's
        objective (unpenalised intercept) is refitted by Newton warm-started from the estimator's
        coefficients, so that the model is at the optimum influence assumes; liblinear's penalised
        intercept is corrected by this refit.
        Without them the coefficients are copied unchanged (warning when the intercept was penalised).
    tol, max_iter, n_threads : passed to the softunlearn model.

    Returns a softunlearn ``LogisticRegression`` or ``LinearSVC`` with the estimator's C, fit_intercept,
    classes_ and feature_names_in_; the estimator is not modified.
    """
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC as SkLinearSVC

    if isinstance(estimator, Pipeline):
        kw_ = dict(tol=tol, max_iter=max_iter, n_threads=n_threads)
        return PipelineModel._from_pipeline(estimator, X, y, sample_weight, **kw_)

    kw = dict(tol=tol, max_iter=max_iter, n_threads=n_threads)
    if isinstance(estimator, SkLogisticRegression):
        conv = _from_logistic
    elif isinstance(estimator, SkLinearSVC):
        conv = _from_linear_svc
    else:
        raise TypeError(
            f"estimator: expected a fitted sklearn.linear_model.LogisticRegression or "
            f"sklearn.svm.LinearSVC, got {type(estimator).__name__}"
        )
    if not hasattr(estimator, "coef_"):
        _fail(f"this {type(estimator).__name__} is not fitted yet; call fit(X, y) first")
    classes = _binary_classes(estimator)
    _no_class_weight(estimator)
    model, penalised_intercept = conv(estimator, kw)
    coef = np.asarray(estimator.coef_)
    if coef.ndim != 2 or coef.shape[0] != 1:
        _fail(f"expected coef_ of shape (1, n_features) (binary), got {coef.shape}")
    theta0 = coef.reshape(-1)
    if model.fit_intercept:
        theta0 = np.append(theta0, np.ravel(estimator.intercept_)[:1])
    if X is None and y is None:
        if sample_weight is not None:
            raise ValueError("sample_weight: given without X and y")
        if penalised_intercept:
            warnings.warn(
                f"{type(estimator).__name__} was fitted by liblinear, which penalises the intercept "
                f"(intercept_scaling={getattr(estimator, 'intercept_scaling', 1)}): its coefficients are not the "
                "optimum of softunlearn's objective (unpenalised intercept) that influence scores assume; pass "
                "the training data, from_sklearn(est, X, y), to refit it",
                UserWarning,
                stacklevel=2,
            )
        dt = np.float32 if coef.dtype == np.float32 else np.float64
        model._set_theta(theta0.astype(dt), coef.shape[1])
        model.classes_ = classes.copy()
        if hasattr(estimator, "feature_names_in_"):
            model.feature_names_in_ = np.asarray(estimator.feature_names_in_, dtype=object).copy()
        return model
    if X is None or y is None:
        raise ValueError(f"{'X' if X is None else 'y'}: give both X and y (to refit), or neither (to copy)")
    n_features = getattr(estimator, "n_features_in_", coef.shape[1])
    if np.shape(X)[-1] != n_features:
        raise ValueError(f"X: the estimator was fitted on {n_features} features, X has {np.shape(X)[-1]}")
    return model._fit(X, y, sample_weight, theta0=theta0, classes=classes)


def to_sklearn(model):
    """The fitted scikit-learn estimator with ``model``'s coefficients (float64).

    ``LogisticRegression`` → ``sklearn.linear_model.LogisticRegression(C, fit_intercept)``;
    ``LinearSVC`` → ``sklearn.svm.LinearSVC(C, fit_intercept, loss)`` with loss "squared_hinge", or "hinge"
    for the smooth hinge (scikit-learn has no smooth hinge; the hinge is its t → 0 limit). ``coef_``,
    ``intercept_``, ``classes_``, ``n_features_in_`` (and ``feature_names_in_``) are set, so ``predict`` and
    ``decision_function`` agree with the model's. Refitting the returned estimator fits scikit-learn's
    objective, which for LinearSVC penalises the intercept (see the module docstring).
    """
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.svm import LinearSVC as SkLinearSVC

    model = check_model(model)
    if isinstance(model, LogisticRegression):
        est = SkLogisticRegression(C=model.C, fit_intercept=model.fit_intercept)
    elif isinstance(model, LinearSVC):
        est = SkLinearSVC(
            C=model.C,
            fit_intercept=model.fit_intercept,
            loss="squared_hinge" if model.loss == "squared_hinge" else "hinge",
        )
    else:  # pragma: no cover - check_model admits only the classes above
        raise TypeError(f"model: cannot convert {type(model).__name__}")
    est.coef_ = np.array(model.coef_, dtype=np.float64).reshape(1, -1)
    est.intercept_ = np.array(model.intercept_, dtype=np.float64).reshape(1)
    est.classes_ = np.asarray(model.classes_).copy()
    est.n_features_in_ = int(model.n_features_in_)
    if hasattr(model, "feature_names_in_"):
        est.feature_names_in_ = np.asarray(model.feature_names_in_, dtype=object).copy()
    if hasattr(model, "n_iter_"):
        est.n_iter_ = np.array([model.n_iter_]) if isinstance(est, SkLogisticRegression) else int(model.n_iter_)
    return est


class PipelineModel:
    """A softunlearn model behind the fitted preprocessing steps of a scikit-learn Pipeline
    (what :func:`from_sklearn` returns for a ``Pipeline``). Thin on purpose: it predicts from raw X, and
    everything else works on the model and on transformed X.

    Attributes
    ----------
    preprocessor : the fitted ``Pipeline`` of all steps but the last (shared with the source pipeline,
        never refitted here).
    model : the softunlearn model of the last step; it lives in the transformed feature space.

    Unlearning: Influence, the updates and the targets take the model and *transformed* data, e.g.
    ``Xt = pm.transform(X)``; ``su.Influence(pm.model, Xt, y)``; ``new = su.newton_update(pm.model, Xt, y, eps)``
    and ``pm.with_model(new)`` to predict from raw X again. The preprocessing is held fixed: unlearning a row
    does not refit a scaler or an encoder fitted on it.
    """

    def __init__(self, preprocessor, model, last_name: str = "model"):
        self.preprocessor = preprocessor
        self.model = check_model(model)
        self.last_name = last_name

    @classmethod
    def _from_pipeline(cls, pipeline, X, y, sample_weight, **kw):
        if len(pipeline.steps) < 2:
            raise ValueError("estimator: a Pipeline with a single step; pass that estimator itself")
        last_name, last = pipeline.steps[-1]
        pre = pipeline[:-1]
        Xt = None if X is None else pre.transform(X)
        try:
            model = from_sklearn(last, Xt, y, sample_weight, **kw)
        except TypeError as exc:
            raise TypeError(f"estimator: the Pipeline's last step {last_name!r}: {exc}") from None
        return cls(pre, model, last_name)

    def transform(self, X):
        """X through the preprocessing steps: the input of :attr:`model`."""
        return self.preprocessor.transform(X)

    @property
    def classes_(self):
        return self.model.classes_

    def decision_function(self, X):
        return self.model.decision_function(self.transform(X))

    def predict(self, X):
        return self.model.predict(self.transform(X))

    def predict_proba(self, X):
        if not hasattr(self.model, "predict_proba"):
            raise AttributeError(f"{type(self.model).__name__} has no predict_proba")
        return self.model.predict_proba(self.transform(X))

    def with_model(self, model) -> PipelineModel:
        """The same preprocessing in front of another model (e.g. an unlearned one)."""
        return PipelineModel(self.preprocessor, model, self.last_name)

    def to_sklearn(self):
        """A fitted scikit-learn Pipeline: the preprocessing steps, then :func:`to_sklearn` of the model."""
        from sklearn.pipeline import Pipeline

        return Pipeline([*self.preprocessor.steps, (self.last_name, to_sklearn(self.model))])

    def __repr__(self):
        return f"PipelineModel({self.preprocessor!r}, {self.model!r})"


__all__ = ["PipelineModel", "from_sklearn", "to_sklearn"]

"""Estimators: L2-regularised binary linear models fitted by the compiled Newton solver.

Objective (scikit-learn's convention, intercept not penalised)::

    J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓ(wᵀxᵢ + b, yᵢ),   θ = (w, b),   yᵢ = 1[labelᵢ = classes_[1]] ∈ {0, 1}

Labels are any two values (ints such as {−1, 1}, strings, bools, {0, 1}); ``classes_`` is their sorted
pair (``np.unique``, as scikit-learn) and the model works on the encoding y above, so z > 0 predicts
``classes_[1]``. Every later call that takes labels (Influence, the updates, the targets) maps them
through the model's ``classes_``.

``LogisticRegression`` uses the logistic loss, ``LinearSVC`` a margin loss of m = y±·z with y± = 2y − 1
(smooth hinge or squared hinge). Everything downstream (influence, targets, weights, updates) only sees
ℓ, ℓ' and ℓ'' through the compiled core, so it works the same for every loss.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError

from . import _core
from . import backend as _backend
from ._solver_choice import FIT_SOLVERS, FitPlan, fit_hessian_free, fit_plan, row_widths
from ._validation import (
    as_matrix,
    as_sample_weight,
    check_bool,
    check_C,
    check_int,
    check_n_threads,
    check_positive,
    check_tol,
    contiguous,
    encode_labels,
    feature_names,
    fit_labels,
    is_dask,
    is_sparse,
)
from .engine import FitCache, make_engine
from .errors import InvalidParameterError

_DEFAULT_TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-7}


class _LinearModel(ClassifierMixin, BaseEstimator):
    """Shared machinery of the binary linear models; subclasses fix the loss through ``_loss``."""

    @property
    def _loss(self) -> tuple[int, float]:
        """(loss code, loss parameter) for the compiled core; validates the loss hyper-parameters."""
        raise NotImplementedError

    def __init__(
        self, C=1.0, fit_intercept=True, tol=None, max_iter=100, n_threads=None, backend="auto", solver="auto"
    ):
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.n_threads = n_threads
        self.backend = backend
        self.solver = solver

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, *, theta0=None):
        """Fit by damped Newton to ‖∇J‖_∞ ≤ tol · C Σᵢ sᵢ · min(1, max|x̃ᵢⱼ|).

        Parameters
        ----------
        X : array of shape (n_samples, n_features); float32 stays float32, anything else float64. A
            scipy.sparse matrix is used as CSR (other formats converted once) and never densified.
        y : array of shape (n_samples,) with two distinct labels (any type np.unique can sort: ints such
            as {0, 1} or {−1, 1}, strings, bools); ``classes_`` = np.unique(y), and y = ``classes_[1]`` is the
            positive class of the encoding (labels within {0, 1} always give ``classes_ = [0, 1]``).
            A pandas DataFrame X sets ``feature_names_in_`` when all its column names are strings;
            non-numeric columns are refused (encode them first).
        sample_weight : array of shape (n_samples,) of non-negative weights sᵢ, default all ones.
        theta0 : optional warm start (w, b) of length n_features + fit_intercept.
        """
        return self._fit(X, y, sample_weight, theta0=theta0, allow_negative=False)

    def _fit(self, X, y, sample_weight, *, theta0=None, allow_negative=False, linear=None, classes=None):
        # `linear`: b of an extra bᵀθ term (objective perturbation, see softunlearn.methods.certified); the cached
        # gradient is that of J without it, the function Influence recomputes.
        # `classes`: keep these classes_ (a refit of a fitted model) instead of inferring them from y.
        check_positive(self.C, "C")
        names = feature_names(X)
        loss = self._loss
        max_iter = check_int(self.max_iter, "max_iter", 0)
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        nt = check_n_threads(self.n_threads)
        prepare = self._dask_engine if is_dask(X) else self._host_engine
        solver = getattr(self, "solver", "auto")  # subclasses without the parameter plan automatically
        if not isinstance(solver, str) or solver not in FIT_SOLVERS:
            raise InvalidParameterError(f"solver: expected one of {FIT_SOLVERS}, got {solver!r}")
        engine, tol, C, th0, plan, classes = prepare(
            X, y, sample_weight, theta0, fit_intercept, loss, nt, allow_negative, linear, classes, solver
        )
        d = engine.n_features
        # A cold start begins with a cheap fit on every 8th row (skipped when that is too few rows).
        res = engine.fit(
            th0,
            C,
            tol,
            max_iter,
            subsample=8 if theta0 is None else 0,
            linear=linear,
            hessian_free=plan.hessian_free,
            cg_budget=plan.cg_budget,
        )
        hessian = res.hessian
        be = engine.name
        self.backend_ = be
        if not res.converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in {res.n_iter} Newton iterations "
                f"(‖∇J‖∞ = {res.grad_norm:.3g}, target {tol * res.grad_scale:.3g}); "
                "increase max_iter, loosen tol, or use a smaller C",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._set_theta(res.theta, d)
        self.classes_ = classes
        if names is not None:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)  # a refit without names forgets the old ones
        self.n_iter_ = int(res.n_iter)
        self.n_hessian_evals_ = int(res.n_hessian)
        self.n_cg_iter_ = int(res.n_cg_iter)
        self.converged_ = bool(res.converged)
        self.objective_ = float(res.objective)
        self.hessian_free_ = hessian is None
        self._fit_cache = FitCache.of(res, (X, y, sample_weight), linear)
        return self

    def _theta0(self, theta0, p, dt):
        if theta0 is None:
            return np.zeros(p, dtype=dt)
        th0 = contiguous(np.asarray(theta0, dtype=dt).reshape(-1), dt)
        if th0.shape != (p,) or not np.isfinite(th0).all():
            raise ValueError(f"theta0: expected {p} finite values (w, b), got shape {np.shape(theta0)}")
        return th0

    def _host_engine(
        self, X, y, sample_weight, theta0, fit_intercept, loss, nt, allow_negative, linear, classes, solver
    ):
        """The CPU or CUDA engine on validated in-memory data, with tol, C, θ₀ and the fit's plan."""
        Xc = as_matrix(X, "X")
        dt = Xc.dtype
        n, d = Xc.shape
        if y is None:
            raise ValueError(f"y: {type(self).__name__} requires y to be passed, but the target y is None")
        yc, classes = fit_labels(y, n, dt, classes=classes)  # before the warning: a refused y gets no warning
        if np.asarray(y).ndim == 2 and not allow_negative:  # scikit-learn's convention for a column-vector y
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; y is raveled to shape (n_samples,)",
                DataConversionWarning,
                stacklevel=3,
            )
        sc = as_sample_weight(sample_weight, n, dt, allow_negative=allow_negative)
        if sc.size and not (sc != 0).any():
            raise ValueError("sample_weight: all sample weights are zero; the objective has no data term")
        if fit_intercept:
            present = yc if not sc.size else yc[sc > 0]
            if present.size == 0 or present.min() == present.max():
                raise ValueError(
                    "y: only one class among the samples with positive weight; with an unpenalised "
                    f"intercept the fit has no minimiser (need both classes {classes.tolist()})"
                )
        tol = _DEFAULT_TOL[dt] if self.tol is None else check_tol(self.tol, dt)
        C = check_C(self.C, dt, float(np.abs(sc).sum()) if sc.size else n)
        p = d + fit_intercept
        th0 = self._theta0(theta0, p, dt)
        be = _backend.resolve(getattr(self, "backend", "auto"), n_samples=n, n_params=p, loss_code=loss[0])
        if be == "cuda" and solver == "auto":  # the device assembles Hessians fast: only memory forces CG
            plan = FitPlan(fit_hessian_free(p, dt, nt))
        else:
            plan = fit_plan(solver, n, p, row_widths(Xc, fit_intercept), is_sparse(Xc), dt, nt)
        if be == "cuda" and (is_sparse(Xc) or plan.hessian_free):
            # The device fit is dense with a dense Hessian: sparse X and very wide problems stay on the CPU.
            if getattr(self, "backend", "auto") == "cuda":
                raise ValueError(
                    "backend: 'cuda' needs a dense X and a dense Hessian that fits in memory; "
                    "use backend='cpu' for scipy.sparse X or very many features"
                )
            be = "cpu"
        if be == "cuda" and linear is not None:
            # The device fit has no linear term (objective perturbation is a CPU-only feature).
            if getattr(self, "backend", "auto") == "cuda":
                raise ValueError("backend: 'cuda' does not support the objective perturbation bᵀθ; use backend='cpu'")
            be = "cpu"
        engine = make_engine(be, Xc, yc, sc, fit_intercept=fit_intercept, loss=loss, n_threads=nt)
        return engine, tol, C, th0, plan, classes

    def _dask_engine(
        self, X, y, sample_weight, theta0, fit_intercept, loss, nt, allow_negative, linear, classes, solver
    ):
        """The Dask engine on X, y, s chunked along rows (one distributed validation pass)."""
        from .dask_engine import dask_data, dask_labels, dask_threads

        if getattr(self, "backend", "auto") not in ("auto", "cpu"):
            raise ValueError(f"backend: dask arrays run on the workers' CPUs; got backend={self.backend!r}")
        y, classes = dask_labels(y, classes)
        Xd, yd, sd = dask_data(X, y, sample_weight, need_both_classes=fit_intercept, allow_negative=allow_negative)
        dt = Xd.dtype
        tol = _DEFAULT_TOL[dt] if self.tol is None else check_tol(self.tol, dt)
        p = Xd.shape[1] + fit_intercept
        nt = dask_threads(self.n_threads)
        engine = make_engine("dask", Xd, yd, sd, fit_intercept=fit_intercept, loss=loss, n_threads=nt)
        C = check_C(self.C, dt, abs(engine.weight_sum()))
        if solver == "newton-cg":
            raise ValueError("solver: 'newton-cg' needs in-memory X; a dask X is fitted with dense p×p Hessians")
        plan = FitPlan(fit_hessian_free(p, dt, nt))
        return engine, tol, C, self._theta0(theta0, p, dt), plan, classes

    def _set_theta(self, theta, n_features):
        theta = np.asarray(theta)
        self.n_features_in_ = int(n_features)
        self._fitted_intercept = bool(self.fit_intercept)
        self.coef_ = theta[:n_features].reshape(1, -1).copy()
        self.intercept_ = (
            theta[n_features : n_features + 1] if self.fit_intercept else np.zeros(1, dtype=theta.dtype)
        ).copy()

    def _with_theta(self, theta) -> _LinearModel:
        """A new fitted model with parameters θ; the original is untouched."""
        new = copy.copy(self)
        new._set_theta(np.array(theta, dtype=self.dtype), self.n_features_in_)
        for attr in (
            "n_iter_",
            "converged_",
            "objective_",
            "n_hessian_evals_",
            "n_cg_iter_",
            "backend_",
            "hessian_free_",
        ):
            new.__dict__.pop(attr, None)
        return new

    def __sklearn_tags__(self):
        # Binary classifiers (any two labels): scikit-learn's checks skip their multi-class cases.
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = True  # scipy.sparse X is used as CSR, never densified
        return tags

    def __getstate__(self):
        # The fit's Hessian cache holds weak references to the training arrays; a copy of the model
        # (pickle, joblib, deepcopy) recomputes the Hessian instead.
        state = super().__getstate__()
        state.pop("_fit_cache", None)
        return state

    def to_sklearn(self):
        """The equivalent fitted scikit-learn estimator (same coefficients): see :func:`softunlearn.to_sklearn`."""
        from .sklearn_interop import to_sklearn

        return to_sklearn(self)

    # ---- parameters ----------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"model: this {type(self).__name__} is not fitted yet; call fit(X, y) first")

    @property
    def theta_(self) -> np.ndarray:
        """θ = (w, b), or w alone without an intercept; dtype of the training data.

        Checked against ``n_features_in_`` and ``fit_intercept`` every time, since ``coef_`` and
        ``intercept_`` are plain attributes a user can overwrite."""
        self._check_fitted()
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        fitted = self.__dict__.get("_fitted_intercept", fit_intercept)
        if fit_intercept != fitted:
            raise ValueError(
                f"fit_intercept: the model was fitted with fit_intercept={fitted}, now it is "
                f"{fit_intercept}; refit it after changing fit_intercept"
            )
        coef = np.asarray(self.coef_)
        d = getattr(self, "n_features_in_", None)
        check_positive(self.C, "C")
        if coef.dtype not in (np.float32, np.float64) or coef.size != d or coef.ndim not in (1, 2):
            raise ValueError(
                f"coef_: expected a float32/float64 array of shape (1, {d}) (n_features_in_), "
                f"got shape {coef.shape} and dtype {coef.dtype}"
            )
        w = coef.reshape(-1)
        if not fit_intercept:
            if not np.isfinite(w).all():
                raise ValueError("coef_ contains NaN or infinity")
            return np.ascontiguousarray(w)
        if not hasattr(self, "intercept_"):
            raise ValueError("intercept_: missing on a model fitted with fit_intercept=True")
        b = np.asarray(self.intercept_).reshape(-1)
        if b.shape != (1,):
            raise ValueError(
                f"intercept_: expected shape (1,) with fit_intercept=True, got {np.shape(self.intercept_)}"
            )
        theta = np.ascontiguousarray(np.concatenate([w, b.astype(w.dtype, copy=False)]))
        if not np.isfinite(theta).all():
            raise ValueError("coef_ or intercept_ contains NaN or infinity")
        return theta

    @property
    def dtype(self) -> np.dtype:
        return self.theta_.dtype

    def _encode_y(self, y, n: int | None, name: str = "y") -> np.ndarray:
        """Labels as the y01 encoding of this model's classes_ (the one place labels meet a fitted model)."""
        self._check_fitted()
        return encode_labels(y, np.asarray(self.classes_), n, self.dtype, name)

    def _check_names(self, X, name="X"):
        """scikit-learn's feature-name rule: a DataFrame with other columns (or another order) than in fit is
        a ValueError; names given to a model fitted without them, or missing where it had them, a warning."""
        fitted = getattr(self, "feature_names_in_", None)
        given = feature_names(X)
        cls = type(self).__name__
        if fitted is None and given is not None:
            warnings.warn(f"{name} has feature names, but {cls} was fitted without feature names", UserWarning, 3)
        elif fitted is not None and given is None:
            warnings.warn(
                f"{name} does not have valid feature names, but {cls} was fitted with feature names", UserWarning, 3
            )
        elif fitted is not None and given is not None and list(fitted) != list(given):
            unseen = [c for c in given if c not in set(fitted)]
            missing = [c for c in fitted if c not in set(given)]
            if not unseen and not missing:
                raise ValueError(f"{name}: feature names must be in the same order as they were in fit")
            msg = f"{name}: the feature names should match those that were passed during fit."
            if unseen:
                msg += " Feature names unseen at fit time: " + ", ".join(map(str, unseen[:10])) + "."
            if missing:
                msg += " Feature names seen at fit time, yet now missing: " + ", ".join(map(str, missing[:10])) + "."
            raise ValueError(msg)

    def _as_X(self, X, name="X"):
        self._check_fitted()
        _ = self.theta_  # the fitted state (coef_, intercept_, n_features_in_) is checked before the data
        self._check_names(X, name)
        # .shape, not np.shape: an array-like that only converts through __array__ must not be dispatched on.
        shape: tuple[int, ...] = np.shape(X) if isinstance(X, (list, tuple)) else tuple(getattr(X, "shape", ()))
        if len(shape) == 2 and shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name}: X has {shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (as in training)"
            )
        return as_matrix(X, name, dtype=self.dtype, n_features=self.n_features_in_)

    # ---- prediction ----------------------------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """z = wᵀx + b for every row (a lazy dask array, with X's row chunks, for a dask X)."""
        if is_dask(X):
            from .dask_engine import as_dask_matrix, dask_threads, predict_rows

            self._check_fitted()
            Xd = as_dask_matrix(X, "X", dtype=self.dtype, n_features=self.n_features_in_)
            return predict_rows(Xd, self.theta_, bool(self.fit_intercept), dask_threads(self.n_threads))
        Xc = self._as_X(X)
        theta = self.theta_
        return _core.predict(Xc, theta, bool(self.fit_intercept), check_n_threads(self.n_threads))

    def predict(self, X) -> np.ndarray:
        """Labels from ``classes_``: classes_[1] where z > 0, classes_[0] elsewhere."""
        positive = self.decision_function(X) > 0
        classes = np.asarray(self.classes_)
        if is_dask(positive):
            return positive.map_blocks(  # type: ignore[attr-defined]
                lambda b: classes.take(b.astype(np.intp)), dtype=classes.dtype
            )
        return classes.take(positive.astype(np.intp))

    def objective(self, X, y, sample_weight=None) -> float:
        """J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓᵢ on the given data."""
        Xc = self._as_X(X)
        n = Xc.shape[0]
        res = _core.loss_pass(
            Xc,
            self._encode_y(y, n),
            as_sample_weight(sample_weight, n, self.dtype),
            self.theta_,
            self.dtype.type(self.C),
            bool(self.fit_intercept),
            False,
            False,
            False,
            check_n_threads(self.n_threads),
            *self._loss,
        )
        return float(res["objective"])


class LogisticRegression(_LinearModel):
    """L2-regularised binary logistic regression, fitted to ~1e-10 relative gradient by Newton's method.

    ``J(θ) = ½‖w‖² + C Σᵢ sᵢ [log(1 + e^{zᵢ}) − yᵢ zᵢ]`` with zᵢ = wᵀxᵢ + b (b not penalised): the same
    objective as ``sklearn.linear_model.LogisticRegression(C=C, penalty="l2")``.

    Parameters
    ----------
    C : inverse regularisation strength (> 0).
    fit_intercept : learn an unpenalised intercept b.
    tol : stop when ‖∇J‖_∞ ≤ tol · C Σᵢ sᵢ · min(1, max|x̃ᵢⱼ|) (the feature factor is 1 with an intercept);
        default 1e-10 in float64, 1e-5 in float32.
    max_iter : maximum Newton iterations.
    n_threads : threads for the compiled kernels (None: all available).
    backend : "auto", "cpu" or "cuda": where the fit runs (see :mod:`softunlearn.backend`). "auto" uses
        the GPU only when the CUDA extension and a device are available and n·p² ≥ 5·10⁹; the
        environment variable SOFTUNLEARN_BACKEND overrides "auto". Same objective, algorithm and stopping
        rule on both; the result does not depend on it beyond rounding.
    solver : how each Newton system is solved (the objective, stopping rule and optimum are the same):

        * ``"newton-cholesky"``: assemble the p×p Hessian (O(n·p²)), factor it, and reuse the factor for
          chord steps once Newton converges quadratically; the Hessian at θ̂ is kept for
          :class:`~softunlearn.Influence`.
        * ``"newton-cg"``: truncated Newton, Jacobi-preconditioned CG on matrix-free products
          H·v = C X̃ᵀ(h ⊙ X̃v) + Rv (two O(n·p) passes each); no Hessian is formed, and Influence
          assembles its one Hessian itself. Fast on well-conditioned wide data, slow where CG needs
          many iterations (one-hot columns).
        * ``"auto"`` (default): a cost model in units of one pass over X. A Hessian pass costs ≈ w/36
          passes for dense rows of width w = p (w/4.5 for CSR with w = Σnnzᵢ²/Σnnzᵢ); the dense fit needs
          ≈ 3 of them (5 when n/8 < max(2000, 20p) rules out the subsample warm start) + 4 passes, the
          Hessian-free fit ≈ 18 passes + the one Hessian Influence then assembles, its best case, so it
          is chosen only when 1.5× that is still cheaper, with a budget of ≈ two Hessians' worth of CG
          iterations after which the fit finishes with dense steps. It is also Hessian-free when
          p > 20,000 or a dense Hessian would not fit in half the available memory, and dense on the
          CUDA backend. ``bench/fit_strategy.py`` measures the crossover.

    Attributes
    ----------
    coef_, intercept_, classes_, n_iter_, converged_
        Shapes (1, n_features) and (1,), the two labels (sorted), the Newton iterations and whether they
        converged.
    n_features_in_, feature_names_in_
        The number of features, and the column names of a DataFrame X with string names (else absent).
    objective_
        J at the solution.
    theta_
        (w, b) as one vector.
    n_hessian_evals_
        Hessian assemblies the fit needed (later Newton steps reuse a factorisation).
    n_cg_iter_
        CG iterations of the Hessian-free steps (0 for a dense fit).
    backend_
        "cpu" or "cuda", where the last fit ran.
    hessian_free_
        True when the fit ended without a p×p Hessian at θ̂ (``solver="newton-cg"``, or ``"auto"``
        choosing it; see ``solver``; or a dask X whose last Newton step was a chord step: ``Influence``
        then assembles the Hessian in the pass over X it makes anyway); False when it ended with the
        Hessian, including a Hessian-free fit that spent its CG budget.
    """

    @property
    def _loss(self) -> tuple[int, float]:
        return (_core.Loss.logistic, 0.0)

    def predict_proba(self, X) -> np.ndarray:
        """(n, 2) array of [P(classes_[0]), P(classes_[1])] with P(classes_[1]) = σ(z)."""
        p1 = expit(self.decision_function(X))
        return np.column_stack([1.0 - p1, p1])

    def predict_log_proba(self, X) -> np.ndarray:
        z = self.decision_function(X)
        return np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)])


_TEMPERATURE_RANGE = (1e-6, 1e6)
_SVM_LOSSES = {name: _core.Loss.__members__[name] for name in ("squared_hinge", "smooth_hinge")}


class LinearSVC(_LinearModel):
    """L2-regularised binary linear SVM with a twice-differentiable (or generalised-Hessian) margin loss.

    ``J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓ(mᵢ)`` with margin mᵢ = y±ᵢ·zᵢ, y± = 2y − 1 ∈ {−1, +1}, zᵢ = wᵀxᵢ + b
    (b not penalised), y = 1[label = classes_[1]]; the labels are any two values, as for every softunlearn model.

    * ``loss="squared_hinge"`` (default, scikit-learn's ``LinearSVC`` loss): ℓ = max(0, 1 − m)²,
      ℓ' = −2y±·max(0, 1 − m), generalised ℓ'' = 2·1[m < 1]. Newton with this Hessian is exact on a fixed
      set of margin violators and so stops after finitely many steps once that set settles.
      Unlike liblinear (``sklearn.svm.LinearSVC``), the intercept is not penalised; see
      :func:`softunlearn.from_sklearn`.
    * ``loss="smooth_hinge"``: Koh & Liang's ℓ = t·log(1 + exp((1 − m)/t)) with temperature t > 0,
      ℓ' = −y±·σ((1 − m)/t), ℓ'' = σ(1 − σ)/t. It tends to the hinge max(0, 1 − m) as t → 0 (gap ≤ t·log 2);
      small t makes the curvature (≤ 1/(4t)) concentrate on the points near the margin, so the Hessian
      becomes ill-conditioned and first-order influence less accurate (leave-one-out on 3,000 Adult rows,
      C = 0.1: Spearman ≥ 0.9996 at t = 0.25, 0.98 at t = 0.1) and Newton needs more steps. Default t = 0.1.

    The influence machinery is the same as for logistic regression with ℓ' and ℓ'' of this loss:
    gᵢ = C sᵢ ℓ'(zᵢ) x̃ᵢ, H = C X̃ᵀdiag(s ⊙ ℓ'')X̃ + diag(1, …, 1, 0), removal-convention
    scoreᵢ = gᵢᵀH⁻¹∇f. There is no ``predict_proba``: the decision value is a margin, not a log-odds.

    Parameters
    ----------
    C : inverse regularisation strength (> 0).
    loss : "squared_hinge" or "smooth_hinge".
    temperature : t > 0 of the smooth hinge (validated for both losses, used only by the smooth hinge).
    fit_intercept, tol, max_iter, n_threads, solver : as for :class:`LogisticRegression`.
    """

    def __init__(
        self,
        C=1.0,
        loss="squared_hinge",
        temperature=0.1,
        fit_intercept=True,
        tol=None,
        max_iter=100,
        n_threads=None,
        solver="auto",
    ):
        super().__init__(
            C=C, fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, n_threads=n_threads, solver=solver
        )
        self.loss = loss
        self.temperature = temperature

    @property
    def _loss(self) -> tuple[int, float]:
        if not isinstance(self.loss, str) or self.loss not in _SVM_LOSSES:
            raise ValueError(f"loss: expected one of {tuple(_SVM_LOSSES)}, got {self.loss!r}")
        t = check_positive(self.temperature, "temperature")
        if not _TEMPERATURE_RANGE[0] <= t <= _TEMPERATURE_RANGE[1]:
            # Outside this range the smooth hinge's curvature (≤ 1/(4t)) over- or underflows in float32.
            raise InvalidParameterError(
                f"temperature: expected a number in [{_TEMPERATURE_RANGE[0]:g}, "
                f"{_TEMPERATURE_RANGE[1]:g}], got {self.temperature!r}"
            )
        return (_SVM_LOSSES[self.loss], t)


def check_model(model, name: str = "model") -> _LinearModel:
    if not isinstance(model, _LinearModel) and isinstance(getattr(model, "model", None), _LinearModel):
        raise TypeError(
            f"{name}: a {type(model).__name__} (preprocessing + model); pass its .model, with X transformed "
            f"by its .transform(X)"
        )
    if not isinstance(model, _LinearModel):
        raise TypeError(
            f"{name}: expected a fitted softunlearn model (LogisticRegression or LinearSVC), "
            f"got {type(model).__name__}; convert scikit-learn estimators with softunlearn.from_sklearn"
        )
    model._check_fitted()
    return model

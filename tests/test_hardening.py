"""Regression tests of the hardening audit: every reproducer gives a clear error naming the argument,
or a finite result equal to an independent computation; the compiled entry points check their own
array lengths; nothing returns NaN silently."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import softunlearn as su
from softunlearn import _core, reference

N, D = 200, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = (X[:, 0] + rng.standard_normal(N) > 0).astype(float)
    s = (X[:, 1] > 0).astype(float)
    return X, y, s


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return su.LogisticRegression().fit(X, y)


# ---- 1. reads beyond the arrays ------------------------------------------------------------------

@pytest.mark.parametrize("width", [D + 3, D + 1, D - 1])
def test_robustness_target_wider_or_narrower_than_model(data, fitted, width):
    X, y, _ = data
    inf = su.Influence(fitted, X, y)
    with pytest.raises(ValueError, match=rf"^X: the target has {width} features, the model {D}"):
        inf.scores(su.targets.Robustness(np.ones((10, width)), np.ones(10)))


@pytest.mark.parametrize("coef", [lambda c: c[:, :3], lambda c: np.hstack([c, c]), lambda c: c.ravel()[:0]])
def test_overwritten_coef_is_checked_against_n_features(data, fitted, coef):
    X, y, _ = data
    m = su.LogisticRegression().fit(X, y)
    m.coef_ = coef(m.coef_)
    with pytest.raises(ValueError, match=r"^coef_: expected .*shape \(1, 5\)"):
        m.predict(X)
    with pytest.raises(ValueError, match=r"^coef_"):
        su.Influence(m, X, y)


def test_overwritten_intercept_is_checked(data):
    X, y, _ = data
    m = su.LogisticRegression().fit(X, y)
    m.intercept_ = np.zeros(3)
    with pytest.raises(ValueError, match=r"^intercept_: expected shape \(1,\)"):
        m.decision_function(X)


@pytest.mark.parametrize("flip_to", [False, True])
def test_flipped_fit_intercept_after_fit(data, flip_to):
    X, y, _ = data
    m = su.LogisticRegression(fit_intercept=not flip_to).fit(X, y)
    m.set_params(fit_intercept=flip_to)
    with pytest.raises(ValueError, match=r"^fit_intercept: the model was fitted with fit_intercept="):
        su.Influence(m, X, y)
    m.set_params(fit_intercept=not flip_to)
    assert np.isfinite(m.decision_function(X)).all()


# ---- duck-typed targets and solves: no reshape, no empty arrays into the core ---------------------

class _Duck:
    def __init__(self, grad, value=1.0):
        self._g, self._v = grad, value

    def value(self, model):
        return self._v

    def gradient(self, model):
        return self._g


P = D + 1


@pytest.mark.parametrize("grad", [np.array([]), np.ones(2 * P), np.ones((P, 2)), np.ones(P - 1), np.ones((2, P))],
                         ids=["empty", "2p", "p-by-2", "p-1", "2-by-p"])
def test_duck_typed_gradient_of_wrong_shape(data, fitted, grad):
    X, y, _ = data
    inf = su.Influence(fitted, X, y)
    with pytest.raises(ValueError, match=r"^target gradient: expected shape \(6,\)"):
        inf.scores(_Duck(grad))


@pytest.mark.parametrize("grad,exc", [(None, TypeError), (np.array(["a"] * P), TypeError),
                                      (np.full(P, np.nan), ValueError), (np.ones(P, complex), TypeError)])
def test_duck_typed_gradient_of_wrong_kind(data, fitted, grad, exc):
    X, y, _ = data
    with pytest.raises(exc, match=r"^target gradient"):
        su.Influence(fitted, X, y).scores(_Duck(grad))


def test_duck_typed_gradient_column_vector_equals_flat(data, fitted):
    X, y, _ = data
    inf = su.Influence(fitted, X, y)
    g = np.linspace(-1, 1, P)
    np.testing.assert_array_equal(inf.scores(_Duck(g.reshape(-1, 1))), inf.scores(_Duck(g)))


@pytest.mark.parametrize("V", [np.ones(2 * P), np.ones((P, 0)), np.ones((P, 2, 1)), np.ones(P - 1)])
def test_influence_solve_wrong_shape(data, fitted, V):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"^V: expected shape \(6,\) or \(6, k\)"):
        su.Influence(fitted, X, y).solve(V)


def test_influence_solve_matches_numpy(data, fitted):
    X, y, _ = data
    inf = su.Influence(fitted, X, y)
    H = reference.hessian(fitted.theta_, X, y, C=1.0, fit_intercept=True)
    V = np.arange(2.0 * P).reshape(P, 2)
    np.testing.assert_allclose(inf.solve(V), np.linalg.solve(H, V), rtol=1e-9)


# ---- the compiled functions check their own inputs -------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda X, y, th: _core.predict(X, th[:-2], True, 0),
    lambda X, y, th: _core.predict(X, np.ones(P + 3), True, 0),
    lambda X, y, th: _core.xtv(X, y[:-1], True, 0),
    lambda X, y, th: _core.weighted_gram(X, y[:3], True, 0),
    lambda X, y, th: _core.loss_pass(X, y[:-1], np.empty(0), th, 1.0, True, True, True, True, 0, _core.Loss.logistic,
                                     0.0),
    lambda X, y, th: _core.loss_pass(X, y, np.ones(3), th, 1.0, True, True, True, True, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.loss_pass(X, y, np.empty(0), th[:2], 1.0, True, True, True, True, 0, _core.Loss.logistic,
                                     0.0),
    lambda X, y, th: _core.fit(X, y[:7], np.empty(0), th, 1.0, True, 1e-10, 10, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.fit(X, y, np.empty(0), th[:1], 1.0, True, 1e-10, 10, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.fit(X, y, np.empty(0), th, 1.0, True, 1e-10, 10, 0, _core.Loss.logistic, 0.0, 0, np.ones(2)),
    lambda X, y, th: _core.fit(X, y, np.empty(0), th, 1.0, True, 1e-10, -1, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.fit(X, y, np.empty(0), th, 0.0, True, 1e-10, 10, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.predict(X, th, True, -3),
    lambda X, y, th: _core.evaluate_target(_core.TargetKind.utility, X, th, y[:5], np.empty(0), True, 0,
                                           _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.evaluate_target(_core.TargetKind.dp, X, th, np.empty(0), y[:5], True, 0,
                                           _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.evaluate_target(_core.TargetKind.eop, X, th, y, np.empty(0), True, 0,
                                           _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.evaluate_target(_core.TargetKind.utility, X, th[:3], y, np.empty(0), True, 0,
                                           _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.evaluate_target(7, X, th, y, y, True, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.evaluate_target(_core.TargetKind.dp, X, th, np.empty(0), y, True, 0, _core.Loss.logistic,
                                           0.0, counts=(-1, 5)),
    lambda X, y, th: _core.evaluate_target(_core.TargetKind.dp, X, th, np.empty(0), y, True, 0, _core.Loss.logistic,
                                           0.0, counts=(0, 5)),
    lambda X, y, th: _core.target_counts(_core.TargetKind.eop, y[:5], y),
    lambda X, y, th: _core.target_counts(7, y, y),
    lambda X, y, th: _core.loss_pass(X, y, np.empty(0), th, 1.0, True, True, True, True, 0, 9, 0.0),
    lambda X, y, th: _core.mirror_attack(np.ascontiguousarray(X[:, :3]), th, True, 1.3, 0),
    lambda X, y, th: _core.mirror_attack(X, th, True, -1.0, 0),
    lambda X, y, th: _core.scores(X, np.ones((2 * P, 1)), y, True, 0),
    lambda X, y, th: _core.scores(X, np.ones((P, 1)), y[:-1], True, 0),
    lambda X, y, th: _core.hessian_matvec(X, y[:4], np.ones(P), np.ones((P, 1)), True, 0),
    lambda X, y, th: _core.cg_solve(X, y, np.ones(P), np.ones((2 * P, 1)), True, 1e-8, 10, 0),
    lambda X, y, th: _core.cg_solve(X, y, np.ones(2), np.ones((P, 1)), True, 1e-8, 10, 0),
    lambda X, y, th: _core.cg_solve(X, y[:2], np.ones(P), np.ones((P, 1)), True, 1e-8, 10, 0),
    lambda X, y, th: _core.cg_solve(X, y, np.ones(P), np.ones((P, 1)), True, -1.0, 10, 0),
    lambda X, y, th: _core.cg_solve(X, y, np.ones(P), np.ones((P, 1)), True, 1e-8, -5, 0),
    lambda X, y, th: _core.Cholesky_f64(np.ones((P, 2))),
    lambda X, y, th: _core.Cholesky_f64(np.full((2, 2), np.nan)),
    lambda X, y, th: _core.Cholesky_f64(np.eye(P)).solve(np.ones((2 * P, 1))),
    lambda X, y, th: _core.lbfgs_fit(X, y, y[:3], th, 1.0, True, 1e-8, 10, 5, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.lbfgs_fit(X, y[:3], y, th, 1.0, True, 1e-8, 10, 5, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.lbfgs_fit(X, y, y, th[:2], 1.0, True, 1e-8, 10, 5, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.lbfgs_fit(X, y, y, th, 1.0, True, 1e-8, 10, 0, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.ascent_curvature(X, y, y[:3], th, 1.0, True, 1.0, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.gradient_steps(X, y, y, th[:1], 1.0, True, 1.0, 0.1, 3, 1e-8, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.gradient_steps(X, y, y, th, 1.0, True, 1.0, 0.1, -3, 1e-8, 0, _core.Loss.logistic, 0.0),
    lambda X, y, th: _core.weight_moments(y, y[:3], 0),
])
def test_compiled_entry_points_check_lengths(data, fitted, call):
    X, y, _ = data
    with pytest.raises(ValueError):  # noqa: PT011 (any ValueError, not a crash; each entry point has its message)
        call(X, y, fitted.theta_)


def test_cholesky_solve_with_no_columns(fitted):
    out = _core.Cholesky_f64(np.eye(P)).solve(np.ones((P, 0)))
    assert out.shape == (P, 0)


# ---- 2. nothing silently NaN ---------------------------------------------------------------------

def test_cg_tolerance_below_precision_is_refused(data, fitted):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"^cg_tol: expected a number in \[2.2"):
        su.Influence(fitted, X, y, solver="cg", cg_tol=1e-300)


def test_compiled_cg_with_unreachable_tolerance_stays_finite(data, fitted):
    # Below machine precision the recursive residual underflows; the core stops instead of dividing 0 by 0.
    X, y, _ = data
    inf = su.Influence(fitted, X, y)
    h = _core.loss_pass(X, y, np.empty(0), fitted.theta_, 1.0, True, False, False, True, 0, _core.Loss.logistic,
                        0.0)["h"]
    reg = np.r_[np.ones(D), 0.0]
    B = np.ones((P, 2))
    U, its, res, _ = _core.cg_solve(X, h, reg, B, True, 1e-300, 10_000, 0)
    assert np.isfinite(U).all() and np.isfinite(res).all()
    np.testing.assert_allclose(U, np.linalg.solve(inf.hessian, B), rtol=1e-9)


@pytest.mark.parametrize("value", [-5, 0, True, 2.5, "10"])
def test_cg_max_iter_validated(data, fitted, value):
    X, y, _ = data
    with pytest.raises((ValueError, TypeError), match=r"^cg_max_iter: expected an integer ≥ 1"):
        su.Influence(fitted, X, y, solver="cg", cg_max_iter=value)


@pytest.mark.parametrize("bounds", [None, (-1, None)])
@pytest.mark.parametrize("lam", [1e-320, 5e-324, 1e-309])
def test_subnormal_lambda_is_refused(data, fitted, bounds, lam):
    X, y, s = data
    inf = su.Influence(fitted, X, y)
    T, U = inf.scores([su.targets.DemographicParity(X, s), su.targets.Utility(X, y)]).T
    with pytest.raises(ValueError, match=r"^lam: expected a finite number > 0 with 1/\(2·lam\) finite"):
        su.soft_weights(T, U, 0.05, lam=lam, bounds=bounds, lam_scale="absolute")


def test_tiny_C_underflowing_float32_is_refused(data):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"^C: expected a value .* representable in float32"):
        su.LogisticRegression(C=1e-50).fit(X.astype(np.float32), y)
    # float64 represents it. As C → 0 the optimum tends to b = logit(ȳ) (the unpenalised intercept fits the
    # base rate) and w = C·X̃ᵀ(y − ȳ) + O(C²): the stopping test is relative to C Σ s, so it resolves both.
    m = su.LogisticRegression(C=1e-50).fit(X, y)
    ybar = y.mean()
    np.testing.assert_allclose(m.intercept_[0], np.log(ybar / (1 - ybar)), rtol=1e-9)
    np.testing.assert_allclose(m.coef_[0] / 1e-50, X.T @ (y - ybar), rtol=1e-6)


@pytest.mark.parametrize("model", [su.LogisticRegression, su.LinearSVC])
def test_overflowing_X_in_fit_raises(data, model):
    X, y, _ = data
    with pytest.raises(su.NonFiniteError, match="rescale X"):
        model().fit(X * 1e300, y)


@pytest.mark.parametrize("model", [su.LogisticRegression, su.LinearSVC])
def test_overflowing_X_in_influence_raises(data, model):
    X, y, _ = data
    # The SVM's loss overflows (NonFiniteError naming X); the logistic loss saturates instead, leaving a
    # Hessian with no curvature along the intercept (NotPositiveDefiniteError). Never NaN scores or θ.
    m = model().fit(X, y)
    with pytest.raises(su.SoftunlearnError):
        su.Influence(m, X * 1e300, y)
    with pytest.raises(su.SoftunlearnError):
        su.newton_update(m, X * 1e300, y, np.full(N, -0.1))


def test_non_finite_error_is_a_value_error():
    assert issubclass(su.NonFiniteError, ValueError) and issubclass(su.NonFiniteError, su.SoftunlearnError)
    assert issubclass(su.NotPositiveDefiniteError, ValueError)
    assert _core.NotPositiveDefiniteError is su.NotPositiveDefiniteError


@pytest.mark.parametrize("param,value,exc,pattern", [
    ("fit_intercept", "no", TypeError, r"^fit_intercept: expected True or False, got 'no'"),
    ("fit_intercept", 1, TypeError, r"^fit_intercept: expected True or False"),
    ("max_iter", True, TypeError, r"^max_iter: expected an integer ≥ 0, got True"),
    ("max_iter", 2.0, TypeError, r"^max_iter: expected an integer"),
    ("max_iter", -1, ValueError, r"^max_iter: expected an integer ≥ 0, got -1"),
    ("C", np.nan, ValueError, r"^C: expected a finite number > 0"),
    ("C", "1", TypeError, r"^C: expected a positive number"),
    ("tol", -1.0, ValueError, r"^tol: expected a finite number > 0"),
    ("n_threads", -2, ValueError, r"^n_threads: expected None or a positive integer"),
])
def test_model_parameters_validated(data, param, value, exc, pattern):
    X, y, _ = data
    with pytest.raises(exc, match=pattern):
        su.LogisticRegression().set_params(**{param: value}).fit(X, y)


def test_numpy_scalar_parameters_accepted(data):
    X, y, _ = data
    a = su.LogisticRegression(C=np.float32(0.5), max_iter=np.int64(50), fit_intercept=np.bool_(True)).fit(X, y)
    b = su.LogisticRegression(C=0.5, max_iter=50).fit(X, y)
    np.testing.assert_array_equal(a.theta_, b.theta_)


# ---- 3. confusing errors -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_finetune_and_gradient_ascent_on_sparse_equal_dense(data, fitted, fmt):
    X, y, _ = data
    eps = np.where(np.arange(N) % 7 == 0, -1.0, 0.0)
    Xs = sp.csr_matrix(X).asformat(fmt)
    dense, sparse = su.finetune(fitted, X, y, eps), su.finetune(fitted, Xs, y, eps)
    np.testing.assert_allclose(sparse.theta_, dense.theta_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        sparse.theta_, reference.refit(X, y, eps, C=1.0, fit_intercept=True, theta0=fitted.theta_), rtol=1e-6)
    ga_d = su.gradient_ascent(fitted, X, y, eps, steps=5)
    ga_s = su.gradient_ascent(fitted, Xs, y, eps, steps=5)
    np.testing.assert_allclose(ga_s.theta_, ga_d.theta_, rtol=1e-9, atol=1e-12)


def test_csr_slack_past_indptr_is_ignored(data):
    X, y, _ = data
    A = sp.csr_matrix(X)
    padded = sp.csr_matrix((np.r_[A.data, np.nan, np.inf], np.r_[A.indices, 0, 0], A.indptr), shape=A.shape)
    a, b = su.LogisticRegression().fit(A, y), su.LogisticRegression().fit(padded, y)
    np.testing.assert_array_equal(a.theta_, b.theta_)


def test_csr_nan_inside_reports_its_row(data):
    X, y, _ = data
    A = sp.csr_matrix(X)
    A.data[A.indptr[7] + 1] = np.nan
    with pytest.raises(ValueError, match=r"^X contains NaN or infinity \(first at index \(7, "):
        su.LogisticRegression().fit(A, y)


def test_all_zero_sample_weight_in_influence(data, fitted):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"^sample_weight: all sample weights are zero"):
        su.Influence(fitted, X, y, sample_weight=np.zeros(N))


# ---- found by the fuzz (tests/test_fuzz.py) ----------------------------------------------------------

@pytest.mark.parametrize("kw,pattern", [
    (dict(n_threads=2**40), r"^n_threads: expected None or a positive integer \(at most 4096\)"),
    (dict(max_iter=10**12), r"^max_iter: expected an integer ≤ 2147483647"),
])
def test_counts_beyond_a_c_int_are_refused(data, kw, pattern):
    X, y, _ = data
    with pytest.raises(su.InvalidParameterError, match=pattern):
        su.LogisticRegression(**kw).fit(X, y)


def test_finetune_budget_beyond_a_c_int_is_refused(data, fitted):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"^max_iter: expected an integer ≤ 2147483647"):
        su.finetune(fitted, X, y, np.zeros(N), max_iter=10**12)


def test_invalid_parameter_error_is_both_value_and_type_error():
    assert issubclass(su.InvalidParameterError, ValueError) and issubclass(su.InvalidParameterError, TypeError)


def test_csr_with_indptr_past_the_end_names_X(data, fitted):
    X, y, _ = data
    A = sp.csr_matrix(X)
    bad = sp.csr_matrix((A.data.copy(), A.indices.copy(), A.indptr.copy()), shape=A.shape)
    bad.indptr[-1] += 5  # scipy's own check would say "Last value of index pointer ..." without naming X
    for call in (lambda: su.LogisticRegression().fit(bad, y), lambda: fitted.decision_function(bad),
                 lambda: su.finetune(fitted, bad, y, np.zeros(N))):
        with pytest.raises(ValueError, match=r"^X: malformed CSR matrix"):
            call()


def test_overflowing_scores_raise(data):
    X, y, _ = data
    m = su.LogisticRegression(C=1e-3).fit(X, y)  # little curvature along the intercept: H⁻¹G overflows
    with pytest.raises(su.NonFiniteError, match=r"^targets: the scores overflowed"):
        su.Influence(m, X, y).scores(_Duck(np.full(P, 1e308)))


def test_model_state_is_checked_before_the_data(data):
    X, y, _ = data
    m = su.LogisticRegression().fit(X, y)
    m.n_features_in_ = D + 2
    with pytest.raises(ValueError, match=r"^coef_: expected"):
        m.decision_function(X)


# ---- the long fuzz run (tests/test_fuzz.py with SOFTUNLEARN_FUZZ_EXAMPLES ≥ 6000) ------------------

def test_robustness_factor_that_overflows_names_factor(data, fitted):
    X, y, _ = data
    with pytest.raises(su.errors.NonFiniteError, match=r"^factor: the attacked points"):
        su.targets.Robustness(X * 1e10, y, factor=1e300).value(fitted)


def test_robustness_loss_that_overflows_names_x_and_factor(data):
    X, y, _ = data
    m = su.LinearSVC().fit(X, y)
    t = su.targets.Robustness(X * 1e150, y, factor=1e150)
    with pytest.raises(su.errors.NonFiniteError, match=r"^X, factor: the target's value or gradient overflowed"):
        t.gradient(m)


@pytest.mark.parametrize("make", [lambda X, y, s: su.targets.Utility(X, None),
                                  lambda X, y, s: su.targets.Robustness(X, None),
                                  lambda X, y, s: su.targets.EqualOpportunity(X, None, s)])
def test_targets_that_need_labels_refuse_none(data, make):
    X, y, s = data
    with pytest.raises(TypeError, match=r"^y: expected the validation labels, got None"):
        make(X, y, s)


def test_finetune_refuses_all_zero_reweighted_weights(data, fitted):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"^sample_weight, eps: every reweighted sample weight"):
        su.finetune(fitted, X, y, np.full(N, 1e-300), sample_weight=np.zeros(N))
    with pytest.raises(ValueError, match=r"^sample_weight, eps: every reweighted sample weight"):
        su.finetune(fitted, X, y, -np.ones(N))


def test_target_gradient_below_the_dtype_range_is_refused(data):
    X, y, _ = data
    m32 = su.LogisticRegression().fit(X.astype(np.float32), y)
    g = np.full(D + 1, 1e-300)
    with pytest.raises(ValueError, match=r"^target gradient: its largest entry, 1e-300, is below"):
        su.Influence(m32, X.astype(np.float32), y).scores(su.targets.Custom(g))
    with pytest.raises(ValueError, match=r"^target gradient: its largest entry"):
        su.targets.evaluate((0.0, g), m32)


def test_cg_solves_right_hand_sides_of_tiny_magnitude(data, fitted):
    # a 2-norm of the right-hand side underflows at 1e-200; CG must scale by the max-norm instead
    X, y, _ = data
    g = np.random.default_rng(1).standard_normal(D + 1)
    want = su.Influence(fitted, X, y, solver="cholesky").scores(su.targets.Custom(g))
    got = su.Influence(fitted, X, y, solver="cg").scores(su.targets.Custom(g * 1e-200)) / 1e-200
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8 * np.abs(want).max())


def test_reversed_pair_names_the_target(fitted):
    with pytest.raises(ValueError, match=r"^target: a \(value, gradient\) pair needs"):
        su.targets.required_change((1.0, -1e-300), fitted)


def test_predicted_change_that_overflows_names_eps(data, fitted):
    X, y, _ = data
    inf = su.Influence(fitted, X, y)
    with pytest.raises(su.errors.NonFiniteError, match=r"^eps: the predicted change"):
        inf.predicted_change(su.targets.Utility(X * 1e150, y), np.full(N, 1e300))


@pytest.mark.parametrize("which", ["T", "U"])
@pytest.mark.parametrize("scale", [1e-310, 5e-324, 1e-200, 1e200])
def test_weight_scores_outside_the_working_range_are_refused(which, scale):
    rng = np.random.default_rng(2)
    T, U = rng.standard_normal(30), rng.standard_normal(30)
    args = {"T": T * scale, "U": U} if which == "T" else {"T": T, "U": U * scale}
    with pytest.raises(ValueError, match=rf"^{which}: expected scores of largest magnitude in"):
        su.soft_weights(args["T"], args["U"], 0.1, 0.5, bounds=(-1, None), lam_scale="absolute")


def test_finetune_in_float32_where_the_objective_is_flat_to_rounding():
    # J ≈ 1e-4 resolves steps only to ~1e-11 in float32: the line search must rank points by φ', not φ
    rng = np.random.default_rng(0)
    fails = 0
    for _ in range(40):
        X = rng.standard_normal((2, 1)).astype(np.float32)
        y = np.array([0.0, 1.0])
        sw, eps = rng.uniform(0.1, 2, 2), rng.uniform(-0.9, 1, 2)
        m = su.LogisticRegression(C=1e-4, fit_intercept=False).fit(X, y)
        got = su.finetune(m, X, y, eps, sample_weight=sw)
        want = su.refit(m, X.astype(np.float64), y, eps, sample_weight=sw)
        fails += not (got.converged_ and abs(got.coef_[0, 0] - want.coef_[0, 0]) <= 1e-3 * abs(want.coef_[0, 0]))
    assert fails == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
def test_fit_without_intercept_on_tiny_features_is_not_stopped_at_zero(dtype, sparse):
    X = np.array([[1.0], [2.0], [-1.0], [0.5]]) * 1e-8
    y = np.array([0.0, 1.0, 1.0, 0.0])
    Xf = sp.csr_matrix(X.astype(dtype)) if sparse else X.astype(dtype)
    m = su.LinearSVC(C=30.0, fit_intercept=False).fit(Xf, y) if sparse else \
        su.LogisticRegression(C=30.0, fit_intercept=False).fit(Xf, y)
    ref = reference.fit(X, y, C=30.0, fit_intercept=False, loss="squared_hinge" if sparse else "logistic")
    np.testing.assert_allclose(m.coef_.ravel(), ref[:1], rtol=1e-4 if dtype == np.float32 else 1e-9)


def test_influence_on_a_cached_hessian_that_overflowed_names_x():
    # max_iter=0: the fit returns θ₀ = 0 with the Hessian it assembled there, which overflowed
    X = sp.csr_matrix(np.array([[1e300], [0.0]]))
    y = np.array([0.0, 1.0])
    with pytest.warns(ConvergenceWarning, match="did not converge in 0 Newton iterations"):
        m = su.LogisticRegression(C=1e-50, fit_intercept=False, max_iter=0).fit(X, y)
    with pytest.raises(su.errors.NonFiniteError, match=r"^X: the Hessian at θ̂ overflowed"):
        su.Influence(m, X, y, solver="cholesky")


def test_real_parameters_that_numpy_cannot_test_for_finiteness():
    """A Fraction is a real number (accepted); an int beyond the float range is not a finite float (the
    parameter error, not NumPy's TypeError from np.isfinite)."""
    from fractions import Fraction

    from softunlearn._validation import check_positive

    assert check_positive(Fraction(1, 2), "C") == 0.5
    with pytest.raises(su.InvalidParameterError, match="C: expected a finite number > 0"):
        check_positive(10**400, "C")
    assert su.targets.checked_value(Fraction(3, 4)) == 0.75
    with pytest.raises(ValueError, match="target value: expected a finite real number"):
        su.targets.checked_value(10**400)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parameter_change_of_a_subnormal_eps_keeps_its_digits(data, dtype):
    # linear in ε: the change for ε·2ᵏ is the change for ε times 2ᵏ, to rounding, also where ε ⊙ r is
    # subnormal (a small C makes r small)
    X, y, _ = data
    m = su.LogisticRegression(C=1e-6).fit(X.astype(dtype), y)
    inf = su.Influence(m, X.astype(dtype), y)
    eps = np.random.default_rng(3).uniform(-1, 1, N)
    k = -1040 if dtype == np.float64 else -120
    want = np.ldexp(inf.parameter_change(eps).astype(np.float64), k)
    got = inf.parameter_change(np.ldexp(eps, k)).astype(np.float64)
    spacing = np.ldexp(1.0, -1074 if dtype == np.float64 else -149)  # the subnormal grid
    np.testing.assert_allclose(got, want, rtol=0, atol=2 * spacing + 1e-6 * np.abs(want).max())


def _misaligned(a):
    """A copy of a that is C-contiguous but starts one byte into its buffer (np.frombuffer at an offset,
    as a deserialised array can): every element is misaligned."""
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    assert out.flags.c_contiguous and not out.flags.aligned
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_misaligned_arrays_are_copied_before_the_compiled_core(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)).astype(dtype)
    y = (X[:, 0] > 0).astype(dtype)
    s = rng.uniform(0.5, 2, 300).astype(dtype)
    Xm, ym, sm = _misaligned(X), _misaligned(y), _misaligned(s)
    from softunlearn._validation import as_matrix, as_vector

    assert as_matrix(Xm).flags.aligned and as_vector(ym, 300, "y", dtype).flags.aligned
    a = su.LogisticRegression().fit(X, y, s)
    b = su.LogisticRegression().fit(Xm, ym, sm, theta0=_misaligned(a.theta_))
    assert b.n_iter_ == 0 and np.array_equal(a.theta_, b.theta_)
    T = su.Influence(a, X, y, s).scores(su.targets.Utility(X, y))
    assert np.array_equal(T, su.Influence(a, Xm, ym, sm).scores(su.targets.Utility(Xm, ym)))
    U = -T[::-1].copy()
    w = su.soft_weights(T, U, 0.01, bounds=(-1, 0))
    assert np.array_equal(w.eps, su.soft_weights(_misaligned(T), _misaligned(U), 0.01, bounds=(-1, 0)).eps)

"""How the Newton fit solves its systems: dense Hessians (``solver="newton-cholesky"``), truncated Newton
with CG on matrix-free products (``"newton-cg"``), the CG budget that turns a Hessian-free fit dense,
and the cost model of ``"auto"``.

Every strategy must reach the optimum the reference finds (``softunlearn.reference.fit``, SciPy's
L-BFGS-B to a 1e-12 gradient); the cost model is checked for the choices it exists to make.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import softunlearn as su
from softunlearn import _core, _solver_choice
from softunlearn import reference as ref
from softunlearn import targets as T
from softunlearn.engine import CpuEngine, Engine
from softunlearn.errors import InvalidParameterError

LOSSES = {
    "logistic": lambda **kw: su.LogisticRegression(**kw),
    "squared_hinge": lambda **kw: su.LinearSVC(loss="squared_hinge", **kw),
    "smooth_hinge": lambda **kw: su.LinearSVC(loss="smooth_hinge", temperature=0.5, **kw),
}
REF_LOSS = {"logistic": {}, "squared_hinge": {"loss": "squared_hinge"},
            "smooth_hinge": {"loss": "smooth_hinge", "temperature": 0.5}}


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(b)), 1e-300))


def _wide(n=3000, d=60, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if sparse:
        X *= rng.uniform(size=(n, d)) < 0.15
    w = rng.standard_normal(d) / np.sqrt(d)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ w + 0.2)))).astype(np.float64)
    s = rng.uniform(0.5, 2.0, n)
    return (sp.csr_matrix(X) if sparse else X), y, s


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_every_solver_reaches_the_reference_optimum(loss, sparse, fit_intercept):
    X, y, s = _wide(sparse=sparse)
    theta_ref = ref.fit(X, y, C=0.5, fit_intercept=fit_intercept, sample_weight=s, **REF_LOSS[loss])
    fits = {}
    for solver in _solver_choice.FIT_SOLVERS:
        m = LOSSES[loss](C=0.5, fit_intercept=fit_intercept, solver=solver).fit(X, y, sample_weight=s)
        assert m.converged_, solver
        assert rel(m.theta_, theta_ref) <= 1e-8, solver
        fits[solver] = m
    free, dense = fits["newton-cg"], fits["newton-cholesky"]
    assert free.hessian_free_ and free.n_hessian_evals_ == 0 and free.n_cg_iter_ > 0
    assert not dense.hessian_free_ and dense.n_hessian_evals_ >= 1 and dense.n_cg_iter_ == 0
    assert rel(free.theta_, dense.theta_) <= 1e-8


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_influence_after_a_hessian_free_fit_assembles_its_own_hessian(dtype):
    X, y, s = _wide(n=2500, d=40, seed=4)
    X = X.astype(dtype)
    Xv, sv = X[:300], (X[:300, 0] > 0).astype(dtype)
    free = su.LogisticRegression(C=0.8, solver="newton-cg").fit(X, y)
    inf = su.Influence(free, X, y)
    assert not inf.reused_hessian and inf.solver == "cholesky"
    theta = free.theta_.astype(np.float64)
    H_ref = ref.hessian(theta, X.astype(np.float64), y, C=0.8)
    assert rel(inf.hessian, H_ref) <= (1e-10 if dtype == np.float64 else 1e-4)
    G = np.column_stack([ref.target_gradient("dp", theta, Xv.astype(np.float64), s=sv)])
    S_ref = ref.influence_scores(theta, X.astype(np.float64), y, G, C=0.8)
    S = inf.scores([T.DemographicParity(Xv, sv)])
    assert rel(S, S_ref) <= (1e-8 if dtype == np.float64 else 2e-3)


def test_cg_budget_turns_the_fit_dense_and_reaches_the_same_optimum(skewed_one_hot):
    X, y = skewed_one_hot()
    X = X.toarray()
    e = CpuEngine(X, y, np.zeros(0), fit_intercept=True, loss=(0, 0.0), n_threads=1)
    th0 = np.zeros(e.n_params)
    dense = e.fit(th0, 5.0, 1e-10, 100, subsample=0)
    free = e.fit(th0, 5.0, 1e-10, 100, subsample=0, hessian_free=True)
    assert free.hessian is None and free.n_cg_iter > 40  # the case the budget is for
    budget = 12
    mixed = e.fit(th0, 5.0, 1e-10, 100, subsample=0, hessian_free=True, cg_budget=budget)
    assert mixed.converged and mixed.hessian is not None and mixed.n_hessian >= 1
    assert budget <= mixed.n_cg_iter < free.n_cg_iter
    theta_ref = ref.fit(X, y, C=5.0)
    for r in (dense, free, mixed):
        assert rel(r.theta, theta_ref) <= 1e-8
    # the Hessian left behind is the one at the returned θ, as Influence's reuse requires
    H_ref = ref.hessian(np.asarray(mixed.theta), X, y, C=5.0)
    assert rel(mixed.hessian, H_ref) <= 1e-12
    # a budget that is never reached changes nothing
    roomy = e.fit(th0, 5.0, 1e-10, 100, subsample=0, hessian_free=True, cg_budget=10**6)
    assert roomy.hessian is None and roomy.n_cg_iter == free.n_cg_iter
    np.testing.assert_array_equal(roomy.theta, free.theta)


def test_cg_budget_spent_in_the_warm_start_makes_the_full_fit_dense(skewed_one_hot):
    X, y = skewed_one_hot(n=24000)
    X = X.toarray()
    e = CpuEngine(X, y, np.zeros(0), fit_intercept=True, loss=(0, 0.0), n_threads=1)
    th0 = np.zeros(e.n_params)
    r = e.fit(th0, 5.0, 1e-10, 100, subsample=8, hessian_free=True, cg_budget=12)
    assert r.n_warm_iter > 0 and r.converged and r.hessian is not None
    # the budget is spent on the subsample (whose CG iterations n_cg_iter, like n_hessian, leaves out):
    # the full data never run CG, and take dense steps from the warm start's factor
    assert r.n_cg_iter == 0
    unbudgeted = e.fit(th0, 5.0, 1e-10, 100, subsample=8, hessian_free=True)
    assert unbudgeted.hessian is None and unbudgeted.n_cg_iter > 0
    assert rel(r.theta, ref.fit(X, y, C=5.0)) <= 1e-8


def test_budget_switch_through_the_callbacks_takes_the_native_steps(skewed_one_hot):
    X, y = skewed_one_hot()
    X = X.toarray()
    e = CpuEngine(X, y, np.zeros(0), fit_intercept=True, loss=(0, 0.0), n_threads=1)
    th0 = np.zeros(e.n_params)
    native = e.fit(th0, 5.0, 1e-10, 100, hessian_free=True, cg_budget=12)
    driven = Engine.fit(e, th0, 5.0, 1e-10, 100, hessian_free=True, cg_budget=12)
    for key in ("n_iter", "n_hessian", "n_passes", "n_cg_iter", "converged"):
        assert getattr(driven, key) == getattr(native, key), key
    assert rel(driven.theta, native.theta) <= 1e-12


def test_auto_plan_follows_the_cost_model():
    plan = _solver_choice.fit_plan
    f64 = np.float64

    def dense(n, p):
        return plan("auto", n, p, (float(p), float(p)), False, f64, 1)

    # narrow rows: a Hessian costs a few passes, dense Newton wins
    assert dense(100_000, 11) == (False, 0) and dense(100_000, 101) == (False, 0)
    # wide rows: Hessian-free with a positive budget, dense again past nothing but memory
    wide = dense(100_000, 1001)
    assert wide.hessian_free and wide.cg_budget > 0
    # the choice is monotone in the width
    choices = [dense(100_000, p).hessian_free for p in range(11, 2000, 37)]
    assert choices == sorted(choices)
    # without the subsample warm start (few rows per parameter) dense costs more Hessians: earlier switch
    assert dense(10_000, 301).hessian_free and not dense(100_000, 301).hessian_free
    # one-hot CSR rows (Census-KDD: 411 columns, 38 entries a row) stay dense
    assert plan("auto", 160_000, 412, (39.0, 39.0), True, f64, 1) == (False, 0)
    # explicit choices are kept; "newton-cg" has no budget
    assert plan("newton-cg", 100_000, 11, (11.0, 11.0), False, f64, 1) == (True, 0)
    assert plan("newton-cholesky", 100_000, 1001, (1001.0, 1001.0), False, f64, 1) == (False, 0)


def test_row_widths_of_dense_and_csr():
    X = np.zeros((3, 5))
    assert _solver_choice.row_widths(X, True) == (6.0, 6.0)
    A = sp.csr_matrix(np.array([[1.0, 2.0, 0, 0], [0, 0, 0, 3.0], [0, 0, 0, 0]]))
    w, w_bar = _solver_choice.row_widths(A, False)
    assert w == pytest.approx((2 * 2 + 1 * 1) / 3) and w_bar == pytest.approx(1.0)


def test_estimator_plan_is_what_the_fit_reports(monkeypatch):
    X, y, s = _wide(n=2000, d=30)
    seen = []
    original = _solver_choice.fit_plan

    def spy(*args):
        seen.append(original(*args))
        return seen[-1]

    import softunlearn.linear_model as lm

    monkeypatch.setattr(lm, "fit_plan", spy)
    m = su.LogisticRegression().fit(X, y)
    assert seen and m.hessian_free_ == seen[-1].hessian_free
    monkeypatch.setattr(lm, "fit_plan", lambda *a: _solver_choice.FitPlan(True, 10**6))
    m2 = su.LogisticRegression().fit(X, y)
    assert m2.hessian_free_ and rel(m2.theta_, m.theta_) <= 1e-8


def test_bad_solver_and_budget_are_refused():
    X, y, _ = _wide(n=200, d=3)
    for bad in ("lbfgs", "", None, 3):
        with pytest.raises(InvalidParameterError, match="solver"):
            su.LogisticRegression(solver=bad).fit(X, y)
    with pytest.raises(ValueError, match="cg_budget"):
        _core.fit(X=X, y=y, s=np.zeros(0), theta0=np.zeros(4), C=1.0, intercept=True, tol=1e-8, max_iter=10,
                  n_threads=1, loss=0, loss_param=0.0, hessian_free=True, cg_budget=-1)
    X0 = np.ascontiguousarray(X)
    assert np.array_equal(X, X0)  # nothing modified

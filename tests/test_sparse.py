"""scipy.sparse input end to end.

Oracles: the same computation on the dense array (the dense path is itself tested against
softunlearn.reference), softunlearn.reference run on the sparse matrix (products only, never densified),
and NumPy on the dense array for the raw kernels. Data: synthetic one-hot designs from categorical
columns (≥ 90 % zeros) and the one-hot columns of UCI Adult (≥ 90 % zeros).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import softunlearn as su
from softunlearn import _core
from softunlearn import _solver_choice as solver_choice
from softunlearn import influence as inf_mod
from softunlearn import reference as ref
from softunlearn import targets as T

RTOL = {np.float64: 1e-9, np.float32: 2e-4}


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def one_hot(codes, levels):
    """CSR one-hot encoding of integer columns (one block of `levels[j]` columns per column j)."""
    n, k = codes.shape
    offsets = np.concatenate([[0], np.cumsum(levels)[:-1]])
    indices = (codes + offsets).ravel()
    return sp.csr_matrix((np.ones(n * k), indices, np.arange(0, n * k + 1, k)), shape=(n, int(np.sum(levels))))


def make_one_hot(n=800, n_val=300, seed=0, levels=(4, 6, 9, 12, 5, 16, 7, 30)):
    """One-hot data: y from a logistic model on the categories; s (sensitive) tied to column 0."""
    rng = np.random.default_rng(seed)
    levels = np.asarray(levels)
    effects = [rng.normal(scale=0.8, size=m) for m in levels]

    def draw(m):
        codes = np.column_stack([rng.integers(0, L, size=m) for L in levels])
        z = sum(e[codes[:, j]] for j, e in enumerate(effects)) - 0.2
        y = (rng.uniform(size=m) < 1 / (1 + np.exp(-z))).astype(np.int64)
        s = ((codes[:, 0] >= 2) ^ (rng.uniform(size=m) < 0.2)).astype(np.int64)
        return one_hot(codes, levels), y, s

    X, y, s = draw(n)
    Xv, yv, sv = draw(n_val)
    sw = rng.uniform(0.3, 2.0, size=n)
    return X, y, s, Xv, yv, sv, sw


@pytest.fixture(scope="module")
def onehot():
    return make_one_hot()


@pytest.fixture(scope="module")
def adult_onehot(adult_subset):
    ds = adult_subset
    k = len(ds.numeric_features)  # the numeric columns are a prefix; the rest is one-hot
    return (sp.csr_matrix(ds.train.X[:, k:]), ds.train.y, ds.train.s, sp.csr_matrix(ds.val.X[:, k:]), ds.val.y,
            ds.val.s)


def test_fixtures_are_sparse(onehot, adult_onehot):
    for X in (onehot[0], adult_onehot[0]):
        assert 1 - X.nnz / np.prod(X.shape) >= 0.9


def _everything(X, y, Xv, yv, sv, *, dtype, fit_intercept, sw, C=0.7):
    """Every number the sparse path produces, for comparison with the dense path."""
    X = X.astype(dtype)
    m = su.LogisticRegression(C=C, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    inf = su.Influence(m, X, y, sample_weight=sw, reuse_hessian=False)
    targets = [T.Utility(Xv, yv), T.DemographicParity(Xv, sv), T.EqualOpportunity(Xv, yv, sv),
               T.Robustness(Xv, yv, model=m)]
    S = inf.scores(targets)
    eps = np.linspace(-0.5, 0.5, X.shape[0])
    return {
        "theta": m.theta_,
        "fit_hessian": m._fit_cache.hessian,
        "hessian": inf.hessian,
        "r": inf.r,
        "scores": S,
        "target_values": np.array([t.value(m) for t in targets]),
        "newton": su.newton_update(m, X, y, eps, sample_weight=sw, influence=inf).theta_,
        "refit": su.refit(m, X, y, eps, sample_weight=sw).theta_,
        "decision": m.decision_function(Xv),
        "proba": m.predict_proba(Xv),
        "predict": m.predict(Xv),
        "objective": m.objective(X, y, sample_weight=sw),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_csr_matches_dense(onehot, dtype, fit_intercept, weighted):
    X, y, s, Xv, yv, sv, sw = onehot
    sw = sw if weighted else None
    sparse = _everything(X, y, Xv, yv, sv, dtype=dtype, fit_intercept=fit_intercept, sw=sw)
    dense = _everything(X.toarray(), y, Xv.toarray(), yv, sv, dtype=dtype, fit_intercept=fit_intercept, sw=sw)
    for key in dense:
        assert np.asarray(sparse[key]).dtype == np.asarray(dense[key]).dtype, key
        if key == "predict":
            assert (sparse[key] == dense[key]).mean() >= (1.0 if dtype == np.float64 else 0.99), key
        else:
            assert rel(sparse[key], dense[key]) <= RTOL[dtype], key


def test_real_one_hot_adult_matches_dense_and_reference(adult_onehot):
    X, y, s, Xv, yv, sv = adult_onehot
    m = su.LogisticRegression(C=0.5).fit(X, y)
    md = su.LogisticRegression(C=0.5).fit(X.toarray(), y)
    assert rel(m.theta_, md.theta_) <= 1e-9
    theta_ref = ref.fit(X, y, C=0.5)  # the reference on the sparse matrix itself
    assert rel(m.theta_, theta_ref) <= 1e-7
    G = np.column_stack([ref.target_gradient("dp", theta_ref, Xv, s=sv),
                         ref.target_gradient("utility", theta_ref, Xv, yv)])
    S_ref = ref.influence_scores(theta_ref, X, y, G, C=0.5)
    S = su.Influence(m, X, y).scores([T.DemographicParity(Xv, sv), T.Utility(Xv, yv)])
    assert rel(S, S_ref) <= 1e-6


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_against_reference_on_sparse(onehot, fit_intercept):
    X, y, s, Xv, yv, sv, sw = onehot
    C = 0.7
    m = su.LogisticRegression(C=C, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    th = ref.fit(X, y, C=C, fit_intercept=fit_intercept, sample_weight=sw)
    assert rel(m.theta_, th) <= 1e-8
    # Everything else at the same θ, so the comparison does not mix in the fit tolerance.
    m = m._with_theta(th)
    H = ref.hessian(th, X, y, C, fit_intercept, sw)
    inf = su.Influence(m, X, y, sample_weight=sw)
    assert rel(inf.hessian, H) <= 1e-12
    kinds = ["utility", "dp", "eop"]
    G = np.column_stack([ref.target_gradient(k, th, Xv, yv, sv, fit_intercept) for k in kinds])
    ours = [T.Utility(Xv, yv), T.DemographicParity(Xv, sv), T.EqualOpportunity(Xv, yv, sv)]
    for k, t in zip(kinds, ours):
        assert rel(t.value(m), ref.target_value(k, th, Xv, yv, sv, fit_intercept)) <= 1e-12
    assert rel(np.column_stack([t.gradient(m) for t in ours]), G) <= 1e-12
    assert rel(inf.scores(ours), ref.influence_scores(th, X, y, G, C, fit_intercept, sw)) <= 1e-10
    Xa_ref = ref.mirror_attack(Xv, th, fit_intercept)
    assert rel(T.Robustness(Xv, yv, model=m).adversarial_X, Xa_ref) <= 1e-12
    eps = np.where(np.arange(X.shape[0]) % 7 == 0, -1.0, 0.2)
    assert rel(inf.newton_update(eps).theta_, ref.newton_update(th, X, y, eps, C, fit_intercept, sw)) <= 1e-10
    assert rel(su.refit(m, X, y, eps, sample_weight=sw).theta_,
               ref.refit(X, y, eps, C, fit_intercept, sw, theta0=th)) <= 1e-8


def test_reference_sparse_equals_reference_dense(onehot):
    """The oracle's own sparse branch against its dense branch."""
    X, y, s, Xv, yv, sv, sw = onehot
    th = ref.fit(X.toarray(), y, C=0.7, sample_weight=sw)
    assert rel(ref.fit(X, y, C=0.7, sample_weight=sw), th) <= 1e-9
    assert rel(ref.hessian(th, X, y, 0.7, True, sw), ref.hessian(th, X.toarray(), y, 0.7, True, sw)) <= 1e-13
    for k in ("utility", "dp", "eop"):
        assert rel(ref.target_gradient(k, th, Xv, yv, sv), ref.target_gradient(k, th, Xv.toarray(), yv, sv)) <= 1e-13


def _messy(X, rng):
    """The same matrix with each row's entries shuffled, every entry split into two duplicates, and
    explicit zeros added: CSR that is neither sorted nor canonical."""
    X = sp.csr_matrix(X)
    rows, cols, vals = [], [], []
    for i in range(X.shape[0]):
        a, b = X.indptr[i], X.indptr[i + 1]
        c, v = X.indices[a:b], X.data[a:b]
        f = rng.uniform(0.2, 0.8, size=c.size)
        zc = rng.integers(0, X.shape[1], size=2)
        cc = np.concatenate([c, c, zc])
        vv = np.concatenate([f * v, (1 - f) * v, np.zeros(2)])
        perm = rng.permutation(cc.size)
        rows.append(np.full(cc.size, i))
        cols.append(cc[perm])
        vals.append(vv[perm])
    cols, vals = np.concatenate(cols), np.concatenate(vals)
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    M = sp.csr_matrix(X.shape)
    M.data, M.indices, M.indptr = vals, cols.astype(np.int32), indptr.astype(np.int32)
    assert not M.has_sorted_indices and M.nnz > 2 * X.nnz
    return M


def test_unsorted_duplicates_explicit_zeros_and_no_mutation(onehot):
    X, y, s, Xv, yv, sv, sw = onehot
    rng = np.random.default_rng(1)
    M, Mv = _messy(X, rng), _messy(Xv, rng)
    before = [a.copy() for a in (M.data, M.indices, M.indptr, Mv.data, Mv.indices, Mv.indptr)]
    res_messy = _everything(M, y, Mv, yv, sv, dtype=np.float64, fit_intercept=True, sw=sw)
    res = _everything(X, y, Xv, yv, sv, dtype=np.float64, fit_intercept=True, sw=sw)
    for key in res:
        assert rel(res_messy[key], res[key]) <= 1e-9, key
    after = (M.data, M.indices, M.indptr, Mv.data, Mv.indices, Mv.indptr)
    for a, b in zip(before, after):
        assert np.array_equal(a, b)
    assert not M.has_sorted_indices


@pytest.mark.parametrize("convert", ["csc", "coo", "csr_array", "int64", "int64_indices_only", "float32_data",
                                     "bool", "lil", "noncontiguous"])
def test_other_formats_and_index_types(onehot, convert):
    X, y, s, Xv, yv, sv, sw = onehot
    if convert == "csc":
        Z = X.tocsc()
    elif convert == "coo":
        Z = X.tocoo()
    elif convert == "csr_array":
        Z = sp.csr_array(X)
    elif convert == "int64":
        Z = X.copy()
        Z.indices, Z.indptr = Z.indices.astype(np.int64), Z.indptr.astype(np.int64)
    elif convert == "int64_indices_only":
        Z = X.copy()
        Z.indices = Z.indices.astype(np.int64)
    elif convert == "float32_data":  # float32 data with float64 requested by the model → cast once
        Z = X.astype(np.float32)
    elif convert == "bool":
        Z = X.astype(bool)
    elif convert == "lil":
        Z = X.tolil()
    else:
        Z = X.copy()
        Z.data = np.repeat(Z.data, 2)[::2]  # a strided view
        assert not Z.data.flags.c_contiguous
    m = su.LogisticRegression(C=0.7).fit(X, y)
    inf = su.Influence(m, X, y)
    t = T.DemographicParity(Xv, sv)
    S = inf.scores(t)
    if convert == "float32_data":
        mz = su.LogisticRegression(C=0.7).fit(Z, y)  # float32 model
        assert mz.dtype == np.float32
        assert rel(mz.theta_, m.theta_) <= 1e-4
        Zin = Z.astype(np.float64)
    else:
        Zin = Z
        assert rel(su.LogisticRegression(C=0.7).fit(Z, y).theta_, m.theta_) <= 1e-12
    assert rel(su.Influence(m, Zin, y).scores(t), S) <= 1e-12
    assert rel(m.decision_function(Zin), m.decision_function(X)) <= 1e-14


def test_core_kernels_on_csr_against_numpy(onehot):
    """The raw kernels, including a weighted Gram with negative weights, against dense NumPy."""
    X = onehot[0]
    rng = np.random.default_rng(2)
    n, d = X.shape
    A = X.toarray()
    for icpt in (True, False):
        Xa = np.hstack([A, np.ones((n, 1))]) if icpt else A
        p = Xa.shape[1]
        w = rng.normal(size=n)
        v = rng.normal(size=p)
        V = rng.normal(size=(p, 3))
        reg = np.ones(p)
        assert rel(_core.weighted_gram(X, w, icpt, 0), Xa.T @ (w[:, None] * Xa)) <= 1e-12
        assert rel(_core.predict(X, v, icpt, 0), Xa @ v) <= 1e-13
        assert rel(_core.xtv(X, w, icpt, 0), Xa.T @ w) <= 1e-13
        assert rel(_core.scores(X, np.asfortranarray(V), w, icpt, 0), w[:, None] * (Xa @ V)) <= 1e-13
        h = rng.uniform(0.1, 1.0, size=n)
        H = Xa.T @ (h[:, None] * Xa) + np.diag(reg)
        U, its, res, cond = _core.cg_solve(X, h, reg, np.asfortranarray(V), icpt, 1e-12, 1000, 0)
        assert rel(U, np.linalg.solve(H, V)) <= 1e-9
        assert max(res) <= 1e-12 and min(its) > 1
        # the Ritz estimate is a lower estimate of κ of the Jacobi-preconditioned H
        Dm = 1 / np.sqrt(np.diag(H))
        ev = np.linalg.eigvalsh(Dm[:, None] * H * Dm[None, :])
        assert 0.5 * ev[-1] / ev[0] <= max(cond) <= ev[-1] / ev[0] * (1 + 1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_cg_scores_match_cholesky_on_sparse(onehot, dtype, fit_intercept):
    X, y, s, Xv, yv, sv, sw = onehot
    X = X.astype(dtype)
    m = su.LogisticRegression(C=0.7, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    chol = su.Influence(m, X, y, sample_weight=sw, solver="cholesky")
    cg = su.Influence(m, X, y, sample_weight=sw, solver="cg")
    tl = [T.Utility(Xv, yv), T.DemographicParity(Xv, sv), T.EqualOpportunity(Xv, yv, sv)]
    S_chol, S_cg = chol.scores(tl), cg.scores(tl)
    info = cg.cg_info
    assert set(info) == {"iterations", "residuals", "condition_estimate"} and len(info["iterations"]) == 3
    assert max(info["residuals"]) <= cg.cg_tol
    # The documented relation: relative error of U is at most κ(H)·cg_tol; here κ is modest.
    for j in range(3):
        assert rel(S_cg[:, j], S_chol[:, j]) <= (1e-7 if dtype == np.float64 else 2e-3)
    assert rel(cg.parameter_change(np.full(X.shape[0], -0.1)), chol.parameter_change(np.full(X.shape[0], -0.1))) \
        <= (1e-7 if dtype == np.float64 else 2e-3)


def test_auto_solver_rule(monkeypatch):
    assert inf_mod.auto_solver(4001, np.float64) == "cg"
    assert inf_mod.auto_solver(100, np.float64) == "cholesky"
    assert inf_mod.dense_hessian_bytes(1000, np.float32, 2) == 4 * 1000 * 1000 * 4
    # a dense Hessian that would not fit in (pretended) memory sends "auto" to CG
    monkeypatch.setattr(solver_choice, "available_memory", lambda: 10 * 1000 * 1000)
    assert inf_mod.auto_solver(1000, np.float64, 2) == "cg"
    assert inf_mod.auto_solver(300, np.float64, 2) == "cholesky"
    monkeypatch.setattr(solver_choice, "available_memory", lambda: None)
    assert inf_mod.auto_solver(3000, np.float64) == "cholesky"


def test_available_memory_is_sane():
    mem = inf_mod.available_memory()
    assert mem is None or mem > 0


def test_auto_solver_uses_cg_when_memory_is_short(onehot, monkeypatch):
    X, y, s, Xv, yv, sv, sw = onehot
    m = su.LogisticRegression(C=0.7).fit(X, y)
    monkeypatch.setattr(solver_choice, "available_memory", lambda: 1000)
    inf = su.Influence(m, X, y)
    assert inf.solver == "cg"
    S = inf.scores(T.Utility(Xv, yv))
    assert inf.cg_info is not None
    monkeypatch.undo()
    assert rel(S, su.Influence(m, X, y, solver="cholesky").scores(T.Utility(Xv, yv))) <= 1e-7


def test_pipeline_on_sparse_matches_dense(onehot):
    X, y, s, Xv, yv, sv, sw = onehot
    m = su.LogisticRegression(C=0.7).fit(X, y)
    outs = [su.SoftUnlearner(target="dp").fit(m, A, y, B, yv, sv) for A, B in ((X, Xv), (X.toarray(), Xv.toarray()))]
    assert rel(outs[0].eps_, outs[1].eps_) <= 1e-9
    assert rel(outs[0].model_.theta_, outs[1].model_.theta_) <= 1e-9
    assert abs(outs[0].target_after_) < abs(outs[0].target_before_)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hessian_free_fit_when_memory_is_short(onehot, monkeypatch, fit_intercept):
    """With too little (pretended) memory for a dense Hessian the fit takes CG Newton steps; it must
    reach the same optimum as the dense Newton fit and the reference."""
    X, y, s, Xv, yv, sv, sw = onehot
    dense = su.LogisticRegression(C=0.7, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    assert not dense.hessian_free_
    monkeypatch.setattr(solver_choice, "available_memory", lambda: 1000)
    m = su.LogisticRegression(C=0.7, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    assert m.hessian_free_ and m.converged_ and m.n_hessian_evals_ == 0
    assert rel(m.theta_, dense.theta_) <= 1e-8
    assert rel(m.theta_, ref.fit(X, y, C=0.7, fit_intercept=fit_intercept, sample_weight=sw)) <= 1e-8
    inf = su.Influence(m, X, y, sample_weight=sw)
    assert inf.solver == "cg"
    monkeypatch.undo()
    t = T.DemographicParity(Xv, sv)
    assert rel(inf.scores(t), su.Influence(dense, X, y, sample_weight=sw, solver="cholesky").scores(t)) <= 1e-7


@pytest.mark.parametrize("loss", ["smooth_hinge", "squared_hinge"])
def test_linear_svc_csr_matches_dense(onehot, loss):
    X, y, s, Xv, yv, sv, sw = onehot
    out = []
    for A, B in ((X, Xv), (X.toarray(), Xv.toarray())):
        m = su.LinearSVC(C=0.5, loss=loss).fit(A, y, sample_weight=sw)
        inf = su.Influence(m, A, y, sample_weight=sw)
        out.append((m.theta_, inf.hessian, inf.scores([T.Utility(B, yv), T.DemographicParity(B, sv)]),
                    m.decision_function(B)))
    for a, b in zip(*out):
        assert rel(a, b) <= 1e-9


def test_float32_csr_sums_over_many_rows_stay_accurate(skewed_one_hot):
    """A CSR row adds straight into the gradient and Hessian accumulators; in float32 those sums gathered the
    rounding of every row (≈ n·ε₃₂): θ moved by percents on 1.6·10⁵ one-hot rows, and Census-KDD's float32
    Hessian came out indefinite. They accumulate in double: float32 CSR is as accurate as float32 dense."""
    X, y = skewed_one_hot(n=160_000, levels=(40, 30, 25, 20, 12, 9, 8, 6, 5, 4, 3, 2) * 3, seed=5)
    X32 = X.astype(np.float32)
    m64 = su.LogisticRegression(C=1.0).fit(X, y)
    m32 = su.LogisticRegression(C=1.0).fit(X32, y)
    dense32 = su.LogisticRegression(C=1.0).fit(X32.toarray(), y)
    assert m32.converged_ and dense32.converged_
    assert rel(m32.theta_, m64.theta_) <= 2 * max(rel(dense32.theta_, m64.theta_), 1e-5)
    # the kernels themselves, on the same inputs in both precisions
    rng = np.random.default_rng(6)
    h = rng.uniform(0.0, 0.25, X.shape[0])
    v = rng.standard_normal(X.shape[0])
    G64 = _core.weighted_gram(X, h, True, 1)
    G32 = _core.weighted_gram(X32, h.astype(np.float32), True, 1)
    assert rel(G32, G64) <= 1e-6
    assert np.linalg.eigvalsh(G32.astype(np.float64) + np.eye(G64.shape[0]))[0] > 0
    g64 = _core.xtv(X, v, True, 1)
    g32 = _core.xtv(X32, v.astype(np.float32), True, 1)
    assert rel(g32, g64) <= 1e-6
    # the matrix-free products of CG (Hessian-free fits, Influence(solver="cg")) sum over rows the same way
    reg = np.r_[np.ones(X.shape[1]), 0.0]
    V = np.asfortranarray(rng.standard_normal((X.shape[1] + 1, 2)))
    HV64 = _core.hessian_matvec(X, h, reg, V, True, 1)
    HV32 = _core.hessian_matvec(X32, h.astype(np.float32), reg.astype(np.float32), V.astype(np.float32, order="F"),
                                True, 1)
    assert rel(HV32, HV64) <= 1e-6

"""The newer paths on scipy.sparse CSR input give the dense-input result (issue 15): iterated soft weighting
(inner newton and refit) and SoftUnlearner (methods newton and refit), with sample weights, to 1e-9
relative in float64. The dense results are themselves tested against softunlearn.reference elsewhere
(test_iterated, test_pipeline)."""
import numpy as np
import pytest
import scipy.sparse as sp

import softunlearn as su


def sparse_data(data, density=0.4, seed=0):
    """``data`` with ~60 % of the training entries zeroed, as a dense array and the same matrix in CSR."""
    X = data.X.copy()
    X[np.random.default_rng(seed).uniform(size=X.shape) > density] = 0.0
    Xs = sp.csr_matrix(X)
    assert Xs.nnz < 0.5 * X.size
    return X, Xs


def assert_rel(got, want, rtol=1e-9):
    got, want = np.asarray(got), np.asarray(want)
    assert np.linalg.norm(got - want) <= rtol * np.linalg.norm(want), np.linalg.norm(got - want) / np.linalg.norm(want)


@pytest.mark.parametrize("inner", ["newton", "refit"])
def test_iterated_soft_weights_sparse_equals_dense(data, inner):
    X, Xs = sparse_data(data)
    m = su.LogisticRegression(C=1.0).fit(X, data.y, sample_weight=data.sw)
    tgt = su.targets.DemographicParity(data.Xv, data.sv)
    ut = su.targets.Utility(data.Xv, data.yv)
    delta = tgt.value(m)
    kw = dict(steps=4, lam=1.0, lam_scale="absolute", inner=inner, sample_weight=data.sw)
    dense = su.iterated_soft_weights(m, X, data.y, tgt, ut, delta, **kw)
    sparse = su.iterated_soft_weights(m, Xs, data.y, tgt, ut, delta, **kw)
    assert sparse.n_steps == dense.n_steps >= 2
    assert_rel(sparse.eps, dense.eps)
    assert_rel(sparse.model.theta_, dense.model.theta_)
    assert sparse.target_value == pytest.approx(dense.target_value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("target", ["dp", "eop"])
@pytest.mark.parametrize("method", ["newton", "refit"])
def test_soft_unlearner_sparse_equals_dense(data, method, target):
    X, Xs = sparse_data(data, seed=1)
    m = su.LogisticRegression(C=1.0).fit(X, data.y, sample_weight=data.sw)
    args = (data.y, data.Xv, data.yv, data.sv)
    dense = su.SoftUnlearner(target, method=method, lam=1.0,
        lam_scale="absolute").fit(m, X, *args, sample_weight=data.sw)
    sparse = su.SoftUnlearner(target, method=method, lam=1.0,
        lam_scale="absolute").fit(m, Xs, *args, sample_weight=data.sw)
    assert_rel(sparse.scores_, dense.scores_)
    assert_rel(sparse.utility_scores_, dense.utility_scores_)
    assert_rel(sparse.eps_, dense.eps_)
    assert_rel(sparse.model_.theta_, dense.model_.theta_)
    assert np.linalg.norm(dense.model_.theta_ - m.theta_) > 1e-3 * np.linalg.norm(m.theta_)  # it moved

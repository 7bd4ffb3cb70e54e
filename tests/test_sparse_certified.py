"""certified_update and dvwu_update on scipy.sparse CSR input give the dense-input result (same seed: the same
noise draw) to 1e-9 relative. (They used to raise in certified.check_unit_ball, which called np.einsum on
the sparse matrix.)"""
import math

import numpy as np
import pytest
import scipy.sparse as sp

import softunlearn as su
from softunlearn.methods.certified import certified_update
from softunlearn.methods.dvwu import dvwu_update


def unit_sparse(n=300, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.uniform(size=X.shape) < 0.6] = 0.0
    X /= np.linalg.norm(X, axis=1).max()
    w = 3.0 * rng.normal(size=d)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ w))).astype(np.int64)
    Xv = rng.normal(size=(150, d)) / math.sqrt(d) / 2
    yv = (rng.uniform(size=150) < 1 / (1 + np.exp(-Xv @ w))).astype(np.int64)
    sw = rng.uniform(0.5, 1.5, size=n)
    eps = np.zeros(n)
    eps[:15] = -1.0
    eps[15:50] = rng.uniform(-0.8, 1.5, size=35)
    return X, sp.csr_matrix(X), y, Xv, yv, sw, eps


def assert_rel(got, want, rtol=1e-9):
    assert np.linalg.norm(got - want) <= rtol * np.linalg.norm(want)


@pytest.mark.parametrize("kwargs", [dict(epsilon=1.0, delta=1e-5), dict(sigma=1e-3, policy="retrain")])
def test_certified_update_sparse_equals_dense(kwargs):
    X, Xs, y, _, _, sw, eps = unit_sparse()
    m = su.LogisticRegression(C=4.0, fit_intercept=False).fit(X, y, sample_weight=sw)
    dense = certified_update(m, X, y, eps, sample_weight=sw, random_state=3, **kwargs)
    sparse = certified_update(m, Xs, y, eps, sample_weight=sw, random_state=3, **kwargs)
    for key in ("beta", "bound", "sigma", "budget"):
        assert sparse.certificate_[key] == pytest.approx(dense.certificate_[key], rel=1e-9)
    assert sparse.certificate_["retrained"] == dense.certificate_["retrained"]
    assert_rel(sparse.theta_, dense.theta_)


@pytest.mark.parametrize("mapping", ["rank", "minmax"])
def test_dvwu_update_sparse_equals_dense(mapping):
    X, Xs, y, Xv, yv, sw, eps = unit_sparse(seed=1)
    m = su.LogisticRegression(C=4.0, fit_intercept=False).fit(X, y, sample_weight=sw)
    kw = dict(Xv=Xv, yv=yv, kappa=0.6, mapping=mapping, sample_weight=sw, random_state=5)
    dense = dvwu_update(m, X, y, eps, **kw)
    sparse = dvwu_update(m, Xs, y, eps, **kw)
    np.testing.assert_allclose(sparse.dvwu_weights_, dense.dvwu_weights_, rtol=1e-9)
    assert sparse.certificate_["beta"] == pytest.approx(dense.certificate_["beta"], rel=1e-9)
    assert_rel(sparse.theta_, dense.theta_)


def test_unit_ball_scaler_on_sparse_equals_dense():
    from softunlearn.methods.certified import UnitBallScaler
    X, Xs, *_ = unit_sparse()
    for add_constant in (False, True):
        dense = UnitBallScaler(add_constant=add_constant).fit(3 * X)
        sparse = UnitBallScaler(add_constant=add_constant).fit(sp.csr_matrix(3 * X))
        assert sparse.scale_ == pytest.approx(dense.scale_, rel=1e-12)
        np.testing.assert_allclose(sparse.transform(Xs * 3).toarray(), dense.transform(X * 3), rtol=1e-12)

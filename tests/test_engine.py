"""The one Newton algorithm driven through a Python engine (``_core.fit_engine``, the path of the CUDA and
Dask engines) against the same algorithm run natively (``_core.fit``) on the same data.

The callback engine here is the CPU engine itself, so the two runs differ only in where the loop gets its
passes from (and in the weight sum and subsample, which the Python engine forms with NumPy): θ, the
objective, the Hessian and every counter must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from softunlearn import _core
from softunlearn.engine import CpuEngine, Engine

LOSSES = {"logistic": (0, 0.0), "smooth hinge": (1, 0.5), "squared hinge": (2, 0.0)}


def _problem(dtype, sparse, n=24000, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    X[:, -1] *= rng.uniform(size=n) < 0.2  # some structure for the sparse case
    y = (X[:, 0] - X[:, 1] + rng.standard_normal(n) > 0).astype(dtype)
    s = rng.uniform(0.5, 2.0, n).astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y, s


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("intercept", [True, False])
def test_callback_engine_takes_the_native_steps(dtype, sparse, loss, intercept):
    X, y, s = _problem(dtype, sparse)
    e = CpuEngine(X, y, s, fit_intercept=intercept, loss=LOSSES[loss], n_threads=1)
    th0 = np.zeros(e.n_params, dtype)
    tol = 1e-10 if dtype == np.float64 else 1e-6
    native = e.fit(th0, 0.7, tol, 100, subsample=8)
    driven = Engine.fit(e, th0, 0.7, tol, 100, subsample=8)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for key in ("n_iter", "n_hessian", "n_passes", "n_warm_iter", "converged"):
        assert getattr(driven, key) == getattr(native, key), key
    scale = np.abs(native.theta).max()
    assert np.abs(driven.theta - native.theta).max() <= rtol * scale
    assert np.abs(driven.hessian - native.hessian).max() <= rtol * np.abs(native.hessian).max()
    assert abs(driven.objective - native.objective) <= rtol * abs(native.objective)


def test_linear_term_line_search_and_hessian_free_through_the_callbacks():
    X, y, s = _problem(np.float64, False, n=3000, d=6, seed=1)
    e = CpuEngine(X, y, s, fit_intercept=True, loss=LOSSES["logistic"], n_threads=1)
    b = np.random.default_rng(2).standard_normal(e.n_params) * 50  # a large bᵀθ: far start, line searches
    th0 = np.full(e.n_params, 3.0)
    for kw in ({"linear": b}, {"hessian_free": True}, {"linear": b, "hessian_free": True}):
        native = e.fit(th0, 5.0, 1e-10, 200, **kw)
        driven = Engine.fit(e, th0, 5.0, 1e-10, 200, **kw)
        assert native.converged and driven.converged
        assert driven.n_iter == native.n_iter, kw
        assert np.abs(driven.theta - native.theta).max() <= 1e-10 * np.abs(native.theta).max()


class _Broken(CpuEngine):
    def loss_pass(self, theta, C, *, hessian=False, r=False, h=False):
        out = super().loss_pass(theta, C, hessian=hessian, r=r, h=h)
        return {k: v for k, v in out.items() if k != "hessian"}


def test_engine_errors_reach_python():
    X, y, s = _problem(np.float64, False, n=500, d=3)
    e = _Broken(X, y, s, fit_intercept=True, loss=LOSSES["logistic"], n_threads=1)
    with pytest.raises(KeyError, match="hessian"):
        Engine.fit(e, np.zeros(4), 1.0, 1e-10, 10)
    with pytest.raises(ValueError, match="theta0: expected 4 values"):
        _core.fit_engine(e, np.zeros(3), 1.0, 1e-10, 10)

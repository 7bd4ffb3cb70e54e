"""Shared fixtures for the tests of the compiled package (test_model, test_influence, test_inputs,
test_loo_adult).

* ``data``: small synthetic logistic-regression data (fresh arrays for every test, so a test may
  modify them) with a binary sensitive attribute ``s`` correlated with feature 0 and entering the
  label model, a validation split (Xv, yv, sv) drawn from the same distribution, and positive sample
  weights ``sw``.
* ``make_data``: the same generator as a factory, for other sizes/seeds.
* ``adult_subset``: a 3,000-row training subsample of UCI Adult (``softunlearn.datasets.load_adult``,
  seed 0; validation and test parts unchanged), loaded once per session.

Hypothesis profiles (property tests): ``"deterministic"`` is loaded by default — derandomised (the same
examples on every run and machine), no deadline (timings on a shared 2-core machine are not a property),
no example database. ``HYPOTHESIS_PROFILE=fuzz`` selects ``"fuzz"``: random draws, 2,000 examples per test,
failures printed with a reproduction blob. Any other registered profile name (e.g. Hypothesis's ``"ci"``)
is accepted too.
"""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, deadline=None, max_examples=2000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def make_synthetic(n=300, d=5, n_val=200, seed=0):
    """Synthetic data; ``s`` is correlated with x0 and raises P(y=1), so DP/EOP gaps are non-zero."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    w[0] = 0.8  # x0 matters, so the gaps depend on the model

    def draw(m):
        X = rng.normal(size=(m, d))
        s = (X[:, 0] + 0.8 * rng.normal(size=m) > 0).astype(np.int64)
        y = (rng.uniform(size=m) < _sigmoid(X @ w + 0.3 + 0.7 * s)).astype(np.int64)
        return X, y, s

    X, y, s = draw(n)
    Xv, yv, sv = draw(n_val)
    for part_y, part_s in ((y, s), (yv, sv)):  # every group has both labels (EOP needs positives)
        for g in (0, 1):
            assert set(np.unique(part_y[part_s == g])) == {0, 1}
    sw = rng.uniform(0.2, 2.0, size=n)
    return SimpleNamespace(X=X, y=y, s=s, Xv=Xv, yv=yv, sv=sv, sw=sw, n=n, d=d)


def make_skewed_one_hot(n=4000, levels=(30, 25, 20, 12, 8, 5), seed=3):
    """One-hot CSR X of categorical columns with skewed level frequencies (frequent levels beside rare ones,
    as in census data) and y from a logistic model on the levels. Ill-conditioned: every block of columns
    sums to the intercept column, and rare levels are curved by little more than the L2 term."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    blocks, logits = [], np.zeros(n)
    for k in levels:
        idx = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 0.3)))
        blocks.append(sp.csr_matrix((np.ones(n), (np.arange(n), idx)), shape=(n, k)))
        logits += rng.standard_normal(k)[idx]
    y = (rng.uniform(size=n) < _sigmoid(logits)).astype(np.float64)
    return sp.hstack(blocks, format="csr"), y


@pytest.fixture
def skewed_one_hot():
    return make_skewed_one_hot


@pytest.fixture
def data():
    return make_synthetic()


@pytest.fixture
def make_data():
    return make_synthetic


@pytest.fixture(scope="session")
def adult_subset():
    from softunlearn import datasets

    return datasets.load_adult(n_train=3000, seed=0)


@pytest.fixture(scope="module")
def client():
    """A real multi-process Dask cluster: LocalCluster with 2 worker processes, one thread each."""
    from distributed import Client, LocalCluster

    # Starting worker processes sets OMP_NUM_THREADS=1 (and MKL/OpenBLAS) in this process's environment and
    # leaves it there; later tests that start subprocesses must not inherit it.
    environ = dict(os.environ)
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as c:
                yield c
    finally:
        os.environ.clear()
        os.environ.update(environ)

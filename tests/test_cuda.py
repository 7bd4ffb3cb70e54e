"""The optional CUDA backend (softunlearn._cuda) and backend selection.

* Backend selection runs everywhere: the CUDA module's availability is simulated where a test needs it
  (``softunlearn.backend._cuda_status`` patched), and the real CPU-only behaviour is checked as it is.
* The compile checks of csrc/cuda (nvcc, and the binding's host-compiler syntax check) are not tests of the
  installed package: they run as a CI stage, .ci/compile-cuda.
* The GPU tests compare the CUDA backend with the CPU core on the same data (the oracle: the CPU core,
  itself tested against scikit-learn and softunlearn.reference) and with NumPy products; they are skipped,
  with the reason, when no CUDA device is usable. Tolerances: 1e-10 relative in float64, 1e-4 in float32.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import softunlearn as su
from softunlearn import _core
from softunlearn import backend as be

_STATUS = be._cuda_status()
gpu = pytest.mark.skipif(_STATUS[0] is None, reason=f"no usable CUDA backend: {_STATUS[1]}")
RTOL = {np.float64: 1e-10, np.float32: 1e-4}


class _FakeCuda:
    """Stands in for an importable _cuda with a device, for the selection logic only."""


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(be, "_cuda_status", lambda: (_FakeCuda(), ""))
    monkeypatch.delenv(be.ENV_VAR, raising=False)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(be, "_cuda_status", lambda: (None, "simulated: no CUDA device"))
    monkeypatch.delenv(be.ENV_VAR, raising=False)


def _close(a, b, dtype, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.max(np.abs(b)), np.finfo(np.float64).tiny)
    err = np.max(np.abs(a - b)) / scale
    assert err <= RTOL[dtype], f"{what}: relative error {err:.3g} > {RTOL[dtype]:g}"


# ---- backend selection (no GPU needed) ----------------------------------------------------------------

def test_available_backends_lists_cpu_and_cuda_only_when_usable():
    got = su.available_backends()
    assert got[0] == "cpu" and set(got) <= {"cpu", "cuda"}
    assert ("cuda" in got) == (_STATUS[0] is not None)


def test_import_does_not_load_the_cuda_module_and_core_does_not_link_cuda():
    code = "import sys, softunlearn; print('softunlearn._cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "False"
    blob = Path(_core.__file__).read_bytes()
    assert b"libcudart" not in blob and b"libcublas" not in blob


def test_resolve_auto_uses_cuda_only_for_large_logistic_problems(fake_cuda):
    assert be.resolve("auto", n_samples=10**6, n_params=101) == "cuda"
    assert be.resolve("auto", n_samples=1000, n_params=101) == "cpu"
    assert be.resolve("auto", n_samples=10**6, n_params=101, loss_code=1) == "cpu"  # not the logistic loss
    assert be.resolve("cpu", n_samples=10**6, n_params=101) == "cpu"
    assert be.resolve("cuda", n_samples=10, n_params=2) == "cuda"


def test_environment_variable_replaces_auto_but_not_an_explicit_choice(fake_cuda, monkeypatch):
    monkeypatch.setenv(be.ENV_VAR, "cpu")
    assert be.resolve("auto", n_samples=10**6, n_params=101) == "cpu"
    assert be.resolve("cuda", n_samples=10**6, n_params=101) == "cuda"
    monkeypatch.setenv(be.ENV_VAR, "CUDA")
    assert be.resolve("auto", n_samples=10, n_params=2) == "cuda"
    monkeypatch.setenv(be.ENV_VAR, "gpu")
    with pytest.raises(ValueError, match=be.ENV_VAR):
        be.resolve("auto", n_samples=10, n_params=2)


def test_bad_backend_value_names_the_argument(data):
    with pytest.raises(ValueError, match="backend"):
        su.LogisticRegression(backend="gpu").fit(data.X, data.y)
    m = su.LogisticRegression().fit(data.X, data.y)
    with pytest.raises(ValueError, match="backend"):
        su.Influence(m, data.X, data.y, backend="tpu")


def test_requesting_cuda_without_it_raises_a_clear_error(no_cuda, data):
    with pytest.raises(ValueError, match=r"backend='cuda'.*unavailable: simulated: no CUDA device"):
        su.LogisticRegression(backend="cuda").fit(data.X, data.y)
    m = su.LogisticRegression(backend="cpu").fit(data.X, data.y)
    with pytest.raises(ValueError, match=r"backend='cuda'.*unavailable"):
        su.Influence(m, data.X, data.y, backend="cuda")
    with pytest.raises(ValueError, match=r"backend='cuda'.*unavailable"):
        su.SoftUnlearner("dp", backend="cuda").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)


def test_environment_forcing_cuda_without_it_says_where_the_request_came_from(no_cuda, monkeypatch, data):
    monkeypatch.setenv(be.ENV_VAR, "cuda")
    with pytest.raises(ValueError, match=be.ENV_VAR):
        su.LogisticRegression().fit(data.X, data.y)


@pytest.mark.skipif(_STATUS[0] is not None, reason="a CUDA device is usable here")
def test_real_cpu_only_install_reports_why_cuda_is_missing(data):
    with pytest.raises(ValueError, match=r"backend='cuda'.*unavailable: .*(CUDA|_cuda)"):
        su.LogisticRegression(backend="cuda").fit(data.X, data.y)


def test_cg_solver_keeps_auto_on_the_cpu_and_refuses_cuda(fake_cuda, data):
    m = su.LogisticRegression(backend="cpu").fit(data.X, data.y)
    inf = su.Influence(m, data.X, data.y, solver="cg")
    assert inf.backend == "cpu"
    with pytest.raises(ValueError, match="solver"):
        su.Influence(m, data.X, data.y, solver="cg", backend="cuda")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_auto_on_a_small_problem_is_the_cpu_path_bit_for_bit(data, dtype, monkeypatch):
    monkeypatch.delenv(be.ENV_VAR, raising=False)
    X = data.X.astype(dtype)
    a = su.LogisticRegression(backend="auto").fit(X, data.y, sample_weight=data.sw)
    b = su.LogisticRegression(backend="cpu").fit(X, data.y, sample_weight=data.sw)
    assert a.backend_ == b.backend_ == "cpu"
    assert np.array_equal(a.theta_, b.theta_)
    ia, ib = su.Influence(a, X, data.y, data.sw), su.Influence(b, X, data.y, data.sw, backend="cpu")
    assert ia.backend == "cpu"
    t = su.targets.DemographicParity(data.Xv.astype(dtype), data.sv)
    assert np.array_equal(ia.scores(t), ib.scores(t))


def test_backend_is_an_estimator_parameter(data):
    m = su.LogisticRegression(C=0.5, backend="cpu")
    assert m.get_params()["backend"] == "cpu"
    c = clone(m)
    assert c.backend == "cpu" and c.C == 0.5
    fitted = c.fit(data.X, data.y)
    assert "backend_" not in fitted._with_theta(fitted.theta_).__dict__


# ---- GPU: the CUDA backend against the CPU core ------------------------------------------------------

def _problem(make_data, n=3000, d=20, seed=1):
    return make_data(n=n, d=d, n_val=500, seed=seed)


def _data_cls(dtype):
    mod = _STATUS[0]
    return mod.Data_f32 if dtype == np.float32 else mod.Data_f64


@gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_fit_matches_cpu(make_data, dtype, intercept, weights):
    D = _problem(make_data)
    X = D.X.astype(dtype)
    sw = D.sw if weights else None
    tol = 1e-13 if dtype == np.float64 else None  # converge well past the comparison tolerance
    cpu = su.LogisticRegression(C=0.7, fit_intercept=intercept, tol=tol, backend="cpu").fit(X, D.y, sw)
    gpu_m = su.LogisticRegression(C=0.7, fit_intercept=intercept, tol=tol, backend="cuda").fit(X, D.y, sw)
    assert gpu_m.backend_ == "cuda"
    # float32 gradients can sit at their rounding floor near the default tol: only float64 must converge.
    assert gpu_m.converged_ or dtype == np.float32
    assert gpu_m.theta_.dtype == dtype
    _close(gpu_m.theta_, cpu.theta_, dtype, "theta")
    _close(gpu_m._fit_cache.hessian, cpu._fit_cache.hessian, dtype, "Hessian at the optimum")
    _close(gpu_m.objective_, cpu.objective_, dtype, "objective")


@gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_subsample_warm_start_and_streaming_fit_match_cpu(make_data, dtype):
    # The device fit is the compiled Newton loop driven through CudaEngine's passes (_core.fit_engine).
    from softunlearn.engine import CudaEngine

    D = _problem(make_data, n=24000, d=8, seed=3)
    X, y, s = D.X.astype(dtype), D.y.astype(dtype), np.empty(0, dtype)
    th0 = np.zeros(9, dtype)
    args = (dtype(1.0), dtype(1e-13 if dtype == np.float64 else 1e-6), 100, _core.LOSS_LOGISTIC)
    ref = _core.fit(X, y, s, th0, args[0], True, args[1], args[2], 1, args[3], 8)
    engine = CudaEngine(X, y, s, fit_intercept=True, loss=(args[3], 0.0), n_threads=1)
    warm = engine.fit(th0, args[0], args[1], args[2], subsample=8)
    engine._dev = _data_cls(dtype)(X, y, s, True, 0, 1000)  # the same passes streamed from host memory
    streamed = engine.fit(th0, args[0], args[1], args[2], subsample=8)
    assert ref.n_warm_iter > 0 and warm.n_warm_iter > 0 and streamed.n_warm_iter > 0
    for res in (warm, streamed):
        assert res.converged
        _close(res.theta, ref.theta, dtype, "theta")
        _close(res.hessian, ref.hessian, dtype, "Hessian")


@gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["resident", "streamed"])
def test_loss_pass_and_products_match_cpu(make_data, dtype, mode):
    D = _problem(make_data, n=2500, d=30)
    X, y, s = D.X.astype(dtype), D.y.astype(dtype), D.sw.astype(dtype)
    p = X.shape[1] + 1
    theta = np.random.default_rng(0).normal(scale=0.3, size=p).astype(dtype)
    C = dtype(0.8)
    dev = _data_cls(dtype)(X, y, s, True, 0 if mode == "streamed" else -1, 256)  # 10 blocks
    assert dev.resident == (mode == "resident")
    got = dev.loss_pass(theta, C, True, True, True, _core.LOSS_LOGISTIC)
    ref = _core.loss_pass(X, y, s, theta, C, True, True, True, True, 1, _core.LOSS_LOGISTIC)
    for key in ("hessian", "grad", "r", "h"):
        _close(got[key], ref[key], dtype, key)
    for key in ("loss", "objective"):
        _close(got[key], ref[key], dtype, key)
    # Products against NumPy in float64 on the same (possibly float32) data.
    Xt = np.column_stack([X, np.ones(len(X), dtype)]).astype(np.float64)
    v = np.random.default_rng(1).normal(size=len(X)).astype(dtype)
    _close(dev.xtv(v), Xt.T @ v.astype(np.float64), dtype, "X̃ᵀv")
    _close(dev.predict(theta), Xt @ theta.astype(np.float64), dtype, "X̃θ")
    w = v.copy()  # negative weights exercise the second rank update
    _close(dev.weighted_gram(w), (Xt.T * w.astype(np.float64)) @ Xt, dtype, "X̃ᵀdiag(w)X̃")
    U = np.asfortranarray(np.random.default_rng(2).normal(size=(p, 3)).astype(dtype))
    _close(dev.scores(U, got["r"]), got["r"][:, None].astype(np.float64) * (Xt @ U.astype(np.float64)), dtype,
           "r ⊙ X̃U")


@gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cholesky_matches_numpy_and_reports_the_pivot_like_the_cpu(dtype):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(40, 40))
    H = (A @ A.T + 40 * np.eye(40)).astype(dtype)
    chol = (_STATUS[0].Cholesky_f32 if dtype == np.float32 else _STATUS[0].Cholesky_f64)(np.asfortranarray(H))
    B = np.asfortranarray(rng.normal(size=(40, 3)).astype(dtype))
    _close(chol.solve(B), np.linalg.solve(H.astype(np.float64), B.astype(np.float64)), dtype, "H⁻¹B")
    _close(chol.L, np.linalg.cholesky(H.astype(np.float64)), dtype, "L")
    bad = np.diag([2.0, 1.0, -1.0, 3.0]).astype(dtype)
    with pytest.raises(su.NotPositiveDefiniteError) as gpu_err:
        be.cuda_cholesky(bad)
    with pytest.raises(su.NotPositiveDefiniteError) as cpu_err:
        (_core.Cholesky_f32 if dtype == np.float32 else _core.Cholesky_f64)(bad)
    pivot = r"pivot (\d+) of 4"
    assert re.search(pivot, str(gpu_err.value)).group(1) == re.search(pivot, str(cpu_err.value)).group(1) == "2"


@gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_influence_scores_and_newton_update_match_cpu(make_data, dtype):
    D = _problem(make_data)
    X, Xv = D.X.astype(dtype), D.Xv.astype(dtype)
    m = su.LogisticRegression(backend="cpu").fit(X, D.y, D.sw)
    targets = [su.targets.DemographicParity(Xv, D.sv), su.targets.EqualOpportunity(Xv, D.yv, D.sv),
               su.targets.Utility(Xv, D.yv)]
    ic = su.Influence(m, X, D.y, D.sw, backend="cpu")
    ig = su.Influence(m, X, D.y, D.sw, backend="cuda")
    assert ig.backend == "cuda" and ig.reused_hessian  # the CPU fit's Hessian, confirmed on the device
    _close(ig.hessian, ic.hessian, dtype, "Hessian")
    _close(ig.scores(targets), ic.scores(targets), dtype, "scores")
    eps = -(np.random.default_rng(0).uniform(size=len(X)) < 0.1).astype(dtype)
    _close(ig.newton_update(eps).theta_, ic.newton_update(eps).theta_, dtype, "Newton update")
    # Without the fit's Hessian: assembled on the device.
    ig2 = su.Influence(m, X.copy(), D.y, D.sw, backend="cuda")
    assert not ig2.reused_hessian
    _close(ig2.hessian, ic.hessian, dtype, "Hessian assembled on the device")


@gpu
def test_soft_unlearner_on_cuda_matches_cpu(make_data):
    D = _problem(make_data)
    m = su.LogisticRegression(backend="cpu").fit(D.X, D.y)
    a = su.SoftUnlearner("dp", backend="cpu").fit(m, D.X, D.y, D.Xv, D.yv, D.sv)
    b = su.SoftUnlearner("dp", backend="cuda").fit(m, D.X, D.y, D.Xv, D.yv, D.sv)
    assert b.influence_.backend == "cuda"
    _close(b.eps_, a.eps_, np.float64, "eps")
    _close(b.model_.theta_, a.model_.theta_, np.float64, "unlearned theta")


@gpu
def test_cuda_fit_of_a_non_pd_problem_raises_the_cpu_error_class(make_data):
    D = _problem(make_data, n=500, d=5)
    eps = np.full(500, -2.0)  # sample weights s(1 + ε) = −1: the Hessian is negative definite
    for backend in ("cpu", "cuda"):
        m = su.LogisticRegression(fit_intercept=False, backend=backend).fit(D.X, D.y)
        with pytest.raises(su.NotPositiveDefiniteError, match="pivot 0 of 5"):
            su.refit(m, D.X, D.y, eps)

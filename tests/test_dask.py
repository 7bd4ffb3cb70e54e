"""The Dask engine against the in-memory engine on the same data: fits, influence scores, updates.

A real multi-process cluster (LocalCluster, 2 worker processes, one thread each) runs every test that
uses the ``client`` fixture; the rest run on Dask's threaded and synchronous schedulers. Oracle: the
in-memory path on the computed arrays (same algorithm, summation order differs), float64 within
1e-9 relative (θ, scores) as the engine promises; float32 within its own rounding.
"""

from __future__ import annotations

import os

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import softunlearn as su
from softunlearn.dask_engine import DaskEngine
from softunlearn.engine import CpuEngine
from softunlearn.targets import DemographicParity, Utility

N, D = 2400, 6
CHUNKINGS = {
    "one chunk": (N,),
    "uneven": (700, 1300, 400),
    "one-row chunk": (1, 1199, 1200),
}
MODELS = {
    "logistic": lambda: su.LogisticRegression(C=0.5),
    "smooth hinge": lambda: su.LinearSVC(C=0.5, loss="smooth_hinge"),
    "squared hinge": lambda: su.LinearSVC(C=0.5, loss="squared_hinge"),
}
# float32 sums in another order: θ agrees to float32 rounding (4e-8 measured), scores a little less.
RTOL = {np.float64: 1e-9, np.float32: 1e-6}


def _data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.standard_normal(N) > 0).astype(dtype)
    s = rng.uniform(0.5, 2.0, N).astype(dtype)
    Xv = rng.standard_normal((300, D)).astype(dtype)
    yv = (Xv[:, 0] + rng.standard_normal(300) > 0).astype(dtype)
    gv = (Xv[:, 2] > 0).astype(dtype)
    return X, y, s, Xv, yv, gv


def _dask(chunks, *arrays):
    return [da.from_array(a, chunks=(chunks,) + a.shape[1:]) for a in arrays]


def _close(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    assert np.max(np.abs(a - b)) <= rtol * np.max(np.abs(a)), np.max(np.abs(a - b)) / np.max(np.abs(a))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
def test_fit_scores_update_match_in_memory(client, chunking, model, dtype):
    X, y, s, Xv, yv, gv = _data(dtype)
    Xd, yd, sd = _dask(CHUNKINGS[chunking], X, y, s)
    m = MODELS[model]().fit(X, y, s)
    md = MODELS[model]().fit(Xd, yd, sd)
    assert md.backend_ == "dask" and md.converged_
    assert md.dtype == dtype
    rtol = RTOL[dtype]
    _close(m.theta_, md.theta_, rtol)

    targets = [Utility(Xv, yv), DemographicParity(Xv, gv)]
    S = su.Influence(m, X, y, s).scores(targets)
    Sd = su.Influence(md, Xd, yd, sd).scores(targets)
    assert isinstance(Sd, da.Array) and Sd.chunks[0] == Xd.chunks[0]
    _close(S, Sd.compute(), 1e-9 if dtype == np.float64 else 1e-5)

    eps = -(np.arange(N) % 7 == 0).astype(dtype)
    _close(su.newton_update(m, X, y, eps, sample_weight=s).theta_,
           su.newton_update(md, Xd, yd, _dask(CHUNKINGS[chunking], eps)[0], sample_weight=sd).theta_, rtol)
    _close(su.refit(m, X, y, eps, sample_weight=s).theta_,
           su.refit(md, Xd, yd, eps, sample_weight=sd).theta_, rtol)


def test_fit_without_intercept_or_weights_and_warm_start(client):
    X, y, _, *_ = _data()
    (Xd,) = _dask((1000, 1400), X)
    for kw in ({"fit_intercept": False}, {}):
        m = su.LogisticRegression(**kw).fit(X, y)
        md = su.LogisticRegression(**kw).fit(Xd, y)  # a NumPy y takes X's row chunks
        _close(m.theta_, md.theta_, 1e-9)
        warm = su.LogisticRegression(**kw).fit(Xd, y, theta0=md.theta_)
        assert warm.n_iter_ == 0 and warm.converged_


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_local_schedulers(scheduler):
    X, y, s, Xv, yv, _ = _data()
    Xd, yd, sd = _dask((900, 900, 600), X, y, s)
    with dask.config.set(scheduler=scheduler):
        m = su.LogisticRegression().fit(X, y, s)
        md = su.LogisticRegression().fit(Xd, yd, sd)
        _close(m.theta_, md.theta_, 1e-9)
        _close(su.Influence(m, X, y, s).scores(Utility(Xv, yv)),
               su.Influence(md, Xd, yd, sd).scores(Utility(Xv, yv)).compute(), 1e-9)


def test_lazily_generated_X(client):
    # X exists only as a graph: each worker generates its chunks; the oracle computes it separately.
    rng = da.random.default_rng(3)
    Xd = rng.standard_normal((N, D), chunks=(500, D))
    yd = (Xd[:, 0] + 0.3 * Xd[:, 1] > 0).astype(np.float64)
    X, y = dask.compute(Xd, yd)
    _close(su.LogisticRegression().fit(X, y).theta_, su.LogisticRegression().fit(Xd, yd).theta_, 1e-9)


def test_deferred_hessian_and_weights_on_dask_scores(client):
    X, y, s, Xv, yv, gv = _data()
    Xd, yd, sd = _dask((800, 1600), X, y, s)
    md = su.LogisticRegression().fit(Xd, yd, sd)
    m = su.LogisticRegression().fit(X, y, s)
    # The Dask fit takes the same steps but leaves the Hessian at θ̂ to Influence: one Hessian pass
    # fewer when its last step was a chord step (as here); Influence assembles it in its own pass.
    assert md.hessian_free_ and not m.hessian_free_ and md.n_iter_ == m.n_iter_
    assert md.n_hessian_evals_ == m.n_hessian_evals_ - 1
    inf = su.Influence(md, Xd, yd, sd)
    assert not inf.reused_hessian
    T = inf.scores(DemographicParity(Xv, gv))
    U = inf.scores(Utility(Xv, yv))
    inf0 = su.Influence(m, X, y, s)
    _close(inf0.hessian, inf.hessian, 1e-9)
    T0, U0 = inf0.scores(DemographicParity(Xv, gv)), inf0.scores(Utility(Xv, yv))
    gap = DemographicParity(Xv, gv).value(md)
    w = su.soft_weights(T, U, gap, lam=0.1, bounds=(-1, 0), lam_scale="absolute")
    w0 = su.soft_weights(T0, U0, gap, lam=0.1, bounds=(-1, 0), lam_scale="absolute")
    _close(w0.eps, w.eps, 1e-8)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X: da.from_array(X, chunks=(600, 3)), r"X: chunked along columns"),
        (lambda X: da.from_array(X, chunks=600)[da.from_array(X[:, 0] > -9, chunks=600)], r"X: unknown chunk sizes"),
    ],
)
def test_bad_chunks(make, match):
    X, y, *_ = _data()
    with pytest.raises(ValueError, match=match):
        su.LogisticRegression().fit(make(X), y)


def test_mismatched_chunks_and_bad_values():
    X, y, s, *_ = _data()
    Xd = da.from_array(X, chunks=(1200, D))
    with pytest.raises(ValueError, match=r"y: row chunks .* do not match X's"):
        su.LogisticRegression().fit(Xd, da.from_array(y, chunks=800))
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(2400,\)"):
        su.LogisticRegression().fit(Xd, y, s[:10])
    bad = X.copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"X: contains NaN or infinity"):
        su.LogisticRegression().fit(da.from_array(bad, chunks=(1200, D)), y)
    # a dask y must be the {0, 1} encoding (an in-memory y may hold any two labels)
    with pytest.raises(ValueError, match=r"y: labels must be 0 or 1"):
        su.LogisticRegression().fit(Xd, da.from_array(2 * y, chunks=1200))
    with pytest.raises(ValueError, match=r"y: only one class"):
        su.LogisticRegression().fit(Xd, np.ones(N))
    with pytest.raises(ValueError, match=r"backend: dask arrays run on the workers' CPUs"):
        su.LogisticRegression(backend="cuda").fit(Xd, y)
    m = su.LogisticRegression().fit(Xd, y)
    with pytest.raises(ValueError, match=r"solver: 'cg' needs in-memory X"):
        su.Influence(m, Xd, y, solver="cg")


def _die_once(block, flag):
    # The first task to run kills its worker process (a crash, not an exception); the nanny restarts it.
    if not os.path.exists(flag):
        open(flag, "w").close()
        os._exit(1)
    return block


def test_worker_dying_mid_fit(client, tmp_path):
    X, y, *_ = _data()
    Xd = da.from_array(X, chunks=(600, D)).map_blocks(
        _die_once, str(tmp_path / "died"), dtype=X.dtype, meta=np.empty((0, 0), dtype=X.dtype)
    )
    md = su.LogisticRegression().fit(Xd, y)  # the lost tasks are recomputed on a live worker
    assert (tmp_path / "died").exists()
    _close(su.LogisticRegression().fit(X, y).theta_, md.theta_, 1e-9)


def test_predict_is_lazy_and_in_memory_only_functions_refuse_dask():
    X, y, s, *_ = _data()
    Xd = da.from_array(X, chunks=(1000, D))
    m = su.LogisticRegression().fit(X, y)
    z = m.decision_function(Xd)
    assert isinstance(z, da.Array) and z.chunks[0] == Xd.chunks[0]
    _close(m.decision_function(X), z.compute(), 1e-12)
    assert np.array_equal(m.predict(X), m.predict(Xd).compute())
    with pytest.raises(TypeError, match=r"X: a dask array is accepted by fit"):
        su.certified_update(su.LogisticRegression(fit_intercept=False).fit(X, y), Xd, y,
                            -(np.arange(N) < 3).astype(float), epsilon=1.0, delta=1e-5)


@pytest.mark.parametrize("persisted", [False, True])
def test_subsample_warm_start_on_uneven_chunks(client, persisted):
    # n/8 ≥ 2000 rows: the fit starts on every 8th row, which crosses uneven chunk boundaries; on a
    # persisted X the passes go straight to the chunks' futures with strided row slices.
    from softunlearn.dask_engine import DaskEngine

    rng = np.random.default_rng(5)
    n, d = 20011, 5
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + rng.standard_normal(n) > 0).astype(float)
    s = rng.uniform(0.5, 2.0, n)
    Xd, yd, sd = _dask((3001, 7000, 5, 9000, 1005), X, y, s)
    if persisted:
        Xd, yd, sd = client.persist([Xd, yd, sd])
    assert (DaskEngine(Xd, yd, sd, fit_intercept=True, loss=(0, 0.0))._chunks is not None) == persisted
    m = su.LogisticRegression().fit(X, y, s)
    md = su.LogisticRegression().fit(Xd, yd, sd)
    _close(m.theta_, md.theta_, 1e-9)
    assert md.n_iter_ == m.n_iter_ and md.n_hessian_evals_ == m.n_hessian_evals_
    inf = su.Influence(md, Xd, yd, sd)
    _close(su.Influence(m, X, y, s).hessian, inf.hessian, 1e-12)


def test_nan_in_dask_X_is_named_by_fit_and_influence():
    X, y, *_ = _data()
    m = su.LogisticRegression().fit(X, y)
    X[7, 1] = np.inf
    Xd = da.from_array(X, chunks=(1000, D))
    with pytest.raises(ValueError, match=r"X: contains NaN or infinity"):
        su.LogisticRegression().fit(Xd, y)
    with pytest.raises(ValueError, match=r"X: contains NaN or infinity"):
        su.Influence(m, Xd, y)


def test_in_memory_use_never_imports_dask():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, softunlearn as su\n"
        "X = np.random.default_rng(0).standard_normal((200, 3)); y = (X[:, 0] > 0).astype(float)\n"
        "m = su.LogisticRegression().fit(X, y); su.Influence(m, X, y).scores(su.targets.Utility(X, y))\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('dask', 'distributed')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("method", ["newton", "refit"])
def test_soft_unlearner_on_dask_matches_in_memory(client, method):
    X, y, s, Xv, yv, gv = _data()
    Xd, yd, sd = _dask((900, 900, 600), X, y, s)
    m = su.LogisticRegression().fit(X, y, s)
    kw = dict(method=method, hard_fraction=0.05, bounds=(-1, 0))
    a = su.SoftUnlearner("dp", **kw).fit(m, X, y, Xv, yv, gv, sample_weight=s)
    b = su.SoftUnlearner("dp", **kw).fit(m, Xd, yd, Xv, yv, gv, sample_weight=sd)
    assert isinstance(b.scores_, da.Array) and isinstance(b.eps_, da.Array)  # never gathered
    _close(a.scores_, b.scores_, 1e-9)
    _close(a.eps_, b.eps_, 1e-8)
    _close(a.model_.theta_, b.model_.theta_, 1e-9)
    _close(a.hard_model_.theta_, b.hard_model_.theta_, 1e-9)


@pytest.mark.parametrize("delta", [1.0, -0.5])
@pytest.mark.parametrize("count", [{"k": 0}, {"k": 1}, {"k": 37}, {"fraction": 0.25}, {"k": 240}])
def test_hard_weights_distributed_top_k(delta, count):
    # Many ties (values on a coarse grid), ties across chunk boundaries: the same samples as in memory.
    T = np.round(np.random.default_rng(4).standard_normal(240), 1)
    Td = da.from_array(T, chunks=(50, 1, 89, 100))
    with dask.config.set(scheduler="sync"):
        got = su.hard_weights(Td, delta=delta, **count)
        assert isinstance(got, da.Array) and got.chunks == Td.chunks
        assert np.array_equal(got.compute(), su.hard_weights(T, delta=delta, **count))
    with pytest.raises(ValueError, match="T contains NaN"):
        su.hard_weights(da.from_array(np.r_[T, np.nan], chunks=100), k=3)


@pytest.mark.parametrize("persisted", [False, True])
def test_finetune_on_dask_matches_in_memory(client, persisted):
    X, y, s, *_ = _data()
    Xd, yd, sd = _dask((700, 1300, 400), X, y, s)
    if persisted:
        Xd, yd, sd = client.persist([Xd, yd, sd])
    m = su.LogisticRegression().fit(X, y, s)
    eps = -(np.arange(N) % 5 == 0).astype(float)
    seen = []
    a = su.finetune(m, X, y, eps, sample_weight=s)
    b = su.finetune(m, Xd, yd, _dask((700, 1300, 400), eps)[0], sample_weight=sd, callback=seen.append)
    assert b.converged_ and b.n_iter_ == a.n_iter_ and len(seen) == b.n_iter_
    _close(a.theta_, b.theta_, 1e-9)
    _close(su.refit(m, X, y, eps, sample_weight=s).theta_, b.theta_, 1e-8)  # the optimum fine-tuning approaches
    budget = su.finetune(m, Xd, yd, eps, sample_weight=sd, max_iter=2)
    assert budget.n_iter_ == 2 and not budget.converged_
    with pytest.raises(ValueError, match="eps: contains NaN"):
        su.finetune(m, Xd, yd, np.full(N, np.nan))


@pytest.mark.parametrize("retain", [0.0, 0.5])
def test_gradient_ascent_on_dask_matches_in_memory(client, retain):
    X, y, s, *_ = _data()
    Xd, yd, sd = _dask((700, 1300, 400), X, y, s)
    m = su.LogisticRegression().fit(X, y, s)
    eps = -(np.arange(N) % 9 == 0).astype(float)
    seen = []
    a = su.gradient_ascent(m, X, y, eps, sample_weight=s, steps=6, retain=retain)
    b = su.gradient_ascent(m, Xd, yd, eps, sample_weight=sd, steps=6, retain=retain, callback=seen.append)
    assert b.n_iter_ == a.n_iter_ == len(seen) == 6
    _close(a.unlearn_info_["curvature"], b.unlearn_info_["curvature"], 1e-12)
    _close(a.theta_, b.theta_, 1e-9)
    _close(su.gradient_ascent(m, X, y, eps, lr=0.01, steps=3).theta_,
           su.gradient_ascent(m, Xd, y, eps, lr=0.01, steps=3).theta_, 1e-9)


@pytest.mark.parametrize("inner", ["refit", "newton"])
def test_iterated_soft_weights_on_dask_matches_in_memory(client, inner):
    # Every step's scores, weight QP (bounded: the distributed dual) and update run on the cluster; the
    # total weight change comes back lazy, with X's chunks.
    X, y, s, Xv, yv, gv = _data()
    Xd, yd, sd = _dask((700, 1300, 400), X, y, s)
    m = su.LogisticRegression().fit(X, y, s)
    t, u = DemographicParity(Xv, gv), Utility(Xv, yv)
    kw = dict(steps=3, inner=inner, bounds=(-1.0, None))
    a = su.iterated_soft_weights(m, X, y, t, u, t.value(m), sample_weight=s, **kw)
    b = su.iterated_soft_weights(m, Xd, yd, t, u, t.value(m), sample_weight=sd, **kw)
    assert isinstance(b.eps, da.Array) and b.eps.chunks == (Xd.chunks[0],)
    assert a.n_steps == b.n_steps == 3
    _close(a.eps, b.eps.compute(), 1e-8)
    _close(a.model.theta_, b.model.theta_, 1e-9)
    for ha, hb in zip(a.history, b.history):
        assert np.isclose(ha["weight_min"], hb["weight_min"], rtol=1e-9)


def _csr_chunks(X, chunks):
    """X (dense, mostly zeros) as a dask array of CSR chunks, made lazily on the workers by map_blocks."""
    return da.from_array(X, chunks=(chunks, X.shape[1])).map_blocks(
        sp.csr_matrix, dtype=X.dtype, meta=sp.csr_matrix((0, 0), dtype=X.dtype)
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
def test_csr_chunks_match_in_memory_csr(client, chunking, model, dtype):
    # The same kernels as in-memory CSR X, chunk by chunk: fit, scores, Newton update, refit, finetune.
    X, y, s, Xv, yv, gv = _data(dtype)
    X = X * (np.random.default_rng(9).random(X.shape) < 0.3)
    Xs, Xd = sp.csr_matrix(X), _csr_chunks(X, CHUNKINGS[chunking])
    yd, sd = _dask(CHUNKINGS[chunking], y, s)
    m = MODELS[model]().fit(Xs, y, s)
    md = MODELS[model]().fit(Xd, yd, sd)
    assert md.backend_ == "dask" and md.converged_ and md.dtype == dtype
    rtol = RTOL[dtype]
    _close(m.theta_, md.theta_, rtol)
    targets = [Utility(Xv, yv), DemographicParity(Xv, gv)]
    Sd = su.Influence(md, Xd, yd, sd).scores(targets)
    assert isinstance(Sd, da.Array) and Sd.chunks[0] == Xd.chunks[0]
    _close(su.Influence(m, Xs, y, s).scores(targets), Sd.compute(), 1e-9 if dtype == np.float64 else 1e-5)
    eps = -(np.arange(N) % 7 == 0).astype(dtype)
    _close(su.newton_update(m, Xs, y, eps, sample_weight=s).theta_,
           su.newton_update(md, Xd, yd, eps, sample_weight=sd).theta_, rtol)
    _close(su.refit(m, Xs, y, eps, sample_weight=s).theta_, su.refit(md, Xd, yd, eps, sample_weight=sd).theta_, rtol)
    if dtype == np.float64:
        _close(su.finetune(m, Xs, y, eps, sample_weight=s).theta_,
               su.finetune(md, Xd, yd, eps, sample_weight=sd).theta_, 1e-7)


def test_csr_chunks_without_intercept_and_bad_chunks():
    X, y, *_ = _data()
    X = X * (np.random.default_rng(9).random(X.shape) < 0.3)
    Xd = _csr_chunks(X, 1000)
    with dask.config.set(scheduler="sync"):
        # no intercept: the stopping scale reads max|xᵢⱼ| from the chunks' stored values
        _close(su.LogisticRegression(fit_intercept=False).fit(sp.csr_matrix(X), y).theta_,
               su.LogisticRegression(fit_intercept=False).fit(Xd, y).theta_, 1e-9)
        small = 0.1 * X  # max|xᵢⱼ| < 1, so the scale is that maximum
        kw = dict(fit_intercept=False, loss=(0, 0.0), n_threads=1)
        want = CpuEngine(sp.csr_matrix(small), y, np.zeros(0), **kw).feature_scale()
        assert want < 1 and DaskEngine(_csr_chunks(small, 700), da.from_array(y, chunks=700), None,
                                       **kw).feature_scale() == want
        bad = X.copy()
        bad[1500, 2] = np.nan
        with pytest.raises(ValueError, match=r"X: contains NaN or infinity"):
            su.LogisticRegression().fit(_csr_chunks(bad, 1000), y)

        def broken(block):
            out = sp.csr_matrix(block)
            out.indices[-1] = X.shape[1] + 5  # a column index past the end: must never reach a kernel
            return out

        hostile = da.from_array(X, chunks=(1000, X.shape[1])).map_blocks(broken, meta=sp.csr_matrix((0, 0)))
        with pytest.raises(ValueError, match=r"X: malformed CSR matrix \(column indices outside"):
            su.LogisticRegression().fit(hostile, y)


def test_cli_sends_sparse_training_data_as_csr_chunks(client):
    from softunlearn import cli

    X, y, *_ = _data()
    Xs = sp.csr_matrix(X * (np.random.default_rng(9).random(X.shape) < 0.3))
    Xd, yd = cli._to_cluster(client, Xs, y, 700)
    assert sp.issparse(Xd._meta) and Xd.chunks[0] == (700, 700, 700, 300)
    _close(su.LogisticRegression().fit(Xs, y).theta_, su.LogisticRegression().fit(Xd, yd).theta_, 1e-9)


def test_persisted_X_keeps_r_on_the_workers(client):
    # On a persisted X the Influence pass returns r from the same read of each chunk, held on the workers:
    # the scores and the Newton update then read X once each. Same numbers as in memory.
    X, y, s, Xv, yv, gv = _data()
    Xd, yd, sd = client.persist(_dask((700, 1300, 400), X, y, s))
    m = su.LogisticRegression().fit(X, y, s)
    md = su.LogisticRegression().fit(Xd, yd, sd)
    inf, infd = su.Influence(m, X, y, s), su.Influence(md, Xd, yd, sd)
    assert isinstance(infd.r, da.Array) and len(dict(infd.r.dask)) == 3  # one kept chunk each, no graph
    _close(inf.r, infd.r.compute(), 1e-9)
    targets = [Utility(Xv, yv), DemographicParity(Xv, gv)]
    _close(inf.scores(targets), infd.scores(targets).compute(), 1e-9)
    eps = -(np.arange(N) % 7 == 0).astype(float)
    _close(inf.newton_update(eps).theta_, infd.newton_update(_dask((700, 1300, 400), eps)[0]).theta_, 1e-9)

"""The weight QP on dask scores: every pass a distributed reduction, the same solver as in memory.

Oracle: soft_weights / soft_weights_path on the computed NumPy arrays (itself checked against a generic
QP solver in test_weights.py). The distributed passes sum in another order, so ε agrees within
1e-8·max|ε| (the issue's bar) and the scalars within rounding; the branch, status and feasibility agree.
"""

from __future__ import annotations

import warnings

import dask
import dask.array as da
import numpy as np
import pytest

from softunlearn import dask_weights
from softunlearn import weights as W

N = 1500
CHUNKINGS = {"one chunk": (N,), "uneven": (400, 1, 699, 400), "one-row chunks": (1,) * 7 + (N - 7,)}


def _problem(kind, seed=0):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal(N)
    U = rng.standard_normal(N)
    if kind == "opposed":  # c' < 0: the utility constraint binds
        U = -T + 0.5 * rng.standard_normal(N)
    if kind == "sparse":
        T[rng.random(N) < 0.6] = 0
        U[rng.random(N) < 0.4] = 0
    if kind == "grid":  # many equal ratios t/u: ties in the LP's breakpoints
        T, U = np.round(T, 0), np.round(U, 0)
    if kind == "near":  # nearly collinear, opposed: the polish of both active constraints does the work
        U = -T + 1e-4 * rng.standard_normal(N)
    if kind == "walled":  # u = −r·t with r larger where t > 0: the LP with an open side has a finite optimum
        U = -T * np.where(T > 0, 1.5 + 0.5 * rng.random(N), 1.0 + 0.5 * rng.random(N))
    return T, U


def _close(a, b, rtol):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(a))), 1e-300)
    assert np.max(np.abs(a - b)) <= rtol * scale, np.max(np.abs(a - b)) / scale


def _same_result(ref, got):
    assert isinstance(got.eps, da.Array)
    _close(ref.eps, got.eps.compute(), 1e-8)
    assert (got.scheme, got.feasible) == (ref.scheme, ref.feasible)
    for name in ("target_change", "utility_change", "norm"):
        assert np.isclose(getattr(got, name), getattr(ref, name), rtol=1e-9, atol=1e-12 * (1 + ref.norm)), name
    if np.isfinite(ref.max_decrease):
        assert np.isclose(got.max_decrease, ref.max_decrease, rtol=1e-9)


def _both(T, U, chunks, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = W.soft_weights(T, U, *args, **kw)
        Td, Ud = da.from_array(T, chunks=(chunks,)), da.from_array(U, chunks=(chunks,))
        got = W.soft_weights(Td, Ud, *args, **kw)
    return ref, got


CASES = [
    # (kind, delta, bounds, lam): each exercises another branch of the solvers
    ("plain", 5.0, None, 1.0),  # 2.1
    ("plain", 5.0, None, 0.3),  # 2.0
    ("opposed", 5.0, None, 1.0),  # 2.3 (the polish of both constraints)
    ("opposed", -3.0, None, 0.3),  # 2.2, oriented
    ("opposed", 5.0, (-1.0, None), 1.0),  # bounded dual, both constraints active
    ("plain", 5.0, (-1.0, 0.0), 0.5),  # removal-only box
    ("sparse", 2.0, (-0.5, 2.0), 1.0),  # two finite sides
    ("opposed", 1e4, (-1.0, 1.0), 1.0),  # infeasible: the LP with a finite box (weighted selection)
    ("walled", 1e4, (-1.0, None), 1.0),  # infeasible with an open side (the LP's domain pass)
    ("walled", -1e4, (None, 1.0), 1.0),  # ... the other open side
    ("near", 0.5, None, 1.0),  # 2.3 on nearly collinear scores
    ("near", 0.5, (-1.0, None), 1.0),  # bounded, nearly collinear: polished
    ("grid", 1e4, (-1.0, 1.0), 1.0),  # infeasible with tied breakpoints and tied samples
    ("plain", 0.0, (-1.0, 0.0), 1.0),  # Δ = 0: nothing asked for
]


@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
@pytest.mark.parametrize("case", range(len(CASES)))
def test_soft_weights_on_dask_match_in_memory(case, chunking):
    kind, delta, bounds, lam = CASES[case]
    T, U = _problem(kind)
    with dask.config.set(scheduler="sync"):
        ref, got = _both(T, U, CHUNKINGS[chunking], delta, lam=lam, bounds=bounds)
        _same_result(ref, got)
        assert got.eps.chunks == (CHUNKINGS[chunking],)


@pytest.mark.parametrize("bounds", [None, (-1.0, 0.0), (-1.0, 1.0)])
def test_candidates_on_dask(bounds):
    T, U = _problem("opposed", seed=3)
    for candidates in (np.arange(N) % 3 == 0, np.arange(0, N, 7)):
        with dask.config.set(scheduler="sync"):
            ref, got = _both(T, U, (500, 1000), 4.0, bounds=bounds, candidates=candidates)
            _same_result(ref, got)
            mask = np.zeros(N, bool)
            mask[candidates] = True
            assert not got.eps.compute()[~mask].any()


def test_lp_selection_narrows_a_bracket(monkeypatch):
    # Few breakpoints per gather force several narrowing rounds (and the one-value bracket on ties).
    monkeypatch.setattr(dask_weights, "_GATHER", 8)
    monkeypatch.setattr(dask_weights, "_QUANTILES", 4)
    for kind in ("opposed", "grid"):
        T, U = _problem(kind, seed=5)
        with dask.config.set(scheduler="sync"):
            ref, got = _both(T, U, (300, 600, 600), 1e4, bounds=(-1.0, 2.0))
        assert not ref.feasible and np.isfinite(ref.max_decrease)
        _same_result(ref, got)


def test_soft_weights_path_on_dask():
    T, U = _problem("opposed", seed=2)
    lams = [0.05, 0.3, 1.0, 4.0]
    for bounds, delta in ((None, 4.0), ((-1.0, None), 4.0), ((-1.0, 1.0), 1e4)):
        with warnings.catch_warnings(), dask.config.set(scheduler="sync"):
            warnings.simplefilter("ignore")
            ref = W.soft_weights_path(T, U, delta, lams, bounds=bounds)
            got = W.soft_weights_path(da.from_array(T, chunks=500), da.from_array(U, chunks=500), delta, lams,
                                      bounds=bounds)
        assert got.schemes == ref.schemes and np.array_equal(got.feasible, ref.feasible)
        _close(ref.target_change, got.target_change, 1e-9)
        for k in range(len(lams)):
            _close(ref.eps_at(k), got.eps_at(k).compute(), 1e-8)
        assert isinstance(got.eps, da.Array) and got.eps.shape == (len(lams), N)


def test_soft_weights_on_a_cluster(client):
    T, U = _problem("opposed", seed=4)
    Td, Ud = client.persist([da.from_array(T, chunks=400), da.from_array(U, chunks=400)])
    ref = W.soft_weights(T, U, 5.0, bounds=(-1.0, None))
    got = W.soft_weights(Td, Ud, 5.0, bounds=(-1.0, None))
    _same_result(ref, got)
    assert np.isclose(W.lam_star(Td, 5.0), W.lam_star(T, 5.0), rtol=1e-12)


def test_mixed_and_bad_dask_scores():
    T, U = _problem("plain")
    with dask.config.set(scheduler="sync"):
        ref = W.soft_weights(T, U, 3.0, bounds=(-1, 0))
        _same_result(ref, W.soft_weights(da.from_array(T, chunks=500), U, 3.0, bounds=(-1, 0)))
        _same_result(ref, W.soft_weights(T, da.from_array(U, chunks=700), 3.0, bounds=(-1, 0)))
        with pytest.raises(ValueError, match=r"U: expected shape \(1500,\)"):
            W.soft_weights(da.from_array(T, chunks=500), U[:-1], 3.0)
        bad = T.copy()
        bad[700] = np.nan
        with pytest.raises(ValueError, match="T contains NaN or infinite values"):
            W.soft_weights(da.from_array(bad, chunks=500), U, 3.0, bounds=(-1, 0))
        Td = da.from_array(T, chunks=500)
        with pytest.raises(ValueError, match="T: unknown chunk sizes"):
            W.soft_weights(Td[Td > 0], da.from_array(U, chunks=500)[Td > 0], 3.0)
        with pytest.raises(ValueError, match="delta must be finite"):
            W.soft_weights(da.from_array(T, chunks=500), U, np.inf)

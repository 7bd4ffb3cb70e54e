"""Built-in targets whose validation data are dask arrays, against the same targets on the computed arrays.

Oracle: the in-memory target (same kernel over all rows at once; on Dask every chunk's share is summed, so
only the summation order differs): value and gradient within 1e-9 relative in float64, float32 within its
own rounding. The chunkings put a whole group, or every positive of a group, outside some chunks, so a
chunk's own group sizes would give wrong means.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import softunlearn as su
from softunlearn.targets import DemographicParity, EqualOpportunity, Robustness, Utility, required_change

NV, D = 300, 5
CHUNKINGS = {"one chunk": (NV,), "uneven": (40, 199, 61), "one-row chunk": (1, 149, 150)}
MODELS = {
    "logistic": lambda: su.LogisticRegression(C=0.5),
    "smooth hinge": lambda: su.LinearSVC(C=0.5, loss="smooth_hinge"),
    "squared hinge": lambda: su.LinearSVC(C=0.5, loss="squared_hinge"),
}
RTOL = {np.float64: 1e-9, np.float32: 2e-5}
KINDS = {
    "utility": lambda X, y, s: Utility(X, y),
    "dp": lambda X, y, s: DemographicParity(X, s),
    "eop": lambda X, y, s: EqualOpportunity(X, y, s),
    "robustness": lambda X, y, s: Robustness(X, y),
}


def _data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((600, D))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.standard_normal(600) > 0).astype(float)
    Xv = rng.standard_normal((NV, D))
    yv = (Xv[:, 0] + rng.standard_normal(NV) > 0).astype(float)
    # Sorted by group: the first chunks of "uneven" and "one-row chunk" hold group 0 only, the last group 1.
    sv = (np.arange(NV) >= 130).astype(float)
    return X.astype(dtype), y, Xv.astype(dtype), yv, sv


def _close(got, want, rtol, floor=0.0):
    """Value within rtol·max(|value|, floor): a gap of two means near 1 (DP, EOP) cancels, and its float32
    rounding is that of the means (floor 1), not of the small difference."""
    (gv, gg), (wv, wg) = got, want
    assert abs(gv - wv) <= rtol * max(abs(wv), floor, 1e-300), (gv, wv)
    assert np.max(np.abs(gg - wg)) <= rtol * np.max(np.abs(wg)), np.max(np.abs(gg - wg)) / np.max(np.abs(wg))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
def test_dask_target_equals_in_memory(kind, model, dtype, chunking):
    X, y, Xv, yv, sv = _data(dtype)
    m = MODELS[model]().fit(X, y)
    chunks = CHUNKINGS[chunking]
    Xd, yd, sd = (da.from_array(a, chunks=(chunks,) + a.shape[1:]) for a in (Xv, yv, sv))
    want = KINDS[kind](Xv, yv, sv).evaluate(m)
    with dask.config.set(scheduler="threads"):
        got = KINDS[kind](Xd, yd, sd).evaluate(m)
    _close(got, want, RTOL[dtype], floor=1.0 if dtype == np.float32 else 0.0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_csr_chunks_and_in_memory_labels(kind):
    """CSR chunks (map_blocks with a sparse meta), with y and s given in memory."""
    X, y, Xv, yv, sv = _data()
    m = su.LogisticRegression().fit(X, y)
    Xd = da.from_array(Xv, chunks=(CHUNKINGS["uneven"], D)).map_blocks(sp.csr_matrix, meta=sp.csr_matrix((0, 0)))
    with dask.config.set(scheduler="sync"):
        got = KINDS[kind](Xd, yv, sv).evaluate(m)
    _close(got, KINDS[kind](sp.csr_matrix(Xv), yv, sv).evaluate(m), 1e-9)


def test_pos_label_and_string_classes():
    """pos_label = classes_[0] evaluates at −θ on Dask too; in-memory string labels are mapped through
    classes_, while a dask y must already hold {0, 1}."""
    X, y, Xv, yv, sv = _data()
    names = np.array(["no", "yes"])
    m = su.LogisticRegression().fit(X, names[y.astype(int)])
    Xd, sd = da.from_array(Xv, chunks=(100, D)), da.from_array(sv, chunks=100)
    with dask.config.set(scheduler="sync"):
        for t in (EqualOpportunity, DemographicParity):
            args = (names[yv.astype(int)], sv) if t is EqualOpportunity else (sv,)
            dargs = (names[yv.astype(int)], sd) if t is EqualOpportunity else (sd,)
            _close(t(Xd, *dargs, pos_label="no").evaluate(m), t(Xv, *args, pos_label="no").evaluate(m), 1e-9)
        with pytest.raises(ValueError, match=r"y: a dask y must hold the labels \{0, 1\}"):
            Utility(Xd, da.from_array(yv, chunks=100)).evaluate(m)


def test_robustness_points_are_lazy_and_fixed():
    X, y, Xv, yv, sv = _data()
    m = su.LogisticRegression().fit(X, y)
    Xd = da.from_array(Xv, chunks=(CHUNKINGS["uneven"], D))
    with dask.config.set(scheduler="sync"):
        t = Robustness(Xd, yv, model=m)
        ref = Robustness(Xv, yv, model=m)
        assert isinstance(t.adversarial_X, da.Array)
        np.testing.assert_allclose(t.adversarial_X.compute(), ref.adversarial_X, rtol=0, atol=1e-13)
        moved = su.LogisticRegression(C=0.01).fit(X, y)  # another θ: the points stay those of m
        _close(t.evaluate(moved), ref.evaluate(moved), 1e-9)


def test_influence_scores_with_dask_targets_on_a_cluster(client):
    """A model fitted on a dask X, with targets on a persisted dask validation set: the scores equal the
    in-memory ones."""
    X, y, Xv, yv, sv = _data()
    Xt, yt = da.from_array(X, chunks=(250, D)), da.from_array(y, chunks=250)
    Xd, yd, sd = (da.from_array(a, chunks=(CHUNKINGS["uneven"],) + a.shape[1:]).persist() for a in (Xv, yv, sv))
    md = su.LogisticRegression().fit(Xt, yt)
    got = su.Influence(md, Xt, yt).scores([Utility(Xd, yd), DemographicParity(Xd, sd), EqualOpportunity(Xd, yd, sd)])
    m = su.LogisticRegression().fit(X, y)
    want = su.Influence(m, X, y).scores([Utility(Xv, yv), DemographicParity(Xv, sv), EqualOpportunity(Xv, yv, sv)])
    got = got.compute()
    assert np.max(np.abs(got - want)) <= 1e-9 * np.max(np.abs(want))
    assert required_change(DemographicParity(Xd, sd), md) == pytest.approx(
        required_change(DemographicParity(Xv, sv), m), rel=1e-9
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda Xd, yd, sd: DemographicParity(Xd, sd * 0), r"s: the sensitive attribute has only one group \(0\)"),
        (lambda Xd, yd, sd: DemographicParity(Xd, sd * 0 + 1), r"s: the sensitive attribute has only one group \(1\)"),
        (lambda Xd, yd, sd: EqualOpportunity(Xd, yd * (1 - sd), sd), r"s: group 1 has no positive labels"),
        (lambda Xd, yd, sd: EqualOpportunity(Xd, yd * sd, sd), r"s: group 0 has no positive labels"),
        (lambda Xd, yd, sd: Utility(Xd, yd * 2), r"y: labels must be 0 or 1"),
        (lambda Xd, yd, sd: DemographicParity(Xd, sd * 3), r"s: labels must be 0 or 1"),
    ],
)
def test_bad_labels_and_groups(make, match):
    X, y, Xv, yv, sv = _data()
    m = su.LogisticRegression().fit(X, y)
    Xd, yd, sd = (da.from_array(a, chunks=(100,) + a.shape[1:]) for a in (Xv, yv, sv))
    with dask.config.set(scheduler="sync"), pytest.raises(ValueError, match=match):
        make(Xd, yd, sd).evaluate(m)


def test_bad_chunks_and_features():
    X, y, Xv, yv, sv = _data()
    m = su.LogisticRegression().fit(X, y)
    Xd = da.from_array(Xv, chunks=(100, D))
    with pytest.raises(ValueError, match=r"X: chunked along columns"):
        Utility(da.from_array(Xv, chunks=(100, 2)), yv)
    with pytest.raises(ValueError, match=r"y: row chunks"):
        Utility(Xd, da.from_array(yv, chunks=150))
    with pytest.raises(ValueError, match=r"s: row chunks"):
        DemographicParity(Xd, da.from_array(sv, chunks=150))
    with pytest.raises(ValueError, match=r"X: unknown chunk sizes"):
        Utility(Xd[da.from_array(yv > 0, chunks=100)], yv[yv > 0])
    with pytest.raises(ValueError, match=r"X: the target has 4 features, the model 5"):
        Utility(Xd[:, :4], yv).evaluate(m)
    with dask.config.set(scheduler="sync"), pytest.raises(su.NonFiniteError, match=r"^X:"):
        Utility(Xd * np.inf, yv).evaluate(m)

"""softunlearn.plotting: the influence and trade-off figures are valid PNG files of the expected size, the
trade-off points are what the Newton updates of the stated weightings give, and the module leaves pyplot
and the matplotlib backend alone."""
from __future__ import annotations

import io
import struct
import sys
import zlib

import matplotlib  # noqa: F401  (a hard requirement of these tests)
import pytest

import softunlearn as su
from softunlearn import evaluation, plotting

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_chunks(blob):
    """[(type, data)] of a PNG, every chunk's CRC checked."""
    assert blob[:8] == PNG_MAGIC
    out, i = [], 8
    while i < len(blob):
        (length,) = struct.unpack(">I", blob[i:i + 4])
        kind, data = blob[i + 4:i + 8], blob[i + 8:i + 8 + length]
        (crc,) = struct.unpack(">I", blob[i + 8 + length:i + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF, kind
        out.append((kind, data))
        i += 12 + length
    assert i == len(blob)
    return out


def check_png(blob, size):
    chunks = png_chunks(blob)
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == size
    pixels = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    assert len(pixels) > width * height  # every row there (a filter byte plus ≥ 1 byte per pixel)


@pytest.fixture
def fitted(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    u = su.SoftUnlearner("dp", lam=1.0, hard_fraction=0.1,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv, data.sv)
    ev = evaluation.Evaluator("dp", data.Xv, data.yv, data.sv, reference_model=m)
    return m, u, ev


def test_influence_png(fitted, tmp_path):
    _, u, _ = fitted
    pyplot_loaded = "matplotlib.pyplot" in sys.modules
    fig = plotting.influence_figure(u.scores_, u.hard_eps_, u.eps_, delta=u.delta_, target="dp", dataset="toy")
    assert fig.axes[0].get_title() == f"toy: influence on demographic parity (Δ = {u.delta_:+.4f}) and weight changes"
    assert fig.canvas.manager is None  # a plain Figure: not registered with pyplot, nothing to close
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_loaded
    buf = io.BytesIO()
    plotting.save_png(fig, buf)
    check_png(buf.getvalue(), (9 * plotting.PNG_DPI, 5 * plotting.PNG_DPI))
    plotting.save_png(fig, tmp_path / "influence.png")  # a path works too
    assert (tmp_path / "influence.png").read_bytes() == buf.getvalue()


def test_tradeoff_points_and_png(fitted, data):
    m, u, ev = fitted
    seen = []

    def progress(items, desc):
        seen.append(desc)
        return list(items)

    pts = plotting.tradeoff_points(u.influence_, u.scores_, u.utility_scores_, u.delta_, ev, lam=u.lam,
                                   bounds=u.bounds, progress=progress, lam_scale="absolute")
    assert seen == ["trade-off"]
    n_bounds = len(plotting.TRADEOFF_BOUNDS)
    assert len(pts.curves) == 1 + n_bounds + 1
    assert pts.left == [k for k in pts.curves if k != pts.lam_grid] and pts.right == [pts.hard, pts.lam_grid]
    assert pts.lam_grid == "soft, bounds -1:none (λ)"
    T = u.scores_
    assert pts.lam_star == pytest.approx(T @ T / (2 * abs(u.delta_)), rel=1e-14)
    # every hard point is the Newton update of a hard deletion of that share, measured by the evaluator
    for (x, acc, frac), f in zip(pts.curves[pts.hard], plotting.HARD_FRACTIONS):
        assert frac == f
        row = ev(u.influence_.newton_update(su.hard_weights(T, fraction=f, delta=u.delta_)))
        assert (x, acc) == (abs(row["gap"]), row["accuracy"])
    # the full-Δ soft point at --lam with the default box is the unlearner's own model
    full = pts.curves[f"soft, bounds -1:none, λ={u.lam:g} (share of Δ)"][-1]
    row = ev(u.model_)
    assert full[2] == 1.0 and full[:2] == pytest.approx((abs(row["gap"]), row["accuracy"]), rel=1e-12, abs=1e-15)
    lams = [v for _, _, v in pts.curves[pts.lam_grid]]
    assert lams[0] == pytest.approx(pts.lam_star) and lams[-1] == pytest.approx(min(u.lam, pts.lam_star / 100))

    fig = plotting.tradeoff_figure(pts, ev(m), target="dp", dataset="toy", x_of=ev.tradeoff_x)
    assert fig._suptitle.get_text() == "toy, demographic parity: hard vs soft unlearning (Newton updates)"
    assert [len(ax.get_lines()) for ax in fig.axes] == [len(pts.left), len(pts.right)]
    buf = io.BytesIO()
    plotting.save_png(fig, buf)
    check_png(buf.getvalue(), (13 * plotting.PNG_DPI, int(5.5 * plotting.PNG_DPI)))


def test_robustness_tradeoff_axis(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    u = su.SoftUnlearner("robustness", lam=1.0, hard_fraction=0.1,
        lam_scale="absolute").fit(m, data.X, data.y, data.Xv, data.yv)
    ev = evaluation.Evaluator("robustness", data.Xv, data.yv, reference_model=m)
    pts = plotting.tradeoff_points(u.influence_, u.scores_, u.utility_scores_, u.delta_, ev, lam=u.lam,
        lam_scale="absolute")
    for curve in pts.curves.values():
        for x, _, _ in curve:
            assert 0.0 <= x <= 1.0  # robust accuracies
    fig = plotting.tradeoff_figure(pts, ev(m), target="robustness")
    assert fig.axes[0].get_xlabel().startswith("robust accuracy")
    buf = io.BytesIO()
    plotting.save_png(fig, buf)
    check_png(buf.getvalue(), (13 * plotting.PNG_DPI, int(5.5 * plotting.PNG_DPI)))


def test_have_matplotlib_and_bounds_label(monkeypatch):
    assert plotting.have_matplotlib()
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    assert not plotting.have_matplotlib()
    assert [plotting.bounds_label(b) for b in plotting.TRADEOFF_BOUNDS.values()] == list(plotting.TRADEOFF_BOUNDS)
    assert plotting.bounds_label((-0.5, 2.0)) == "-0.5:2"

"""softunlearn.plotting: the influence and trade-off figures are valid PNG files of the expected size, the
trade-off figure draws each curve's Pareto frontier and the matched accuracy gain of softunlearn.frontiers,
and the module leaves pyplot and the matplotlib backend alone."""
from __future__ import annotations

import io
import struct
import sys
import zlib

import matplotlib  # noqa: F401  (a hard requirement of these tests)
import numpy as np
import pytest

import softunlearn as su
from softunlearn import evaluation, frontiers, plotting

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


def test_tradeoff_png_draws_the_frontiers_and_the_gain(fitted, data):
    m, u, ev = fitted
    res = su.tradeoff(m, data.X, data.y, u.target_, su.targets.Utility(data.Xv, data.yv), ev,
                      updates=("refit", "newton"), hard_fractions=(0.05, 0.1, 0.2), delta_shares=(0.5, 1.0))
    fig = plotting.frontier_figure(res, dataset="toy")
    assert fig._suptitle.get_text().startswith("toy, demographic parity: accuracy kept at each value")
    assert fig.canvas.manager is None
    top, bottom = fig.axes[:2], fig.axes[2:4]
    assert [ax.get_title().split(";")[0] for ax in top] == ["refit", "newton (one-step preview)"]
    for ax, update in zip(top, ("refit", "newton")):
        drawn = {line.get_label(): line.get_xydata() for line in ax.get_lines()}
        for label in res.labels(update=update):
            c = res.curves[label]
            fx, fa = frontiers.frontier(c.x, c.accuracy)  # the bold line is the curve's Pareto frontier
            np.testing.assert_array_equal(drawn[label.rsplit(" (", 1)[0]], np.column_stack([fx, fa]))
    for ax, update in zip(bottom, ("refit", "newton")):
        gain = {line.get_label(): line.get_xydata() for line in ax.get_lines()}["soft -1:none − hard"]
        cmp = res.compare(f"soft -1:none ({update})", f"hard ({update})")
        np.testing.assert_allclose(gain, np.column_stack([cmp.grid, 100 * cmp.gain]), rtol=1e-15)
        assert any(np.all(np.asarray(line.get_ydata()) == 0) for line in ax.get_lines())  # the shared zero line
    buf = io.BytesIO()
    plotting.save_png(fig, buf)
    check_png(buf.getvalue(), (2 * int(6.5 * plotting.PNG_DPI), 8 * plotting.PNG_DPI))


def test_robustness_tradeoff_axis(data):
    m = su.LogisticRegression(C=1.0).fit(data.X, data.y)
    ev = evaluation.Evaluator("robustness", data.Xv, data.yv, reference_model=m)
    target = su.targets.Robustness(data.Xv, data.yv, model=m)
    res = su.tradeoff(m, data.X, data.y, target, su.targets.Utility(data.Xv, data.yv), ev, updates=("newton",),
                      hard_fractions=(0.05, 0.1), delta_shares=(0.5, 1.0))
    for curve in res.curves.values():
        assert np.all((0.0 <= curve.x) & (curve.x <= 1.0))  # robust accuracies
    fig = plotting.frontier_figure(res)
    assert fig.axes[1].get_xlabel().startswith("robust accuracy")
    buf = io.BytesIO()
    plotting.save_png(fig, buf)
    check_png(buf.getvalue(), (int(6.5 * plotting.PNG_DPI), 8 * plotting.PNG_DPI))


def test_have_matplotlib_and_bounds_label(monkeypatch):
    assert plotting.have_matplotlib()
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    assert not plotting.have_matplotlib()
    boxes = {"none": None, "-1:none": (-1.0, None), "-1:0": (-1.0, 0.0)}
    assert [plotting.bounds_label(b) for b in boxes.values()] == list(boxes)
    assert plotting.bounds_label((-0.5, 2.0)) == "-0.5:2"

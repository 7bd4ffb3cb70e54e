"""The command line (``softunlearn run`` / ``datasets`` / ``demo``) as a subprocess, on a 2,000-row Adult subsample."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import softunlearn
from softunlearn import datasets

pytestmark = pytest.mark.skipif(datasets.available().get("adult") is None,
                                reason=f"Adult not installed ({datasets.install_hint('adult')})")

SMALL = ["--dataset", "adult", "--n-train", "2000"]


def cli(*args, timeout=120):
    env = dict(os.environ)
    root = str(pathlib.Path(softunlearn.__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "softunlearn.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_datasets_lists_adult():
    r = cli("datasets")
    assert r.returncode == 0, r.stderr
    assert any(line.split()[0] == "adult" for line in r.stdout.splitlines() if line.strip())


def test_run_dp_json_and_report(tmp_path):
    r = cli("run", *SMALL, "--target", "dp", "--out", str(tmp_path), "--json", "--no-plots")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep == json.loads((tmp_path / "report.json").read_text())
    for key in ("config", "data", "target", "timings", "metrics", "weights", "warnings"):
        assert key in rep
    assert rep["data"]["n_train"] == 2000
    assert rep["config"]["bounds"] == "-1:none" and rep["config"]["method"] == "newton"
    # --lam is 1 in units of λ* by default: the one-shot QP is solved at λ = λ*
    assert rep["config"]["lam"] == 1.0 and rep["config"]["lam_scale"] == "relative"
    assert rep["weights"]["soft"]["lam_used"] == pytest.approx(rep["target"]["lam_star"], rel=1e-12)
    for m in ("original", "hard", "soft"):
        assert {"accuracy", "gap", "soft_gap", "log_loss", "val_target", "seconds"} <= set(rep["metrics"][m])
    w = rep["weights"]
    assert w["hard"]["n_deleted"] == 200 and w["hard"]["min"] == -1.0
    assert w["soft"]["min"] >= -1.0 - 1e-12  # the default bounds keep sample weights non-negative
    assert {"n_below_minus1_before_bounds", "min_before_bounds", "max_before_bounds", "share_moved"} <= set(w["soft"])
    assert {"fit", "influence", "weights_soft", "update_soft"} <= set(rep["timings"])
    # Driving the validation DP gap to zero shrinks it (first order: it is a constraint of the QP).
    assert abs(rep["metrics"]["soft"]["val_target"]) < 0.5 * abs(rep["metrics"]["original"]["val_target"])


def test_run_table_robustness_refit(tmp_path):
    r = cli("run", *SMALL, "--target", "robustness", "--method", "refit", "--bounds", "-1:0", "--lam", "10",
            "--lam-scale", "absolute", "--out", str(tmp_path), "--no-plots")
    assert r.returncode == 0, r.stderr
    for word in ("original", "hard", "soft", "robust_accuracy", "log_loss", "report.json"):
        assert word in r.stdout
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["config"]["bounds"] == "-1:0" and rep["target"]["fraction"] == 1.0
    assert "robust_accuracy" in rep["metrics"]["soft"]
    assert rep["weights"]["soft"]["max"] <= 1e-12


def test_run_eop_unbounded_scheme(tmp_path):
    r = cli("run", *SMALL, "--target", "eop", "--bounds", "none", "--scheme", "2.1", "--out", str(tmp_path),
            "--json", "--no-plots")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["config"]["bounds"] == "none" and rep["weights"]["soft"]["scheme_used"] == "2.1"


def test_run_iterated_and_method_options(tmp_path):
    r = cli("run", *SMALL, "--method", "iterated", "--method-options", '{"steps": 3, "inner": "newton"}',
            "--out", str(tmp_path), "--json", "--no-plots")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["config"]["method"] == "iterated" and rep["config"]["method_options"] == {"steps": 3, "inner": "newton"}
    hist = rep["iterated"]["history"]
    assert 1 <= len(hist) <= 3 and hist[-1]["target_after"] == pytest.approx(rep["metrics"]["soft"]["val_target"])
    assert rep["iterated"]["weights"]["min"] >= -1.0
    r = cli("run", *SMALL, "--method", "finetune", "--method-options", '{"max_iter": 2}', "--out", str(tmp_path),
            "--json", "--no-plots")
    assert r.returncode == 0, r.stderr


def test_run_svm_model(tmp_path):
    r = cli("run", *SMALL, "--model", "smooth_hinge", "--temperature", "0.25", "--method", "refit",
            "--out", str(tmp_path), "--json", "--no-plots")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["config"]["model"] == "smooth_hinge" and rep["config"]["temperature"] == 0.25
    soft, orig = rep["metrics"]["soft"], rep["metrics"]["original"]
    assert "svm_loss" in soft and "log_loss" not in soft
    assert abs(soft["val_target"]) < abs(orig["val_target"])
    r = cli("run", *SMALL, "--model", "squared_hinge", "--method", "certified", "--out", str(tmp_path), "--no-plots")
    assert r.returncode == 2 and "--model" in r.stderr


@pytest.mark.parametrize("args, name", [
    (["--target", "fairness"], "--target"),
    (["--scheme", "3.0"], "--scheme"),
    (["--method", "retrain"], "--method"),
    (["--method-options", "[1]"], "--method-options"),
    (["--method-options", "{bad"], "--method-options"),
    (["--bounds", "1:2"], "--bounds"),
    (["--bounds", "-1"], "--bounds"),
    (["--bounds", "a:b"], "--bounds"),
    (["--n-train", "0"], "--n-train"),
    (["--n-train", "-5"], "--n-train"),
    (["--lam", "0"], "--lam"),
    (["--lam-scale", "units"], "--lam-scale"),
    (["--model", "svm"], "--model"),
    (["--temperature", "0"], "--temperature"),
    (["--hard-fraction", "1.5"], "--hard-fraction"),
    (["--dataset", "mnist"], "--dataset"),
])
def test_bad_arguments_exit_2(tmp_path, args, name):
    r = cli("run", "--out", str(tmp_path), "--no-plots", *args)
    assert r.returncode == 2
    assert name in r.stderr


def test_missing_dataset_gives_install_hint(tmp_path):
    r = cli("run", "--dataset", "german", "--data", str(tmp_path), "--out", str(tmp_path), "--no-plots")
    assert r.returncode == 2
    assert datasets.install_hint("german") in r.stderr


def test_plots(tmp_path):
    pytest.importorskip("matplotlib")
    r = cli("run", *SMALL, "--out", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    for f in ("influence.png", "tradeoff.png"):
        p = tmp_path / f
        assert p.is_file() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(json.loads(r.stdout)["plots"]) == 2


def test_no_matplotlib_note(tmp_path):
    try:
        import matplotlib  # noqa: F401
        pytest.skip("matplotlib is installed")
    except ImportError:
        pass
    r = cli("run", *SMALL, "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "matplotlib" in r.stderr and not (tmp_path / "tradeoff.png").exists()


def test_demo_still_runs():
    r = cli("demo", "--n-train", "2000", "--json")
    assert r.returncode == 0, r.stderr
    assert {"info", "rows"} <= set(json.loads(r.stdout))


# ---------------------------------------------------------------------------------------------------
# In-process runs: metrics against an independent computation, and the "nothing lost" guarantees of
# the output directory (atomic writes, --out checked first, no stale report after a failure).

from softunlearn import cli as cli_module  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OUTPUTS = ("report.json", "influence.png", "tradeoff.png")


def run_main(capsys, *args):
    rc = cli_module.main(["run", *SMALL, *args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("softunlearn: ") and "Traceback" not in err


def previous_run(out_dir):
    """An output directory as a previous (complete) run left it, plus a file of the user's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text('{"stale": true}')
    (out_dir / "influence.png").write_bytes(PNG_MAGIC + b"old")
    (out_dir / "tradeoff.png").write_bytes(PNG_MAGIC + b"old")
    (out_dir / "notes.txt").write_text("not ours")


def assert_only_notes_left(out_dir):
    """Nothing of the failed run or of the previous one: no report, no plots, no temporary files."""
    assert sorted(p.name for p in out_dir.iterdir()) == ["notes.txt"]
    assert (out_dir / "notes.txt").read_text() == "not ours"


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _independent_metrics(sk, split, kind):
    """Test-set metrics of a scikit-learn model, from sklearn.metrics and fairlearn only."""
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equal_opportunity_difference,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, log_loss

    X, y, s = split.X, split.y, split.s
    yp = sk.predict(X)
    p = _sigmoid(sk.decision_function(X))
    out = {"accuracy": accuracy_score(y, yp), "log_loss": log_loss(y, p, labels=[0, 1])}
    if kind == "dp":
        rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=yp, sensitive_features=s).by_group
        out["gap"] = rates[1] - rates[0]
        assert abs(out["gap"]) == pytest.approx(demographic_parity_difference(y, yp, sensitive_features=s), abs=1e-15)
        out["soft_gap"] = p[s == 1].mean() - p[s == 0].mean()
    else:
        tpr = MetricFrame(metrics=true_positive_rate, y_true=y, y_pred=yp, sensitive_features=s).by_group
        out["gap"] = tpr[1] - tpr[0]
        assert abs(out["gap"]) == pytest.approx(equal_opportunity_difference(y, yp, sensitive_features=s), abs=1e-15)
        pos = y == 1  # mean log-loss of the positives of s=0 minus that of s=1
        out["soft_gap"] = (log_loss(y[pos & (s == 0)], p[pos & (s == 0)], labels=[0, 1])
                           - log_loss(y[pos & (s == 1)], p[pos & (s == 1)], labels=[0, 1]))
    return out


def _sklearn_fit(split, sample_weight=None, C=1.0):
    from sklearn.linear_model import LogisticRegression as SkLR

    return SkLR(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(split.X, split.y,
                                                                               sample_weight=sample_weight)


def _table_rows(stdout):
    """The metrics table printed by ``run``: {model: {column: text}}."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Test-set metrics")) + 2
    header = lines[start].split()
    assert set(lines[start + 1].replace(" ", "")) == {"-"}
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = line.split()
        if cells[0] not in ("original", "hard", "soft"):
            break
        rows[cells[0]] = dict(zip(header, cells))
    return rows


def test_run_dp_metrics_match_sklearn_and_fairlearn(tmp_path, capsys, monkeypatch):
    """Printed table and report.json vs scikit-learn refits and fairlearn metrics on the same split: the
    original model, and (--method refit) the hard and soft models refitted with sample weights 1 + ε."""
    pytest.importorskip("fairlearn")
    import softunlearn as su

    applied = {}
    real_apply = su.methods.apply_weights

    def spy(method, model, X, y, eps, **kw):
        applied[len(applied)] = np.array(eps, dtype=float)
        return real_apply(method, model, X, y, eps, **kw)

    monkeypatch.setattr(su.methods, "apply_weights", spy)
    rc, out, err = run_main(capsys, "--target", "dp", "--method", "refit", "--out", str(tmp_path), "--no-plots")
    assert rc == 0, err
    rep = json.loads((tmp_path / "report.json").read_text())
    printed = _table_rows(out)
    assert set(printed) == {"original", "hard", "soft"}

    data = datasets.load("adult", None, seed=0, n_train=2000)
    assert (rep["data"]["n_train"], rep["data"]["n_val"], rep["data"]["n_test"]) == (data.train.n, data.val.n,
                                                                                      data.test.n)
    # the hard weights delete exactly --hard-fraction of the rows; the soft weights respect the default bounds
    eps = {"hard": applied[0], "soft": applied[1]}
    assert np.count_nonzero(eps["hard"] == -1.0) == 200 and set(np.unique(eps["hard"])) == {-1.0, 0.0}
    assert eps["soft"].min() >= -1.0 - 1e-12
    models = {"original": _sklearn_fit(data.train)}
    models.update({name: _sklearn_fit(data.train, sample_weight=1.0 + e) for name, e in eps.items()})

    te = data.test
    for name, sk in models.items():
        ref = _independent_metrics(sk, te, "dp")
        got = rep["metrics"][name]
        # both fits reach the optimum to ~1e-10: the same test predictions, losses equal to ~1e-9 (relative)
        assert got["accuracy"] == ref["accuracy"], name
        assert got["gap"] == pytest.approx(ref["gap"], abs=1e-15), name
        assert got["soft_gap"] == pytest.approx(ref["soft_gap"], rel=1e-7, abs=1e-12), name
        assert got["log_loss"] == pytest.approx(ref["log_loss"], rel=1e-8), name
        for col in ("accuracy", "gap", "soft_gap", "log_loss"):  # what is printed is what was computed (4 d.p.)
            assert float(printed[name][col]) == pytest.approx(ref[col], abs=5e-5 + 1e-12), (name, col)
    # validation value of the target: soft DP gap of the original model on the validation split
    pv = _sigmoid(models["original"].decision_function(data.val.X))
    val_gap = pv[data.val.s == 1].mean() - pv[data.val.s == 0].mean()
    assert rep["target"]["validation_value"] == pytest.approx(val_gap, rel=1e-7)
    assert rep["metrics"]["original"]["val_target"] == pytest.approx(val_gap, rel=1e-7)


def test_run_eop_original_row_matches_fairlearn(tmp_path, capsys):
    pytest.importorskip("fairlearn")
    rc, out, err = run_main(capsys, "--target", "eop", "--out", str(tmp_path), "--no-plots", "--json")
    assert rc == 0, err
    rep = json.loads(out)
    data = datasets.load("adult", None, seed=0, n_train=2000)
    ref = _independent_metrics(_sklearn_fit(data.train), data.test, "eop")
    got = rep["metrics"]["original"]
    assert got["accuracy"] == ref["accuracy"] and got["gap"] == pytest.approx(ref["gap"], abs=1e-15)
    assert got["soft_gap"] == pytest.approx(ref["soft_gap"], rel=1e-7)
    assert got["log_loss"] == pytest.approx(ref["log_loss"], rel=1e-8)


def test_plots_are_png_files_written_atomically(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "out"
    previous_run(out_dir)
    replaced = []
    real_replace = os.replace

    def spy(src, dst, *a, **kw):
        replaced.append((os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", spy)
    rc, out, err = run_main(capsys, "--out", str(out_dir), "--json")
    assert rc == 0, err
    rep = json.loads(out)
    assert sorted(p.name for p in out_dir.iterdir()) == ["influence.png", "notes.txt", "report.json",
                                                          "tradeoff.png"]  # no temporary files left
    assert [os.path.basename(p) for p in rep["plots"]] == ["influence.png", "tradeoff.png"]
    for name in ("influence.png", "tradeoff.png"):
        blob = (out_dir / name).read_bytes()
        assert blob[:8] == PNG_MAGIC and len(blob) > 20_000 and blob[12:16] == b"IHDR" and blob[-8:-4] == b"IEND"
    assert json.loads((out_dir / "report.json").read_text()) == rep
    # every output was moved into place from a temporary file in the same directory, the report last
    dsts = [os.path.basename(d) for _, d in replaced]
    assert sorted(dsts) == sorted(OUTPUTS) and dsts[-1] == "report.json"
    for src, _ in replaced:
        assert os.path.dirname(os.path.abspath(src)) == str(out_dir) and os.path.basename(src) not in OUTPUTS


@pytest.mark.parametrize("case", ["existing_file", "parent_is_file"])
def test_bad_out_exit_2_before_loading(tmp_path, capsys, monkeypatch, case):
    import softunlearn as su

    blocker = tmp_path / "a_file"
    blocker.write_text("keep me")
    out = blocker if case == "existing_file" else blocker / "sub" / "out"

    def no_load(*a, **kw):
        raise AssertionError("data loaded before --out was checked")

    monkeypatch.setattr(su.datasets, "load", no_load)
    rc, _, err = run_main(capsys, "--out", str(out), "--no-plots")
    assert rc == 2
    assert_one_line_error(err)
    assert "--out" in err and str(out) in err
    assert blocker.read_text() == "keep me"


def test_bad_out_subprocess_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("keep me")
    r = cli("run", *SMALL, "--out", str(blocker / "out"), "--no-plots")
    assert r.returncode == 2 and r.stdout == ""
    assert_one_line_error(r.stderr)
    r = cli("run", *SMALL, "--out", str(blocker), "--no-plots")
    assert r.returncode == 2
    assert_one_line_error(r.stderr)
    assert blocker.read_text() == "keep me"


@pytest.mark.parametrize("exc, rc", [(ValueError("boom"), 2), (RuntimeError("boom"), None)])
def test_failed_run_leaves_no_stale_report(tmp_path, capsys, monkeypatch, exc, rc):
    import softunlearn as su

    out_dir = tmp_path / "out"
    r, _, err = run_main(capsys, "--out", str(out_dir), "--no-plots")  # a real previous run ...
    assert r == 0, err
    assert (out_dir / "report.json").is_file()
    previous_run(out_dir)  # ... with plots

    def boom(*a, **kw):
        assert not (out_dir / "report.json").exists(), "the old report is still there while the run works"
        raise exc

    monkeypatch.setattr(su.weights, "soft_weights", boom)  # what SoftUnlearner.fit calls
    if rc is None:  # an unexpected error propagates, but the old outputs are gone all the same
        with pytest.raises(type(exc)):
            cli_module.main(["run", *SMALL, "--out", str(out_dir)])
    else:
        r, _, err = run_main(capsys, "--out", str(out_dir))
        assert r == rc
        assert_one_line_error(err)
    assert_only_notes_left(out_dir)


def test_oserror_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    import softunlearn as su

    def denied(*a, **kw):
        raise PermissionError(13, "Permission denied", "/somewhere/adult.data")

    monkeypatch.setattr(su.datasets, "load", denied)
    rc, _, err = run_main(capsys, "--out", str(tmp_path), "--no-plots")
    assert rc == 2
    assert_one_line_error(err)
    assert "Permission denied" in err


def test_disk_full_while_plotting(tmp_path, capsys, monkeypatch):
    """ENOSPC half-way through a PNG: exit 2 with one line, no truncated PNG, no report, no temp files."""
    pytest.importorskip("matplotlib")
    import errno

    from matplotlib.figure import Figure

    def full(self, fname, *a, **kw):
        if isinstance(fname, (str, os.PathLike)):
            with open(fname, "wb") as f:
                f.write(PNG_MAGIC + b"truncated")
        else:
            fname.write(PNG_MAGIC + b"truncated")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    out_dir = tmp_path / "out"
    previous_run(out_dir)
    rc, _, err = run_main(capsys, "--out", str(out_dir), "--json")
    assert rc == 2
    assert_one_line_error(err)
    assert "No space left on device" in err
    assert_only_notes_left(out_dir)


def test_keyboard_interrupt_exit_130(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the trade-off plot is computed (influence.png already rendered): exit 130, one line, and
    the directory holds neither the previous run's outputs nor a part of this one's."""
    pytest.importorskip("matplotlib")

    def interrupt(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "_progress", interrupt)
    out_dir = tmp_path / "out"
    previous_run(out_dir)
    try:
        rc, _, err = run_main(capsys, "--out", str(out_dir), "--json")
    except KeyboardInterrupt:  # would end the pytest session
        pytest.fail("KeyboardInterrupt escaped main()")
    assert rc == 130
    assert_one_line_error(err)
    assert "interrupt" in err.lower()
    assert_only_notes_left(out_dir)


def test_run_choices_are_the_librarys(tmp_path, capsys, monkeypatch):
    """--target, --scheme, --model and --method list the library's names; a method added to the registry is
    accepted without touching the CLI."""
    import softunlearn as su

    with pytest.raises(SystemExit):
        cli_module.main(["run", "--help"])
    out = "".join(capsys.readouterr().out.split())
    for names in (su.pipeline.TARGETS, su.weights.SCHEMES, su.pipeline.MODELS, su.methods.method_names()):
        assert "{" + ",".join(names) + "}" in out

    def plain_newton(model, X, y, eps, *, influence, sample_weight=None):
        return influence.newton_update(eps)

    monkeypatch.setitem(su.methods.UPDATE_METHODS, "plain_newton", plain_newton)
    rc, out, err = run_main(capsys, "--method", "plain_newton", "--out", str(tmp_path), "--no-plots", "--json")
    assert rc == 0, err
    rep = json.loads(out)
    assert rep["config"]["method"] == "plain_newton"
    monkeypatch.delitem(su.methods.UPDATE_METHODS, "plain_newton")
    rc, out, err = run_main(capsys, "--method", "newton", "--out", str(tmp_path), "--no-plots", "--json")
    assert rc == 0, err
    newton = json.loads(out)["metrics"]
    for name, row in rep["metrics"].items():  # the same update, so the same table (to rounding)
        for col, v in row.items():
            if col != "seconds":
                assert v == pytest.approx(newton[name][col], rel=1e-12, abs=1e-15), (name, col)


def test_run_weight_warnings_in_report_others_shown(tmp_path, capsys, monkeypatch):
    """The weight QP's warnings go into report.json and the printed table (not to the warnings machinery);
    any other warning of the run (here a method's) is shown as usual."""
    import softunlearn as su

    def noisy(model, X, y, eps, *, influence, sample_weight=None):
        import warnings

        warnings.warn("noisy update did not converge", RuntimeWarning, stacklevel=2)
        return influence.newton_update(eps)

    monkeypatch.setitem(su.methods.UPDATE_METHODS, "noisy", noisy)
    with pytest.warns(RuntimeWarning, match="noisy update") as shown:
        rc, out, err = run_main(capsys, "--target", "eop", "--scheme", "2.1", "--bounds", "none", "--method", "noisy",
                                "--out", str(tmp_path), "--no-plots")
    assert rc == 0, err
    assert {type(w.message) for w in shown} == {RuntimeWarning}  # the SchemeWarning is not shown ...
    rep = json.loads((tmp_path / "report.json").read_text())
    assert len(rep["warnings"]) == 1  # ... but reported
    assert rep["warnings"][0].startswith("SchemeWarning: scheme '2.1'")
    assert f"warning: {rep['warnings'][0]}" in out.splitlines()


def test_no_matplotlib_note_in_process(tmp_path, capsys, monkeypatch):
    """As test_no_matplotlib_note, with matplotlib hidden rather than uninstalled (so it always runs)."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib... raises ImportError
    previous_run(tmp_path)
    rc, out, err = run_main(capsys, "--out", str(tmp_path), "--json")
    assert rc == 0, err
    assert "matplotlib is not installed" in err
    assert json.loads(out)["plots"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "report.json"]  # the old plots are gone


def test_version_is_the_installed_distribution_version():
    from importlib.metadata import version

    r = cli("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"softunlearn {version('softunlearn')}"


@pytest.mark.parametrize("name", ["census_kdd", "heritage_health"])
def test_run_accepts_every_listed_dataset(tmp_path, name):
    # `softunlearn datasets` lists these two; `run` refused them
    import softunlearn as su

    assert set(cli_module.RUN_DATASETS) == set(su.datasets.DATASETS)
    r = cli("run", "--dataset", name, "--n-train", "1500", "--out", str(tmp_path), "--json", "--no-plots")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["config"]["dataset"] == name


def test_run_on_a_local_dask_cluster_matches_in_memory(tmp_path):
    # The same run with the training data on a LocalCluster (worker processes, 700-row chunks): the same
    # models, so the same test metrics to rounding.
    a = cli("run", *SMALL, "--out", str(tmp_path / "a"), "--json", "--no-plots")
    b = cli("run", *SMALL, "--out", str(tmp_path / "b"), "--json", "--no-plots", "--dask-scheduler", "local",
            "--dask-chunk-rows", "700", timeout=300)
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    assert rb["config"]["dask_scheduler"] == "local" and rb["config"]["dask_chunks"] == 3
    for model in ("original", "hard", "soft"):
        for key in ("accuracy", "gap", "log_loss", "val_target"):
            want = ra["metrics"][model][key]
            assert abs(want - rb["metrics"][model][key]) <= 1e-9 * max(1, abs(want))
    # Iterated soft weighting runs there too (scores, weight QP and refits on the cluster) ...
    it = [cli("run", *SMALL, "--out", str(tmp_path / name), "--json", "--no-plots", "--method", "iterated",
              "--method-options", '{"steps": 2}', *extra, timeout=300)
          for name, extra in (("d", ()), ("e", ("--dask-scheduler", "local", "--dask-chunk-rows", "700")))]
    assert all(r.returncode == 0 for r in it), [r.stderr for r in it]
    ra, rb = (json.loads(r.stdout) for r in it)
    for key in ("accuracy", "gap", "log_loss", "val_target"):
        want = ra["metrics"]["soft"][key]
        assert abs(want - rb["metrics"]["soft"][key]) <= 1e-9 * max(1, abs(want))
    # ... and certified removal is refused up front.
    r = cli("run", *SMALL, "--out", str(tmp_path / "c"), "--no-plots", "--dask-scheduler", "local",
            "--method", "certified")
    assert r.returncode == 2 and "--method: 'certified' needs the training data in memory" in r.stderr


def test_demo_prints_legend_and_conclusion():
    r = cli("demo", "--n-train", "2000")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = next(line for line in lines if line.startswith("method"))
    legend = {line.split()[0] for line in lines[lines.index("Columns:") + 1:] if line.startswith("  ") and
              not line.startswith("  (")}
    assert set(header.split()) <= legend and {"refit", "newton"} <= legend
    conclusion = [line for line in lines if line.startswith("Conclusion (soft -1:none (refit) vs hard (refit)): ")]
    assert len(conclusion) == 1 and "|DP gap|" in conclusion[0]


def test_tradeoff_command_writes_json_and_png(tmp_path):
    r = cli("tradeoff", *SMALL, "--target", "eop", "--updates", "newton", "--bounds", "-1:0", "--bounds", "none",
            "--hard-fractions", "0.05,0.1", "--delta-shares", "0.5,1", "--out", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert json.loads((tmp_path / "tradeoff.json").read_text()) == report
    assert (tmp_path / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curves = report["tradeoff"]["curves"]
    assert list(curves) == ["hard (newton)", "soft -1:0 (newton)", "soft none (newton)"]
    assert [p["amount"] for p in curves["soft none (newton)"]["points"]] == [0.0, 0.5, 1.0]
    assert report["info"]["conclusion"] == report["tradeoff"]["comparison"]["sentence"]
    assert report["tradeoff"]["comparison"]["soft"] == "soft -1:0 (newton)"


@pytest.mark.parametrize("args, name", [
    (["--updates", "certified"], "--updates"),
    (["--hard-fractions", "0.1,2"], "--hard-fractions"),
    (["--delta-shares", "x"], "--delta-shares"),
    (["--bounds", "1:2"], "--bounds"),
])
def test_tradeoff_bad_arguments_exit_2(args, name):
    r = cli("tradeoff", *SMALL, *args)
    assert r.returncode == 2 and name in r.stderr and "Traceback" not in r.stderr


def test_run_table_explains_every_column_and_prints_iterated_weights(tmp_path):
    r = cli("run", *SMALL, "--target", "eop", "--method", "iterated", "--method-options", '{"steps": 3}',
            "--no-plots", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = next(line for line in lines if line.startswith("model"))
    assert "val_target" in header.split()
    legend = {line.split()[0] for line in lines[lines.index("Columns:") + 1:] if line.startswith("  ")}
    assert set(header.split()) | {"iterated", "scheme"} <= legend
    report = json.loads((tmp_path / "report.json").read_text())
    it = report["iterated"]
    line = next(line for line in lines if line.startswith("iterated: "))
    assert line.startswith(f"iterated: {len(it['history'])} steps")
    assert f"total ε in [{it['weights']['min']:+.3f}, {it['weights']['max']:+.3f}]" in line
    soft_row = next(line for line in lines if line.startswith("soft "))
    assert float(soft_row.split()[header.split().index("val_target")]) == pytest.approx(
        report["metrics"]["soft"]["val_target"], abs=1e-4)

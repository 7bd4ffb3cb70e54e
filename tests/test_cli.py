"""The command line (``softunlearn run`` / ``datasets`` / ``demo``) as a subprocess, on a 2,000-row Adult subsample."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

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
            "--out", str(tmp_path), "--no-plots")
    assert r.returncode == 0, r.stderr
    for word in ("original", "hard", "soft", "robust_accuracy", "log_loss", "report.json"):
        assert word in r.stdout
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["config"]["bounds"] == "-1:0" and rep["target"]["fraction"] == 0.1
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

"""The copy of the compiled core that import loads (softunlearn/_runtime.py): the choice rule, every copy this
installation has that the CPU can run (forced with SOFTUNLEARN_ISA, in a subprocess) fitting the same model
as the NumPy reference, and clear errors for a level that is missing or not supported."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import softunlearn as su
from softunlearn import _core, _runtime

LEVELS = _runtime.LEVELS


@pytest.mark.parametrize("available, supported, forced, expected", [
    ((), (), None, None),
    (LEVELS, (), None, None),                                   # a CPU below v3 gets the baseline
    (LEVELS, ("x86-64-v2", "x86-64-v3"), None, "x86-64-v3"),
    (LEVELS, ("x86-64-v2", "x86-64-v3", "x86-64-v4"), None, "x86-64-v4"),
    (("x86-64-v3",), ("x86-64-v3", "x86-64-v4"), None, "x86-64-v3"),  # a build without the v4 copy
    (LEVELS, ("x86-64-v3", "x86-64-v4"), "baseline", None),
    (LEVELS, ("x86-64-v3", "x86-64-v4"), "x86-64-v3", "x86-64-v3"),
    (LEVELS, ("x86-64-v3",), "", "x86-64-v3"),                   # an empty variable is no choice
])
def test_choose_level(available, supported, forced, expected):
    assert _runtime.choose_level(available, supported, forced) == expected


@pytest.mark.parametrize("available, supported, forced, match", [
    (LEVELS, ("x86-64-v3",), "x86-64-v4", "does not support x86-64-v4"),
    ((), ("x86-64-v3",), "x86-64-v3", "no copy of its core for that level"),
    (LEVELS, LEVELS, "avx2", "expected 'baseline' or one of"),
])
def test_choose_level_errors_name_the_variable(available, supported, forced, match):
    with pytest.raises(ImportError, match=f"SOFTUNLEARN_ISA.*{match}"):
        _runtime.choose_level(available, supported, forced)


def test_the_loaded_copy_is_the_best_the_cpu_supports():
    info = _core.build_info()
    available = _runtime.available_levels()
    if os.environ.get(_runtime.ISA_ENV):
        pytest.skip("SOFTUNLEARN_ISA is set for this run")
    want = _runtime.choose_level(available, _runtime.supported_levels())
    assert info["isa"] == (want or ("baseline" if available or info["isa"] == "baseline" else info["isa"]))
    assert sys.modules["softunlearn._core"] is _core is su._core


SCRIPT = """
import json, numpy as np, softunlearn as su
from softunlearn import reference
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 7)); y = (X @ rng.normal(size=7) + rng.normal(size=400) > 0).astype(float)
m = su.LogisticRegression(C=0.5, tol=1e-12).fit(X, y)
ref = reference.fit(X, y, C=0.5)
print(json.dumps({"isa": su._core.build_info()["isa"], "simd": su._core.build_info()["eigen_simd"],
                  "err": float(np.max(np.abs(m.theta_ - ref)) / np.max(np.abs(ref)))}))
"""


def run_forced(level):
    env = dict(os.environ, **{_runtime.ISA_ENV: level})
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("level", ["baseline", *LEVELS])
def test_every_copy_fits_like_the_reference(level):
    if level != "baseline" and level not in _runtime.available_levels():
        pytest.skip(f"this build has no {level} copy (SOFTUNLEARN_NATIVE or SOFTUNLEARN_ISA_LEVELS)")
    if level != "baseline" and level not in _runtime.supported_levels():
        pytest.skip(f"this CPU does not support {level}")
    r = run_forced(level)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["isa"] == (level if _runtime.available_levels() else _core.build_info()["isa"])
    assert out["err"] <= 1e-9


def test_show_config_says_which_copy(capsys):
    su.show_config()
    text = capsys.readouterr().out
    c = su.build_config.config()
    assert f"core:     {c['core']['isa']} copy" in text and c["isa"]["loaded"] == _core.build_info()["isa"]
    assert "BLAS:     none" in text and c["version"] == su.__version__

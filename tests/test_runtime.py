"""The core is loaded with idle OpenMP threads sleeping, without leaking the setting (softunlearn._runtime).

libgomp prints its settings at load with OMP_DISPLAY_ENV=VERBOSE. Its default (no OMP_WAIT_POLICY) is
displayed as 'PASSIVE' too, so the spin count is what tells the policies apart: 0 when idle threads sleep
at once, 300000 by default. scikit-learn ships its own libgomp, loaded after the core (and left at its
default: the setting is not leaked), so the core's runtime is the first one displayed.
"""
import os
import subprocess
import sys

import pytest

_SNIPPET = "import os, softunlearn; print('AFTER', os.environ.get('OMP_WAIT_POLICY'))"


def _import_with(env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(env_extra, OMP_DISPLAY_ENV="VERBOSE")
    out = subprocess.run([sys.executable, "-c", _SNIPPET], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = (out.stdout + out.stderr).splitlines()
    spin = [line.split("=", 1)[1].strip(" '") for line in lines if line.strip().startswith("GOMP_SPINCOUNT")]
    if not spin:
        pytest.skip("the OpenMP runtime the core links does not print its spin count (not libgomp)")
    after = [line.split(maxsplit=1)[1] for line in lines if line.startswith("AFTER")]
    return spin, after[0]


def test_core_threads_sleep_when_idle_and_environment_is_restored():
    spin, after = _import_with({})
    assert spin[0] == "0", spin
    assert after == "None"


def test_user_choice_wins():
    spin, after = _import_with({"OMP_WAIT_POLICY": "ACTIVE"})
    assert all(int(s) > 0 for s in spin), spin
    assert after == "ACTIVE"

"""Compute backends: the compiled CPU core (always there) and the optional CUDA extension.

``backend=`` on :class:`~softunlearn.LogisticRegression`, :class:`~softunlearn.Influence` and
:class:`~softunlearn.SoftUnlearner` takes

* ``"cpu"``: the Eigen core, ``softunlearn._core`` (the only backend of a default install);
* ``"cuda"``: ``softunlearn._cuda`` (cuBLAS SYRK Hessians, cuSOLVER Cholesky, and every pass of the
  Newton fit on the device; the fit's loop is the CPU's, on the host). It exists only when the package was
  built with nvcc, cuBLAS and cuSOLVER available (``SOFTUNLEARN_CUDA=AUTO|ON``) and needs a visible CUDA
  device; requesting it otherwise raises ``ValueError`` saying which of the three is missing. It implements
  the logistic loss only.
* ``"auto"`` (default): the value of the environment variable ``SOFTUNLEARN_BACKEND`` when it is set
  (``cpu``, ``cuda`` or ``auto``; an explicit ``backend="cpu"``/``"cuda"`` argument wins over it),
  otherwise ``"cuda"`` only when it is available, the loss is logistic, and the problem is large enough
  to repay the device start-up and the copy of X: n·p² ≥ ``CUDA_AUTO_MIN_WORK`` = 5·10⁹ (one Hessian
  assembly of about 5·10⁹ multiply-adds, e.g. n = 500,000 rows with p = 100 parameters, or n = 5,000
  with p = 1,000). That threshold is an estimate from the CPU timings in bench/ and the GPU's nominal
  speed; below it the CPU finishes in about a second or less and is used.

The CUDA extension is imported lazily, on the first question about it, so ``import softunlearn`` never
touches a CUDA runtime. Both backends compute the same quantities with the same algorithm (results agree
to rounding: about 1e-10 relative in float64 and 1e-4 in float32).
"""

from __future__ import annotations

import functools
import importlib
import os

import numpy as np

from . import _core

BACKENDS = ("auto", "cpu", "cuda")
ENV_VAR = "SOFTUNLEARN_BACKEND"
CUDA_AUTO_MIN_WORK = 5e9
_LOGISTIC = _core.Loss.logistic  # the only loss the CUDA code implements


@functools.cache
def _cuda_status():
    """(module, "") when the CUDA backend can run, else (None, why not)."""
    try:
        _cuda = importlib.import_module(f"{__package__}._cuda")
    except ModuleNotFoundError as e:
        if e.name == f"{__package__}._cuda":
            return None, (
                "this softunlearn was built without its CUDA extension (softunlearn._cuda); reinstall "
                "with nvcc, cuBLAS and cuSOLVER available (the CUDA toolkit's, or the nvidia-cublas and "
                "nvidia-cusolver wheels with pip install --no-build-isolation); SOFTUNLEARN_CUDA=ON "
                "makes the build fail with the reason if one is missing"
            )
        return None, f"importing softunlearn._cuda failed: {e}"
    except (ImportError, OSError) as e:
        return None, f"importing softunlearn._cuda failed: {e}"
    if _cuda.device_count() < 1:
        return None, f"softunlearn._cuda is built but no CUDA device is visible ({_cuda.device_error()})"
    return _cuda, ""


def available_backends() -> list:
    """``["cpu"]``, plus ``"cuda"`` when softunlearn._cuda imports and sees at least one device."""
    return ["cpu"] + (["cuda"] if _cuda_status()[0] is not None else [])


def resolve(backend, *, n_samples: int, n_params: int, loss_code=_LOGISTIC, name: str = "backend") -> str:
    """The backend a computation on n_samples × n_params runs on: "cpu" or "cuda" (see the module doc)."""
    if backend not in BACKENDS:
        raise ValueError(f"{name}: expected one of {BACKENDS}, got {backend!r}")
    source = f"{name}={backend!r}"
    if backend == "auto":
        env = os.environ.get(ENV_VAR, "").strip().lower()
        if env:
            if env not in BACKENDS:
                raise ValueError(f"{ENV_VAR}: expected one of {BACKENDS}, got {os.environ[ENV_VAR]!r}")
            backend, source = env, f"{name}='auto' with {ENV_VAR}={env!r}"
    if backend == "cpu":
        return "cpu"
    supported = loss_code == _LOGISTIC
    if backend == "cuda":
        if not supported:
            raise ValueError(f"{source}: the CUDA backend implements the logistic loss only; use backend='cpu'")
        module, why = _cuda_status()
        if module is None:
            raise ValueError(f"{source}: the CUDA backend is unavailable: {why}")
        return "cuda"
    large = float(n_samples) * float(n_params) ** 2 >= CUDA_AUTO_MIN_WORK
    return "cuda" if supported and large and _cuda_status()[0] is not None else "cpu"


def cuda_data(X, y, s, intercept: bool):
    """X, y, s (validated, C-contiguous, one float dtype; s may be empty) on the device, for repeated
    passes. X is streamed from host memory on every pass when it does not fit on the device."""
    module, why = _cuda_status()
    if module is None:
        raise ValueError(f"backend: the CUDA backend is unavailable: {why}")
    cls = module.Data_f32 if X.dtype == np.float32 else module.Data_f64
    return cls(X, y, s, bool(intercept))


def cuda_cholesky(H):
    """Cholesky factor of H on the device (raises NotPositiveDefiniteError like the CPU one)."""
    module = _cuda_status()[0]
    cls = module.Cholesky_f32 if H.dtype == np.float32 else module.Cholesky_f64
    return cls(np.asfortranarray(H))

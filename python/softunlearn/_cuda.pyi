"""Type stubs of the optional CUDA extension (built only with nvcc, cuBLAS and cuSOLVER; see
softunlearn.backend). Every class exists for float64 (``_f64``) and float32 (``_f32``) arrays: X, y, s,
theta, r, v and w C-contiguous of the exact dtype (not converted), U Fortran-ordered. Results and dict
keys are those of the matching softunlearn._core functions."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.floating[Any]]

LOSS_LOGISTIC: int

def device_count() -> int:
    """Visible CUDA devices; 0 without a device or a usable driver."""

def device_error() -> str:
    """Why device_count() is 0 ('' when a device is visible)."""

def device_name(device: int = 0) -> str: ...
def runtime_version() -> int: ...
def device_free_bytes() -> int: ...

class Data_f64:
    """X (n×d), y, s (empty: all ones) on the device; X is streamed from host memory on every pass when it
    does not fit in max_device_bytes (default, -1: 80% of the free device memory). block_rows: rows per
    block of every pass (default 0: about 64 MiB of X)."""
    def __init__(self, X: F, y: F, s: F, intercept: bool, max_device_bytes: int = -1, block_rows: int = 0) -> None: ...
    @property
    def resident(self) -> bool: ...
    @property
    def block_rows(self) -> int: ...
    @property
    def n_params(self) -> int: ...
    def loss_pass(
        self, theta: F, C: float, want_hessian: bool, want_r: bool, want_h: bool, loss: int
    ) -> dict[str, Any]:
        """keys loss, objective, grad, and hessian / r / h when asked."""
    def fit(self, theta0: F, C: float, tol: float, max_iter: int, loss: int, subsample: int = 0) -> dict[str, Any]:
        """Newton fit; keys theta, loss, objective, grad, hessian, n_iter, converged, grad_norm, grad_scale,
        n_hessian, n_passes, n_warm_iter."""
    def scores(self, U: F, r: F) -> F: ...
    def xtv(self, v: F) -> F: ...
    def predict(self, theta: F) -> F: ...
    def weighted_gram(self, w: F) -> F: ...

class Data_f32(Data_f64): ...

class Cholesky_f64:
    def __init__(self, H: F) -> None: ...
    def solve(self, B: F) -> F: ...
    @property
    def L(self) -> F: ...
    @property
    def size(self) -> int: ...

class Cholesky_f32(Cholesky_f64): ...

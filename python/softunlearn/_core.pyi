"""Type stubs of the compiled core. Every function exists for float64 and float32 arrays (C-contiguous,
exact dtype: arguments are not converted). Loss and target codes are the module constants below;
``loss_param`` is the smooth hinge's temperature (> 0) and is ignored by the other losses.

Every argument named X also accepts a scipy.sparse CSR matrix (``format == "csr"``) whose ``data`` has
the exact dtype and whose ``indptr``/``indices`` share one dtype, int32 or int64 (the Python layer
prepares this; index ranges are checked there, not here)."""
from typing import Any, Dict, List, Tuple, overload

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.floating[Any]]
XType = Any  # F or a scipy.sparse CSR matrix

LOSS_LOGISTIC: int
LOSS_SMOOTH_HINGE: int
LOSS_SQUARED_HINGE: int
TARGET_UTILITY: int
TARGET_DP: int
TARGET_EOP: int

from .errors import NonFiniteError as NonFiniteError
from .errors import NotPositiveDefiniteError as NotPositiveDefiniteError

def max_threads() -> int: ...
def forked_single_threaded() -> bool: ...
def fit(X: XType, y: F, s: F, theta0: F, C: float, intercept: bool, tol: float, max_iter: int, n_threads: int,
        loss: int, loss_param: float, subsample: int = 0, linear: F = ..., hessian_free: bool = False) -> Dict[str, Any]:
    """Newton fit of ½‖w‖² + C Σ sᵢ ℓᵢ + linearᵀθ (linear empty: no such term); keys theta, loss, objective,
    grad, hessian (absent when hessian_free), n_iter, converged, grad_norm, grad_scale, n_hessian, n_passes,
    n_warm_iter, n_cg_iter."""
def loss_pass(X: XType, y: F, s: F, theta: F, C: float, intercept: bool, want_hessian: bool, want_r: bool,
              want_h: bool, n_threads: int, loss: int, loss_param: float) -> Dict[str, Any]:
    """keys loss, objective, grad, and hessian / r / h when asked."""
def predict(X: XType, theta: F, intercept: bool, n_threads: int) -> F: ...
def xtv(X: XType, v: F, intercept: bool, n_threads: int) -> F: ...
def weighted_gram(X: XType, w: F, intercept: bool, n_threads: int) -> F: ...
def scores(X: XType, U: F, r: F, intercept: bool, n_threads: int) -> F: ...
def hessian_matvec(X: XType, h: F, reg: F, V: F, intercept: bool, n_threads: int) -> F: ...
def cg_solve(X: XType, h: F, reg: F, B: F, intercept: bool, tol: float, max_iter: int,
             n_threads: int) -> Tuple[F, List[int], List[float], List[float]]:
    """(U, iterations, relative residuals, condition estimates of the preconditioned H) per column."""
def evaluate_target(kind: int, X: XType, theta: F, y: F, group: F, intercept: bool, n_threads: int,
                    loss: int, loss_param: float) -> Tuple[float, F]: ...
def mirror_attack(X: XType, theta: F, intercept: bool, factor: float, n_threads: int) -> F: ...

class Cholesky_f64:
    def __init__(self, H: F) -> None: ...
    def solve(self, B: F) -> F: ...
    @property
    def L(self) -> F: ...
    @property
    def size(self) -> int: ...

class Cholesky_f32(Cholesky_f64): ...

# ---- weight QP (float64 only; the Python layer casts once) ----
WEIGHT_OPTIMAL: int
WEIGHT_INFEASIBLE: int
WEIGHT_DEGENERATE: int
WEIGHT_NOT_CONVERGED: int

def weight_moments(T: F, U: F, n_threads: int) -> Tuple[float, float, float]:
    """(a, b, c) = (TᵀT, UᵀU, TᵀU); ValueError on NaN/inf."""
def weight_residual_norm2(T: F, U: F, r: float, n_threads: int) -> float: ...
def weight_combine(T: F, U: F, alpha: float, beta: float, lo: float, hi: float,
                   n_threads: int) -> Tuple[F, Dict[str, float]]:
    """ε = clip(αT + βU, lo, hi) with its moments."""
def weight_correct(eps: F, T: F, U: F, alpha: float, beta: float, sign: float, delta: float, lo: float, hi: float,
                   target_active: bool, utility_active: bool, stats: Dict[str, float], tol: float,
                   n_threads: int) -> Tuple[Dict[str, float], float, float]:
    """Polishes ε in place on the active constraints."""
def weights_bounded(T: F, U: F, sign: float, delta: float, rho_min: float, lo: float, hi: float,
                    n_threads: int) -> Dict[str, Any]: ...
def weights_bounded_path(T: F, U: F, sign: float, delta: float, rho_mins: F, lo: float, hi: float,
                         n_threads: int) -> Dict[str, Any]: ...

# ---- first-order unlearning loops (finetune.hpp, gradient_ascent.hpp) ----
# callback(info) -> bool is called after every step with the GIL held; info has iteration, objective,
# grad_norm, step_norm, theta. Returning True stops the loop. The result dicts have keys theta, objective,
# grad_norm, grad_scale, n_iter, n_passes, converged, stopped.
def lbfgs_fit(X: XType, y: F, s: F, theta0: F, C: float, intercept: bool, tol: float, max_iter: int, memory: int,
              n_threads: int, loss: int, loss_param: float, callback: Any = None) -> Dict[str, Any]:
    """L-BFGS minimisation of ½‖w‖² + C Σ sᵢℓᵢ from theta0."""
def ascent_curvature(X: XType, y: F, s_abs: F, theta: F, C: float, intercept: bool, retain: float, n_threads: int,
                     loss: int, loss_param: float) -> float:
    """λ_max of C X̃ᵀ diag(s_abs ℓ'') X̃ + retain·R at theta."""
def gradient_steps(X: XType, y: F, v: F, theta0: F, C: float, intercept: bool, retain: float, lr: float, steps: int,
                   tol: float, n_threads: int, loss: int, loss_param: float, callback: Any = None) -> Dict[str, Any]:
    """θ ← θ − lr ∇F, F = C Σ vᵢℓᵢ + retain·½‖w‖²."""

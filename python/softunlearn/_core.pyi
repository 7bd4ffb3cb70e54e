"""Type stubs of the compiled core. Every function exists for float64 and float32 arrays (C-contiguous,
exact dtype: arguments are not converted). Losses, targets and weight statuses are the enums below
(loss and kind arguments take their members; plain ints are checked); ``loss_param`` is the smooth
hinge's temperature (> 0) and is ignored by the other losses.

Every argument named X also accepts a scipy.sparse CSR matrix (``format == "csr"``) whose ``data`` has
the exact dtype and whose ``indptr``/``indices`` share one dtype, int32 or int64 (the Python layer
prepares this; index ranges are checked there, not here)."""

import enum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import TypeAlias

from .errors import NonFiniteError as NonFiniteError
from .errors import NotPositiveDefiniteError as NotPositiveDefiniteError

_F: TypeAlias = NDArray[np.floating[Any]]
_XType: TypeAlias = Any  # _F or a scipy.sparse CSR matrix

class Loss(enum.IntEnum):
    logistic = 0
    smooth_hinge = 1
    squared_hinge = 2

class TargetKind(enum.IntEnum):
    utility = 0
    dp = 1
    eop = 2

class WeightStatus(enum.IntEnum):
    optimal = 0
    infeasible = 1
    degenerate = 2
    not_converged = 3

class FitResult_f64:
    """A Newton fit's result; hessian is None after a Hessian-free fit."""

    @property
    def theta(self) -> _F: ...
    @property
    def loss(self) -> float: ...
    @property
    def objective(self) -> float: ...
    @property
    def grad(self) -> _F: ...
    @property
    def hessian(self) -> _F | None: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def grad_norm(self) -> float: ...
    @property
    def grad_scale(self) -> float: ...
    @property
    def n_hessian(self) -> int: ...
    @property
    def n_passes(self) -> int: ...
    @property
    def n_warm_iter(self) -> int: ...
    @property
    def n_cg_iter(self) -> int: ...

class FitResult_f32(FitResult_f64): ...

def max_threads() -> int: ...
def build_info() -> dict[str, Any]: ...
def forked_single_threaded() -> bool: ...
def fit(
    X: _XType,
    y: _F,
    s: _F,
    theta0: _F,
    C: float,
    intercept: bool,
    tol: float,
    max_iter: int,
    n_threads: int,
    loss: int,
    loss_param: float,
    subsample: int = 0,
    linear: _F = ...,
    hessian_free: bool = False,
    cg_budget: int = 0,
) -> FitResult_f64:
    """Newton fit of ½‖w‖² + C Σ sᵢ ℓᵢ + linearᵀθ (linear empty: no such term); FitResult_f32 for float32."""

def loss_pass(
    X: _XType,
    y: _F,
    s: _F,
    theta: _F,
    C: float,
    intercept: bool,
    want_hessian: bool,
    want_r: bool,
    want_h: bool,
    n_threads: int,
    loss: int,
    loss_param: float,
    penalised: bool = True,
) -> dict[str, Any]:
    """keys loss, objective, grad, and hessian / r / h when asked; penalised=False: the data term alone."""

def fit_engine(
    engine: Any,
    theta0: _F,
    C: float,
    tol: float,
    max_iter: int,
    subsample: int = 0,
    linear: _F = ...,
    hessian_free: bool = False,
    cg_budget: int = 0,
    final_hessian: bool = True,
) -> FitResult_f64:
    """The Newton fit of `fit` with the passes supplied by a Python engine (softunlearn.engine)."""

def predict(X: _XType, theta: _F, intercept: bool, n_threads: int) -> _F: ...
def xtv(X: _XType, v: _F, intercept: bool, n_threads: int) -> _F: ...
def weighted_gram(X: _XType, w: _F, intercept: bool, n_threads: int) -> _F: ...
def scores(X: _XType, U: _F, r: _F, intercept: bool, n_threads: int) -> _F: ...
def hessian_matvec(X: _XType, h: _F, reg: _F, V: _F, intercept: bool, n_threads: int) -> _F: ...
def cg_solve(
    X: _XType, h: _F, reg: _F, B: _F, intercept: bool, tol: float, max_iter: int, n_threads: int
) -> tuple[_F, list[int], list[float], list[float]]:
    """(U, iterations, relative residuals, condition estimates of the preconditioned H) per column."""

def target_counts(kind: int, y: _F, group: _F) -> list[int]: ...
def evaluate_target(
    kind: int,
    X: _XType,
    theta: _F,
    y: _F,
    group: _F,
    intercept: bool,
    n_threads: int,
    loss: int,
    loss_param: float,
    counts: tuple[int, int] | None = None,
) -> tuple[float, _F]: ...
def mirror_attack(X: _XType, theta: _F, intercept: bool, factor: float, n_threads: int) -> _F: ...

class Cholesky_f64:
    def __init__(self, H: _F) -> None: ...
    def solve(self, B: _F) -> _F: ...
    @property
    def L(self) -> _F: ...
    @property
    def size(self) -> int: ...

class Cholesky_f32(Cholesky_f64): ...

# ---- weight QP (float64 only; the Python layer casts once) ----

def weight_moments(T: _F, U: _F, n_threads: int) -> tuple[float, float, float]:
    """(a, b, c) = (TᵀT, UᵀU, TᵀU); ValueError on NaN/inf."""

def weight_residual_norm2(T: _F, U: _F, r: float, n_threads: int) -> float: ...
def weight_combine(
    T: _F, U: _F, alpha: float, beta: float, lo: float, hi: float, n_threads: int
) -> tuple[_F, dict[str, float]]:
    """ε = clip(αT + βU, lo, hi) with its moments."""

def weight_correct(
    eps: _F,
    T: _F,
    U: _F,
    alpha: float,
    beta: float,
    sign: float,
    delta: float,
    lo: float,
    hi: float,
    target_active: bool,
    utility_active: bool,
    stats: dict[str, float],
    tol: float,
    n_threads: int,
) -> tuple[dict[str, float], float, float]:
    """Polishes ε in place on the active constraints."""

def weights_bounded(
    T: _F, U: _F, sign: float, delta: float, rho_min: float, lo: float, hi: float, n_threads: int
) -> dict[str, Any]: ...
def weights_bounded_path(
    T: _F, U: _F, sign: float, delta: float, rho_mins: _F, lo: float, hi: float, n_threads: int
) -> dict[str, Any]: ...

# The same solvers over a passes object (the methods of WeightPasses, summed over chunks, plus
# lp_crossing(sign, lo, hi, d0) -> κ); ε is left in its ε slot.
def weight_correct_engine(
    passes: Any,
    alpha: float,
    beta: float,
    sign: float,
    delta: float,
    lo: float,
    hi: float,
    target_active: bool,
    utility_active: bool,
    stats: dict[str, float],
    tol: float,
) -> tuple[dict[str, float], float, float]: ...
def weights_bounded_engine(
    passes: Any, sign: float, delta: float, rho_min: float, lo: float, hi: float
) -> dict[str, Any]: ...
def weights_bounded_path_engine(
    passes: Any, sign: float, delta: float, rho_mins: _F, lo: float, hi: float
) -> dict[str, Any]: ...
def weighted_crossing(pairs: _F, d0: float) -> float:
    """Smallest κ with d0 + Σ_{κᵢ ≤ κ} wᵢ ≥ 0 over rows (κᵢ, wᵢ)."""

class WeightPasses:
    """One chunk's host passes of the weight solvers, with its ε and LP slots (copies of those given)."""

    def __init__(self, T: _F, U: _F, eps: _F | None = None, lp: _F | None = None) -> None: ...
    @property
    def eps(self) -> _F: ...
    @property
    def lp(self) -> _F: ...
    def moments(self) -> _F: ...
    def residual_norm2(self, r: float) -> float: ...
    def clip(self, alpha: float, beta: float, lo: float, hi: float, write: bool) -> _F: ...
    def correct(self, kt: float, ku: float, alpha: float, beta: float, lo: float, hi: float) -> _F: ...
    def free_residual(self, sign: float, q: float, lo: float, hi: float) -> float: ...
    def stats(self) -> _F: ...
    def use_lp(self, unbounded: bool) -> _F: ...
    def lp_domain(self, sign: float, lo: float, hi: float) -> _F: ...
    def lp_slope(self, sign: float, kappa: float, lo: float, hi: float) -> float: ...
    def lp_breakpoints(self, sign: float, lo: float, hi: float, above: float, upto: float) -> _F: ...
    def lp_assign(self, sign: float, kappa: float, lo: float, hi: float) -> _F: ...
    def lp_tie_sums(self, sign: float, kappa: float, lo: float, hi: float, dir: float, tau: float) -> _F: ...
    def lp_fill(self, sign: float, kappa: float, lo: float, hi: float, dir: float, tau: float) -> float: ...

# ---- first-order unlearning loops (finetune.hpp, gradient_ascent.hpp) ----
# callback(info) -> bool is called after every step with the GIL held; info has iteration, objective,
# grad_norm, step_norm, theta. Returning True stops the loop. The result dicts have keys theta, objective,
# grad_norm, grad_scale, n_iter, n_passes, converged, stopped.
def lbfgs_fit(
    X: _XType,
    y: _F,
    s: _F,
    theta0: _F,
    C: float,
    intercept: bool,
    tol: float,
    max_iter: int,
    memory: int,
    n_threads: int,
    loss: int,
    loss_param: float,
    callback: Any = None,
) -> dict[str, Any]:
    """L-BFGS minimisation of ½‖w‖² + C Σ sᵢℓᵢ from theta0."""

def lbfgs_fit_engine(
    engine: Any, theta0: _F, C: float, tol: float, max_iter: int, memory: int, callback: Any = None
) -> dict[str, Any]:
    """lbfgs_fit with the passes supplied by a Python engine (softunlearn.engine)."""

def ascent_curvature_engine(engine: Any, theta: _F, C: float, retain: float) -> float:
    """ascent_curvature with the engine's sample weights as s_abs."""

def gradient_steps_engine(
    engine: Any, theta0: _F, C: float, retain: float, lr: float, steps: int, tol: float, callback: Any = None
) -> dict[str, Any]:
    """gradient_steps with the engine's sample weights as v."""

def ascent_curvature(
    X: _XType,
    y: _F,
    s_abs: _F,
    theta: _F,
    C: float,
    intercept: bool,
    retain: float,
    n_threads: int,
    loss: int,
    loss_param: float,
) -> float:
    """λ_max of C X̃ᵀ diag(s_abs ℓ'') X̃ + retain·R at theta."""

def gradient_steps(
    X: _XType,
    y: _F,
    v: _F,
    theta0: _F,
    C: float,
    intercept: bool,
    retain: float,
    lr: float,
    steps: int,
    tol: float,
    n_threads: int,
    loss: int,
    loss_param: float,
    callback: Any = None,
) -> dict[str, Any]:
    """θ ← θ − lr ∇_F, _F = C Σ vᵢℓᵢ + retain·½‖w‖²."""

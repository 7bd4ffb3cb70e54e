"""Per-sample weight changes: the soft weight QP and the hard (delete-k) baseline.

Sign conventions (docs/conventions.md, removal convention)
----------------------------------------------------------
``T[i]`` and ``U[i]`` are influence scores in the *removal* convention, ``score_i(f) = g_iᵀ H⁻¹ ∇f``:
the first-order change of ``f`` when sample ``i`` is deleted (the negative of Koh & Liang's
up-weighting influence). Sample ``i``'s weight becomes ``s_i (1 + ε_i)`` (``ε_i = -1`` deletes it,
``ε_i > 0`` up-weights it) and to first order

    Δf ≈ -εᵀ score(f):   predicted target change  -εᵀT,   predicted utility change  -εᵀU.

The weight QP
-------------
``delta`` (Δ) is the required *decrease* of the target, signed: Δ = f(θ̂) drives a gap to zero from
either side. With ``s = sign(Δ)`` (``s = +1`` for Δ = 0) the problem is oriented so that its
inequality points toward zero (``T' = sT``, ``Δ' = |Δ|``; ε itself is not flipped)::

    minimise   -εᵀT' + λ‖ε‖²
    subject to  εᵀT' ≥ Δ'          (the target moves toward zero by at least |Δ|)
                εᵀU ≥ 0            (validation loss not worse: -εᵀU ≤ 0)
                lo ≤ ε_i ≤ hi      (only with ``bounds``; ε_i = 0 off ``candidates``)

For Δ > 0 this is literally the QP of docs/conventions.md, ``min -εᵀT + λ‖ε‖² s.t. -εᵀT ≤ -Δ, -εᵀU ≤ 0``. For Δ < 0 the
literal problem would push a negative gap further negative (the objective always lowers f), so
orientation is what makes a negative gap rise to zero instead of doubling.

Let a = TᵀT, b = UᵀU, c = TᵀU, c' = s·c, ρ = 1/(2λ), g = T - (c/b)U and ‖g‖² = a - c²/b = D/b
(D = ab - c²). Stationarity of the Lagrangian with multipliers μ₁, μ₂ ≥ 0 gives
ε = ρ₁T' + ρ₂U (clipped to the box when bounded) with ρ₁ = (1 + μ₁)ρ and ρ₂ = μ₂ρ.

The scale of λ
--------------
λ carries the units of T²/Δ, so ``lam`` is read by default in units of λ* = a/(2|Δ|), the λ at which the
unconstrained optimum T'/(2λ) exactly meets Δ (``lam_scale="relative"``; a over the candidates). Every
λ ≥ λ* meets Δ exactly without bounds, so the default ``lam`` = 1 asks for exactly Δ; ``lam_scale="absolute"``
takes λ as is (the paper's parameterisation).
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from . import _core
from ._validation import check_n_threads, contiguous, is_dask
from .errors import NonFiniteError

__all__ = [
    "soft_weights",
    "lam_star",
    "absolute_lam",
    "DEFAULT_LAM",
    "LAM_SCALES",
    "soft_weights_path",
    "hard_weights",
    "SoftWeights",
    "SoftWeightsPath",
    "PredictedChanges",
    "SchemeWarning",
    "InfeasibleWarning",
    "SCHEMES",
]

SCHEMES = ("auto", "2.0", "2.1", "2.2", "2.3")

#: How ``lam`` is read: ``"relative"`` in units of λ* = TᵀT/(2|Δ|) (:func:`~softunlearn.weights.lam_star`),
#: ``"absolute"`` as is (the paper's λ, e.g. its λ = 0.1 for schemes 2.0/2.2).
LAM_SCALES = ("relative", "absolute")

#: The default ``lam`` everywhere (:func:`soft_weights`, :class:`~softunlearn.SoftUnlearner`,
#: :func:`~softunlearn.iterated_soft_weights`, ``softunlearn run --lam``), in units of λ*: the weights
#: exactly meet Δ. On the refit trade-off curves of five data sets (bench/lam_default.py) asking for exactly
#: Δ brings the test gap closest to zero; a smaller λ (asking for more) overshoots it.
DEFAULT_LAM = 1.0

# ‖g‖ at or below this fraction of ‖T‖ is rounding noise of T - (c/b)U: T and U are collinear.
_COLLINEAR = 1e-12
# Constraint residuals (relative to Σ|Tᵢεᵢ| + |Δ| and Σ|Uᵢεᵢ|) below which ε is not polished: a closed
# form is exact to rounding unless T and U are nearly collinear.
_POLISH_TOL = 64 * np.finfo(np.float64).eps
# Relative slack when deciding on which side of a branch threshold λ or c lies (exact ties are both).
_EDGE = 1e-12


class SchemeWarning(UserWarning):
    """An explicitly requested closed form (2.0–2.3) is not the optimum of the stated QP."""


class InfeasibleWarning(UserWarning):
    """The required target decrease cannot be reached; the closest feasible weights are returned."""


class PredictedChanges(NamedTuple):
    target: float  #: -εᵀT, first-order change of the target
    utility: float  #: -εᵀU, first-order change of the utility (validation loss); ≤ 0 when feasible


@dataclass(frozen=True)
class SoftWeights:
    """Result of :func:`soft_weights`.

    Attributes
    ----------
    eps : ndarray, shape (n,)
        Weight changes ε (float64); zero off ``candidates``. For dask ``T``/``U``, a lazy dask array
        with their chunks (every other attribute is computed).
    scheme : str
        The branch actually used: ``"2.0"``, ``"2.1"``, ``"2.2"``, ``"2.3"`` for the unbounded QP (for
        ``"auto"`` the branch its optimum falls in), ``"bounded"`` for the box-constrained optimum,
        ``"closest"`` when infeasible.
    requested_scheme : str
    mu : (float, float)
        Multipliers (μ₁, μ₂) of the target and utility constraints in the Lagrangian
        -εᵀT' + λ‖ε‖² + μ₁(Δ' - εᵀT') - μ₂ εᵀU. For an explicit scheme they are the values its
        closed form implies (negative means the scheme is not the optimum). NaN when infeasible.
    target_change, utility_change : float
        Predicted first-order changes -εᵀT and -εᵀU (original, un-oriented T).
    norm : float
        ‖ε‖.
    objective : float
        QP objective -εᵀT' + λ‖ε‖² (oriented).
    kkt_residual : float
        Scale-free KKT residual: the largest of the relative primal violations
        max(0, Δ' - εᵀT')/S_T and max(0, -εᵀU)/S_U, the negative parts of μ₁ and μ₂, and the relative
        duality gap (μ₁|εᵀT' - Δ'| + μ₂|εᵀU|)/(S_T + λ‖ε‖²), with S_T = ‖ε‖‖T‖ + |Δ| and
        S_U = ‖ε‖‖U‖ (so the utility part is a cosine, εᵀU/(‖ε‖‖U‖); norms over the candidates).
        Stationarity holds by construction (ε is formed from the multipliers). NaN when infeasible.
        Its floor is rounding times the conditioning: ~1e-16 typically, ~eps/θ when both constraints
        are active and T', -U are at a small angle θ (the multipliers then grow like 1/θ²).
    feasible : bool
        Whether the constraints can be met (for explicit schemes: whether *this* ε meets them).
    max_decrease : float
        When the bounded problem was found (or suspected) infeasible: the largest reachable εᵀT'
        subject to the box and the utility constraint; otherwise NaN.
    delta : float
    lam : float
        The absolute λ the QP was solved at (``lam``·λ* on the relative scale; inf at Δ = 0 there).
    bounds : (float, float) or None
    """

    eps: np.ndarray
    scheme: str
    requested_scheme: str
    mu: tuple[float, float]
    target_change: float
    utility_change: float
    norm: float
    objective: float
    kkt_residual: float
    feasible: bool
    delta: float
    lam: float
    bounds: tuple[float, float] | None = None
    max_decrease: float = float("nan")
    info: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def predicted_changes(self) -> PredictedChanges:
        """(-εᵀT, -εᵀU)."""
        return PredictedChanges(self.target_change, self.utility_change)


# --------------------------------------------------------------------------------------------------
# Validation


def _real_scalar(x, name):
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    return x


def _scores(x, name, n=None, check_finite=True):
    """float64, C-contiguous 1-D view of a score vector (no copy when it already is one). The weight
    QP skips the finiteness pass: its first compiled pass (the moments) detects NaN and inf."""
    if hasattr(x, "toarray") and not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a dense 1-D array of scores, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have the same length as T ({n}), got {arr.shape[0]}")
    arr = contiguous(arr, np.float64)
    if check_finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


# Score magnitudes the solvers handle at full precision: the moments TᵀT, UᵀU and every product they
# form stay normal numbers in between.
_MAGNITUDE = (1e-150, 1e150)


def _check_magnitude(arr, name):
    # max and −min instead of max(|x|): no temporary array, a third of the time on 10⁷ scores; NaN propagates
    # through both and is left to the moments pass, which names it.
    _check_top(float(np.maximum(arr.max(), -arr.min())) if arr.size else 0.0, name)


def _check_top(top, name):
    if top != 0 and math.isfinite(top) and not _MAGNITUDE[0] <= top <= _MAGNITUDE[1]:
        raise ValueError(
            f"{name}: expected scores of largest magnitude in [{_MAGNITUDE[0]:g}, {_MAGNITUDE[1]:g}], "
            f"got {top:.3g}; the weights do not change when T, delta and lam are scaled by one factor "
            "and U by another, so rescale them"
        )


def _bounds(bounds):
    if bounds is None:
        return None
    if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__") or len(bounds) != 2:
        raise TypeError("bounds must be None or a pair (lo, hi); use None for an open side")
    lo, hi = bounds
    lo = -math.inf if lo is None else _real_scalar(lo, "bounds[0] (lo)")
    hi = math.inf if hi is None else _real_scalar(hi, "bounds[1] (hi)")
    if lo > 0 or hi < 0:
        raise ValueError(f"bounds must satisfy lo <= 0 <= hi so that ε = 0 (no change) is allowed, got ({lo}, {hi})")
    return lo, hi


def _candidates(candidates, n):
    """Boolean mask of the samples allowed to move, or None for all."""
    if candidates is None:
        return None
    c = np.asarray(candidates)
    if c.dtype == bool:
        if c.ndim != 1 or c.shape[0] != n:
            raise ValueError(f"candidates as a boolean mask must have shape ({n},), got {c.shape}")
        return c
    if c.size == 0:
        return np.zeros(n, dtype=bool)
    if not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"candidates must be a boolean mask or an integer index array, got dtype {c.dtype}")
    if c.ndim != 1:
        raise ValueError(f"candidates as an index array must be 1-D, got shape {c.shape}")
    if c.min() < 0 or c.max() >= n:
        raise ValueError(f"candidates indices must lie in [0, {n}), got range [{c.min()}, {c.max()}]")
    mask = np.zeros(n, dtype=bool)
    mask[c] = True
    return mask


def _scheme(scheme):
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be one of {SCHEMES} (a string), got {scheme!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    return scheme


def _lam(lam, name="lam"):
    lam = _real_scalar(lam, name)
    # The solvers work with ρ = 1/(2λ): a subnormal λ would make it infinite and every weight NaN.
    if not (lam > 0 and math.isfinite(lam) and math.isfinite(1.0 / (2.0 * lam))):
        raise ValueError(
            f"{name}: expected a finite number > 0 with 1/(2·{name}) finite "
            f"(≥ {0.5 / np.finfo(np.float64).max:.3g}), got {lam!r}"
        )
    return lam


def _lam_scale(lam_scale):
    if not isinstance(lam_scale, str) or lam_scale not in LAM_SCALES:
        raise ValueError(f"lam_scale: expected one of {LAM_SCALES}, got {lam_scale!r}")
    return lam_scale


def _lam_unit(lam_scale, a, dp) -> float | None:
    """What one unit of ``lam`` is in absolute λ: 1 for "absolute"; for "relative" λ* = TᵀT/(2|Δ|) over the
    samples that can move (None at Δ = 0: no change is asked for, so λ = inf and ε = 0; 1 when TᵀT = 0: no
    sample moves the target, every λ gives the same (infeasible) problem)."""
    if lam_scale == "absolute":
        return 1.0
    if dp == 0:
        return None
    a = a()
    return a / (2.0 * dp) if a > 0 else 1.0


def _absolute(lam, unit, name="lam"):
    """lam · unit, checked like an absolute λ; inf for Δ = 0 on the relative scale (unit None)."""
    if unit is None:
        return math.inf
    if unit == 1.0:
        return lam
    value = lam * unit
    if not (value > 0 and math.isfinite(value) and math.isfinite(1.0 / (2.0 * value))):
        raise ValueError(
            f"{name}: {lam!r} in units of λ* = TᵀT/(2|Δ|) = {unit:.6g} is λ = {value:.6g}, outside what the "
            "solvers take (finite, > 0, 1/(2λ) finite); rescale T and delta, or give λ with lam_scale='absolute'"
        )
    return value


def lam_star(T, delta, candidates=None) -> float | None:
    """λ* = TᵀT/(2|Δ|), the unit of ``lam`` on the relative scale: for λ ≥ λ* the unbounded weight QP's
    optimum just meets Δ (the target constraint binds and ε stops depending on λ); a smaller λ overshoots
    it. With ``candidates``, T over the candidates only (the samples that can move). None when Δ = 0."""
    a = _sq_norm(T, candidates)
    d = _real_scalar(delta, "delta")
    if d == 0:
        return None
    return a() / (2.0 * abs(d))


def _sq_norm(T, candidates):
    """T validated, and a function returning TᵀT over the candidates (one pass, when called)."""
    if is_dask(T):
        from .dask_weights import dask_scores, n_rows

        mask = _candidates(candidates, n_rows(T, T))
        Tc, _, _ = dask_scores(T, T, mask)
        return lambda: float((Tc * Tc).sum().compute())
    Tv = _scores(T, "T")
    mask = _candidates(candidates, Tv.shape[0])
    Tc = Tv if mask is None else Tv[mask]
    return lambda: float(np.dot(Tc, Tc))


def absolute_lam(lam, T, delta, *, lam_scale="relative", candidates=None) -> float:
    """The absolute λ that :func:`soft_weights` uses for ``lam`` on ``lam_scale``: ``lam`` ·
    :func:`~softunlearn.weights.lam_star`
    for "relative" (inf when Δ = 0: the weights are ε = 0; ``lam`` itself when TᵀT = 0), ``lam`` for
    "absolute"."""
    lam = _lam(lam)
    a = _sq_norm(T, candidates)
    d = _real_scalar(delta, "delta")
    return _absolute(lam, _lam_unit(_lam_scale(lam_scale), a, abs(d)))


def _on_infeasible(flag):
    if flag not in ("closest", "raise"):
        raise ValueError(f"on_infeasible must be 'closest' or 'raise', got {flag!r}")
    return flag


class _Problem:
    """Validated, oriented inputs restricted to the candidates, and the passes over them (``ops``)."""

    def __init__(self, T, U, delta, bounds, candidates, n_threads):
        if is_dask(T) or is_dask(U):
            self._dask(T, U, delta, bounds, candidates, n_threads)
            return
        self.T = _scores(T, "T", check_finite=False)
        self.n = self.T.shape[0]
        self.U = _scores(U, "U", self.n, check_finite=False)
        self._scalars(delta, bounds, n_threads)
        self.mask = _candidates(candidates, self.n)
        if self.mask is None:
            self.Tc, self.Uc = self.T, self.U
        else:
            # the compiled moments only see the candidates; bad values elsewhere are still bad input
            for arr, name in ((self.T, "T"), (self.U, "U")):
                if not np.isfinite(arr).all():
                    raise ValueError(f"{name} contains NaN or infinite values")
            self.Tc, self.Uc = self.T[self.mask], self.U[self.mask]
        for arr, name in ((self.Tc, "T"), (self.Uc, "U")):
            _check_magnitude(arr, name)
        self.ops: Any = _HostOps(self)  # or dask_weights.DaskWeightOps: the same methods

    def _scalars(self, delta, bounds, n_threads):
        self.delta = _real_scalar(delta, "delta")
        if not math.isfinite(self.delta):
            raise ValueError("delta must be finite")
        self.s = 1.0 if self.delta >= 0 else -1.0
        self.dp = abs(self.delta)
        self.bounds = _bounds(bounds)
        self.nt = check_n_threads(n_threads)
        # Both sides open is the unbounded QP: the closed forms are its exact optimum.
        self.norms = (0.0, 0.0)  # (‖T_c‖, ‖U_c‖), set once the moments are known
        self.boxed = self.bounds is not None and (math.isfinite(self.bounds[0]) or math.isfinite(self.bounds[1]))

    def _dask(self, T, U, delta, bounds, candidates, n_threads):
        """Dask T or U: validated scalars first, then one distributed pass over the scores."""
        from .dask_weights import DaskWeightOps, dask_scores, n_rows

        self._scalars(delta, bounds, n_threads)
        self.n = n_rows(T, U)
        self.mask = _candidates(candidates, self.n)
        self.Tc, self.Uc, tops = dask_scores(T, U, self.mask)
        self.T, self.U = self.Tc, self.Uc
        for top, name in zip(tops, ("T", "U")):
            _check_top(top, name)
        self.ops = DaskWeightOps(self.Tc, self.Uc)


class _HostOps:
    """The compiled passes over in-memory scores restricted to the candidates. The Dask twin
    (dask_weights.DaskWeightOps) has the same methods, run as distributed reductions."""

    def __init__(self, P: _Problem):
        self.P = P
        self.Tc, self.Uc, self.nt = P.Tc, P.Uc, P.nt

    def sq_norm_t(self):
        return float(np.dot(self.Tc, self.Tc))

    def moments(self):
        return _core.weight_moments(self.Tc, self.Uc, self.nt)

    def norms(self):
        return float(np.linalg.norm(self.Tc)), float(np.linalg.norm(self.Uc))

    def residual_norm2(self, r):
        return _core.weight_residual_norm2(self.Tc, self.Uc, r, self.nt)

    def combine(self, alpha, beta, lo, hi):
        return _core.weight_combine(self.Tc, self.Uc, alpha, beta, lo, hi, self.nt)

    def correct(self, eps, alpha, beta, sign, dp, lo, hi, target, utility, st, tol):
        st, _, _ = _core.weight_correct(
            eps, self.Tc, self.Uc, alpha, beta, sign, dp, lo, hi, target, utility, st, tol, self.nt
        )
        return st, eps

    def bounded(self, sign, dp, rho_min, lo, hi):
        return _core.weights_bounded(self.Tc, self.Uc, sign, dp, rho_min, lo, hi, self.nt)

    def bounded_path(self, sign, dp, rho_mins, lo, hi):
        return _core.weights_bounded_path(self.Tc, self.Uc, sign, dp, rho_mins, lo, hi, self.nt)

    def stats_of(self, eps_c):
        return {
            "tt": float(np.dot(self.Tc, eps_c)),
            "tu": float(np.dot(self.Uc, eps_c)),
            "ee": float(np.dot(eps_c, eps_c)),
            "at": float(np.abs(self.Tc * eps_c).sum()),
            "au": float(np.abs(self.Uc * eps_c).sum()),
        }

    def zeros(self):
        return np.zeros(self.Tc.shape[0])

    def scatter(self, eps_c):
        if self.P.mask is None:
            return eps_c
        eps = np.zeros(self.P.n)
        eps[self.P.mask] = eps_c
        return eps

    def finite(self, eps_c):
        return bool(np.isfinite(eps_c).all())

    def copy(self, eps_c):
        return np.array(eps_c, copy=True)

    def stack(self, rows):
        return np.stack(rows) if rows else np.zeros((0, self.P.n))


# --------------------------------------------------------------------------------------------------
# Closed forms of the unbounded QP


class _Unbounded:
    """Scalars of the unbounded problem: every closed form is ε = αT + βU (α on the original T)."""

    def __init__(self, P: _Problem):
        self.P = P
        self.a, self.b, self.c = P.ops.moments()
        P.norms = (math.sqrt(self.a), math.sqrt(self.b))
        self.cp = P.s * self.c
        self._g2: float | None = None

    @property
    def r(self):
        return self.c / self.b if self.b > 0 else 0.0

    @property
    def g2(self):
        """‖T - (c/b)U‖², from the residual (a - c²/b cancels for nearly collinear T and U)."""
        if self._g2 is None:
            self._g2 = self.P.ops.residual_norm2(self.r) if self.b > 0 else self.a
        return self._g2

    def collinear(self):
        """T' is a non-positive multiple of U (or zero): no ε lowers the target without raising utility."""
        return self.a == 0 or (self.cp < 0 and self.g2 <= (_COLLINEAR**2) * self.a)

    def branch_auto(self, rho):
        dp = self.P.dp
        if self.cp >= 0:
            return "2.0" if rho * self.a >= dp else "2.1"
        return "2.2" if rho * self.g2 >= dp else "2.3"

    def coefficients(self, scheme, rho):
        """(α', β): ε = α'T' + βU in oriented terms, i.e. ρ₁ = α', ρ₂ = β."""
        dp, a, b, cp = self.P.dp, self.a, self.b, self.cp
        if scheme == "2.0":
            return rho, 0.0
        if scheme == "2.1":
            if a == 0:
                raise ValueError("scheme '2.1' (Δ·T/a) is undefined: T is identically zero (a = TᵀT = 0)")
            return dp / a, 0.0
        if scheme == "2.2":
            if b == 0:
                raise ValueError("scheme '2.2' ((T - (c/b)U)/(2λ)) is undefined: U is identically zero (b = UᵀU = 0)")
            return rho, -rho * cp / b
        if scheme == "2.3":
            if b == 0 or self.g2 <= (_COLLINEAR**2) * a:
                raise ValueError("scheme '2.3' (Δ·(bT - cU)/D) is undefined: T and U are collinear (D = ab - c² = 0)")
            al = dp / self.g2
            return al, -al * cp / b
        raise AssertionError(scheme)

    def not_optimal_reasons(self, scheme, lam):
        """Why an explicit closed form is not the KKT point of the QP (empty when it is)."""
        dp, a, cp = self.P.dp, self.a, self.cp
        reasons = []
        cscale = _EDGE * math.sqrt(a * self.b)
        if scheme in ("2.0", "2.1") and cp < -cscale:
            reasons.append(
                f"c·sign(Δ) = {cp:.6g} < 0, so T alone raises the utility loss "
                "(schemes 2.0/2.1 need c·sign(Δ) ≥ 0; 2.2/2.3 handle c·sign(Δ) < 0)"
            )
        if scheme in ("2.2", "2.3") and cp > cscale:
            reasons.append(
                f"c·sign(Δ) = {cp:.6g} > 0, so the utility constraint is not active "
                "(schemes 2.2/2.3 need c·sign(Δ) ≤ 0; 2.0/2.1 handle c·sign(Δ) ≥ 0)"
            )
        if dp > 0:
            thr_a = a / (2 * dp)
            thr_g = (self.g2 / (2 * dp)) if scheme in ("2.2", "2.3") else math.nan  # g2 costs a pass
            if scheme == "2.0" and lam > thr_a * (1 + _EDGE):
                reasons.append(
                    f"λ = {lam:.6g} is above a/(2|Δ|) = {thr_a:.6g}: T/(2λ) falls short of the "
                    "required decrease (use 2.1)"
                )
            if scheme == "2.1" and lam < thr_a * (1 - _EDGE):
                reasons.append(
                    f"λ = {lam:.6g} is below a/(2|Δ|) = {thr_a:.6g}: the target constraint is not "
                    "active and the multiplier μ₁ would be negative (use 2.0)"
                )
            if scheme == "2.2" and lam > thr_g * (1 + _EDGE):
                reasons.append(
                    f"λ = {lam:.6g} is above D/(2b|Δ|) = {thr_g:.6g}: (T - (c/b)U)/(2λ) falls short of "
                    "the required decrease (use 2.3)"
                )
            if scheme == "2.3" and lam < thr_g * (1 - _EDGE):
                reasons.append(
                    f"λ = {lam:.6g} is below D/(2b|Δ|) = {thr_g:.6g}: the target constraint is not "
                    "active and the multiplier μ₁ would be negative (use 2.2)"
                )
        elif scheme in ("2.1", "2.3"):
            reasons.append(
                "Δ = 0: the target constraint cannot be active with a positive multiplier "
                f"(the optimum is {'2.0' if cp >= 0 else '2.2'})"
            )
        return reasons


def _scales(P, st) -> tuple[float, float]:
    """Rounding scales of the two constraint residuals: ‖ε‖‖T‖ + |Δ| and ‖ε‖‖U‖ (they bound Σ|Tᵢεᵢ|
    and Σ|Uᵢεᵢ|; unlike those they do not vanish when ε has no overlap with U's support)."""
    ne = math.sqrt(max(st["ee"], 0.0))
    tn, un = P.norms
    return ne * tn + P.dp, ne * un


def _kkt_of(P, st, mu1, mu2, lam):
    s_t, s_u = _scales(P, st)
    # objective scale for the duality gap Σ μⱼ·|slackⱼ| (its terms have the objective's units)
    s_obj = s_t + _penalty(lam, st["ee"])
    return _kkt(P.s * st["tt"], st["tu"], s_t, s_u, P.dp, mu1, mu2, s_obj)


def _penalty(lam, ee):
    """λ‖ε‖², 0 for ε = 0 also at λ = inf (Δ = 0 on the relative scale)."""
    return lam * ee if ee > 0 else 0.0


def _kkt(tt_o, tu, s_t, s_u, dp, mu1, mu2, s_obj):
    """Scale-free KKT residual (see SoftWeights.kkt_residual); tt_o = εᵀT' (oriented)."""

    def rel(v, s):
        return (v / s) if s > 0 else (0.0 if v == 0 else math.inf)

    gap = max(mu1, 0.0) * abs(tt_o - dp) + max(mu2, 0.0) * abs(tu)
    parts = [
        rel(max(0.0, dp - tt_o), s_t),
        rel(max(0.0, -tu), s_u),
        max(0.0, -mu1),
        max(0.0, -mu2),
        rel(gap, s_obj),
    ]
    return float(max(parts))


def _multipliers(r1, r2, lam):
    """(μ₁, μ₂) from ε = ρ₁T' + ρ₂U: ρ₁ = (1 + μ₁)ρ, ρ₂ = μ₂ρ with ρ = 1/(2λ); written as differences
    so that ρ₁ = ρ gives μ₁ = 0 exactly. At λ = inf (ρ = 0, Δ = 0 on the relative scale) ε = 0 and no
    constraint pushes: μ = 0."""
    rho = 1.0 / (2.0 * lam)
    if rho == 0:
        return 0.0, 0.0
    return (r1 - rho) / rho, r2 / rho


def _primal_ok(tt_o, tu, s_t, s_u, dp, tol=1e-9):
    return tt_o >= dp - tol * s_t and tu >= -tol * s_u


def _infeasible(P: _Problem, on_infeasible, reachable, stacklevel=3):
    msg = (
        f"the required target decrease |Δ| = {P.dp:.6g} is out of reach"
        + ("" if not P.boxed else f" within bounds {P.bounds}")
        + f" without increasing the utility loss: the largest reachable decrease is {reachable:.6g}"
    )
    if on_infeasible == "raise":
        raise ValueError(msg + "; pass on_infeasible='closest' to get the weights that reduce the target most")
    warnings.warn(
        msg + "; returning the feasible weights that reduce the target most (feasible=False)",
        InfeasibleWarning,
        stacklevel=stacklevel + 1,
    )


def _result(P, eps_c, st, scheme, requested, mu1, mu2, lam, feasible, max_decrease=float("nan"), info=None, kkt=None):
    tt_o = P.s * st["tt"]
    if not (math.isfinite(st["ee"]) and P.ops.finite(eps_c)):
        raise NonFiniteError(
            "eps: the weights overflowed (T, U, delta or lam too extreme for float64); "
            "rescale the scores or choose a larger lam"
        )
    if kkt is None:
        kkt = _kkt_of(P, st, mu1, mu2, lam)
    with np.errstate(over="ignore"):
        objective = float(-tt_o + _penalty(lam, st["ee"]))
    if not math.isfinite(objective):
        raise NonFiniteError(
            "lam: the objective −εᵀT + λ‖ε‖² overflows float64 (λ and the weights too large); "
            "rescale the scores or choose a smaller lam"
        )
    return SoftWeights(
        eps=P.ops.scatter(eps_c),
        scheme=scheme,
        requested_scheme=requested,
        mu=(float(mu1), float(mu2)),
        target_change=float(-st["tt"]),
        utility_change=float(-st["tu"]),
        norm=float(math.sqrt(st["ee"])),
        objective=objective,
        kkt_residual=float(kkt),
        feasible=bool(feasible),
        delta=P.delta,
        lam=lam,
        bounds=P.bounds,
        max_decrease=float(max_decrease),
        info=info or {},
    )


def _closed_form_eps(P, used, alpha, beta, lo=-math.inf, hi=math.inf, rho_min=None, r1=None, r2=None):
    """ε = clip(αT + βU) and its sums, then a Newton polish of the stored ε on the constraints the
    branch holds with equality (2.1: target; 2.2: utility; 2.3: both; bounded: those with a positive
    multiplier) when their residuals exceed _POLISH_TOL. The rounding of β/α alone leaves a residual
    ≈ eps·|α|·Σ|TᵢUᵢ|, which for nearly collinear T and U is large next to Σ|Uᵢεᵢ|; see
    _core.weight_correct."""
    eps_c, st = P.ops.combine(alpha, beta, lo, hi)
    if used == "bounded":
        target, utility = r1 > rho_min, r2 > 0
    else:
        target, utility = used in ("2.1", "2.3"), used in ("2.2", "2.3")
    if (target or utility) and (alpha != 0 or beta != 0):
        # the multipliers were fixed by the solve; only the stored vector is corrected
        st, eps_c = P.ops.correct(eps_c, alpha, beta, P.s, P.dp, lo, hi, target, utility, st, _POLISH_TOL)
    return eps_c, st


def _solve_unbounded(P: _Problem, scheme, lam, on_infeasible, stacklevel):
    Q = _Unbounded(P)
    rho = 1.0 / (2.0 * lam)
    inf = math.inf
    if scheme == "auto":
        if P.dp > 0 and Q.collinear():
            _infeasible(P, on_infeasible, 0.0, stacklevel)
            eps_c, st = P.ops.combine(0.0, 0.0, -inf, inf)
            return _result(P, eps_c, st, "closest", scheme, math.nan, math.nan, lam, False, 0.0, kkt=math.nan)
        used = Q.branch_auto(rho)
    else:
        used = scheme
    r1, r2 = Q.coefficients(used, rho)
    alpha, beta = P.s * r1, r2
    if scheme == "auto" and used == "2.2" and Q.g2 <= (_COLLINEAR**2) * Q.a:
        # g = T' - (c'/b)U is rounding noise (T' a negative multiple of U, Δ = 0): the optimum is ε = 0
        # exactly, with the 2.2 multipliers.
        alpha = beta = 0.0
    if scheme != "auto" and not math.isinf(lam):  # at λ = inf every form gives the optimum ε = 0
        reasons = Q.not_optimal_reasons(scheme, lam)
        if reasons:
            warnings.warn(
                f"scheme {scheme!r} is not the optimum of the weight QP: "
                + "; ".join(reasons)
                + ". Use scheme='auto' for the exact optimum.",
                SchemeWarning,
                stacklevel=stacklevel + 1,
            )
    eps_c, st = _closed_form_eps(P, used, alpha, beta)
    mu1, mu2 = _multipliers(r1, r2, lam)
    feasible = _primal_ok(P.s * st["tt"], st["tu"], *_scales(P, st), P.dp)
    info = {"a": Q.a, "b": Q.b, "c": Q.c, "g2": Q._g2, "rho1": r1, "rho2": r2}
    return _result(P, eps_c, st, used, scheme, mu1, mu2, lam, feasible, info=info)


# The compiled solver's outcomes (kinds.hpp), as the ints its result arrays hold.
_STATUS_OPTIMAL, _STATUS_INFEASIBLE, _STATUS_DEGENERATE, _STATUS_NOT_CONVERGED = (
    int(_core.WeightStatus.optimal),
    int(_core.WeightStatus.infeasible),
    int(_core.WeightStatus.degenerate),
    int(_core.WeightStatus.not_converged),
)


def _bounded_result(P, eps_c, st, status, r1, r2, lam, max_decrease, on_infeasible, stacklevel, info):
    lo, hi = P.bounds
    if status == _STATUS_INFEASIBLE:
        _infeasible(P, on_infeasible, max_decrease, stacklevel)
        return _result(
            P, eps_c, st, "closest", "auto", math.nan, math.nan, lam, False, max_decrease, info, kkt=math.nan
        )
    if status == _STATUS_DEGENERATE:
        # Δ' is the largest reachable decrease: the feasible set is one face and the multipliers are
        # unbounded; ε is the exact optimum but μ is not finite.
        return _result(
            P,
            eps_c,
            st,
            "bounded",
            "auto",
            math.inf,
            math.nan,
            lam,
            True,
            max_decrease,
            info,
            kkt=_kkt_of(P, st, 0.0, 0.0, lam),
        )
    mu1, mu2 = _multipliers(r1, r2, lam)
    feasible = _primal_ok(P.s * st["tt"], st["tu"], *_scales(P, st), P.dp)
    if status == _STATUS_NOT_CONVERGED:
        warnings.warn(
            "the bounded weight QP did not converge to working precision (this happens when |Δ| is within "
            "~1e-6 of the largest reachable decrease and T, U are nearly collinear); the weights are the "
            "best iterate found — check kkt_residual",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )
    return _result(P, eps_c, st, "bounded", "auto", mu1, mu2, lam, feasible, max_decrease, info)


def _solve_bounded(P: _Problem, scheme, lam, on_infeasible, stacklevel):
    if scheme != "auto":
        raise ValueError(
            f"scheme {scheme!r} is a closed form of the unbounded QP; with bounds use scheme='auto' "
            "(the exact bounded optimum)"
        )
    if math.isinf(lam):  # Δ = 0 on the relative scale: nothing is asked for
        P.norms = P.ops.norms()
        eps_c = P.ops.zeros()
        return _result(P, eps_c, P.ops.stats_of(eps_c), "bounded", "auto", 0.0, 0.0, lam, True, kkt=0.0)
    lo, hi = P.bounds
    out = P.ops.bounded(P.s, P.dp, 1.0 / (2.0 * lam), lo, hi)
    P.norms = (math.sqrt(out["a"]), math.sqrt(out["b"]))
    info = {
        "rho1": out["rho1"],
        "rho2": out["rho2"],
        "passes": out["passes"],
        "status": out["status"],
        "n_free": out["n_free"],
    }
    return _bounded_result(
        P,
        out["eps"],
        out,
        out["status"],
        out["rho1"],
        out["rho2"],
        lam,
        out["max_decrease"],
        on_infeasible,
        stacklevel + 1,
        info,
    )


def soft_weights(
    T,
    U,
    delta,
    lam=DEFAULT_LAM,
    scheme="auto",
    bounds=None,
    candidates=None,
    *,
    lam_scale="relative",
    on_infeasible="closest",
    n_threads=0,
) -> SoftWeights:
    r"""Soft per-sample weight changes ε that lower a target while keeping the utility (docs/conventions.md).

    Solves, with T' = sign(Δ)·T and Δ' = |Δ| (see the module docstring for the orientation)::

        minimise -εᵀT' + λ‖ε‖²  s.t.  εᵀT' ≥ Δ',  εᵀU ≥ 0  [, lo ≤ ε ≤ hi] [, ε_i = 0 off candidates]

    Parameters
    ----------
    T, U : array_like, shape (n,)
        Removal-convention influence scores of the target and the utility (validation loss):
        deleting sample i changes f by ≈ +T_i, and in general Δf ≈ -εᵀT. float32 and integer input is
        accepted and cast once to float64; all computation is float64. Inputs are never modified.
        Dask arrays (either or both) run every O(n) pass of the solvers as a distributed reduction over
        their chunks; ``eps`` is then a lazy dask array with those chunks (docs/dask.md).
    delta : float
        Signed required decrease Δ of the target; e.g. the current value of a signed fairness gap to drive
        it to zero from either side (a negative gap is raised to zero, not doubled).
    lam : float
        λ > 0, the weight of ‖ε‖² (larger λ: smaller weights), on ``lam_scale``. Default
        :data:`DEFAULT_LAM` = 1 in units of λ*: the weights exactly meet Δ.
    scheme : {"auto", "2.0", "2.1", "2.2", "2.3"}
        ``"auto"``: the exact optimum. Without bounds it is the unified closed form
        ``ε = s·g·max(1/(2λ), Δ'/‖g‖²)`` with ``g = T`` if c' = sign(Δ)·TᵀU ≥ 0, else ``g = T - (c/b)U``.
        The explicit forms reproduce the paper (Qiao et al. 2025) exactly, each the KKT point of one
        active set (a = TᵀT, b = UᵀU, c = TᵀU, D = ab - c², s = sign(Δ))::

            "2.0"  ε = s·T/(2λ)               no constraint active;  optimal iff c' ≥ 0 and λ ≤ a/(2|Δ|)
            "2.1"  ε = Δ·T/a                  target active;         optimal iff c' ≥ 0 and λ ≥ a/(2|Δ|)
            "2.2"  ε = s·(T - (c/b)U)/(2λ)    utility active;        optimal iff c' ≤ 0 and λ ≤ D/(2b|Δ|)
            "2.3"  ε = Δ·(bT - cU)/D          both active (independent of λ);
                                                                      optimal iff c' ≤ 0 and λ ≥ D/(2b|Δ|)

        A :class:`SchemeWarning` says why when the chosen form is not the optimum (c' of the wrong sign,
        or λ on the wrong side of its threshold). D is evaluated as b·‖T - (c/b)U‖² (same value, no
        cancellation). Explicit schemes require ``bounds=None``.
    bounds : (lo, hi) or None
        Box lo ≤ ε_i ≤ hi with lo ≤ 0 ≤ hi (None for an open side), e.g. ``(-1, None)``: no negative
        sample weights; ``(-1, 0)``: removal-only soft deletion. Solved exactly through the
        two-dimensional dual in the compiled core (ε = clip(ρ₁T' + ρ₂U, lo, hi)); no QP library.
    candidates : bool mask of shape (n,) or integer index array, optional
        Samples allowed to move (e.g. a forget set); all others keep ε = 0.
    lam_scale : {"relative", "absolute"}
        How ``lam`` is read. ``"relative"`` (default): in units of λ* = TᵀT/(2|Δ|)
        (:func:`~softunlearn.weights.lam_star`), the
        λ at which the unconstrained optimum T'/(2λ) exactly meets Δ, with T over the ``candidates`` (the
        samples that can move); the QP is solved at λ = ``lam``·λ*. ``lam`` ≥ 1 meets Δ exactly (the target
        constraint binds; without bounds ε is then the same for every ``lam`` ≥ 1), ``lam`` < 1 overshoots
        it (for c' ≥ 0 without bounds: the exact-Δ weights times 1/``lam``). At Δ = 0 nothing is asked
        for: ε = 0 exactly, ``feasible=True``, ``mu = (0, 0)``, ``lam = inf`` on the result, and ``scheme``
        the branch ε = 0 is the λ → ∞ limit of ("2.0" if c' ≥ 0, else "2.2"; the requested form for an
        explicit scheme; "bounded" with bounds). When TᵀT = 0 (no candidate moves the target) λ does
        not matter and ``lam`` is used as is. ``"absolute"``: ``lam`` is λ itself, the paper's
        parameterisation: pass ``lam_scale="absolute"`` to reproduce its schemes 2.0/2.2 at a given λ
        (e.g. ``soft_weights(T, U, delta, lam=0.1, scheme="2.0", lam_scale="absolute")``). The λ used is
        the result's ``lam`` (:func:`absolute_lam` computes it up front).
    on_infeasible : {"closest", "raise"}
        When |Δ| cannot be reached (within the box, without raising the utility loss): ``"closest"``
        warns (:class:`InfeasibleWarning`) and returns the feasible weights that lower the target the most
        (the minimum-norm maximiser of εᵀT' subject to εᵀU ≥ 0 and the box; ε = 0 unbounded), with
        ``feasible=False``; ``"raise"`` raises ValueError.
    n_threads : int
        Threads for the O(n) passes (0: OpenMP default).

    Returns
    -------
    SoftWeights
        ``eps``, the scheme used, multipliers ``mu``, ``predicted_changes`` (-εᵀT, -εᵀU), ``norm``,
        ``objective``, ``kkt_residual`` and ``feasible``.
    """
    scheme = _scheme(scheme)
    lam = _lam(lam)
    lam_scale = _lam_scale(lam_scale)
    on_infeasible = _on_infeasible(on_infeasible)
    P = _Problem(T, U, delta, bounds, candidates, n_threads)
    lam = _absolute(lam, _lam_unit(lam_scale, P.ops.sq_norm_t, P.dp))
    if P.boxed:
        return _solve_bounded(P, scheme, lam, on_infeasible, stacklevel=2)
    return _solve_unbounded(P, scheme, lam, on_infeasible, stacklevel=2)


# --------------------------------------------------------------------------------------------------
# λ path


@dataclass(frozen=True)
class SoftWeightsPath:
    """Weight QP solutions over a grid of λ (:func:`soft_weights_path`).

    Per-λ arrays (shape (L,), in the order of ``lams``): ``target_change`` (-εᵀT), ``utility_change``
    (-εᵀU), ``norm`` (‖ε‖), ``objective``, ``mu1``, ``mu2``, ``schemes`` (branch used), ``feasible``.
    ε is not stored (L·n floats); ``path[k]`` or :meth:`eps_at` rebuilds one ε in one O(n) pass and
    ``path.eps`` stacks all of them (shape (L, n)).
    """

    lams: np.ndarray
    target_change: np.ndarray
    utility_change: np.ndarray
    norm: np.ndarray
    objective: np.ndarray
    mu1: np.ndarray
    mu2: np.ndarray
    schemes: tuple[str, ...]
    feasible: np.ndarray
    requested_scheme: str
    delta: float
    bounds: tuple[float, float] | None
    _problem: _Problem = field(repr=False, compare=False)
    _coef: np.ndarray = field(repr=False, compare=False)  # (L, 2): ε = clip(α T + β U) with α, β on the original T
    _fixed_eps: np.ndarray | None = field(repr=False, compare=False, default=None)  # LP point (infeasible/degenerate)
    _status: np.ndarray | None = field(repr=False, compare=False, default=None)

    def __len__(self):
        return len(self.lams)

    def eps_at(self, k) -> np.ndarray:
        """ε for ``lams[k]``."""
        k = int(k)
        if not -len(self) <= k < len(self):
            raise IndexError(f"path index {k} out of range for {len(self)} values of λ")
        return self[k].eps

    def __getitem__(self, k) -> SoftWeights:
        k = range(len(self))[k]
        P = self._problem
        lam = float(self.lams[k])
        status = None if self._status is None else int(self._status[k])
        if status in (_STATUS_INFEASIBLE, _STATUS_DEGENERATE):
            eps_c = self._fixed_eps
            st = P.ops.stats_of(eps_c)
        elif P.boxed:
            lo, hi = P.bounds
            a, b = float(self._coef[k, 0]), float(self._coef[k, 1])
            eps_c, st = _closed_form_eps(P, "bounded", a, b, lo, hi, 1.0 / (2.0 * lam), P.s * a, b)
        else:
            eps_c, st = _closed_form_eps(P, self.schemes[k], float(self._coef[k, 0]), float(self._coef[k, 1]))
        mu1, mu2 = float(self.mu1[k]), float(self.mu2[k])
        feasible = bool(self.feasible[k])
        kkt = None
        if self.schemes[k] == "closest":
            kkt = math.nan
        elif status == _STATUS_DEGENERATE:
            kkt = _kkt_of(P, st, 0.0, 0.0, lam)
        return _result(
            P, P.ops.copy(eps_c), st, self.schemes[k], self.requested_scheme, mu1, mu2, lam, feasible, kkt=kkt
        )

    @property
    def eps(self) -> np.ndarray:
        """All ε stacked, shape (L, n) — L·n float64 values; prefer ``path[k]`` for large n."""
        return self._problem.ops.stack([self.eps_at(k) for k in range(len(self))])


def soft_weights_path(
    T,
    U,
    delta,
    lams,
    scheme="auto",
    bounds=None,
    candidates=None,
    *,
    lam_scale="relative",
    on_infeasible="closest",
    n_threads=0,
) -> SoftWeightsPath:
    """:func:`soft_weights` for every λ in ``lams`` at O(n) per λ, without forming the weights.

    In the variables ρ = (1+μ₁, μ₂)/(2λ) the QP depends on λ only through ρ₁ ≥ 1/(2λ), so:
    without bounds every branch is ε = αg with g fixed and α(λ) a scalar (the predicted changes are
    exact scalar formulas); with bounds the dual is re-solved per λ (a few O(n) passes), warm-started
    along the sorted grid, and once the target constraint is active the optimum stops depending on λ
    (no pass at all).
    Feasibility does not depend on λ; infeasibility is reported (or raised) once.
    Parameters are those of :func:`soft_weights`, with ``lams`` a 1-D array of λ > 0 on ``lam_scale``
    (default "relative": units of λ* = TᵀT/(2|Δ|)); the result's ``lams`` are the absolute values used.
    """
    scheme = _scheme(scheme)
    lam_scale = _lam_scale(lam_scale)
    on_infeasible = _on_infeasible(on_infeasible)
    lam_arr = np.asarray(lams, dtype=np.float64) if not isinstance(lams, numbers.Real) else np.array([float(lams)])
    if lam_arr.ndim != 1:
        raise ValueError(f"lams must be a 1-D array of λ values, got shape {lam_arr.shape}")
    if lam_arr.size and not (np.isfinite(lam_arr).all() and (lam_arr > 0).all()):
        raise ValueError("lams must be finite and > 0")
    P = _Problem(T, U, delta, bounds, candidates, n_threads)
    unit = _lam_unit(lam_scale, P.ops.sq_norm_t, P.dp)
    if unit != 1.0:
        lam_arr = np.array([_absolute(float(v), unit, "lams") for v in lam_arr])
    lam_arr = np.ascontiguousarray(lam_arr)
    if P.boxed:
        return _path_bounded(P, scheme, lam_arr, on_infeasible)
    return _path_unbounded(P, scheme, lam_arr, on_infeasible)


def _path_unbounded(P, scheme, lams, on_infeasible):
    Q = _Unbounded(P)
    L = lams.size
    rho = 1.0 / (2.0 * lams)
    a, b, cp = Q.a, Q.b, Q.cp
    if scheme == "auto" and P.dp > 0 and Q.collinear():
        _infeasible(P, on_infeasible, 0.0, stacklevel=3)
        z = np.zeros(L)
        nan = np.full(L, np.nan)
        return SoftWeightsPath(
            lams,
            z,
            z.copy(),
            z.copy(),
            z.copy(),
            nan,
            nan.copy(),
            ("closest",) * L,
            np.zeros(L, bool),
            scheme,
            P.delta,
            P.bounds,
            P,
            np.zeros((L, 2)),
        )
    if scheme == "auto":
        schemes = tuple(Q.branch_auto(r) for r in rho)
    else:
        schemes = (scheme,) * L
        if L:
            Q.coefficients(scheme, float(rho[0]))  # undefined forms raise before any warning
        bad = [(lam, Q.not_optimal_reasons(scheme, lam)) for lam in lams if not math.isinf(lam)]
        bad = [(lam, r) for lam, r in bad if r]
        if bad:
            warnings.warn(
                f"scheme {scheme!r} is not the optimum of the weight QP for {len(bad)} of {L} values of λ "
                f"(e.g. λ = {bad[0][0]:.6g}: " + "; ".join(bad[0][1]) + "). Use scheme='auto'.",
                SchemeWarning,
                stacklevel=3,
            )
    coef = np.array([Q.coefficients(sc, r) for sc, r in zip(schemes, rho)]).reshape(L, 2)
    r1, r2 = coef[:, 0], coef[:, 1]
    zero = np.zeros(L, dtype=bool)
    if scheme == "auto" and cp < 0 and Q.g2 <= (_COLLINEAR**2) * a:
        zero = np.array([sc == "2.2" for sc in schemes], dtype=bool)  # ε = 0 exactly, as in soft_weights
    # εᵀT' = ρ₁a + ρ₂c', εᵀU = ρ₁c' + ρ₂b, ‖ε‖² = ρ₁²a + 2ρ₁ρ₂c' + ρ₂²b; on the g branches use the
    # exact identities gᵀT' = ‖g‖², gᵀU = 0 instead (no cancellation).
    on_g = np.array([sc in ("2.2", "2.3") for sc in schemes], dtype=bool)
    tt_o = np.where(on_g, r1 * (Q.g2 if on_g.any() else 0.0), r1 * a + r2 * cp)
    tu = np.where(on_g, 0.0, r1 * cp + r2 * b)
    ee = np.where(on_g, r1 * r1 * (Q.g2 if on_g.any() else 0.0), r1 * r1 * a + 2 * r1 * r2 * cp + r2 * r2 * b)
    with np.errstate(divide="ignore", invalid="ignore"):  # ρ = 0 (λ = inf, Δ = 0 relative): ε = 0, μ = 0
        mu1 = np.where(rho > 0, (r1 - rho) / rho, 0.0)
        mu2 = np.where(rho > 0, r2 / rho, 0.0)
    ne = np.sqrt(np.maximum(ee, 0.0))
    feasible = (tt_o >= P.dp - 1e-9 * (ne * math.sqrt(a) + P.dp)) & (tu >= -1e-9 * ne * math.sqrt(b))
    coef_orig = np.column_stack([P.s * r1, r2])
    coef_orig[zero] = 0.0
    with np.errstate(invalid="ignore"):  # inf·0 at λ = inf is masked out
        objective = -tt_o + np.where(ee > 0, lams * ee, 0.0)
    return SoftWeightsPath(
        lams,
        -P.s * tt_o,
        -tu,
        np.sqrt(np.maximum(ee, 0.0)),
        objective,
        mu1,
        mu2,
        schemes,
        feasible,
        scheme,
        P.delta,
        P.bounds,
        P,
        coef_orig,
    )


def _path_bounded(P, scheme, lams, on_infeasible):
    if scheme != "auto":
        raise ValueError(f"scheme {scheme!r} is a closed form of the unbounded QP; with bounds use scheme='auto'")
    lo, hi = P.bounds
    if lams.size and np.isinf(lams).all():  # Δ = 0 on the relative scale: ε = 0 at every λ
        P.norms = P.ops.norms()
        L, z = lams.size, np.zeros(lams.size)
        return SoftWeightsPath(
            lams, z, z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), ("bounded",) * L, np.ones(L, bool), scheme,
            P.delta, P.bounds, P, np.zeros((L, 2)),
        )  # fmt: skip
    out = P.ops.bounded_path(P.s, P.dp, 1.0 / (2.0 * lams), lo, hi)
    status = np.asarray(out["status"])
    if (status == _STATUS_INFEASIBLE).any():
        _infeasible(P, on_infeasible, float(out["max_decrease"][status == _STATUS_INFEASIBLE][0]), stacklevel=3)
    if (status == _STATUS_NOT_CONVERGED).any():
        warnings.warn(
            "the bounded weight QP did not converge to working precision for some λ", RuntimeWarning, stacklevel=3
        )
    r1, r2 = np.asarray(out["rho1"]), np.asarray(out["rho2"])
    tt_o = P.s * np.asarray(out["tt"])
    tu, ee = np.asarray(out["tu"]), np.asarray(out["ee"])
    lp = (status == _STATUS_INFEASIBLE) | (status == _STATUS_DEGENERATE)
    rho = 1.0 / (2.0 * lams)
    mu1 = np.where(lp, np.nan, (r1 - rho) / rho)
    mu1 = np.where(status == _STATUS_DEGENERATE, np.inf, mu1)
    mu2 = np.where(lp, np.nan, r2 / rho)
    P.norms = (math.sqrt(out["a"]), math.sqrt(out["b"]))
    ne = np.sqrt(ee)
    feasible = (
        (status != _STATUS_INFEASIBLE)
        & (tt_o >= P.dp - 1e-9 * (ne * P.norms[0] + P.dp))
        & (tu >= -1e-9 * ne * P.norms[1])
    )
    schemes = tuple("closest" if s == _STATUS_INFEASIBLE else "bounded" for s in status)
    coef = np.column_stack([P.s * np.where(lp, 0.0, r1), np.where(lp, 0.0, r2)])
    fixed = out["lp_eps"]
    return SoftWeightsPath(
        lams,
        -P.s * tt_o,
        -tu,
        np.sqrt(ee),
        -tt_o + lams * ee,
        mu1,
        mu2,
        schemes,
        feasible,
        scheme,
        P.delta,
        P.bounds,
        P,
        coef,
        fixed,
        status,
    )


# --------------------------------------------------------------------------------------------------
# Hard baseline


def hard_weights(T, fraction=None, k=None, delta=1.0) -> np.ndarray:
    """ε = -1 on the k samples whose deletion moves the target furthest toward its goal, 0 elsewhere.

    Deleting sample i changes the target by ≈ +T_i (removal convention), so for ``delta`` > 0 (the target
    must decrease) the k most negative T_i are deleted, for ``delta`` < 0 the k most positive. Exactly k
    samples are deleted even when fewer than k of them help (their T_i has the wrong sign).
    Ties are broken deterministically by the lower sample index. O(n) (partition, no full sort).

    Parameters
    ----------
    T : array_like, shape (n,)
        Removal-convention target scores (cast to float64; not modified).
    fraction : float in (0, 1], optional
        k = round(fraction·n), halves rounded up.
    k : int in [0, n], optional
        Exactly one of ``fraction`` and ``k`` must be given.
    delta : float
        Only its sign is used (Δ = 0 counts as positive).

    Returns
    -------
    ndarray, shape (n,), float64 with values in {-1, 0}; for a dask ``T``, a lazy dask array with T's chunks
    (a distributed top-k: T is never gathered).
    """
    if is_dask(T):
        return _hard_weights_dask(T, fraction, k, delta)
    Tv = _scores(T, "T")
    n = Tv.shape[0]
    d = _real_scalar(delta, "delta")
    kk = _hard_count(n, fraction, k)
    eps = np.zeros(n)
    if kk == 0:
        return eps
    key = Tv if d >= 0 else -Tv  # smaller key: deleting helps more
    if kk == n:
        eps[:] = -1.0
        return eps
    kth = np.partition(key, kk - 1)[kk - 1]
    strict = key < kth
    eps[strict] = -1.0
    rest = kk - int(np.count_nonzero(strict))
    if rest > 0:
        eps[np.flatnonzero(key == kth)[:rest]] = -1.0
    return eps


def _hard_count(n, fraction, k) -> int:
    """k from exactly one of ``fraction`` (k = round(fraction·n), halves up) and ``k``, checked."""
    if (fraction is None) == (k is None):
        raise ValueError("give exactly one of fraction and k")
    if fraction is not None:
        f = _real_scalar(fraction, "fraction")
        if not (0 < f <= 1):
            raise ValueError(f"fraction must lie in (0, 1], got {f}")
        kk = min(n, int(math.floor(f * n + 0.5)))
    else:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
            raise TypeError(f"k must be an integer, got {type(k).__name__}")
        kk = int(k)
        if not 0 <= kk <= n:
            raise ValueError(f"k must lie in [0, {n}], got {kk}")
    return kk


def _hard_weights_dask(T, fraction, k, delta):
    """hard_weights on a dask T: the k-th smallest key by a distributed top-k, then the same selection
    (keys below it, and ties at it in index order by a cumulative count) as a lazy map over T's chunks."""
    import dask
    import dask.array as da

    if T.ndim != 1:
        raise ValueError(f"T must be 1-D, got shape {T.shape}")
    if any(np.isnan(c) for c in T.chunks[0]):
        raise ValueError("T: unknown chunk sizes (NaN); call T.compute_chunk_sizes() first")
    if not (np.issubdtype(T.dtype, np.floating) or np.issubdtype(T.dtype, np.integer)):
        raise TypeError(f"T must be a real numeric array, got dtype {T.dtype}")
    n = int(T.shape[0])
    d = _real_scalar(delta, "delta")
    kk = _hard_count(n, fraction, k)
    key = T.astype(np.float64) if d >= 0 else -T.astype(np.float64)
    partial = 0 < kk < n
    finite, kth = dask.compute(da.isfinite(key).all(), da.topk(key, -kk)[kk - 1] if partial else 0.0)
    if not finite:
        raise ValueError("T contains NaN or infinite values")
    if not partial:
        return da.full_like(key, -1.0 if kk else 0.0)
    strict = key < kth
    ties = key == kth
    rest = kk - int(strict.sum().compute())
    chosen = strict | (ties & (da.cumsum(ties.astype(np.int64)) <= rest))
    return -chosen.astype(np.float64)

"""Certified removal for L2-regularised logistic regression (Guo, Goldstein, Hannun, van der Maaten,
*Certified Data Removal from Machine Learning Models*, ICML 2020), generalised to soft weights.

Scales. Guo et al. minimise L(w) = Σᵢ ℓᵢ + (λn/2)‖w‖² (+ bᵀw); we minimise
J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓᵢ (+ bᵀθ). With C = 1/(λn), J = C·L, so every gradient, gradient residual,
residual budget, noise vector and noise standard deviation here is C times Guo's (b_J = C·b_L,
σ_J = C·σ_L). The relations between them are scale-free, so the formulas below read the same in
either scale; all attributes are in J's scale. Guo's regulariser grows with the data (λn, and λ(n−m)
after m removals) while ours is fixed: a removal here is compared with a refit on the remaining data
with the *same* C, so the removal step has no λw term (Guo's Δ = mλw* + Σ∇ℓⱼ becomes C Σ∇ℓⱼ).

Training with objective perturbation: θ̂ = argmin J_b(θ; D), b ~ N(0, σ²I). Guo's Theorem 3(ii): if a
removal mechanism returns θ⁻ with ‖∇J_b(θ⁻; D')‖ ≤ ε' and b ~ N(0, (cε'/ε)²I), it is (ε, δ)-certified
with δ = 1.5·e^{−c²/2}; so c = √(2 ln(1.5/δ)) and a fixed σ allows a residual budget ε' = σε/c
(for large ε we use the analytic Gaussian scale where it exceeds c/ε: see noise_multiplier).

Newton removal of a set R (Guo's batch removal), here for any weight change sᵢ → sᵢ(1 + εᵢ)
(εᵢ = −1 deletes sample i, so D' is the data with weights s' = s(1 + ε)):

    θ⁻ = θ̂ − H'⁻¹ X̃ᵀ(ε ⊙ r),   rᵢ = C sᵢ ℓ'(zᵢ),   H' = ∇²J(θ̂; s') = C Xᵀdiag(s'ℓ'')X + I.

For a deletion this is θ̂ + H'⁻¹ C Σ_R ∇ℓⱼ(θ̂). The Hessian is that of the *remaining* data; the
influence update (softunlearn.Influence.newton_update) uses the full-data Hessian H instead, which
agrees to first order but is not the exact Newton step on J(·; D') and has no residual bound.

Gradient-residual bound (Guo's Corollary 1, with weights): with A = diag(√(C s'))X, v = θ⁻ − θ̂,
‖xᵢ‖ ≤ 1 and ℓ'' γ-Lipschitz (γ = 1/4 for the logistic loss, Guo's constant),

    ‖∇J_b(θ⁻; D')‖ ≤ ‖∇J_b(θ̂; D)‖ + ‖X̃ᵀ((ε − ε_step) ⊙ r)‖ + γ ‖A‖₂ ‖v‖ ‖Av‖.

The first term is the residual the model already had (the fit's ~1e-10, or the budget β spent by
earlier removals: β accumulates, Guo's Algorithm 2), the second is zero unless the step uses weights
other than the target's (DVWU, see softunlearn.methods.dvwu), the third is Guo's Taylor remainder:
∇J(θ⁻) − ∇J(θ̂) − H'v = Aᵀdiag(ρ)Av with |ρᵢ| ≤ γ|xᵢᵀṽ| ≤ γ‖v‖ for some ṽ on the segment.
The noise masks a residual of norm up to the budget; a request that would take β past it triggers the
policy: "retrain" (default: exact refit on D' with fresh noise, β restarts), "raise"
(BudgetExceededError) or "flag" (return the uncertified Newton model with ``certified_ = False``).

Output perturbation (``noise="output"``, used for models trained without b): the released model is
θ + ξ, ξ ~ N(0, σ²I), and the retrain it is compared with is argmin J(·; D') + ξ. J(·; D') is
1-strongly convex (½‖w‖², no intercept, s' ≥ 0), so ‖θ⁻ − θ_{D'}‖ ≤ ‖∇J(θ⁻; D')‖ ≤ β and two
Gaussians whose means are ≤ β apart are (ε, δ)-indistinguishable when σ ≥ σ_AGM(β, ε, δ), the
analytic Gaussian mechanism's scale (Balle & Wang, ICML 2018, Theorem 8; valid for every ε > 0).

Requirements checked: ‖xᵢ‖ ≤ 1 for every training row (UnitBallScaler rescales, optionally with a
constant column standing in for the intercept), fit_intercept=False (an unpenalised intercept breaks
both the strong convexity and, with objective noise, the existence of the perturbed minimiser),
logistic loss (γ = 1/4 ≥ max|ℓ'''| = 1/(6√3)), s(1 + ε) ≥ 0, ε > 0, 0 < δ < 1. Certified
computations run in float64: the bound is for exact arithmetic and float32 rounding of θ alone can
exceed it. The guarantee is per released model, as in Guo et al.; releasing several models (before and
after a removal) composes like any pair of private releases.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_ndtr

from .. import _core, _solver_choice
from .._validation import as_labels, as_matrix, as_sample_weight, as_vector, check_n_threads, check_positive
from ..linear_model import LogisticRegression, check_model

GAMMA_LOGISTIC = 0.25  # Guo et al.'s Lipschitz constant of ℓ'' for the logistic loss
GAMMA_EXACT = 1.0 / (6.0 * math.sqrt(3.0))  # max|ℓ'''|: the smallest valid γ
_GAMMA_MIN = GAMMA_EXACT
NOISES = ("objective", "output")
POLICIES = ("retrain", "raise", "flag")


class BudgetExceededError(RuntimeError):
    """A removal would take the accumulated gradient-residual bound past the budget the noise covers."""


# ---- noise calibration ---------------------------------------------------------------------------
def check_privacy(epsilon, delta):
    """Validate (ε, δ): ε > 0 finite, 0 < δ < 1."""
    eps = check_positive(epsilon, "epsilon")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (0.0 < float(delta) < 1.0):
        raise ValueError(f"delta: expected a number in (0, 1), got {delta!r}")
    return eps, float(delta)


def guo_c(delta) -> float:
    """c = √(2 ln(1.5/δ)), from Guo et al.'s δ = 1.5·e^{−c²/2} (Theorem 3(ii))."""
    _, d = check_privacy(1.0, delta)
    return math.sqrt(2.0 * math.log(1.5 / d))


def analytic_gaussian_sigma(sensitivity, epsilon, delta) -> float:
    """Smallest σ with Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ) ≤ δ: N(μ, σ²I) and N(μ', σ²I) with
    ‖μ − μ'‖ ≤ Δ are then (ε, δ)-indistinguishable (Balle & Wang 2018, Theorem 8; any ε > 0)."""
    eps, d = check_privacy(epsilon, delta)
    if isinstance(sensitivity, bool) or not isinstance(sensitivity, numbers.Real) or not float(sensitivity) >= 0:
        raise ValueError(f"sensitivity: expected a number ≥ 0, got {sensitivity!r}")
    if sensitivity == 0:
        return 0.0

    def excess(s):  # δ(σ) − δ for Δ = 1; decreasing in σ
        a, b = 0.5 / s - eps * s, -0.5 / s - eps * s
        return math.exp(log_ndtr(a)) - math.exp(eps + log_ndtr(b)) - d

    lo, hi = 1e-12, 1.0
    while excess(hi) > 0:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if excess(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return float(sensitivity) * hi


def noise_multiplier(noise, epsilon, delta) -> float:
    """k with σ = k · budget.

    Output perturbation: σ_AGM(1, ε, δ). Objective perturbation: Guo's c/ε, but never below σ_AGM(1, ε, δ):
    Guo's proof compares the noise densities at b and b − u with ‖u‖ ≤ budget, i.e. two Gaussians at distance
    ≤ budget, for which σ_AGM is the exact (necessary and sufficient) scale. c/ε exceeds it for ε ≲ 5
    (δ = 1e-4: 4.39 vs 3.19 at ε = 1) and falls below it for large ε (0.439 vs 0.455 at ε = 10), where
    Guo's formula, derived in the small-ε style of the classical Gaussian mechanism, would be too small."""
    eps, d = check_privacy(epsilon, delta)
    if noise == "objective":
        return max(guo_c(d) / eps, analytic_gaussian_sigma(1.0, eps, d))
    if noise == "output":
        return analytic_gaussian_sigma(1.0, eps, d)
    raise ValueError(f"noise: expected one of {NOISES}, got {noise!r}")


# ---- the theory's requirements --------------------------------------------------------------------
def row_norms2(X) -> np.ndarray:
    """‖xᵢ‖₂² of every row, in float64, for a dense array or a scipy.sparse matrix (never densified)."""
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
    return np.einsum("ij,ij->i", X, X, dtype=np.float64)


def check_unit_ball(X, name="X", tol=1e-9):
    """Raise unless every row has ‖xᵢ‖₂ ≤ 1 (+ tol for rounding)."""
    norms = np.sqrt(row_norms2(X))
    i = int(np.argmax(norms))
    if norms[i] > 1.0 + tol:
        raise ValueError(
            f"{name}: certified removal needs ‖xᵢ‖₂ ≤ 1 for every row, row {i} has norm "
            f"{norms[i]:.4g}; rescale with softunlearn.methods.certified.UnitBallScaler (and raise C by "
            "the square of its scale to keep the same regularisation)"
        )


def _check_model_kind(model, name="model"):
    if not isinstance(model, LogisticRegression):
        raise TypeError(
            f"{name}: certified removal is implemented for the logistic loss (γ = 1/4); got {type(model).__name__}"
        )
    if model.fit_intercept:
        raise ValueError(
            f"{name}: certified removal needs fit_intercept=False (Guo et al. have no unpenalised "
            "intercept); use UnitBallScaler(add_constant=True) for a penalised constant feature"
        )


class UnitBallScaler:
    """Divide rows by one scale k so that every training row has ‖x‖₂ ≤ 1 (Guo's assumption).

    ``add_constant=True`` first appends a constant column (value ``constant``) that plays the intercept's
    role inside the norm bound (its weight is then penalised like the others). Fit on the training data
    and apply the same k to validation and test rows (their norms may exceed 1; only training rows
    matter). Scaling x by 1/k is the same model as keeping x with C/k²: use C·k² on scaled data to keep
    the unscaled model's regularisation (``scale_`` is k)."""

    def __init__(self, add_constant=False, constant=1.0):
        self.add_constant = add_constant
        self.constant = constant

    def _augment(self, X):
        X = as_matrix(X, "X", dtype=np.float64)
        if self.add_constant:
            column = np.full((X.shape[0], 1), float(self.constant))
            X = sp.hstack([X, column], format="csr") if sp.issparse(X) else np.hstack([X, column])
        return X

    def fit(self, X, y=None):
        Xa = self._augment(X)
        self.scale_ = float(np.sqrt(row_norms2(Xa).max()))
        if self.scale_ == 0:
            self.scale_ = 1.0
        return self

    def transform(self, X):
        if not hasattr(self, "scale_"):
            raise ValueError("UnitBallScaler: call fit(X) first")
        return self._augment(X) / self.scale_

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)


# ---- the Newton step and its residual bound -------------------------------------------------------
@dataclass
class NewtonStep:
    """θ⁻ = θ − H'⁻¹ X̃ᵀ(ε_step ⊙ r) and the parts of its gradient-residual bound (J's scale).

    ``bound = bias + remainder`` bounds ‖∇J_b(θ⁻; D') − ∇J_b(θ; D)‖: add the residual θ had."""

    theta: np.ndarray
    remainder: float  # γ ‖A‖₂ ‖v‖ ‖Av‖
    bias: float  # ‖X̃ᵀ((ε − ε_step) ⊙ r)‖, zero for Guo's update
    start_residual: float  # ‖∇J(θ; D)‖ without any bᵀθ term
    norm_A: float
    step_norm: float
    sample_weight: np.ndarray  # s' = s(1 + ε)

    @property
    def bound(self) -> float:
        return self.bias + self.remainder


def newton_step(
    theta, X, y, eps, *, C, sample_weight=None, step_eps=None, gamma=GAMMA_LOGISTIC, bound="guo", n_threads=0
) -> NewtonStep:
    """Guo's Newton removal generalised to weights s → s(1 + ε); ``step_eps`` (default ε) lets the step use
    other weights than the data it targets (DVWU). Float64, no intercept, ‖xᵢ‖ ≤ 1 checked.

    ``bound="guo"``: remainder γ‖A‖₂‖v‖‖Av‖ (Guo's Corollary 1). ``bound="taylor"``: (γ/2)‖A‖₂‖Xv‖_∞‖Av‖,
    from the integral form of Taylor's theorem, |ℓ'(z+t) − ℓ'(z) − ℓ''(z)t| ≤ γt²/2, and |xᵢᵀv| ≤ ‖Xv‖_∞
    instead of ‖v‖; also an upper bound, 2‖v‖/‖Xv‖_∞ ≥ 2 times smaller (use with gamma=1/(6√3), the
    exact constant, for the tightest valid bound)."""
    X = as_matrix(X, "X", dtype=np.float64)
    check_unit_ball(X)
    n, d = X.shape
    th = np.ascontiguousarray(np.asarray(theta, dtype=np.float64).reshape(-1))
    if th.shape != (d,):
        raise ValueError(f"theta: expected {d} values (no intercept), got shape {np.shape(theta)}")
    yc = as_labels(y, n, np.float64)
    s = as_sample_weight(sample_weight, n, np.float64)
    s = s if s.size else np.ones(n)
    e = as_vector(eps, n, "eps", np.float64)
    es = e if step_eps is None else as_vector(step_eps, n, "step_eps", np.float64)
    C = check_positive(C, "C")
    g = float(gamma)
    if not g >= _GAMMA_MIN:
        raise ValueError(f"gamma: must be ≥ {_GAMMA_MIN:.4f} = max|ℓ'''| of the logistic loss, got {gamma!r}")
    if bound not in ("guo", "taylor"):
        raise ValueError(f"bound: expected 'guo' or 'taylor', got {bound!r}")
    s_new = s * (1.0 + e)
    if (s_new < 0).any():
        raise ValueError("eps: the new sample weights s(1 + ε) must be ≥ 0 (ε ≥ −1) for the residual bound")
    nt = check_n_threads(n_threads)
    moved = np.flatnonzero((e != 0) | (es != 0))
    XM = X[moved]
    rM = C * s[moved] * (expit(XM @ th) - yc[moved])
    g_target = XM.T @ (e[moved] * rM)
    g_step = XM.T @ (es[moved] * rM)
    res = _core.loss_pass(X, yc, s_new, th, C, False, True, False, False, nt, _core.Loss.logistic, 0.0)
    v = -_core.Cholesky_f64(np.asfortranarray(res["hessian"])).solve(np.asfortranarray(g_step[:, None]))[:, 0]
    G = _core.weighted_gram(X, C * s_new, False, nt)
    lam = float(np.linalg.eigvalsh(G)[-1])
    norm_A = math.sqrt(max(lam, 0.0)) * (1 + 1e-10)  # eigvalsh is backward stable; keep the bound an upper bound
    Av = math.sqrt(max(float(v @ (G @ v)), 0.0)) * (1 + 1e-10)
    vn = float(np.linalg.norm(v))
    remainder = g * norm_A * vn * Av if bound == "guo" else 0.5 * g * norm_A * float(np.abs(X @ v).max()) * Av
    return NewtonStep(
        theta=th + v,
        remainder=remainder * (1 + 1e-10),
        bias=float(np.linalg.norm(g_target - g_step)),
        start_residual=float(np.linalg.norm(res["grad"] - g_target)),
        norm_A=norm_A,
        step_norm=vn,
        sample_weight=s_new,
    )


# ---- a model trained for certified removal --------------------------------------------------------
class CertifiedLogisticRegression(LogisticRegression):
    """Logistic regression trained for certified removal (Guo et al. 2020); see the module docstring.

    ``J_b(θ) = ½‖θ‖² + C Σᵢ sᵢ ℓᵢ + bᵀθ`` with b ~ N(0, σ²I) (``noise="objective"``, Guo's mechanism),
    or plain J with the released model θ + ξ, ξ ~ N(0, σ²I) (``noise="output"``).

    Parameters
    ----------
    C : inverse regularisation (Guo's λ = 1/(Cn)).
    epsilon, delta : the (ε, δ) of the certificate; ε > 0, 0 < δ < 1.
    sigma : noise standard deviation in J's scale (Guo's σ times C). Give ``sigma`` or ``budget``.
    budget : gradient-residual budget ε' the noise covers; σ = k·budget with k = max(c/ε, σ_AGM(1, ε, δ))
        (objective, c = √(2 ln(1.5/δ))) or k = σ_AGM(1, ε, δ) (output); see noise_multiplier.
    noise : "objective" or "output".
    policy : what a removal that would exceed the budget does: "retrain" (exact refit on the remaining
        data with fresh noise), "raise" (BudgetExceededError) or "flag" (uncertified model, ``certified_``
        False, ``needs_retrain_`` True).
    gamma : Lipschitz constant of ℓ'' used in the bound (≥ 1/(6√3); Guo's 1/4 by default).
    bound : "guo" (Corollary 1) or "taylor" (tighter, see newton_step).
    random_state : seed or numpy Generator for the noise.
    fit_intercept : must be False.

    Attributes
    ----------
    sigma_, budget_, multiplier_ (k), b_ (objective noise), beta_ (accumulated residual bound),
    last_bound_, n_updates_, certified_, needs_retrain_, retrained_.
    """

    def __init__(
        self,
        C=1.0,
        epsilon=1.0,
        delta=1e-4,
        *,
        sigma=None,
        budget=None,
        noise="objective",
        policy="retrain",
        gamma=GAMMA_LOGISTIC,
        bound="guo",
        random_state=None,
        fit_intercept=False,
        tol=None,
        max_iter=100,
        n_threads=None,
    ):
        super().__init__(C=C, fit_intercept=fit_intercept, tol=tol, max_iter=max_iter, n_threads=n_threads)
        self.epsilon = epsilon
        self.delta = delta
        self.sigma = sigma
        self.budget = budget
        self.noise = noise
        self.policy = policy
        self.gamma = gamma
        self.bound = bound
        self.random_state = random_state

    def _check_params(self):
        _check_model_kind(self)
        eps, dl = check_privacy(self.epsilon, self.delta)
        if self.policy not in POLICIES:
            raise ValueError(f"policy: expected one of {POLICIES}, got {self.policy!r}")
        if not float(self.gamma) >= _GAMMA_MIN:
            raise ValueError(f"gamma: must be ≥ {_GAMMA_MIN:.4f} = max|ℓ'''| of the logistic loss, got {self.gamma!r}")
        if self.bound not in ("guo", "taylor"):
            raise ValueError(f"bound: expected 'guo' or 'taylor', got {self.bound!r}")
        k = noise_multiplier(self.noise, eps, dl)
        if (self.sigma is None) == (self.budget is None):
            raise ValueError(
                "sigma, budget: give exactly one (the noise scale, or the gradient-residual budget it must cover)"
            )
        if self.sigma is not None:
            sigma = check_positive(self.sigma, "sigma")
            return k, sigma, sigma / k
        budget = check_positive(self.budget, "budget")
        return k, k * budget, budget

    # No warm start (theta0): every certified fit starts from fresh noise, so the signature is narrower
    # than LogisticRegression.fit's.
    def fit(self, X, y, sample_weight=None):  # type: ignore[override]
        """Fit with fresh noise; ‖xᵢ‖ ≤ 1 is required. Float64 throughout."""
        self.multiplier_, self.sigma_, self.budget_ = self._check_params()
        Xc = as_matrix(X, "X", dtype=np.float64)
        check_unit_ball(Xc)
        p = Xc.shape[1] + bool(self.fit_intercept)
        if _solver_choice.fit_hessian_free(p, np.float64, check_n_threads(self.n_threads)):
            # Every certified update solves with the dense Hessian and bounds its residual by the Gram's norm.
            raise ValueError(
                f"{type(self).__name__}: certified updates need the dense Hessian, and this problem "
                f"({p} parameters) would be fitted Hessian-free for lack of memory; use fewer features"
            )
        self._rng = np.random.default_rng(self.random_state)
        self._train(Xc, y, sample_weight, None)
        self.n_updates_ = 0
        self.last_bound_ = 0.0
        self.certified_, self.needs_retrain_, self.retrained_ = True, False, False
        return self

    def _train(self, X, y, sample_weight, theta0, classes=None):
        p = X.shape[1]
        if self.noise == "objective":
            self.b_ = self._rng.normal(0.0, self.sigma_, p)
            LogisticRegression._fit(self, X, y, sample_weight, theta0=theta0, linear=self.b_, classes=classes)
            self.beta_ = float(np.linalg.norm(self._fit_gradient() + self.b_))
            self.theta_exact_ = self.theta_
        else:
            self.b_ = None
            LogisticRegression._fit(self, X, y, sample_weight, theta0=theta0, classes=classes)
            self.beta_ = float(np.linalg.norm(self._fit_gradient()))
            self.theta_exact_ = self.theta_
            self._release(self.theta_exact_)

    def _fit_gradient(self) -> np.ndarray:
        """∇J at the fitted θ (without the bᵀθ term), as the Newton fit left it."""
        return self._fit_cache.grad

    def _release(self, theta):
        out = theta if self.noise == "objective" else theta + self._rng.normal(0.0, self.sigma_, theta.shape[0])
        self._set_theta(out, theta.shape[0])

    def remove(self, X, y, idx, sample_weight=None, *, weights=None):
        """Certified removal of rows ``idx`` of the data (X, y, sample_weight) the model currently stands for.

        ``weights`` (one per removed row, default ones = Guo's update) scale each removed sample's step
        (DVWU; see softunlearn.methods.dvwu). Returns a new model for the remaining data; pass X without those rows
        (or sample weights with zeros there) to the next call."""
        Xc = as_matrix(X, "X", dtype=np.float64)
        n = Xc.shape[0]
        idx = _as_index(idx, n)
        eps = np.zeros(n)
        eps[idx] = -1.0
        step = None
        if weights is not None:
            w = as_vector(weights, idx.size, "weights", np.float64)
            step = np.zeros(n)
            step[idx] = -w
        return self.reweight(Xc, y, eps, sample_weight, step_eps=step)

    def reweight(self, X, y, eps, sample_weight=None, *, step_eps=None):
        """Certified change of sample weights s → s(1 + ε) (ε = −1 deletes): Newton step on J_b(·; s'),
        β += its bound, then the policy if β exceeds the budget. Returns a new model."""
        self._check_fitted()
        if not hasattr(self, "beta_"):
            raise ValueError("model: not fitted by CertifiedLogisticRegression.fit")
        step = newton_step(
            self.theta_exact_,
            X,
            self._encode_y(y, None),
            eps,
            C=self.C,
            sample_weight=sample_weight,
            step_eps=step_eps,
            gamma=self.gamma,
            bound=self.bound,
            n_threads=check_n_threads(self.n_threads),
        )
        new = copy.copy(self)
        new.n_updates_ = self.n_updates_ + 1
        new.last_bound_ = step.bound
        new.last_step_ = step
        beta = self.beta_ + step.bound
        new.retrained_ = False
        if beta <= self.budget_:
            new.beta_, new.certified_, new.needs_retrain_ = beta, True, False
            new.theta_exact_ = step.theta
            new._release(step.theta)
            return new
        msg = (
            f"accumulated gradient-residual bound β = {beta:.4g} exceeds the budget {self.budget_:.4g} that "
            f"σ = {self.sigma_:.4g} covers at (ε, δ) = ({self.epsilon:g}, {self.delta:g})"
        )
        if self.policy == "raise":
            raise BudgetExceededError(msg + "; retrain on the remaining data (policy='retrain' does it)")
        if self.policy == "flag":
            new.beta_, new.certified_, new.needs_retrain_ = beta, False, True
            new.theta_exact_ = step.theta
            new._release(step.theta)
            return new
        new._train(as_matrix(X, "X", dtype=np.float64), y, step.sample_weight, self.theta_exact_, self.classes_)
        new.certified_, new.needs_retrain_, new.retrained_ = True, False, True
        return new

    def objective(self, X, y, sample_weight=None) -> float:
        """J_b(θ) = ½‖w‖² + C Σᵢ sᵢ ℓᵢ + bᵀθ (b = 0 with output noise)."""
        extra = float(self.b_ @ self.theta_) if getattr(self, "b_", None) is not None else 0.0
        return super().objective(X, y, sample_weight) + extra


def _as_index(idx, n):
    a = np.asarray(idx)
    if a.dtype == bool:
        if a.shape != (n,):
            raise ValueError(f"idx: a boolean mask needs length {n}, got shape {a.shape}")
        a = np.flatnonzero(a)
    if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"idx: expected integer indices or a boolean mask, got dtype {a.dtype}, shape {a.shape}")
    if a.size and (a.min() < -n or a.max() >= n):
        raise ValueError(f"idx: indices must lie in [0, {n}), got range [{a.min()}, {a.max()}]")
    a = np.unique(a % n if a.size else a.astype(np.int64))
    return a


# ---- certified update of any fitted no-intercept logistic model (the method registry's entry) ---------
def certified_update(
    model,
    X,
    y,
    eps,
    *,
    sample_weight=None,
    epsilon=None,
    delta=None,
    sigma=None,
    budget=None,
    policy=None,
    gamma=None,
    bound=None,
    step_eps=None,
    random_state=None,
):
    """Certified soft-weight change s → s(1 + ε) of a fitted model.

    A :class:`CertifiedLogisticRegression` uses its own noise, (ε, δ), budget and policy (do not pass them).
    Defaults for other models: ε = 1, δ = 1e-5, policy "retrain", γ = 1/4, bound "guo".
    Any other fitted ``LogisticRegression(fit_intercept=False)`` on rows with ‖x‖ ≤ 1 is updated by the
    Newton step and released with *output* noise ξ ~ N(0, σ²I), σ = σ_AGM(β, ε, δ), where β is the model's
    own gradient norm plus the step's bound. With neither ``sigma`` nor ``budget`` the noise is calibrated
    to this request's β: the guarantee then holds for this request against an exact refit released with
    the same σ, but σ itself depends on the data changed (fix ``sigma`` in advance for Guo's setting).
    The result has ``certificate_``: epsilon, delta, noise, sigma, budget, beta, bound, certified, retrained.
    """
    if isinstance(model, CertifiedLogisticRegression):
        if any(v is not None for v in (epsilon, delta, sigma, budget, policy, gamma, bound, random_state)):
            raise ValueError(
                "epsilon, delta, sigma, budget, policy, gamma, bound, random_state: a "
                "CertifiedLogisticRegression carries its own; set them on the model"
            )
        new = model.reweight(X, y, eps, sample_weight, step_eps=step_eps)
        new.certificate_ = {
            "epsilon": model.epsilon,
            "delta": model.delta,
            "noise": model.noise,
            "sigma": model.sigma_,
            "budget": model.budget_,
            "beta": new.beta_,
            "bound": new.last_bound_,
            "certified": new.certified_,
            "retrained": new.retrained_,
        }
        return new
    model = check_model(model)
    _check_model_kind(model)
    eps_, dl = check_privacy(1.0 if epsilon is None else epsilon, 1e-5 if delta is None else delta)
    policy = "retrain" if policy is None else policy
    gamma = GAMMA_LOGISTIC if gamma is None else gamma
    bound = "guo" if bound is None else bound
    if policy not in POLICIES:
        raise ValueError(f"policy: expected one of {POLICIES}, got {policy!r}")
    if sigma is not None and budget is not None:
        raise ValueError("sigma, budget: give at most one")
    step = newton_step(
        model.theta_,
        X,
        model._encode_y(y, None),
        eps,
        C=model.C,
        sample_weight=sample_weight,
        step_eps=step_eps,
        gamma=gamma,
        bound=bound,
        n_threads=check_n_threads(model.n_threads),
    )
    beta = step.start_residual + step.bound
    k = noise_multiplier("output", eps_, dl)
    if sigma is not None:
        sig = check_positive(sigma, "sigma")
        bud = sig / k
    else:
        bud = beta if budget is None else check_positive(budget, "budget")
        sig = k * bud
    rng = np.random.default_rng(random_state)
    theta, certified, retrained = step.theta, True, False
    if beta > bud:
        msg = (
            f"gradient-residual bound β = {beta:.4g} exceeds the budget {bud:.4g} that σ = {sig:.4g} covers at "
            f"(ε, δ) = ({eps_:g}, {dl:g})"
        )
        if policy == "raise":
            raise BudgetExceededError(msg + "; refit instead (policy='retrain' does it)")
        if policy == "flag":
            certified = False
        else:
            from ..influence import refit

            theta = refit(model, as_matrix(X, "X", dtype=model.dtype), y, eps, sample_weight=sample_weight).theta_
            theta = theta.astype(np.float64)
            retrained = True
    out = model._with_theta((theta + rng.normal(0.0, sig, theta.shape[0])).astype(model.dtype))
    out.certificate_ = {
        "epsilon": eps_,
        "delta": dl,
        "noise": "output",
        "sigma": sig,
        "budget": bud,
        "beta": beta,
        "bound": step.bound,
        "certified": certified,
        "retrained": retrained,
    }
    return out

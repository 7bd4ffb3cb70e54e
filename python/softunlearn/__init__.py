"""softunlearn: soft-weighted machine unlearning for convex models.

Find which training samples cause a model's unfairness or brittleness (influence scores), choose a
continuous weight change for every sample (a convex QP with a closed form), and apply it without
retraining (a one-step Newton update) or with an exact warm-started refit.

Sign convention everywhere: ``scoreᵢ(f) = gᵢᵀ H⁻¹ ∇f`` is the first-order change of f when sample i is
deleted; a weight change ε (sᵢ → sᵢ(1 + εᵢ)) changes f by ≈ −εᵀ score(f).
"""
from . import _core, backend, methods, metrics, reference, targets
from ._core import NotPositiveDefiniteError
from .backend import available_backends
from .influence import Influence, newton_update, refit
from .linear_model import LogisticRegression
from .pipeline import SoftUnlearner
from .weights import hard_weights, soft_weights

__version__ = "0.1.0"

__all__ = [
    "Influence",
    "LogisticRegression",
    "NotPositiveDefiniteError",
    "SoftUnlearner",
    "available_backends",
    "backend",
    "hard_weights",
    "soft_weights",
    "methods",
    "metrics",
    "newton_update",
    "reference",
    "refit",
    "targets",
]

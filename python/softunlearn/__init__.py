"""softunlearn: soft-weighted machine unlearning for convex models.

Find which training samples cause a model's unfairness or brittleness (influence scores), choose a
continuous weight change for every sample (a convex QP with a closed form), and apply it without
retraining (a one-step Newton update) or with an exact warm-started refit.

Sign convention everywhere: ``scoreᵢ(f) = gᵢᵀ H⁻¹ ∇f`` is the first-order change of f when sample i is
deleted; a weight change ε (sᵢ → sᵢ(1 + εᵢ)) changes f by ≈ −εᵀ score(f).
"""

from ._runtime import load_core

_core = load_core()

from . import backend, errors, methods, metrics, targets  # noqa: E402
from .backend import available_backends  # noqa: E402
from .build_config import show_config  # noqa: E402
from .errors import InvalidParameterError, NonFiniteError, NotPositiveDefiniteError, SoftunlearnError  # noqa: E402
from .frontiers import Tradeoff, tradeoff  # noqa: E402
from .influence import Influence, newton_update, refit  # noqa: E402
from .linear_model import LinearSVC, LogisticRegression  # noqa: E402
from .methods import (  # noqa: E402
    CertifiedLogisticRegression,
    IteratedSoftWeights,
    certified_update,
    dvwu_update,
    finetune,
    gradient_ascent,
    iterated_soft_weights,
)
from .pipeline import SoftUnlearner  # noqa: E402
from .sklearn_interop import PipelineModel, from_sklearn, to_sklearn  # noqa: E402
from .weights import hard_weights, soft_weights  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CertifiedLogisticRegression",
    "certified_update",
    "dvwu_update",
    "Influence",
    "LinearSVC",
    "IteratedSoftWeights",
    "LogisticRegression",
    "InvalidParameterError",
    "NonFiniteError",
    "NotPositiveDefiniteError",
    "SoftunlearnError",
    "errors",
    "SoftUnlearner",
    "finetune",
    "gradient_ascent",
    "available_backends",
    "backend",
    "hard_weights",
    "iterated_soft_weights",
    "soft_weights",
    "methods",
    "metrics",
    "from_sklearn",
    "PipelineModel",
    "newton_update",
    "refit",
    "targets",
    "to_sklearn",
    "Tradeoff",
    "tradeoff",
    "show_config",
]


def __getattr__(name):
    # softunlearn.reference is the pure-NumPy test oracle and baseline: imported on first use only, and
    # not part of __all__ (``import softunlearn.reference`` or ``softunlearn.reference`` both work).
    if name == "reference":
        import importlib

        return importlib.import_module(f"{__name__}.reference")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

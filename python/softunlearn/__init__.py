"""softunlearn: soft-weighted machine unlearning for convex models."""
from . import _core

__version__ = "0.1.0"

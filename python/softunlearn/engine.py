"""Engines: the one object per (model, training data) through which every algorithm reaches the data.

An engine owns X, y, the sample weights s, the intercept flag, the loss and the thread count, and supplies
the passes over the data that the fit, :class:`~softunlearn.Influence` and the updates are written
against:

* ``loss_pass(theta, C, hessian=, r=, h=)``: J, ∇J and on request ∇²J, r = C s ⊙ ℓ'(z) or h = C s ⊙ ℓ''(z);
* ``predict(theta)`` (z = X̃θ), ``xtv(v)`` (X̃ᵀv), ``hessian_matvec(h, V)`` (X̃ᵀ(h ⊙ X̃V) + RV, the Hessian
  times V when h = C s ⊙ ℓ''), ``scores(U, r)`` (r ⊙ X̃U);
* ``fit(...)``: the damped Newton fit, ``cholesky(H)``, and (CPU) ``cg_solve``.

The Newton algorithm is written once, in the compiled core (``newton.hpp``): :class:`CpuEngine` runs it
natively on dense or CSR X, and every other engine through ``_core.fit_engine``, which calls back into the
engine's ``loss_pass`` (and ``line``, ``subsample``, ``cg_solve``) for each pass over the data.
:class:`CudaEngine` keeps dense X on the device; ``softunlearn.dask`` adds :class:`DaskEngine` for
dask arrays chunked along rows. Nothing outside this module branches on the backend.

A fit leaves a :class:`FitCache` (the Hessian at θ̂, weak references to the data): the model keeps it, and
``Influence`` asks it whether the pass its own engine makes at θ̂ confirms that Hessian for reuse.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from . import _core
from . import backend as _backend


class Engine:
    """What every engine shares: the data it owns, and the Newton fit driven through its passes.

    Subclasses supply ``loss_pass`` (and the other passes); the compiled Newton algorithm
    (``_core.fit_engine``) calls back into them, so every engine runs the same algorithm with the same
    constants. ``line`` (a full pass per trial), ``subsample`` (a copy of in-memory rows) and ``cg_solve`` (refused)
    have defaults a subclass may improve on.
    """

    name = ""

    def __init__(self, X, y, s, *, fit_intercept: bool, loss: tuple[int, float], n_threads: int):
        self.X, self.y, self.s = X, y, s
        self.fit_intercept = bool(fit_intercept)
        self.loss = loss
        self.n_threads = n_threads
        self.dtype = np.dtype(X.dtype)
        self.n_samples, self.n_features = (int(v) for v in X.shape)
        self.n_params = self.n_features + self.fit_intercept

    def regulariser(self) -> np.ndarray:
        """diag(R): 1 for every weight, 0 for the unpenalised intercept."""
        reg = np.ones(self.n_params, dtype=self.dtype)
        if self.fit_intercept:
            reg[-1] = 0
        return reg

    def weight_sum(self) -> float:
        """Σ sᵢ (n when there are no sample weights)."""
        return float(self.s.sum()) if self.s.size else float(self.n_samples)

    def abs_weight_sum(self) -> float:
        """Σ|sᵢ| (n when there are no sample weights): the stopping scale of gradient ascent, whose weights
        may be negative."""
        return float(np.abs(self.s).sum()) if self.s.size else float(self.n_samples)

    def feature_scale(self) -> float:
        """min(1, max|x̃ᵢⱼ|): the feature factor of the stopping scale (1 with an intercept column)."""
        if self.fit_intercept or self.n_samples * self.n_features == 0:
            return 1.0
        data = self.X.data if hasattr(self.X, "indptr") else self.X
        return min(1.0, float(np.abs(data).max())) if data.size else 0.0

    def line(self, theta, direction):
        """α ↦ Σ sᵢ ℓ(x̃ᵢᵀ(θ + α·dir)), the data loss along a Newton direction (the line search)."""
        t = self.dtype.type
        return lambda alpha: float(self.loss_pass(theta + t(alpha) * direction, 1.0)["loss"])

    def subsample(self, k: int, m: int):
        """An engine of the same kind on every k-th of the first k·m rows (the fit's warm start), or None to
        skip it; this default copies those rows of in-memory data (dense or CSR)."""
        rows = slice(0, k * m, k)
        X = self.X[rows]
        X = X.tocsr() if hasattr(X, "indptr") else np.ascontiguousarray(X)
        s = self.s[rows].copy() if self.s.size else self.s
        return type(self)(
            X, self.y[rows].copy(), s, fit_intercept=self.fit_intercept, loss=self.loss, n_threads=self.n_threads
        )

    def cg_solve(self, h, B, tol, max_iter):
        raise ValueError(f"solver: 'cg' runs on the CPU backend only, not on {self.name!r}; use solver='cholesky'")

    def _fit_args(self, theta0, C, tol, max_iter, subsample, linear, hessian_free, cg_budget) -> dict:
        """The keyword arguments of ``_core.fit`` / ``fit_engine`` in this engine's dtype."""
        lin = np.zeros(0, dtype=self.dtype) if linear is None else np.ascontiguousarray(linear, dtype=self.dtype)
        return dict(
            theta0=np.ascontiguousarray(theta0, dtype=self.dtype),
            C=self.dtype.type(C),
            tol=self.dtype.type(tol),
            max_iter=max_iter,
            subsample=subsample,
            linear=lin,
            hessian_free=hessian_free,
            cg_budget=cg_budget,
        )

    #: Whether a fit whose last step was a chord step assembles the Hessian at θ̂ for Influence to reuse.
    final_hessian = True

    def fit(self, theta0, C, tol, max_iter, *, subsample=0, linear=None, hessian_free=False, cg_budget=0):
        """The damped Newton fit (``_core.fit``'s algorithm) with this engine's passes: a ``_core.FitResult``."""
        args = self._fit_args(theta0, C, tol, max_iter, subsample, linear, hessian_free, cg_budget)
        return _core.fit_engine(self, **args, final_hessian=self.final_hessian)

    def loss_pass(self, theta, C, *, hessian=False, r=False, h=False) -> dict:
        raise NotImplementedError


class CpuEngine(Engine):
    """The compiled core on validated host arrays (X dense C-contiguous or CSR, y, s in X's dtype).

    Its fit runs natively (``_core.fit``): the same algorithm as :meth:`Engine.fit` without a call back
    into Python per pass; :meth:`Engine.fit` on it is the reference the other engines are tested against.
    """

    name = "cpu"

    def _data(self) -> dict:
        """The keyword arguments every compiled pass over the training data takes."""
        return {"X": self.X, "intercept": self.fit_intercept, "n_threads": self.n_threads}

    def _labelled(self) -> dict:
        return {**self._data(), "y": self.y, "s": self.s, "loss": self.loss[0], "loss_param": self.loss[1]}

    def fit(self, theta0, C, tol, max_iter, *, subsample=0, linear=None, hessian_free=False, cg_budget=0):
        args = self._fit_args(theta0, C, tol, max_iter, subsample, linear, hessian_free, cg_budget)
        return _core.fit(**self._labelled(), **args)

    def loss_pass(self, theta, C, *, hessian=False, r=False, h=False) -> dict:
        return _core.loss_pass(
            **self._labelled(), theta=theta, C=self.dtype.type(C), want_hessian=hessian, want_r=r, want_h=h
        )

    def predict(self, theta) -> np.ndarray:
        return _core.predict(**self._data(), theta=theta)

    def xtv(self, v) -> np.ndarray:
        return _core.xtv(**self._data(), v=v)

    def hessian_matvec(self, h, V) -> np.ndarray:
        return _core.hessian_matvec(**self._data(), h=h, reg=self.regulariser(), V=V)

    def scores(self, U, r) -> np.ndarray:
        return _core.scores(**self._data(), U=U, r=r)

    def cg_solve(self, h, B, tol, max_iter):
        return _core.cg_solve(
            **self._data(), h=h, reg=self.regulariser(), B=B, tol=self.dtype.type(tol), max_iter=max_iter
        )

    @staticmethod
    def cholesky(H):
        cls = _core.Cholesky_f32 if H.dtype == np.float32 else _core.Cholesky_f64
        return cls(np.asfortranarray(H))


class CudaEngine(Engine):
    """The CUDA extension: X, y, s copied to the device once (or streamed when X does not fit there).

    Its fit is :meth:`Engine.fit`: the compiled Newton algorithm on the host, every pass on the device.
    """

    name = "cuda"

    def __init__(self, X, y, s, *, fit_intercept: bool, loss: tuple[int, float], n_threads: int):
        super().__init__(X, y, s, fit_intercept=fit_intercept, loss=loss, n_threads=n_threads)
        self._dev = _backend.cuda_data(X, y, s, self.fit_intercept)

    def fit(self, theta0, C, tol, max_iter, *, subsample=0, linear=None, hessian_free=False, cg_budget=0):
        if linear is not None or hessian_free:
            raise ValueError("backend: 'cuda' fits with a dense Hessian and no bᵀθ term; use backend='cpu'")
        return super().fit(theta0, C, tol, max_iter, subsample=subsample)

    def loss_pass(self, theta, C, *, hessian=False, r=False, h=False) -> dict:
        return self._dev.loss_pass(theta, self.dtype.type(C), hessian, r, h, int(self.loss[0]))

    def predict(self, theta) -> np.ndarray:
        return self._dev.predict(theta)

    def xtv(self, v) -> np.ndarray:
        return self._dev.xtv(v)

    def hessian_matvec(self, h, V) -> np.ndarray:
        # X̃ᵀ(h ⊙ X̃V) + RV column by column: the device has no fused kernel for it.
        V = np.asarray(V).reshape(self.n_params, -1)
        out = np.column_stack([self.xtv(h * self.predict(np.ascontiguousarray(V[:, j]))) for j in range(V.shape[1])])
        return (out + self.regulariser()[:, None] * V).astype(self.dtype)

    def scores(self, U, r) -> np.ndarray:
        return self._dev.scores(U, r)

    @staticmethod
    def cholesky(H):
        return _backend.cuda_cholesky(H)


def _ref(obj) -> weakref.ref | None:
    try:
        return weakref.ref(obj)
    except TypeError:
        return None


@dataclass
class FitCache:
    """What a Newton fit leaves behind for :class:`~softunlearn.Influence`: the Hessian at θ̂ and the data it
    was computed on. A model keeps it from its last fit; an engine of the same data reuses the Hessian.

    `Influence` reuses the Hessian only when it is given the very same array objects, the gradient it
    recomputes at θ̂ (a pass it needs anyway) matches, and a Hessian-vector product with a random probe
    recomputed from the data (two O(np) passes instead of an O(np²) assembly) matches H·probe: an array
    changed in place would have to keep both the gradient and H·v for a random v to be missed."""

    theta: np.ndarray  # where the Hessian was taken: a model with another θ (an update, released noise) misses
    hessian: np.ndarray | None  # None after a Hessian-free fit: Influence assembles it
    grad: np.ndarray  # ∇J at θ without a bᵀθ term (the function Influence recomputes)
    grad_scale: float
    refs: tuple  # weak references to the caller's (X, y, sample_weight): the cache never keeps data alive
    probe: np.ndarray  # random v; H v is recomputed from the data to detect arrays changed in place

    @classmethod
    def of(cls, result, data, linear=None) -> FitCache:
        """From a fit's ``_core.FitResult`` on the caller's arrays ``data`` = (X, y, sample_weight), with
        ``linear`` the b of a bᵀθ term the fit included (removed from the cached gradient)."""
        dt = result.theta.dtype
        grad = result.grad if linear is None else result.grad - np.ascontiguousarray(linear, dtype=dt)
        refs = tuple(None if a is None else _ref(a) for a in data)
        probe = np.random.default_rng().standard_normal(result.theta.shape[0]).astype(dt)
        return cls(np.array(result.theta), result.hessian, grad, float(result.grad_scale), refs, probe)

    def matches(self, theta, X, y, sample_weight) -> bool:
        """Whether a Hessian is cached, taken at this θ on these very array objects."""
        if self.hessian is None or not np.array_equal(theta, self.theta):
            return False
        for r, obj in zip(self.refs, (X, y, sample_weight)):
            if r is None:
                if obj is not None:
                    return False
            elif r() is not obj:
                return False
        return True

    def confirmed(self, engine, grad, h) -> bool:
        """Whether the pass at θ̂ over ``engine``'s data agrees with the fit: ∇J within rounding of the
        cached one, and H·probe recomputed from h (= C s ⊙ ℓ'') equal to the cached Hessian's."""
        H = self.hessian
        if H is None:
            return False
        eps = np.finfo(H.dtype).eps
        if not np.max(np.abs(grad - self.grad)) <= 1e3 * eps * self.grad_scale:
            return False
        v = self.probe
        Hv = engine.hessian_matvec(h, v.reshape(-1, 1))[:, 0]
        ref = H @ v
        tol = 1e3 * eps * (np.abs(H) @ np.abs(v)).max()
        return bool(np.max(np.abs(Hv - ref)) <= tol)


def make_engine(backend: str, X, y, s, *, fit_intercept: bool, loss: tuple[int, float], n_threads: int):
    """The engine of a resolved backend ("cpu", "cuda", or "dask" for validated dask arrays) on validated data."""
    if backend == "dask":
        from .dask_engine import DaskEngine

        return DaskEngine(X, y, s, fit_intercept=fit_intercept, loss=loss, n_threads=n_threads)
    cls = CudaEngine if backend == "cuda" else CpuEngine
    return cls(X, y, s, fit_intercept=fit_intercept, loss=loss, n_threads=n_threads)

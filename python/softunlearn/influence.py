"""Influence of training samples and the unlearning updates built on it.

Sign convention (removal): ``scoreᵢ(f) = gᵢᵀ H⁻¹ ∇f(θ̂)`` with gᵢ = rᵢ x̃ᵢ, rᵢ = C sᵢ ℓ'(zᵢ, yᵢ)
(for logistic regression ℓ' = p − y), is the first-order change of f when sample i is deleted. The
Koh–Liang up-weighting influence is −score. Weight changes ε (sample weight sᵢ → sᵢ(1 + εᵢ)) move θ by
≈ −H⁻¹ X̃ᵀ(ε ⊙ r) and f by ≈ −εᵀ score(f).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from . import backend as _backend
from ._solver_choice import auto_solver, available_memory, check_dense_memory, dense_hessian_bytes  # noqa: F401 (public here too)
from ._validation import (
    as_sample_weight,
    as_vector,
    check_bool,
    check_choice,
    check_int,
    check_n_threads,
    check_positive,
    is_dask,
    is_sparse,
)
from .engine import make_engine
from .errors import NonFiniteError
from .linear_model import check_model
from .targets import Target, as_target, checked_gradient


class Influence:
    """Hessian of a fitted model at θ̂, factorised once, and everything computed from it.

    Parameters
    ----------
    model : fitted softunlearn model.
    X, y, sample_weight : the training data the model was fitted on. X may be a scipy.sparse matrix
        (CSR is used as is; other formats are converted to CSR once); it is never densified, and the
        CG path never forms the p×p Hessian either.
    solver : "auto", "cholesky" or "cg". "auto" (:func:`auto_solver`) takes Cholesky up to 4,000
        parameters and CG beyond, and CG also when the dense path, (threads + 2)·p² numbers, would
        take more than half of the available memory.
    cg_tol : relative residual ‖G − HU‖/‖G‖ at which CG stops, per target (default 1e-10 in float64,
        1e-5 in float32). How it bounds the score error: the error of U = H⁻¹G obeys
        ‖U − U*‖ ≤ ‖H⁻¹‖·‖G − HU‖ ≤ cg_tol·‖G‖/λ_min(H), and scoreᵢ = rᵢ x̃ᵢᵀU, so
        |Δscoreᵢ| ≤ |rᵢ|·‖x̃ᵢ‖·cg_tol·‖G‖/λ_min(H); relative to ‖U*‖ the error is at most κ(H)·cg_tol.
        Without an intercept λ_min(H) ≥ 1 (the L2 term), so the bound holds with λ_min = 1. Practical
        rule: for scores accurate to a relative ρ, take cg_tol ≈ ρ/κ(H); ``cg_info["condition_estimate"]``
        reports an estimate of κ of the preconditioned system from the CG run itself.
    cg_max_iter : CG iteration cap (default 10·n_params, at least 100).
    reuse_hessian : reuse the Hessian the fit computed at θ̂ when X, y, sample_weight are the same objects
        and the recomputed gradient confirms it (one pass over X instead of a Hessian assembly).
    backend : "auto", "cpu" or "cuda" (see :mod:`softunlearn.backend`). On "cuda" the passes over X, the
        Cholesky factorisation and the solves run on the GPU, X stays on the device while this object
        lives, and the solver is always Cholesky ("cg" is CPU-only; "auto" then picks the CPU).

    Attributes
    ----------
    r : (n,) per-sample gradient scale, gᵢ = rᵢ x̃ᵢ.
    hessian : (p, p) ∇²J(θ̂) (assembled on first access in CG mode).
    grad_norm : ‖∇J(θ̂)‖_∞ on this data: near zero when θ̂ is the optimum the influence assumes.
    cg_info : after a CG solve, per target column: "iterations", "residuals" (final ‖G − HU‖/‖G‖) and
        "condition_estimate" (κ of the Jacobi-preconditioned H from the run's Lanczos coefficients; a
        lower estimate). None in Cholesky mode.
    """

    def __init__(
        self,
        model,
        X,
        y,
        sample_weight=None,
        *,
        solver: str = "auto",
        cg_tol=None,
        cg_max_iter=None,
        reuse_hessian: bool = True,
        n_threads=None,
        backend="auto",
    ):
        self.model = check_model(model)
        solver = check_choice(solver, "solver", ("auto", "cholesky", "cg"))
        reuse_hessian = check_bool(reuse_hessian, "reuse_hessian")
        dt = self.model.dtype
        eps_dt = float(np.finfo(dt).eps)
        if cg_tol is not None and not (eps_dt <= check_positive(cg_tol, "cg_tol") < 1):
            # Below the working precision the recursive residual no longer tracks the true one.
            raise ValueError(
                f"cg_tol: expected a number in [{eps_dt:.3g}, 1) (the {dt.name} machine epsilon "
                f"or above), got {cg_tol!r}"
            )
        if cg_max_iter is not None:
            cg_max_iter = check_int(cg_max_iter, "cg_max_iter", 1)
        self._dask = is_dask(X)
        if self._dask:
            from .dask_engine import dask_threads

            self._nt = dask_threads(model.n_threads if n_threads is None else n_threads)
            self._dask_data(X, y, sample_weight, solver, backend)
            solver = "cholesky"
        else:
            self._nt = check_n_threads(model.n_threads if n_threads is None else n_threads)
            self.X = self.model._as_X(X)
            n = self.X.shape[0]
            self.y = self.model._encode_y(y, n)
            self.sample_weight = as_sample_weight(sample_weight, n, dt)
            if self.sample_weight.size and not self.sample_weight.any():
                raise ValueError("sample_weight: all sample weights are zero; the training objective has no data term")
            self.n_samples, self.n_params = n, self.model.theta_.shape[0]
            # CG is CPU-only, so with solver="cg" "auto" means the CPU; so does a sparse X (the device kernels
            # are dense) and a problem too large for a dense Hessian.
            cpu_only = (
                solver == "cg"
                or is_sparse(self.X)
                or (solver == "auto" and auto_solver(self.n_params, dt, self._nt) == "cg")
            )
            if backend == "cuda" and is_sparse(self.X):
                raise ValueError("backend: 'cuda' needs a dense X; scipy.sparse input runs on backend='cpu'")
            self.backend = _backend.resolve(
                "cpu" if cpu_only and backend == "auto" else backend,
                n_samples=n,
                n_params=self.n_params,
                loss_code=self.model._loss[0],
            )
            if self.backend == "cuda":
                if solver == "cg":
                    raise ValueError(
                        "solver: 'cg' runs on the CPU backend only; use solver='cholesky' or backend='cpu'"
                    )
                solver = "cholesky"
        self._engine = self._make_engine()
        self.solver = solver if solver != "auto" else auto_solver(self.n_params, dt, self._nt)
        if self.solver == "cholesky":
            check_dense_memory(self.n_params, dt, self._nt, "Influence")
        self.cg_tol = (1e-10 if dt == np.float64 else 1e-5) if cg_tol is None else check_positive(cg_tol, "cg_tol")
        self.cg_max_iter = max(100, 10 * self.n_params) if cg_max_iter is None else int(cg_max_iter)
        self.cg_info: dict[str, list] | None = None

        cache = getattr(self.model, "_fit_cache", None)
        reusable = (
            reuse_hessian
            and self.solver == "cholesky"
            and cache is not None
            and cache.matches(self.model.theta_, X, y, sample_weight)
        )
        want_h = self.solver == "cg" or reusable
        res = self._loss_pass(hessian=self.solver == "cholesky" and not reusable, r=True, h=want_h)
        # A non-finite rᵢ makes ∇J = X̃ᵀr + Rθ non-finite too; r itself is checked where it is in memory
        # (a lazy dask r would cost a pass to check).
        if not (
            (self._dask or np.isfinite(res["r"]).all())
            and np.isfinite(res["grad"]).all()
            and ("hessian" not in res or np.isfinite(res["hessian"]).all())
        ):
            raise NonFiniteError(
                "X: the loss, gradient or Hessian at θ̂ overflowed the working precision (X, "
                "sample_weight or C too large); rescale X, e.g. with StandardScaler"
            )
        self.r = res["r"]
        self._h = res.get("h")
        self.grad = res["grad"]
        self.grad_norm = float(np.max(np.abs(self.grad)))
        if reusable and cache is not None and not np.isfinite(cache.hessian).all():  # a fit stopped by max_iter=0
            raise NonFiniteError(
                "X: the Hessian at θ̂ overflowed the working precision (X, sample_weight or C too "
                "large); rescale X, e.g. with StandardScaler"
            )
        if reusable and cache is not None and cache.confirmed(self._engine, self.grad, res["h"]):
            self._hessian = cache.hessian
            self.reused_hessian = True
        else:
            self._hessian = res.get("hessian")
            self.reused_hessian = False
            if reusable:  # data changed in place since the fit: assemble afresh
                self._hessian = self._loss_pass(hessian=True)["hessian"]
        self._chol = None
        if self.solver == "cholesky":
            self._chol = self._engine.cholesky(self._hessian)

    def _dask_data(self, X, y, sample_weight, solver, backend):
        from .dask_engine import as_dask_matrix, dask_data

        if solver == "cg":
            raise ValueError("solver: 'cg' needs in-memory X; a dask X uses solver='cholesky' (a p×p Hessian)")
        if backend not in ("auto", "cpu"):
            raise ValueError(f"backend: dask arrays run on the workers' CPUs; got backend={backend!r}")
        Xd = as_dask_matrix(X, "X", dtype=self.model.dtype, n_features=self.model.n_features_in_)
        self.X, self.y, self.sample_weight = dask_data(
            Xd, y, sample_weight, dtype=self.model.dtype, classes=self.model.classes_
        )
        self.n_samples, self.n_params = int(self.X.shape[0]), self.model.theta_.shape[0]
        self.backend = "dask"

    def _make_engine(self):
        return make_engine(
            self.backend,
            self.X,
            self.y,
            self.sample_weight,
            fit_intercept=self.model.fit_intercept,
            loss=self.model._loss,
            n_threads=self._nt,
        )

    def __getstate__(self):
        # The engine (device buffers with backend="cuda") and the compiled factorisation are rebuilt on load
        # from the data and the stored Hessian, so pickle, deepcopy and joblib workers get an equal object.
        state = self.__dict__.copy()
        state.pop("_engine", None)
        state["_chol"] = None
        return state

    def __setstate__(self, state):
        state.setdefault("_dask", False)  # pickled before the Dask engine existed
        self.__dict__.update(state)
        self._engine = self._make_engine()
        if self.solver == "cholesky":
            self._chol = self._engine.cholesky(self._hessian)

    def _loss_pass(self, *, hessian=False, r=False, h=False) -> dict:
        """One fused pass over the training data at θ̂ (loss, ∇J, and ∇²J / r / h on request)."""
        return self._engine.loss_pass(self.model.theta_, self.model.C, hessian=hessian, r=r, h=h)

    def _xtv(self, v):
        return self._engine.xtv(v)

    # ---- linear algebra ------------------------------------------------------------------------
    @property
    def hessian(self) -> np.ndarray:
        if self._hessian is None:
            self._hessian = self._loss_pass(hessian=True)["hessian"]
        return self._hessian

    def solve(self, V) -> np.ndarray:
        """H⁻¹V for V of shape (p,) or (p, k)."""
        V = np.asarray(V)
        if V.dtype == object or not (np.issubdtype(V.dtype, np.number) or V.dtype == bool) or np.iscomplexobj(V):
            raise TypeError(f"V: expected a real numeric array, got dtype {V.dtype}")
        one = V.ndim == 1
        if V.ndim not in (1, 2) or V.shape[0] != self.n_params or V.size == 0:
            raise ValueError(f"V: expected shape ({self.n_params},) or ({self.n_params}, k) with k ≥ 1, got {V.shape}")
        B = np.asarray(V.reshape(self.n_params, -1), dtype=self.model.dtype, order="F")
        if not np.isfinite(B).all():
            raise ValueError("V: contains NaN or infinity")
        if self._chol is not None:
            U = self._chol.solve(B)
        else:
            # CG on columns of unit max-norm (the solve is linear): its residual sums neither underflow nor
            # overflow for right-hand sides of extreme magnitude (a 2-norm itself would underflow at 1e-300).
            norms = np.max(np.abs(B), axis=0)
            scale = np.where(norms > 0, norms, 1).astype(self.model.dtype)
            B = np.asfortranarray(B / scale)
            assert self._h is not None  # the CG solver always keeps the curvature weights h
            U, its, res, cond = self._engine.cg_solve(self._h, B, self.cg_tol, self.cg_max_iter)
            self.cg_info = {"iterations": list(its), "residuals": list(res), "condition_estimate": list(cond)}
            if max(res, default=0.0) > self.cg_tol:
                import warnings

                warnings.warn(
                    f"CG stopped at relative residual {max(res):.3g} > cg_tol={self.cg_tol:g} after "
                    f"{max(its)} iterations; raise cg_max_iter or use solver='cholesky'",
                    RuntimeWarning,
                    stacklevel=2,
                )
            with np.errstate(over="ignore"):
                U = U * scale
        if not np.isfinite(U).all():
            raise NonFiniteError("V: H⁻¹V overflows the working precision (V too large for this Hessian)")
        return U[:, 0] if one else U

    # ---- influence -----------------------------------------------------------------------------
    def scores(self, targets: Target | Sequence[Target]) -> np.ndarray:
        """Removal-convention scores: (n,) for one target, (n, k) for a list of k targets.

        One solve H U = [∇f₁ … ∇f_k] and one pass r ⊙ (X̃U) over the training data."""
        single = not isinstance(targets, (list, tuple)) or (
            isinstance(targets, tuple) and len(targets) == 2 and isinstance(targets[0], numbers.Real)
        )
        tlist = [targets] if single or not isinstance(targets, (list, tuple)) else list(targets)
        if not tlist:
            raise ValueError("targets: expected at least one target")
        G = np.column_stack([checked_gradient(_gradient(as_target(t), self.model), self.model) for t in tlist])
        return self.scores_from_gradients(G)[:, 0] if single else self.scores_from_gradients(G)

    def scores_from_gradients(self, G) -> np.ndarray:
        """Scores for target gradients given directly as the columns of G (p, k) (or one gradient (p,))."""
        try:
            U = np.asfortranarray(self.solve(G), dtype=self.model.dtype)
        except NonFiniteError:
            raise NonFiniteError(
                "targets: the scores overflowed the working precision (H⁻¹∇f is too large: a target "
                "gradient, C or X too large); rescale the target or the data"
            ) from None
        if U.ndim == 1:
            U = U.reshape(-1, 1)
        S = self._engine.scores(U, self.r)
        overflow = (
            "targets: the scores overflowed the working precision (a target gradient, C or X "
            "too large); rescale the target or the data"
        )
        if self._dask:  # checked chunk by chunk when S is computed: checking now would compute it twice
            from .dask_engine import checked_finite

            S = checked_finite(S, overflow)
        if not (np.isfinite(U).all() and (self._dask or np.isfinite(S).all())):
            raise NonFiniteError(overflow)
        return S

    def _eps(self, eps):
        """ε checked: a NumPy vector, or (a dask ε on a dask X) a dask array with X's row chunks."""
        if self._dask and is_dask(eps):
            from .dask_engine import finite_rows

            return finite_rows(eps, self.X, "eps")
        return as_vector(eps, self.n_samples, "eps", self.model.dtype)

    def _rows(self, v):
        """A per-sample vector aligned with the training rows (with X's row chunks on a dask X)."""
        if self._dask and not is_dask(v):
            from .dask_engine import as_dask_rows

            return as_dask_rows(v, self.X, "eps")
        return v

    def parameter_change(self, eps) -> np.ndarray:
        """First-order change of θ for weight changes ε: −H⁻¹ X̃ᵀ(ε ⊙ r)."""
        e = self._eps(eps)
        # The map is linear: an ε of subnormal size is solved as ε·2ᵏ (exact) and the result scaled back, so
        # X̃ᵀ(ε ⊙ r) does not lose its digits to underflow. A normal-sized ε is not touched.
        top = float(np.max(np.abs(e))) if e.size else 0.0
        dt = self.model.dtype
        k = -int(np.frexp(top)[1]) if 0 < top < np.finfo(dt).tiny / np.finfo(dt).eps else 0
        if k:
            e = np.ldexp(e, k).astype(dt)
        with np.errstate(over="ignore"):
            v = self._xtv(self._rows(e) * self.r)
        if not np.isfinite(v).all():
            raise NonFiniteError("eps: X̃ᵀ(ε ⊙ r) overflows the working precision; ε is too large")
        try:
            change = -self.solve(v)
        except NonFiniteError:
            raise NonFiniteError("eps: the parameter change H⁻¹X̃ᵀ(ε ⊙ r) overflows the working precision") from None
        return np.ldexp(change, -k).astype(dt) if k else change

    def predicted_change(self, target, eps) -> float:
        """First-order change of a target for weight changes ε: −εᵀ score(f)."""
        e = self._eps(eps)
        with np.errstate(over="ignore", invalid="ignore"):
            change = float(-(self._rows(e).astype(np.float64) @ self.scores(target).astype(np.float64)))
        if not np.isfinite(change):
            raise NonFiniteError("eps: the predicted change −εᵀscore overflows float64; ε is too large")
        return change

    def newton_update(self, eps):
        """θ_new = θ̂ − H⁻¹ X̃ᵀ(ε ⊙ r) as a new fitted model (the original is untouched)."""
        return self.model._with_theta(self.model.theta_ + self.parameter_change(eps))


def _gradient(target, model):
    # Scores need only ∇f: a target given without a value must still work.
    return target.evaluate(model)[1] if hasattr(target, "evaluate") else target.gradient(model)


def newton_update(model, X, y, eps, *, sample_weight=None, influence: Influence | None = None):
    """One-step Newton (influence) unlearning: θ_new = θ̂ − H⁻¹ X̃ᵀ(ε ⊙ r).

    ``eps`` changes sample weights sᵢ → sᵢ(1 + εᵢ) (εᵢ = −1 deletes sample i). Pass the ``influence`` you
    already built to reuse its factorisation. Returns a new model; ``model`` is untouched."""
    if influence is None:
        influence = Influence(model, X, y, sample_weight)
    elif influence.model is not model:
        raise ValueError("influence: it was built for a different model")
    elif influence.n_samples != np.shape(X)[0]:
        raise ValueError(f"influence: it was built on {influence.n_samples} samples, X has {np.shape(X)[0]}")
    return influence.newton_update(eps)


def refit(model, X, y, eps, *, sample_weight=None, tol=None, max_iter=None):
    """Exact reweighted refit with sample weights s(1 + ε), warm-started from θ̂ (the ground truth the
    one-step update approximates). Weights below −1 make sample weights negative: allowed, but the
    objective may then stop being convex, in which case the fit raises NotPositiveDefiniteError."""
    model = check_model(model)
    if is_dask(X):
        from .dask_engine import as_dask_matrix, as_dask_rows

        Xc = as_dask_matrix(X, "X", dtype=model.dtype)
        e = as_dask_rows(eps, Xc, "eps")
        w = (1 + e) if sample_weight is None else as_dask_rows(sample_weight, Xc, "sample_weight") * (1 + e)
    else:
        Xc = model._as_X(X)
        n = Xc.shape[0]
        e = as_vector(eps, n, "eps", Xc.dtype)
        s = as_sample_weight(sample_weight, n, Xc.dtype)
        w = (s if s.size else np.ones(n, dtype=Xc.dtype)) * (1 + e)
    new = _clone_params(model)
    if tol is not None:
        new.tol = tol
    if max_iter is not None:
        new.max_iter = max_iter
    new = new._fit(Xc, y, w, theta0=model.theta_, allow_negative=True, classes=model.classes_)
    if hasattr(model, "feature_names_in_"):  # Xc is an array: the names are the model's, checked by _as_X
        new.feature_names_in_ = model.feature_names_in_
    return new


def _clone_params(model):
    from sklearn.base import clone

    return clone(model)

"""Pure NumPy/SciPy reference implementation of softunlearn's math.

This module is the **test oracle** and the **pure-Python baseline** for the
benchmarks.  It is written for readability, not speed, and deliberately
imports nothing else from ``softunlearn``.  Everything is float64.

Conventions (docs/conventions.md, the contract)
-----------------------------------------------
* Labels ``y`` in {0, 1}; features ``X`` of shape (n, d); optional intercept
  ``b`` which is **not** penalised.  Parameters ``theta = concat(w, [b])``
  when ``fit_intercept`` else ``theta = w``; ``p = len(theta)``.
* Augmented features ``x~ = (x, 1)`` with an intercept, ``x~ = x`` without;
  ``z = x~ . theta = w.x + b``, ``p = sigmoid(z)``.
* Per-sample logistic loss ``l(z, y) = log(1 + e^z) - y z``.  Every function
  below also takes ``loss="smooth_hinge"`` (with ``temperature`` t) or
  ``loss="squared_hinge"`` (see :func:`loss_derivatives`); then ``p - y``
  reads ``l'(z)`` and ``p (1 - p)`` reads ``l''(z)`` throughout, except in
  the dp target, which is the mean of ``sigmoid(z)`` for every loss.
* ``X`` may also be a scipy.sparse matrix (any format; copied to CSR): the
  functions then use only sparse products ``X @ v``, ``X.T @ v`` and row
  scalings, never a dense copy of X (except :func:`hessian_einsum`, the
  deliberately naive baseline, and :func:`mirror_attack`, whose points are
  dense).
* Objective (scikit-learn's convention)::

      J(theta) = 1/2 ||w||^2 + C * sum_i s_i * l(z_i, y_i)

  with sample weights ``s_i >= 0`` (default 1).
* Per-sample gradient (sample i's contribution to grad J, *including its
  sample weight*)::

      g_i = C s_i (p_i - y_i) x~_i

* Hessian::

      H = C sum_i s_i p_i (1 - p_i) x~_i x~_i^T + diag(1, ..., 1, 0)

  (the trailing 0 only when there is an intercept).
* **Influence scores, removal convention.**  For a target f(theta) with
  gradient grad_f, ``score_i = g_i^T H^{-1} grad_f`` is the first-order
  change of f when sample i is *deleted* (its weight s_i set to 0).  The
  Koh & Liang up-weighting influence is the negative of this.
* **Weighted influence.**  Sample weights become ``s_i (1 + eps_i)``
  (eps_i = -1 deletes, eps_i > 0 up-weights).  To first order::

      theta(eps) ~= theta_hat - H^{-1} sum_i eps_i g_i,
      f(theta(eps)) - f(theta_hat) ~= -eps^T score(f).

Note on sample weights: because ``g_i`` includes ``s_i``, the Newton update
``theta_hat - H^{-1} sum_i eps_i g_i`` is the first-order approximation of the
refit with weights ``s * (1 + eps)`` also when ``s`` is not all ones (docs/conventions.md
writes the update as ``X~^T (eps * r)`` with ``r = C (p - y)``, which is the
same thing for unit weights; with weights read ``r = C s (p - y)``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse

__all__ = [
    "augment",
    "sigmoid",
    "logistic_loss",
    "LOSSES",
    "loss_derivatives",
    "objective",
    "gradient",
    "hessian",
    "hessian_einsum",
    "fit",
    "per_sample_gradients",
    "mirror_attack",
    "target_value",
    "target_gradient",
    "TARGET_KINDS",
    "influence_scores",
    "newton_update",
    "refit",
    "soft_weights",
    "SOFT_SCHEMES",
    "hard_weights",
    "accuracy",
    "dp_gap_labels",
    "eop_gap_labels",
    "certified_newton_step",
    "certified_residual_bound",
    "analytic_gaussian_sigma",
    "data_value_weights",
]

TARGET_KINDS = ("utility", "dp", "eop", "robustness")
LOSSES = ("logistic", "smooth_hinge", "squared_hinge")
SOFT_SCHEMES = ("2.0", "2.1", "2.2", "2.3", "auto")


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _as_2d(X, name="X"):
    if scipy.sparse.issparse(X):
        # Sparse designs stay sparse: everything below touches X only through X @ v, X.T @ v, row
        # scaling and row selection. The CSR copy sums duplicate entries, as scipy's arithmetic does.
        return scipy.sparse.csr_matrix(X, dtype=np.float64, copy=True)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d); got shape {X.shape}")
    return X


def _as_1d(v, n, name):
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or v.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},); got shape {v.shape}")
    return v


def _weights(sample_weight, n):
    """Sample weights s (n,), all ones when ``sample_weight`` is None."""
    if sample_weight is None:
        return np.ones(n)
    return _as_1d(sample_weight, n, "sample_weight")


def _scale_rows(Xa, d):
    """diag(d) Xa, for a dense or sparse Xa."""
    if scipy.sparse.issparse(Xa):
        return scipy.sparse.diags(d) @ Xa
    return Xa * d[:, None]


def _dense(A):
    return A.toarray() if scipy.sparse.issparse(A) else np.asarray(A)


def _split_theta(theta, fit_intercept):
    """theta -> (w, b); b = 0.0 without an intercept."""
    theta = np.asarray(theta, dtype=np.float64)
    if fit_intercept:
        return theta[:-1], float(theta[-1])
    return theta, 0.0


def _penalty_mask(p, fit_intercept):
    """Diagonal of the regulariser's Hessian: ones, with 0 for the intercept."""
    m = np.ones(p)
    if fit_intercept:
        m[-1] = 0.0
    return m


def _check_theta(theta, Xa):
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1 or theta.shape[0] != Xa.shape[1]:
        raise ValueError(
            f"theta must have shape ({Xa.shape[1]},) to match X (with intercept "
            f"column if fit_intercept); got shape {theta.shape}"
        )
    return theta


# ---------------------------------------------------------------------------
# Model: logistic regression with L2 penalty
# ---------------------------------------------------------------------------


def augment(X, fit_intercept):
    """Augmented design matrix ``X~ = [X, 1]`` if ``fit_intercept`` else ``X``.

    Always returns a new float64 array of shape (n, d + fit_intercept); a new CSR matrix when X is
    scipy.sparse.
    """
    X = _as_2d(X)
    if scipy.sparse.issparse(X):
        return scipy.sparse.hstack([X, np.ones((X.shape[0], 1))], format="csr") if fit_intercept else X
    if fit_intercept:
        return np.hstack([X, np.ones((X.shape[0], 1))])
    return np.array(X, dtype=np.float64, copy=True)


def sigmoid(z):
    """Numerically stable logistic function ``sigma(z) = 1 / (1 + e^{-z})``.

    Uses ``1/(1+e^{-z})`` for z >= 0 and ``e^z/(1+e^z)`` for z < 0 so that no
    exponential overflows.  Accepts scalars or arrays.
    """
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out if out.ndim else float(out)


def logistic_loss(z, y):
    """Per-sample logistic loss ``l(z, y) = log(1 + e^z) - y z`` (stable).

    Mathematically ``logaddexp(0, z) - y z``.  Evaluated through the identity
    ``log(1+e^z) - y z = (1-y) softplus(z) + y softplus(-z)`` (softplus(t) =
    log(1+e^t), softplus(z) - z = softplus(-z)), which is the same function for
    every real y but avoids the cancellation of ``logaddexp(0, z) - z`` when
    y = 1 and z >> 0.  Equals ``-y log p - (1-y) log(1-p)`` with ``p = sigma(z)``.
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return (1.0 - y) * np.logaddexp(0.0, z) + y * np.logaddexp(0.0, -z)


def loss_derivatives(z, y, loss="logistic", temperature=0.1):
    """Per-sample loss value, first and second derivative in z: ``(l, l', l'')``.

    Margin losses use ``y_pm = 2 y - 1`` in {-1, +1} and the margin ``m = y_pm z``:

    ===============  ============================  ======================  =========================
    loss             l                             l' = dl/dz              l''
    ===============  ============================  ======================  =========================
    logistic         log(1 + e^z) - y z            sigmoid(z) - y          sigmoid(z) (1 - sigmoid(z))
    smooth_hinge     t log(1 + e^u), u = (1-m)/t   -y_pm sigmoid(u)        sigmoid(u) sigmoid(-u) / t
    squared_hinge    max(0, 1 - m)^2               -2 y_pm max(0, 1 - m)   2 [m < 1] (generalised)
    ===============  ============================  ======================  =========================

    The smooth hinge is Koh & Liang's softplus-smoothed hinge: it tends to
    max(0, 1 - m) as t -> 0.  The squared hinge's l' is piecewise linear; its
    generalised second derivative is taken as 2 on m < 1 and 0 on m >= 1.
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if loss == "logistic":
        p = sigmoid(z)
        return logistic_loss(z, y), p - y, p * (1.0 - p)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    ypm = 2.0 * y - 1.0
    m = ypm * z
    if loss == "smooth_hinge":
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0; got {temperature}")
        t = float(temperature)
        u = (1.0 - m) / t
        return t * np.logaddexp(0.0, u), -ypm * sigmoid(u), sigmoid(u) * sigmoid(-u) / t
    v = np.maximum(0.0, 1.0 - m)
    return v * v, -2.0 * ypm * v, np.where(m < 1.0, 2.0, 0.0)


def objective(theta, X, y, C=1.0, fit_intercept=True, sample_weight=None, loss="logistic", temperature=0.1):
    """``J(theta) = 1/2 ||w||^2 + C sum_i s_i l(z_i, y_i)`` (intercept not penalised)."""
    Xa = augment(X, fit_intercept)
    theta = _check_theta(theta, Xa)
    y = _as_1d(y, Xa.shape[0], "y")
    s = _weights(sample_weight, Xa.shape[0])
    w, _ = _split_theta(theta, fit_intercept)
    z = Xa @ theta
    return float(0.5 * w @ w + C * np.sum(s * loss_derivatives(z, y, loss, temperature)[0]))


def gradient(theta, X, y, C=1.0, fit_intercept=True, sample_weight=None, loss="logistic", temperature=0.1):
    """``grad J = (w, 0) + C X~^T (s * (p - y))``, shape (p,)."""
    Xa = augment(X, fit_intercept)
    theta = _check_theta(theta, Xa)
    y = _as_1d(y, Xa.shape[0], "y")
    s = _weights(sample_weight, Xa.shape[0])
    dl = loss_derivatives(Xa @ theta, y, loss, temperature)[1]
    return _penalty_mask(Xa.shape[1], fit_intercept) * theta + C * (Xa.T @ (s * dl))


def hessian(theta, X, y, C=1.0, fit_intercept=True, sample_weight=None, loss="logistic", temperature=0.1):
    """``H = C X~^T diag(s p (1-p)) X~ + diag(1, ..., 1, 0)``, shape (p, p).

    BLAS form: one matrix product of the row-scaled X~ with X~.  ``y`` is not
    used by the logistic Hessian (it does not depend on the labels), the
    margin losses need it.
    """
    Xa = augment(X, fit_intercept)
    theta = _check_theta(theta, Xa)
    s = _weights(sample_weight, Xa.shape[0])
    yy = np.zeros(Xa.shape[0]) if (y is None and loss == "logistic") else _as_1d(y, Xa.shape[0], "y")
    d = C * s * loss_derivatives(Xa @ theta, yy, loss, temperature)[2]
    H = _dense(Xa.T @ _scale_rows(Xa, d))
    H = 0.5 * (H + H.T)  # exact symmetry
    H[np.diag_indices_from(H)] += _penalty_mask(Xa.shape[1], fit_intercept)
    return H


def hessian_einsum(theta, X, y, C=1.0, fit_intercept=True, sample_weight=None, loss="logistic", temperature=0.1):
    """Same matrix as :func:`hessian`, computed the research-script way.

    Builds the (n, p, p) tensor of outer products ``x~_i x~_i^T`` with
    ``np.einsum('ni,nj->nij')``, scales each by ``C s_i p_i (1-p_i)`` and sums
    over samples.  O(n p^2) memory: this is the "official pipeline" baseline.
    """
    Xa = _dense(augment(X, fit_intercept))
    theta = _check_theta(theta, Xa)
    s = _weights(sample_weight, Xa.shape[0])
    yy = np.zeros(Xa.shape[0]) if (y is None and loss == "logistic") else _as_1d(y, Xa.shape[0], "y")
    d2 = loss_derivatives(Xa @ theta, yy, loss, temperature)[2]
    outer = np.einsum("ni,nj->nij", Xa, Xa)
    H = np.sum((C * s * d2)[:, None, None] * outer, axis=0)
    return H + np.diag(_penalty_mask(Xa.shape[1], fit_intercept))


def fit(
    X,
    y,
    C=1.0,
    fit_intercept=True,
    sample_weight=None,
    theta0=None,
    tol=1e-12,
    max_iter=200,
    loss="logistic",
    temperature=0.1,
):
    """Minimise J(theta) by damped Newton with a backtracking line search.

    Iteration: solve ``H(theta) step = -grad J(theta)`` with ``np.linalg.solve``,
    then halve ``t`` from 1 until the Armijo condition
    ``J(theta + t step) <= J(theta) + 1e-4 t grad.step`` holds (plus a
    rounding slack of a few ulps of |J|, so that steps whose decrease is below
    float64 resolution are accepted).

    Stops when ``||grad||_inf <= tol * max(1, ||grad J(theta0)||_inf)``, or when
    ``||grad||_inf`` is below the rounding floor of its own computation
    (``16 eps * (||w||_inf + C max_j sum_i |s_i (p_i - y_i) x~_ij|)``: a
    gradient that small is zero in float64; this only matters for warm starts
    whose initial gradient is already tiny).  Raises ``RuntimeError`` if not
    converged within ``max_iter`` iterations.

    For the squared hinge H is the generalised Hessian; when it is singular
    (no margin violator, so no curvature along the intercept) the step is the
    least-squares solution.

    Returns theta of shape (d + fit_intercept,) = concat(w, [b]).
    """
    if not C > 0:
        raise ValueError(f"C must be > 0; got {C}")
    Xa = augment(X, fit_intercept)
    n, p_dim = Xa.shape
    y = _as_1d(y, n, "y")
    s = _weights(sample_weight, n)
    mask = _penalty_mask(p_dim, fit_intercept)

    theta = np.zeros(p_dim) if theta0 is None else _check_theta(theta0, Xa).copy()

    def J(th):
        z = Xa @ th
        return 0.5 * np.sum(mask * th * th) + C * np.sum(s * loss_derivatives(z, y, loss, temperature)[0])

    def grad_and_floor(th):
        _, d1, d2 = loss_derivatives(Xa @ th, y, loss, temperature)
        r = s * d1
        g = mask * th + C * (Xa.T @ r)
        floor = (
            16.0
            * np.finfo(float).eps
            * (np.max(np.abs(mask * th), initial=0.0) + C * np.max(abs(Xa).T @ np.abs(r), initial=0.0))
        )
        return g, d2, floor

    g, d2, floor = grad_and_floor(theta)
    threshold = tol * max(1.0, np.max(np.abs(g)))
    f_val = J(theta)
    for _ in range(max_iter + 1):
        gnorm = np.max(np.abs(g))
        if gnorm <= threshold or gnorm <= floor:
            return theta
        d = C * s * d2
        H = _dense(Xa.T @ _scale_rows(Xa, d)) + np.diag(mask)
        try:
            step = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, -g, rcond=None)[0]
        slope = float(g @ step)  # < 0 for a descent direction
        slack = 4.0 * np.finfo(float).eps * max(1.0, abs(f_val))
        t = 1.0
        while True:
            cand = theta + t * step
            f_new = J(cand)
            if f_new <= f_val + 1e-4 * t * slope + slack:
                break
            t *= 0.5
            if t < 1e-20:
                raise RuntimeError("fit: line search failed (objective not decreasing along the Newton step)")
        theta, f_val = cand, f_new
        g, d2, floor = grad_and_floor(theta)
    raise RuntimeError(
        f"fit: Newton did not converge in {max_iter} iterations "
        f"(||grad||_inf = {np.max(np.abs(g)):.3e}, threshold {threshold:.3e}); "
        "is the data separable along the unpenalised intercept (e.g. a single class)?"
    )


def per_sample_gradients(theta, X, y, C=1.0, fit_intercept=True, sample_weight=None, loss="logistic", temperature=0.1):
    """Explicit (n, p) matrix of per-sample gradients ``g_i = C s_i l'(z_i) x~_i`` (l' = p - y for logistic).

    Row i is sample i's contribution to ``grad J`` (without the regulariser),
    sample weight included: ``grad J = (w, 0) + sum_i g_i``.
    """
    Xa = augment(X, fit_intercept)
    theta = _check_theta(theta, Xa)
    y = _as_1d(y, Xa.shape[0], "y")
    s = _weights(sample_weight, Xa.shape[0])
    dl = loss_derivatives(Xa @ theta, y, loss, temperature)[1]
    return _scale_rows(Xa, C * s * dl)  # sparse when X is


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


def mirror_attack(X, theta, fit_intercept=True, factor=1.3):
    """Mirror attack: reflect each point across the decision boundary.

    ``x_adv = x - factor * (w.x + b) / ||w||^2 * w``.  With factor = 1 the
    point lands on the boundary; 1.3 overshoots it by 30%.  Returns (n, d).
    """
    X = _dense(_as_2d(X))  # the attacked points are dense even for a sparse X
    w, b = _split_theta(theta, fit_intercept)
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"theta does not match X: w has {w.shape[0]} entries, X has {X.shape[1]} columns")
    ww = float(w @ w)
    if ww == 0.0:
        raise ValueError("mirror_attack: w is zero, the decision boundary is undefined")
    return X - factor * ((X @ w + b) / ww)[:, None] * w[None, :]


def _target_parts(kind, theta, X, y, s, fit_intercept):
    """Common part of target_value / target_gradient.

    Returns (Xa, z, p, y, groups) where ``groups`` is a list of
    (coefficient, boolean mask) pairs: the target is
    ``sum_k coef_k * mean_{i in mask_k} h(z_i)`` (dp, eop), or
    None for the summed-loss targets (utility, robustness).
    """
    if kind not in TARGET_KINDS:
        raise ValueError(f"kind must be one of {TARGET_KINDS}; got {kind!r}")
    Xa = augment(X, fit_intercept)
    theta = _check_theta(theta, Xa)
    n = Xa.shape[0]
    z = Xa @ theta
    p = sigmoid(z)
    if kind in ("utility", "robustness", "eop"):
        if y is None:
            raise ValueError(f"target {kind!r} needs labels y")
        y = _as_1d(y, n, "y")
    groups = None
    if kind in ("dp", "eop"):
        if s is None:
            raise ValueError(f"target {kind!r} needs the sensitive attribute s")
        s = _as_1d(s, n, "s")
        if kind == "dp":
            groups = [(+1.0, s == 1), (-1.0, s == 0)]
        else:
            pos = y == 1
            groups = [(+1.0, (s == 0) & pos), (-1.0, (s == 1) & pos)]
        for _, m in groups:
            if not np.any(m):
                which = ", y == 1" if kind == "eop" else ""
                raise ValueError(f"target {kind!r}: a group (s == 0 or s == 1{which}) is empty")
    return Xa, z, p, y, groups


def target_value(kind, theta, X, y=None, s=None, fit_intercept=True, loss="logistic", temperature=0.1):
    """Value of a target f(theta) on a (validation) set X.

    ==========  ======================================================
    kind        value
    ==========  ======================================================
    utility     sum_i l(z_i, y_i)            (summed log-loss; no C, no regulariser)
    dp          mean_{s=1} p  -  mean_{s=0} p          (soft demographic-parity gap)
    eop         mean_{s=0,y=1} l  -  mean_{s=1,y=1} l  (soft equal-opportunity gap)
    robustness  sum_i l(z_i, y_i) on X, where X is ALREADY the adversarial set
                (the caller runs :func:`mirror_attack` once at theta_hat and keeps it)
    ==========  ======================================================

    The dp/eop gaps are signed.  Note the opposite group order of eop: a higher
    loss on positives means a lower true-positive rate, so both soft gaps have
    the sign of the corresponding label gap (group 1 minus group 0).
    """
    Xa, z, p, y, groups = _target_parts(kind, theta, X, y, s, fit_intercept)
    if kind in ("utility", "robustness"):
        return float(np.sum(loss_derivatives(z, y, loss, temperature)[0]))
    h = p if kind == "dp" else loss_derivatives(z, y, loss, temperature)[0]
    return float(sum(coef * np.mean(h[m]) for coef, m in groups))


def target_gradient(kind, theta, X, y=None, s=None, fit_intercept=True, loss="logistic", temperature=0.1):
    """Gradient of :func:`target_value` with respect to theta, shape (p,).

    ==========  ======================================================
    kind        gradient
    ==========  ======================================================
    utility     X~^T (p - y)
    dp          mean_{s=1} p(1-p) x~  -  mean_{s=0} p(1-p) x~
    eop         mean_{s=0,y=1} (p-y) x~  -  mean_{s=1,y=1} (p-y) x~
    robustness  X~^T (p - y) with X the fixed adversarial set (x_adv held fixed)
    ==========  ======================================================
    """
    Xa, z, p, y, groups = _target_parts(kind, theta, X, y, s, fit_intercept)
    if kind in ("utility", "robustness"):
        return Xa.T @ loss_derivatives(z, y, loss, temperature)[1]
    dh = p * (1.0 - p) if kind == "dp" else loss_derivatives(z, y, loss, temperature)[1]  # d h(z) / d z
    return sum(coef * (Xa[m].T @ dh[m]) / np.count_nonzero(m) for coef, m in groups)


# ---------------------------------------------------------------------------
# Influence and applying weights
# ---------------------------------------------------------------------------


def influence_scores(
    theta, X, y, grad_f, C=1.0, fit_intercept=True, sample_weight=None, loss="logistic", temperature=0.1
):
    """Influence scores in the **removal convention**: ``score_i = g_i^T H^{-1} grad_f``.

    ``score_i`` is the first-order change of f when training sample i is
    deleted (f(theta_without_i) - f(theta_hat) ~= score_i).  The Koh & Liang
    up-weighting influence is ``-score_i``.  More generally, with weights
    ``s_i (1 + eps_i)`` the first-order change of f is ``-eps^T score``.

    ``theta`` should be the optimum of J on (X, y, C, sample_weight).  H is
    factorised once with a Cholesky factorisation (scipy ``cho_factor``);
    ``grad_f`` may be (p,) or (p, k) for k targets at once, giving (n,) or
    (n, k).  Uses the explicit per-sample gradient matrix (this is the
    reference, not the fast path).
    """
    H = hessian(theta, X, y, C, fit_intercept, sample_weight, loss, temperature)
    G = per_sample_gradients(theta, X, y, C, fit_intercept, sample_weight, loss, temperature)
    grad_f = np.asarray(grad_f, dtype=np.float64)
    if grad_f.shape[0] != H.shape[0] or grad_f.ndim not in (1, 2):
        raise ValueError(f"grad_f must have shape ({H.shape[0]},) or ({H.shape[0]}, k); got {grad_f.shape}")
    factor = scipy.linalg.cho_factor(H, lower=True)
    return G @ scipy.linalg.cho_solve(factor, grad_f)


def newton_update(theta, X, y, eps, C=1.0, fit_intercept=True, sample_weight=None, loss="logistic", temperature=0.1):
    """One Newton step towards the optimum with weights ``s * (1 + eps)``.

    ``theta_new = theta_hat - H^{-1} sum_i eps_i g_i``, with H and g_i at
    theta_hat for the *original* weights s.  Exact to first order in eps.
    Returns a new array; the input is untouched.
    """
    Xa = augment(X, fit_intercept)
    theta = _check_theta(theta, Xa)
    eps = _as_1d(eps, Xa.shape[0], "eps")
    H = hessian(theta, X, y, C, fit_intercept, sample_weight, loss, temperature)
    G = per_sample_gradients(theta, X, y, C, fit_intercept, sample_weight, loss, temperature)
    factor = scipy.linalg.cho_factor(H, lower=True)
    return theta - scipy.linalg.cho_solve(factor, G.T @ eps)


def refit(
    X, y, eps, C=1.0, fit_intercept=True, sample_weight=None, theta0=None, tol=1e-12, loss="logistic", temperature=0.1
):
    """Exact refit with sample weights ``s * (1 + eps)`` (ground truth for newton_update).

    Warm-start by passing ``theta0 = theta_hat``.
    """
    X = _as_2d(X)
    n = X.shape[0]
    eps = _as_1d(eps, n, "eps")
    s = _weights(sample_weight, n)
    return fit(
        X,
        y,
        C,
        fit_intercept,
        sample_weight=s * (1.0 + eps),
        theta0=theta0,
        tol=tol,
        loss=loss,
        temperature=temperature,
    )


# ---------------------------------------------------------------------------
# Weight QP
# ---------------------------------------------------------------------------


def soft_weights(T, U, delta, lam, scheme):
    """Soft weight changes eps from the weight QP (docs/conventions.md, "The weight QP").

    ``T = score(target)``, ``U = score(utility)`` (removal convention, so the
    first-order changes under weights s(1+eps) are ``-eps.T`` for the target
    and ``-eps.U`` for the utility loss); ``delta`` = the required decrease of
    the target (delta = f(theta_hat) to drive a signed gap to zero); lam > 0.

    The QP for delta >= 0::

        minimise  -eps.T + lam ||eps||^2
        s.t.      -eps.T <= -delta      (target drops by at least delta)
                  -eps.U <= 0           (utility loss not worse)

    **Orientation (delta < 0).**  A negative gap must *increase* by |delta|.
    We then solve the same problem for the target -f, i.e. with
    ``T -> -T, delta -> -delta`` substituted **everywhere, the objective's
    linear term included**::

        minimise  +eps.T + lam ||eps||^2
        s.t.      eps.T <= delta (< 0)  (target rises by at least |delta|)
                  -eps.U <= 0

    This is the only reading under which the QP makes sense for delta < 0: the
    objective rewards moving the target toward zero, as it does for delta > 0.
    (Flipping only the constraint would leave an objective that pulls the gap
    *away* from zero, fighting the constraint; its optimum always sits on the
    constraint and the paper's 2.0/2.2 forms would never be optimal.)  With
    sigma = sign(delta) (+1 for delta = 0), T' = sigma T, delta' = sigma delta,
    c' = sigma c, each scheme is the optimum of its defining problem, oriented:

    ======  ===================  =============================================
    scheme  active constraints   eps
    ======  ===================  =============================================
    2.0     none                 T'/(2 lam)              = sigma T/(2 lam)
    2.1     target (equality)    delta' T'/a             = delta T/a
    2.2     utility (equality)   (T' - (c'/b) U)/(2 lam) = sigma (T - (c/b) U)/(2 lam)
    2.3     both (equalities)    delta'(b T' - c' U)/D   = delta (b T - c U)/D
    auto    the inequality QP    g' max(1/(2 lam), delta'/||g'||^2)
    ======  ===================  =============================================

    with a = T.T, b = U.U, c = T.U, D = ab - c^2, and for "auto"
    ``g' = T'`` if ``c' >= 0`` else ``g' = T' - (c'/b) U`` (the component of T'
    orthogonal to U).  2.1 and 2.3 are orientation-invariant (signed delta
    works directly); **2.0 and 2.2 get the factor sigma** (the table in docs/conventions.md
    lists them for delta > 0 only).  2.3 is the minimum-norm eps with
    eps.T = delta and eps.U = 0, independent of lam; 2.1 likewise.

    Derivation of "auto" (oriented, delta' >= 0).  Lagrangian
    ``-eps.T' + lam||eps||^2 + alpha(delta' - eps.T') - beta eps.U`` with
    alpha, beta >= 0; stationarity gives ``eps = ((1+alpha) T' + beta U)/(2 lam)``.
    * c' >= 0: beta = 0 works.  eps = T'/(2 lam) if that meets the target
      (a/(2 lam) >= delta'), else eps = delta' T'/a with
      1 + alpha = 2 lam delta'/a >= 1; in both eps.U = (.) c' >= 0.  Hence
      eps = T' max(1/(2 lam), delta'/a).
    * c' < 0: T'/(2 lam) violates the utility constraint, so it is active:
      beta = -(1+alpha) c'/b > 0 and eps = (1+alpha) g'/(2 lam) with
      g' = T' - (c'/b) U, eps.T' = (1+alpha)||g'||^2/(2 lam) (since
      g'.T' = a - c'^2/b = ||g'||^2 = D/b).  alpha = 0 if that meets delta',
      otherwise eps = delta' g'/||g'||^2 = delta'(b T' - c' U)/D (scheme 2.3).
    The KKT conditions are sufficient (convex QP), so
    ``eps = g' max(1/(2 lam), delta'/||g'||^2)`` is the exact optimum; this is
    docs/conventions.md's formula applied to the oriented problem.

    Raises ValueError when the requested problem is infeasible or degenerate
    (e.g. a = 0, D = 0 for 2.3, or g' = 0 with delta != 0 for "auto": the
    target cannot move without worsening utility to first order).
    """
    T = np.asarray(T, dtype=np.float64)
    U = np.asarray(U, dtype=np.float64)
    if T.ndim != 1:
        raise ValueError(f"T must be 1-D; got shape {T.shape}")
    if U.shape != T.shape:
        raise ValueError(f"U must have the same shape as T {T.shape}; got {U.shape}")
    if scheme not in SOFT_SCHEMES:
        raise ValueError(f"scheme must be one of {SOFT_SCHEMES}; got {scheme!r}")
    delta = float(delta)
    if not np.isfinite(delta):
        raise ValueError(f"delta must be finite; got {delta}")
    if scheme != "2.1" and scheme != "2.3" and not lam > 0:
        raise ValueError(f"lam must be > 0; got {lam}")

    a = float(T @ T)
    b = float(U @ U)
    c = float(T @ U)
    D = a * b - c * c

    sigma = 1.0 if delta >= 0 else -1.0

    if scheme == "2.0":
        return sigma * T / (2.0 * lam)
    if scheme == "2.1":
        if a == 0.0:
            raise ValueError("scheme 2.1: T is zero, the target cannot be moved")
        return delta * T / a
    if scheme == "2.2":
        proj = c / b if b > 0 else 0.0  # U = 0: the equality eps.U = 0 is void
        return sigma * (T - proj * U) / (2.0 * lam)
    if scheme == "2.3":
        if not D > 1e-14 * a * b:
            raise ValueError("scheme 2.3: T and U are (nearly) parallel, D = ab - c^2 ~ 0")
        return delta * (b * T - c * U) / D

    # scheme == "auto": orient, then the unified closed form.
    To, do, co = sigma * T, sigma * delta, sigma * c
    if co >= 0:
        g = To
    else:
        g = To - (co / b) * U  # b > 0 because c != 0
    gg = float(g @ g)
    if gg <= 1e-28 * max(a, 1e-300):
        if do == 0.0:
            return np.zeros_like(T)
        raise ValueError(
            "scheme auto: infeasible, the target cannot move toward zero without "
            "worsening utility to first order (T is zero or anti-parallel to U)"
        )
    return g * max(1.0 / (2.0 * lam), do / gg)


def hard_weights(T, k, delta=1.0):
    """Hard (delete-k) baseline: eps = -1 on k samples, 0 elsewhere.

    Deleting sample i changes the target by ~ +T_i (removal convention), so
    for delta >= 0 (target must drop) the k most negative T are deleted, for
    delta < 0 the k most positive.  Ties go to the lower index first
    (stable argsort).
    """
    T = np.asarray(T, dtype=np.float64)
    if T.ndim != 1:
        raise ValueError(f"T must be 1-D; got shape {T.shape}")
    k = int(k)
    if not 0 <= k <= T.shape[0]:
        raise ValueError(f"k must be in [0, {T.shape[0]}]; got {k}")
    key = T if delta >= 0 else -T
    order = np.argsort(key, kind="stable")
    eps = np.zeros_like(T)
    eps[order[:k]] = -1.0
    return eps


# ---------------------------------------------------------------------------
# Label metrics
# ---------------------------------------------------------------------------


def accuracy(y_true, y_pred):
    """Fraction of ``y_true == y_pred``."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}")
    return float(np.mean(y_true == y_pred))


def _group_masks(s, n):
    s = np.asarray(s)
    if s.shape != (n,):
        raise ValueError(f"s must have shape ({n},); got {s.shape}")
    m1, m0 = s == 1, s == 0
    if not np.any(m1) or not np.any(m0):
        raise ValueError("s must contain both groups 0 and 1")
    return m1, m0


def dp_gap_labels(y_pred, s):
    """Signed demographic-parity gap of hard labels: P(yhat=1 | s=1) - P(yhat=1 | s=0).

    Its absolute value is fairlearn's ``demographic_parity_difference``.
    """
    y_pred = np.asarray(y_pred, dtype=np.float64)
    m1, m0 = _group_masks(s, y_pred.shape[0])
    return float(np.mean(y_pred[m1]) - np.mean(y_pred[m0]))


def eop_gap_labels(y_true, y_pred, s):
    """Signed equal-opportunity gap: TPR(s=1) - TPR(s=0), TPR = P(yhat=1 | y=1, group).

    Its absolute value is fairlearn's ``equal_opportunity_difference``.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    m1, m0 = _group_masks(s, y_true.shape[0])
    pos = y_true == 1
    if not np.any(pos & m1) or not np.any(pos & m0):
        raise ValueError("eop_gap_labels: a group has no positives (y_true == 1)")
    return float(np.mean(y_pred[pos & m1]) - np.mean(y_pred[pos & m0]))


# ---------------------------------------------------------------------------
# Certified removal (Guo et al. 2020) and data value weights (DVWU): oracles
# ---------------------------------------------------------------------------


def certified_newton_step(theta, X, y, eps, C=1.0, sample_weight=None, step_eps=None):
    """Guo et al.'s Newton removal, generalised to weights s -> s (1 + eps) (logistic, no intercept).

    ``theta_new = theta - H'^{-1} X^T (step_eps * r)`` with ``r_i = C s_i (p_i - y_i)`` at theta and
    ``H' = C X^T diag(s' p (1 - p)) X + I`` the Hessian of the *remaining* data, ``s' = s (1 + eps)``
    (:func:`newton_update` uses the full-data Hessian instead).  ``step_eps`` defaults to ``eps`` (Guo);
    DVWU passes ``omega * eps``.  Solved with ``np.linalg.solve``.
    """
    Xa = augment(X, False)
    theta = _check_theta(theta, Xa)
    n = Xa.shape[0]
    eps = _as_1d(eps, n, "eps")
    step = eps if step_eps is None else _as_1d(step_eps, n, "step_eps")
    s = _weights(sample_weight, n)
    y = _as_1d(y, n, "y")
    r = C * s * (sigmoid(Xa @ theta) - y)
    H = hessian(theta, X, y, C, False, s * (1.0 + eps))
    return theta - np.linalg.solve(H, Xa.T @ (step * r))


def certified_residual_bound(theta, X, y, eps, C=1.0, sample_weight=None, step_eps=None, gamma=0.25):
    """Parts of the gradient-residual bound of :func:`certified_newton_step` (Guo's Corollary 1, weighted).

    Returns ``(start, bias, remainder)``: ``start = ||grad J(theta; s)||`` (the residual theta already
    has), ``bias = ||X^T ((eps - step_eps) * r)||`` and ``remainder = gamma ||A||_2 ||v|| ||A v||`` with
    ``A = diag(sqrt(C s')) X``, ``v = theta_new - theta``.  ``||A||_2`` is the largest singular value
    (``np.linalg.norm(A, 2)``, an SVD); no safety factors.
    """
    Xd = _dense(augment(X, False))
    theta = _check_theta(theta, Xd)
    n = Xd.shape[0]
    eps = _as_1d(eps, n, "eps")
    step = eps if step_eps is None else _as_1d(step_eps, n, "step_eps")
    s = _weights(sample_weight, n)
    y = _as_1d(y, n, "y")
    r = C * s * (sigmoid(Xd @ theta) - y)
    v = certified_newton_step(theta, Xd, y, eps, C, s, step) - theta
    A = np.sqrt(C * s * (1.0 + eps))[:, None] * Xd
    start = float(np.linalg.norm(gradient(theta, Xd, y, C, False, s)))
    bias = float(np.linalg.norm(Xd.T @ ((eps - step) * r)))
    remainder = float(gamma * np.linalg.norm(A, 2) * np.linalg.norm(v) * np.linalg.norm(A @ v))
    return start, bias, remainder


def analytic_gaussian_sigma(sensitivity, epsilon, delta):
    """Balle & Wang's (ICML 2018, Theorem 8) smallest sigma with
    ``Phi(D/(2 sigma) - eps sigma/D) - e^eps Phi(-D/(2 sigma) - eps sigma/D) <= delta``, by Brent's method
    on scipy.stats.norm's cdf."""
    import scipy.optimize
    import scipy.stats

    if sensitivity == 0:
        return 0.0

    def excess(sig):  # sensitivity 1; decreasing in sig
        return (
            scipy.stats.norm.cdf(0.5 / sig - epsilon * sig)
            - np.exp(epsilon) * scipy.stats.norm.cdf(-0.5 / sig - epsilon * sig)
            - delta
        )

    hi = 1.0
    while excess(hi) > 0:
        hi *= 2.0
    lo = hi / 2.0
    while excess(lo) <= 0:
        lo /= 2.0
    return float(sensitivity) * scipy.optimize.brentq(
        excess, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500
    )


def data_value_weights(values, kappa, mapping="rank"):
    """DVWU weights ``omega_j = 1 - kappa q_j`` with q_j in [-1, 1] increasing in the value v_j.

    ``"rank"``: ``q_j = 2 rank_j / (m - 1) - 1`` with the 0-based rank counted directly,
    ``rank_j = #{k: v_k < v_j} + (#{k: v_k == v_j} - 1) / 2`` (ties share their mean rank);
    ``"minmax"``: ``q_j = 2 (v_j - min v) / (max v - min v) - 1``.  One value, or all values equal under
    minmax, gives q = 0 (omega = 1).  The most valuable point gets the smallest step 1 - kappa.
    """
    v = np.asarray(values, dtype=np.float64)
    m = v.shape[0]
    if m <= 1:
        return np.ones(m)
    if mapping == "rank":
        below = (v[None, :] < v[:, None]).sum(axis=1)
        equal = (v[None, :] == v[:, None]).sum(axis=1)
        q = 2.0 * (below + 0.5 * (equal - 1)) / (m - 1) - 1.0
    elif mapping == "minmax":
        span = v.max() - v.min()
        q = np.zeros(m) if span == 0 else 2.0 * (v - v.min()) / span - 1.0
    else:
        raise ValueError(f"mapping must be 'rank' or 'minmax'; got {mapping!r}")
    return 1.0 - kappa * q

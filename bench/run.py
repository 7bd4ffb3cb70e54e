#!/usr/bin/env python
"""Speed benchmark of the soft-unlearning pipeline.

In one process and on the same data it times, stage by stage,

(a) ``official``  the research-script pipeline: sklearn ``LogisticRegression(solver="newton-cg", tol=1e-8)``,
    the n×p×p einsum Hessian (``softunlearn.reference.hessian_einsum``), scipy ``cho_factor``/``cho_solve``,
    the explicit per-sample gradient matrix (``reference.per_sample_gradients``) @ H⁻¹∇f, Newton update;
(b) ``tuned``     a tuned NumPy/SciPy pipeline: sklearn ``newton-cholesky`` (tol=1e-8), BLAS Hessian
    (SYRK on √h-scaled rows), ``cho_factor``, O(nd) scores r ⊙ (X̃U), update via X̃ᵀ(ε⊙r);
(c) ``softunlearn`` ``su.LogisticRegression().fit``, ``su.Influence`` (reuses the fit's Hessian),
    ``inf.scores([Utility, DemographicParity, Robustness])``, weights (scheme 2.1), ``inf.newton_update``;
(d) ``roofline``  NumPy's ``X.T @ X`` (Hessian stage) and one pass ``X @ v`` (scores stage) on the same X;

checks that the pipelines agree, measures peak memory, and writes everything to a JSON file.
Run ``python bench/run.py --help``; see bench/README.md for the results.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import math
import os
import platform
import re
import sys
import threading
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

HERE = Path(__file__).resolve().parent
try:  # the one-line command works with or without PYTHONPATH=python
    import softunlearn as su
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(HERE.parent / "python"))
    import softunlearn as su
from softunlearn import _core, reference  # noqa: E402 (after the sys.path fallback above)
from softunlearn import targets as sut  # noqa: E402

GB = 1024.0**3
MB = 1024.0**2
C = 1.0
LAM = 0.1
HEADLINE = (100_000, 100)


# ----------------------------------------------------------------------------------------------
# machine description
# ----------------------------------------------------------------------------------------------


def machine_info() -> dict:
    info = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "softunlearn": getattr(su, "__version__", "?"),
        "os_cpu_count": os.cpu_count(),
        "sched_getaffinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "softunlearn_max_threads": int(_core.max_threads()),
        "env_threads": {
            k: os.environ.get(k)
            for k in (
                "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS",
                "OMP_WAIT_POLICY",
                "GOMP_SPINCOUNT",
                "OPENBLAS_THREAD_TIMEOUT",
            )
        },
    }
    try:
        import subprocess

        root = HERE.parent

        def git(*a):
            return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()

        info["git_head"] = git("rev-parse", "HEAD")
        info["git_dirty_python_csrc"] = git("status", "--porcelain", "--", "python", "csrc")
        so = Path(_core.__file__).resolve()
        info["core_so"] = so.name  # file name only: results must not record this machine's paths
        info["core_so_mtime"] = _dt.datetime.fromtimestamp(so.stat().st_mtime).isoformat(timespec="seconds")
    except Exception as e:  # noqa: BLE001 - git may be missing
        info["git_head"] = f"unavailable: {e}"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = re.findall(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
        info["cpu_model"] = models[0] if models else None
        info["cpu_logical"] = len(re.findall(r"^processor\s*:", cpuinfo, re.M))
        flags = re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M)
        if flags:
            f = set(flags.group(1).split())
            info["cpu_simd"] = [x for x in ("sse4_2", "avx", "avx2", "fma", "avx512f") if x in f]
        mhz = re.findall(r"^cpu MHz\s*:\s*(.*)$", cpuinfo, re.M)
        info["cpu_mhz"] = float(mhz[0]) if mhz else None
        caches = re.findall(r"^cache size\s*:\s*(.*)$", cpuinfo, re.M)
        info["cpu_cache"] = caches[0] if caches else None
    except OSError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text()
        info["mem_total_gb"] = round(int(re.search(r"MemTotal:\s+(\d+)", mem).group(1)) / 1024**2, 1)
    except (OSError, AttributeError):
        pass
    try:
        import threadpoolctl

        info["threadpools"] = [
            {k: (Path(v).name if k == "filepath" else v) for k, v in pool.items()}
            for pool in threadpoolctl.threadpool_info()
        ]
    except Exception as e:  # noqa: BLE001 - optional dependency
        info["threadpools"] = f"threadpoolctl unavailable: {e}"
    try:
        cfg = np.show_config(mode="dicts")
        info["numpy_blas"] = cfg.get("Build Dependencies", {}).get("blas")
        info["numpy_simd"] = cfg.get("SIMD Extensions")
    except Exception as e:  # noqa: BLE001 - older numpy
        info["numpy_blas"] = f"unavailable: {e}"
    return info


def cpu_snapshot():
    """(machine busy CPU seconds from /proc/stat, this process's CPU seconds, wall time)."""
    try:
        f = list(map(int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]))
        busy = (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    except (OSError, ValueError):
        busy = float("nan")
    t = os.times()
    return busy, t.user + t.system, time.perf_counter()


def foreign_cpu(s0, s1):
    """CPU seconds other processes used between two snapshots, and as a share of the machine."""
    other = max(0.0, (s1[0] - s0[0]) - (s1[1] - s0[1]))
    wall = s1[2] - s0[2]
    share = other / max(wall * (os.cpu_count() or 1), 1e-9)
    return {"foreign_cpu_s": round(other, 2), "foreign_share": round(share, 3)}


def wait_quiet(max_s: float, share: float = 0.10, window: float = 3.0) -> dict:
    """Wait (up to max_s) until other processes use less than `share` of the CPUs over `window` seconds."""
    t0 = time.perf_counter()
    last = None
    while True:
        s0 = cpu_snapshot()
        time.sleep(window)
        last = foreign_cpu(s0, cpu_snapshot())["foreign_share"]
        if last < share or time.perf_counter() - t0 >= max_s:
            return {"waited_s": round(time.perf_counter() - t0, 1), "foreign_share_before": last}


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ----------------------------------------------------------------------------------------------
# memory probes: tracemalloc (Python/NumPy allocations) + RSS high-water mark (everything, C++ too)
# ----------------------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    m = re.search(key + r":\s+(\d+)\s*kB", Path("/proc/self/status").read_text())
    return int(m.group(1)) if m else 0


def _reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class MemProbe:
    """Peak extra memory of a block: tracemalloc peak and RSS high-water mark minus RSS before.

    When VmHWM cannot be reset a thread samples VmRSS every millisecond instead."""

    def __enter__(self):
        gc.collect()
        self._hwm_ok = _reset_hwm()
        self.rss0 = _status_kb("VmRSS") * 1024
        self._stop = threading.Event()
        self._sampled = self.rss0
        if not self._hwm_ok:

            def sample():
                while not self._stop.is_set():
                    self._sampled = max(self._sampled, _status_kb("VmRSS") * 1024)
                    time.sleep(0.001)

            self._thr = threading.Thread(target=sample, daemon=True)
            self._thr.start()
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.tracemalloc_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if self._hwm_ok:
            peak = _status_kb("VmHWM") * 1024
        else:
            self._stop.set()
            self._thr.join()
            peak = self._sampled
        self.rss_peak_delta = max(0, peak - self.rss0)
        self.method = "VmHWM reset via /proc/self/clear_refs" if self._hwm_ok else "VmRSS sampled every 1 ms"
        return False

    def result(self) -> dict:
        return {
            "tracemalloc_peak_mb": self.tracemalloc_peak / MB,
            "rss_peak_delta_mb": self.rss_peak_delta / MB,
            "peak_extra_mb": max(self.tracemalloc_peak, self.rss_peak_delta) / MB,
            "rss_method": self.method,
        }


# ----------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------


class Timer:
    """Runs a stage, best of `reps` when its first run is shorter than `fast` seconds, else once; stages
    under 50 ms are repeated up to 15 times (about 0.3 s in all)."""

    def __init__(self, reps: int = 3, fast: float = 1.0):
        self.reps, self.fast = reps, fast
        self.times: dict = {}
        self.all: dict = {}

    def __call__(self, name, fn):
        ts = []
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
        want = 1 if ts[0] >= self.fast else self.reps
        if ts[0] < 0.05:  # very short stages: more repeats (up to ~0.3 s in all, at most 15) against noise
            want = max(want, min(15, int(0.3 / max(ts[0], 1e-6))))
        while len(ts) < want:
            t0 = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t0)
        self.times[name] = min(ts)
        self.all[name] = ts
        return out


class Once:
    """Same interface, one untimed run (memory passes)."""

    def __call__(self, name, fn):
        return fn()


def best_of(fn, reps=3, fast=1.0):
    t = Timer(reps, fast)
    out = t("x", fn)
    return out, t.times["x"], t.all["x"]


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


def synthetic(n: int, d: int, seed: int = 0):
    """Standard normal X; s = 1[x₀ + ½·noise > 0] (correlated with feature 0); y from a logistic model
    with ‖w‖ = 1.5 (moderate signal, ~75 % accuracy) in which feature 0 carries weight 1.
    Validation set of n/10 rows from the same distribution."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w[0] = 0.0
    w *= math.sqrt(max(1.5**2 - 1.0, 0.0)) / max(np.linalg.norm(w), 1e-12)
    w[0] = 1.0
    b = -0.3

    def draw(m):
        X = rng.standard_normal((m, d))
        s = (X[:, 0] + 0.5 * rng.standard_normal(m) > 0).astype(np.float64)
        y = (rng.random(m) < expit(X @ w + b)).astype(np.float64)
        return X, y, s

    X, y, s = draw(n)
    Xv, yv, sv = draw(max(n // 10, 100))
    return {"X": X, "y": y, "s": s, "Xv": Xv, "yv": yv, "sv": sv, "name": f"synthetic n={n} d={d}", "kind": "synthetic"}


def nbytes(X) -> int:
    """Bytes of X's arrays: the buffer of a dense X, data + indices + indptr of a CSR one."""
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def real(name: str):
    """A real data set's train and validation splits; ``NAME:csr`` gives the training X as CSR (the
    validation rows stay dense, as the robustness target needs them)."""
    from softunlearn import datasets

    name, _, layout = name.partition(":")
    if layout not in ("", "csr"):
        raise ValueError(f"--datasets: layout {layout!r} of {name!r}: expected NAME or NAME:csr")
    loader = {"census_kdd": datasets.load_census_kdd, "heritage_health": datasets.load_heritage_health}[name]
    ds = loader()
    f = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    return {
        "X": sp.csr_matrix(f(ds.train.X)) if layout else f(ds.train.X),
        "y": f(ds.train.y),
        "s": f(ds.train.s),
        "Xv": f(ds.val.X),
        "yv": f(ds.val.y),
        "sv": f(ds.val.s),
        "name": f"{name} (CSR)" if layout else name,
        "kind": "real",
        "description": getattr(ds, "description", name),
    }


# ----------------------------------------------------------------------------------------------
# shared pieces
# ----------------------------------------------------------------------------------------------


def weights_21(T, delta):
    """Scheme 2.1 closed form ε = Δ·T/(TᵀT) (target-only constraint active)."""
    return delta * T / float(T @ T)


_SU_WEIGHTS_NOTE = "numpy closed form (softunlearn.weights not importable)"
try:  # resolved once: a failed import is not cached and costs ~10 ms of file-system probing per attempt
    from softunlearn.weights import soft_weights as _su_soft_weights

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _probe = _su_soft_weights(np.array([1.0, 2.0, -0.5]), np.array([0.5, -1.0, 0.2]), 0.1, lam=LAM, scheme="2.1")
    if not np.allclose(np.asarray(getattr(_probe, "eps", _probe)), 0.1 * np.array([1.0, 2.0, -0.5]) / 5.25):
        raise ValueError("soft_weights(scheme='2.1') does not give Δ·T/(TᵀT) on a probe")
except ImportError:
    _su_soft_weights = None
except Exception as _e:  # noqa: BLE001 - e.g. a compiled core older than the Python code
    _su_soft_weights = None
    _SU_WEIGHTS_NOTE = f"numpy closed form (softunlearn.weights failed: {type(_e).__name__}: {_e})"


def su_weights(T, U, delta):
    """softunlearn.weights.soft_weights(scheme 2.1) when it exists, else the NumPy closed form."""
    if _su_soft_weights is None:
        return weights_21(T, delta), _SU_WEIGHTS_NOTE
    with warnings.catch_warnings():  # 2.1 is asked for on purpose (the closed form the baselines use)
        warnings.simplefilter("ignore")
        res = _su_soft_weights(T, U, delta, lam=LAM, scheme="2.1")
    return np.asarray(getattr(res, "eps", res)), "softunlearn.weights.soft_weights(scheme='2.1')"


def theta_of(clf):
    return np.r_[clf.coef_.ravel(), clf.intercept_.ravel()].astype(np.float64)


def rel(a, b):
    """max |a − b| / max |b| (per column for 2-D, then the max)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim == 2:
        return float(max(rel(a[:, k], b[:, k]) for k in range(a.shape[1])))
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def absdiff(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def penalty_diag(p):
    m = np.ones(p)
    m[-1] = 0.0
    return m


# ----------------------------------------------------------------------------------------------
# (a) official research pipeline
# ----------------------------------------------------------------------------------------------


def official_hessian(theta, X, y, chunk_rows):
    """reference.hessian_einsum, on row chunks when the whole n×p×p tensor does not fit."""
    n = X.shape[0]
    if chunk_rows >= n:
        return reference.hessian_einsum(theta, X, y, C)
    H, k = None, 0
    for i in range(0, n, chunk_rows):
        Hi = reference.hessian_einsum(theta, X[i : i + chunk_rows], y[i : i + chunk_rows], C)
        H = Hi if H is None else H + Hi
        k += 1
    H -= (k - 1) * np.diag(penalty_diag(H.shape[0]))
    return H


def run_official(D, T, chunk_rows):
    X, y, Xv, yv, sv = D["X"], D["y"], D["Xv"], D["yv"], D["sv"]
    out = {}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        clf = T("fit", lambda: SkLogisticRegression(C=C, solver="newton-cg", tol=1e-8, max_iter=1000).fit(X, y))
    out["warnings"] = sorted({str(x.message)[:200] for x in w})
    th = theta_of(clf)
    out["n_iter"] = int(np.max(clf.n_iter_))
    H = T("hessian", lambda: official_hessian(th, X, y, chunk_rows))
    fac = T("factor", lambda: scipy.linalg.cho_factor(H, lower=True))

    def scores():
        Xa = reference.mirror_attack(Xv, th, True, 1.3)
        Gf = np.column_stack(
            [
                reference.target_gradient("utility", th, Xv, yv),
                reference.target_gradient("dp", th, Xv, s=sv),
                reference.target_gradient("robustness", th, Xa, yv),
            ]
        )
        G = reference.per_sample_gradients(th, X, y, C)
        return G @ scipy.linalg.cho_solve(fac, Gf), G

    S, G = T("scores_3_targets", scores)
    eps = T("weights", lambda: weights_21(S[:, 1], reference.target_value("dp", th, Xv, s=sv)))
    th_new = T("update", lambda: th - scipy.linalg.cho_solve(fac, G.T @ eps))
    out.update(theta=th, H=H, S=S, eps=eps, theta_new=th_new)
    return out


# ----------------------------------------------------------------------------------------------
# (b) tuned NumPy/SciPy pipeline
# ----------------------------------------------------------------------------------------------


def tuned_hessian(X, th):
    """H = X̃ᵀ diag(C p(1−p)) X̃ + diag(1,…,1,0) by blocks, the big block as one SYRK on √h-scaled rows."""
    d = X.shape[1]
    w, b = th[:d], th[d]
    p = expit(X @ w + b)
    h = C * p * (1.0 - p)
    H = np.empty((d + 1, d + 1))
    if sp.issparse(X):  # scipy's sparse product, densified: the p×p Hessian is dense anyway
        Xs = X.multiply(np.sqrt(h)[:, None]).tocsr()
        H[:d, :d] = (Xs.T @ Xs).toarray()
    else:
        Xs = X * np.sqrt(h)[:, None]
        H[:d, :d] = Xs.T @ Xs  # NumPy recognises Aᵀ@A and calls SYRK
    del Xs
    hx = X.T @ h
    H[:d, d] = hx
    H[d, :d] = hx
    H[d, d] = h.sum()
    H[np.diag_indices(d)] += 1.0
    return H, p


def tuned_target_gradients(Xv, yv, sv, th):
    """(p, 3) gradients of utility, DP, robustness in two passes over the validation set; DP value."""
    d = Xv.shape[1]
    w, b = th[:d], th[d]
    z = Xv @ w + b
    pv = expit(z)
    n1 = sv.sum()
    c = sv / n1 - (1.0 - sv) / (len(sv) - n1)
    hv = pv * (1.0 - pv) * c
    R = np.column_stack([pv - yv, hv])
    Xa = Xv - (1.3 / (w @ w)) * z[:, None] * w[None, :]
    ra = expit(Xa @ w + b) - yv
    G = np.empty((d + 1, 3))
    G[:d, :2] = Xv.T @ R
    G[d, :2] = R.sum(axis=0)
    G[:d, 2] = Xa.T @ ra
    G[d, 2] = ra.sum()
    dp = float(pv @ sv / n1 - pv @ (1.0 - sv) / (len(sv) - n1))
    return G, dp


def tuned_scores(X, y, p, fac, Xv, yv, sv, th):
    d = X.shape[1]
    Gf, dp = tuned_target_gradients(Xv, yv, sv, th)
    U = scipy.linalg.cho_solve(fac, Gf)
    r = C * (p - y)
    S = X @ U[:d]
    S += U[d]
    S *= r[:, None]
    return S, r, dp


def run_tuned(D, T):
    X, y, Xv, yv, sv = D["X"], D["y"], D["Xv"], D["yv"], D["sv"]
    out = {}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        clf = T("fit", lambda: SkLogisticRegression(C=C, solver="newton-cholesky", tol=1e-8, max_iter=1000).fit(X, y))
    out["warnings"] = sorted({str(x.message)[:200] for x in w})
    th = theta_of(clf)
    out["n_iter"] = int(np.max(clf.n_iter_))
    H, p = T("hessian", lambda: tuned_hessian(X, th))
    fac = T("factor", lambda: scipy.linalg.cho_factor(H, lower=True))
    S, r, dp = T("scores_3_targets", lambda: tuned_scores(X, y, p, fac, Xv, yv, sv, th))
    eps = T("weights", lambda: weights_21(S[:, 1], dp))

    def update():
        er = eps * r
        v = np.r_[X.T @ er, er.sum()]
        return th - scipy.linalg.cho_solve(fac, v)

    th_new = T("update", update)
    out.update(theta=th, H=H, S=S, eps=eps, theta_new=th_new)
    return out


# ----------------------------------------------------------------------------------------------
# (c) softunlearn
# ----------------------------------------------------------------------------------------------


def run_softunlearn(D, T, X=None, Xv=None):
    X = D["X"] if X is None else X
    Xv = D["Xv"] if Xv is None else Xv
    y, yv, sv = D["y"], D["yv"], D["sv"]
    out = {}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m = T("fit", lambda: su.LogisticRegression(C=C).fit(X, y))
    out["warnings"] = sorted({str(x.message)[:200] for x in w})
    out["n_iter"] = int(m.n_iter_)
    out["n_hessian_evals"] = int(getattr(m, "n_hessian_evals_", -1))
    # su.Influence assembles (or reuses) H, computes r and factorises H in its constructor: "hessian" here
    # is hessian + factor; the Cholesky alone is timed separately (extras.factor_only).
    inf = T("hessian", lambda: su.Influence(m, X, y))
    out["reused_hessian"] = bool(getattr(inf, "reused_hessian", False))

    def scores():
        tg = [sut.Utility(Xv, yv), sut.DemographicParity(Xv, sv), sut.Robustness(Xv, yv)]
        return inf.scores(tg), tg

    S, tg = T("scores_3_targets", scores)

    def weights():
        return su_weights(S[:, 1], S[:, 0], tg[1].value(m))

    eps, how = T("weights", weights)
    out["weights_impl"] = how
    m2 = T("update", lambda: inf.newton_update(eps))
    out.update(
        theta=np.asarray(m.theta_, np.float64),
        H=np.asarray(inf.hessian, np.float64),
        S=S,
        eps=eps,
        theta_new=np.asarray(m2.theta_, np.float64),
        model=m,
        inf=inf,
    )
    return out


def su_extras(D, res, X, reps, fast):
    """Hessian assembled from scratch, the bare kernels, and the Cholesky alone."""
    y = D["y"]
    m, inf = res["model"], res["inf"]
    ex = {}
    _, ex["influence_from_scratch"], _ = best_of(lambda: su.Influence(m, X, y, reuse_hessian=False), reps, fast)
    th = m.theta_
    d = X.shape[1]
    p = expit((X @ th[:d] + th[d]).astype(np.float64))
    h = np.ascontiguousarray(C * p * (1 - p), dtype=X.dtype)
    _, ex["weighted_gram"], _ = best_of(lambda: _core.weighted_gram(X, h, True, 0), reps, fast)
    # the fused pass Influence(reuse_hessian=False) runs: z, p, r, gradient and Hessian in one sweep
    yd, sw, thd = y.astype(X.dtype), np.empty(0, X.dtype), np.ascontiguousarray(th, dtype=X.dtype)
    _, ex["loss_pass_hessian"], _ = best_of(
        lambda: _core.loss_pass(X, yd, sw, thd, X.dtype.type(C), True, True, True, False, 0, _core.Loss.logistic, 0.0),
        reps,
        fast,
    )
    _, ex["loss_pass_r_only"], _ = best_of(
        lambda: _core.loss_pass(X, yd, sw, thd, X.dtype.type(C), True, False, True, False, 0, _core.Loss.logistic, 0.0),
        reps,
        fast,
    )
    # the input check every API entry point runs on X (finite check: one pass over X)
    from softunlearn._validation import as_matrix

    _, ex["input_check_X"], _ = best_of(lambda: as_matrix(X, "X"), reps, fast)
    H = np.asfortranarray(inf.hessian)
    chol = _core.Cholesky_f32 if X.dtype == np.float32 else _core.Cholesky_f64
    _, ex["factor_only"], _ = best_of(lambda: chol(H), reps, fast)
    G = np.asfortranarray(np.random.default_rng(1).standard_normal((d + 1, 3)), dtype=X.dtype)
    _, ex["scores_from_gradients"], _ = best_of(lambda: inf.scores_from_gradients(G), reps, fast)
    U = np.asfortranarray(inf.solve(G), dtype=X.dtype)
    _, ex["scores_kernel"], _ = best_of(lambda: _core.scores(X, U, inf.r, True, 0), reps, fast)
    return ex


# ----------------------------------------------------------------------------------------------
# (d) roofline
# ----------------------------------------------------------------------------------------------


def roofline(X, reps, fast):
    """Best of at least 5: these are the denominators of the headline ratios."""
    reps = max(reps, 5)
    r = {}
    _, r["XtX"], _ = best_of(lambda: X.T @ X, reps, fast)
    v = np.ones(X.shape[1], dtype=X.dtype)
    V3 = np.ones((X.shape[1], 3), dtype=X.dtype)
    _, r["X_at_v"], _ = best_of(lambda: X @ v, reps, fast)
    _, r["X_at_V3"], _ = best_of(lambda: X @ V3, reps, fast)
    r["pass_bandwidth_gbs"] = nbytes(X) / r["X_at_v"] / 1e9
    r["XtX_gflops"] = X.shape[0] * X.shape[1] ** 2 / r["XtX"] / 1e9  # SYRK: n·d² flops (half of GEMM)
    return r


# ----------------------------------------------------------------------------------------------
# one size
# ----------------------------------------------------------------------------------------------

STAGES = ("fit", "hessian", "factor", "scores_3_targets", "weights", "update")


def stage_summary(T: Timer):
    st = {k: T.times.get(k) for k in STAGES}
    st["end_to_end"] = float(sum(v for v in st.values() if v is not None))
    st["all_runs"] = T.all
    return st


def memory_budget(D, X, p):
    """X (+ validation X) + p² + O(n), O(n) counted as 10 n-vectors of the compute dtype."""
    n = X.shape[0]
    isz = X.dtype.itemsize
    Xv_bytes = D["Xv"].shape[0] * D["Xv"].shape[1] * isz
    return nbytes(X) + Xv_bytes + p * p * isz + 10 * n * isz


def memory_entry(probe: MemProbe, D, X, p):
    r = probe.result()
    data = nbytes(X) + D["Xv"].shape[0] * D["Xv"].shape[1] * X.dtype.itemsize
    budget = memory_budget(D, X, p)
    r["data_mb"] = data / MB
    r["budget_mb"] = budget / MB
    r["peak_total_over_budget"] = (data + r["peak_extra_mb"] * MB) / budget
    r["peak_extra_over_X"] = r["peak_extra_mb"] * MB / nbytes(X)
    return r


PIPELINE_INFO = ("n_iter", "n_hessian_evals", "reused_hessian", "weights_impl", "warnings")


def bench_one(D, args, dtypes):
    X64 = D["X"]
    n, d = X64.shape
    p = d + 1
    R = {
        "name": D["name"],
        "kind": D["kind"],
        "n": n,
        "d": d,
        "p": p,
        "n_val": int(D["Xv"].shape[0]),
        "X_mb": nbytes(X64) / MB,
        "loadavg_start": loadavg(),
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "pipelines": {},
        "skipped": {},
        "memory": {},
        "roofline": {},
        "softunlearn_extras": {},
        "agreement": {},
    }
    reps, fast = args.reps, args.fast
    t_size = time.perf_counter()
    snap0 = cpu_snapshot()
    # warm the data once, untimed (first passes over freshly written memory are erratic on this VM)
    for _ in range(2):
        X64.sum()
        D["Xv"].sum()
    X64.T @ X64

    # ---- softunlearn, float64 -----------------------------------------------------------------
    res = {}
    if "float64" in dtypes:
        T = Timer(reps, fast)
        res["softunlearn"] = run_softunlearn(D, T)
        R["pipelines"]["softunlearn"] = stage_summary(T)
        R["pipelines"]["softunlearn"].update({k: res["softunlearn"][k] for k in PIPELINE_INFO})
        R["softunlearn_extras"]["float64"] = su_extras(D, res["softunlearn"], X64, reps, fast)
        R["roofline"]["float64"] = roofline(X64, reps, fast)

    # ---- tuned --------------------------------------------------------------------------------
    if "float64" in dtypes and "tuned" in args.pipelines:
        if args.max_tuned_gb and nbytes(X64) / GB > args.max_tuned_gb:
            R["skipped"]["tuned"] = f"skipped: X is {nbytes(X64) / GB:.1f} GB > --max-tuned-gb"
        else:
            T = Timer(reps, fast)
            res["tuned"] = run_tuned(D, T)
            R["pipelines"]["tuned"] = stage_summary(T)
            R["pipelines"]["tuned"].update(n_iter=res["tuned"]["n_iter"], warnings=res["tuned"]["warnings"])

    # ---- official -----------------------------------------------------------------------------
    if "float64" in dtypes and "official" in args.pipelines and sp.issparse(X64):
        R["skipped"]["official"] = "skipped: the n×p×p einsum needs a dense X"
    elif "float64" in dtypes and "official" in args.pipelines:
        tensor_gb = n * p * p * 8 / GB
        chunk_rows = n
        note = None
        if tensor_gb > args.tensor_limit_gb:
            note = f"skipped: tensor would need {tensor_gb:.1f} GB (limit {args.tensor_limit_gb:g} GB)"
            if args.chunked_official and n * p * p <= args.chunked_max_elems:
                chunk_rows = max(1, int(args.chunk_gb * GB / (p * p * 8)))
                note += f"; ran it on row chunks of {chunk_rows} ({args.chunk_gb:g} GB tensor each) instead"
            else:
                chunk_rows = 0
        if chunk_rows == 0:
            R["skipped"]["official"] = note
        else:
            T = Timer(reps, args.fast_official)
            res["official"] = run_official(D, T, chunk_rows)
            R["pipelines"]["official"] = stage_summary(T)
            R["pipelines"]["official"].update(
                n_iter=res["official"]["n_iter"],
                warnings=res["official"]["warnings"],
                tensor_gb=tensor_gb,
                hessian_chunk_rows=int(chunk_rows),
                note=note or "full n×p×p tensor",
            )

    # ---- convergence of each fit: ‖∇J(θ̂)‖∞ on the float64 data, one softunlearn pass per pipeline ------
    conv = {}
    for name, r in res.items():
        g = _core.loss_pass(
            X64,
            D["y"],
            np.empty(0),
            np.ascontiguousarray(r["theta"]),
            C,
            True,
            False,
            False,
            False,
            0,
            _core.Loss.logistic,
            0.0,
        )["grad"]
        conv[name] = float(np.max(np.abs(g)))
    R["grad_inf_at_fit"] = conv

    # ---- thread interference: a softunlearn call right after a NumPy BLAS call (and alone) ------------
    if "softunlearn" in res:
        rs = res["softunlearn"]
        m, dpt = rs["model"], sut.DemographicParity(D["Xv"], D["sv"])
        T = np.ascontiguousarray(rs["S"][:, 1])
        v = np.ones(d)
        _, a, _ = best_of(lambda: dpt.value(m), 10, 1.0)
        _, b, _ = best_of(lambda: (T @ T, dpt.value(m)), 10, 1.0)
        _, c, _ = best_of(lambda: T @ T, 10, 1.0)
        _, e, _ = best_of(lambda: X64 @ v, 10, 1.0)
        _, f, _ = best_of(lambda: (dpt.value(m), X64 @ v), 10, 1.0)
        R["interference"] = {
            "dp_value_alone": a,
            "dot_then_dp_value": b,
            "dot_alone": c,
            "X_at_v_alone": e,
            "dp_value_then_X_at_v": f,
        }

    # ---- agreement ----------------------------------------------------------------------------
    A = R["agreement"]
    names = [k for k in ("softunlearn", "tuned", "official") if k in res]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ra, rb = res[a], res[b]
            A[f"{a}_vs_{b}"] = {
                "theta_max_abs": absdiff(ra["theta"], rb["theta"]),
                "hessian_rel": rel(ra["H"], rb["H"]),
                "scores_rel": rel(ra["S"], rb["S"]),
                "eps_rel": rel(ra["eps"], rb["eps"]),
                "theta_new_max_abs": absdiff(ra["theta_new"], rb["theta_new"]),
                "update_step_rel": rel(ra["theta_new"] - ra["theta"], rb["theta_new"] - rb["theta"]),
            }
    if "softunlearn" in res:
        # implementation agreement at the *same* θ̂: the tuned NumPy formulas evaluated at softunlearn's fit
        rs = res["softunlearn"]
        th = rs["theta"]
        Ht, pt = tuned_hessian(X64, th)
        fac = scipy.linalg.cho_factor(Ht, lower=True)
        St, r, dp = tuned_scores(X64, D["y"], pt, fac, D["Xv"], D["yv"], D["sv"], th)
        eps = weights_21(St[:, 1], dp)
        er = eps * r
        thn = th - scipy.linalg.cho_solve(fac, np.r_[X64.T @ er, er.sum()])
        A["softunlearn_vs_numpy_at_same_theta"] = {
            "hessian_rel": rel(rs["H"], Ht),
            "scores_rel": rel(rs["S"], St),
            "eps_rel": rel(rs["eps"], eps),
            "theta_new_max_abs": absdiff(rs["theta_new"], thn),
            "grad_norm_at_theta": float(res["softunlearn"]["inf"].grad_norm),
        }
        del Ht, St

    # ---- softunlearn, float32 -----------------------------------------------------------------
    if "float32" in dtypes:
        X32 = X64.astype(np.float32)
        Xv32 = D["Xv"].astype(np.float32)
        T = Timer(reps, fast)
        r32 = run_softunlearn(D, T, X=X32, Xv=Xv32)
        R["pipelines"]["softunlearn_float32"] = stage_summary(T)
        R["pipelines"]["softunlearn_float32"].update({k: r32[k] for k in PIPELINE_INFO})
        R["softunlearn_extras"]["float32"] = su_extras(D, r32, X32, reps, fast)
        R["roofline"]["float32"] = roofline(X32, reps, fast)
        if "softunlearn" in res:
            S64 = res["softunlearn"]["S"]
            per = [rel(r32["S"][:, k], S64[:, k]) for k in range(S64.shape[1])]
            A["float32_vs_float64"] = {
                "theta_max_abs": absdiff(r32["theta"], res["softunlearn"]["theta"]),
                "hessian_rel": rel(r32["H"], res["softunlearn"]["H"]),
                "scores_rel_per_target": dict(zip(("utility", "dp", "robustness"), per)),
                "scores_rel": max(per),
                "scores_within_1e-4": bool(max(per) <= 1e-4),
                "theta_new_max_abs": absdiff(r32["theta_new"], res["softunlearn"]["theta_new"]),
            }
        if args.memory:
            gc.collect()
            with MemProbe() as pr:
                run_softunlearn(D, Once(), X=X32, Xv=Xv32)
            R["memory"]["softunlearn_float32"] = memory_entry(pr, D, X32, p)
        del r32, X32, Xv32

    # ---- memory passes (separate, untimed runs: tracemalloc slows Python allocations) -----------
    if args.memory:
        for name in ("softunlearn", "tuned", "official"):
            if name not in res:
                continue
            e2e = R["pipelines"][name]["end_to_end"]
            if e2e > args.memory_max_seconds:
                R["memory"][name] = f"not measured: one run takes {e2e:.0f} s > --memory-max-seconds"
                continue
            res[name] = None
            gc.collect()
            with MemProbe() as pr:
                if name == "softunlearn":
                    run_softunlearn(D, Once())
                elif name == "tuned":
                    run_tuned(D, Once())
                else:
                    run_official(D, Once(), R["pipelines"]["official"]["hessian_chunk_rows"])
            R["memory"][name] = memory_entry(pr, D, X64, p)
    res.clear()
    gc.collect()
    R["loadavg_end"] = loadavg()
    R["other_processes"] = foreign_cpu(snap0, cpu_snapshot())
    R["seconds"] = time.perf_counter() - t_size
    return R


# ----------------------------------------------------------------------------------------------
# complexity: fitted exponents
# ----------------------------------------------------------------------------------------------


def _slope(xs, ys):
    if len(xs) < 2:
        return None
    lx, ly = np.log(xs), np.log(ys)
    return float(np.polyfit(lx, ly, 1)[0])


def complexity(results):
    """Exponents of time vs n (fixed d) and vs d (fixed n), synthetic float64 sizes only."""
    rows = [r for r in results if r.get("kind") == "synthetic" and "softunlearn" in r.get("pipelines", {})]
    series = {
        "hessian_scratch": lambda r: r["softunlearn_extras"]["float64"]["influence_from_scratch"],
        "weighted_gram": lambda r: r["softunlearn_extras"]["float64"]["weighted_gram"],
        "end_to_end": lambda r: r["pipelines"]["softunlearn"]["end_to_end"],
        "fit": lambda r: r["pipelines"]["softunlearn"]["fit"],
        "roofline_XtX": lambda r: r["roofline"]["float64"]["XtX"],
    }
    out = {"vs_n": {}, "vs_d": {}}
    for key, get in series.items():
        for axis, fixed, var in (("vs_n", "d", "n"), ("vs_d", "n", "d")):
            groups = {}
            for r in rows:
                groups.setdefault(r[fixed], []).append((r[var], get(r)))
            for f, pts in sorted(groups.items()):
                pts.sort()
                if len(pts) >= 2:
                    out[axis].setdefault(key, {})[f"{fixed}={f}"] = {
                        "exponent": _slope([a for a, _ in pts], [b for _, b in pts]),
                        "points": pts,
                    }
    return out


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def parse_size(s: str):
    a, b = s.lower().split("x")
    return int(float(a)), int(float(b))


def warm_up():
    D = synthetic(2000, 10, seed=123)
    args = argparse.Namespace(
        reps=1,
        fast=0.0,
        pipelines=("tuned", "official"),
        max_tuned_gb=0,
        tensor_limit_gb=4,
        chunked_official=False,
        chunked_max_elems=0,
        chunk_gb=1,
        fast_official=0.0,
        memory=False,
        memory_max_seconds=0,
    )
    bench_one(D, args, ("float64", "float32"))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="n∈{1e4,1e5} × d∈{50,200} + the headline, float64 only (< 2 min)"
    )
    ap.add_argument(
        "--sizes",
        nargs="*",
        help="synthetic sizes NxD, e.g. 1e5x100 1e6x50 (default: the grid; "
        "give none, with --datasets, for real data only)",
    )
    ap.add_argument(
        "--datasets",
        nargs="*",
        default=None,
        help="real data sets (census_kdd heritage_health; NAME:csr for a CSR training X); default both dense "
        "in full mode, none with --quick/--sizes",
    )
    ap.add_argument("--dtypes", nargs="+", default=None, choices=("float64", "float32"))
    ap.add_argument(
        "--pipelines",
        nargs="+",
        default=("tuned", "official"),
        choices=("tuned", "official"),
        help="baselines to run besides softunlearn and the roofline",
    )
    ap.add_argument("--out", default=None, help="JSON file (default bench/results/<mode>-<date>.json)")
    ap.add_argument("--reps", type=int, default=3, help="best of this many runs for fast stages")
    ap.add_argument("--fast", type=float, default=2.0, help="stages shorter than this (s) are repeated")
    ap.add_argument("--fast-official", type=float, default=0.5, help="same, for the official pipeline")
    ap.add_argument("--tensor-limit-gb", type=float, default=4.0, help="largest n×p×p tensor for the official pipeline")
    ap.add_argument(
        "--no-chunked-official",
        dest="chunked_official",
        action="store_false",
        help="skip the official pipeline above the tensor limit instead of chunking its einsum",
    )
    ap.add_argument("--chunked-max-elems", type=float, default=2.5e9, help="largest n·p² for the chunked official run")
    ap.add_argument("--chunk-gb", type=float, default=1.0)
    ap.add_argument("--max-tuned-gb", type=float, default=4.0, help="skip the tuned pipeline when X is larger")
    ap.add_argument("--max-x-gb", type=float, default=3.0, help="skip sizes whose float64 X is larger")
    ap.add_argument("--no-memory", dest="memory", action="store_false", help="skip the (untimed) memory runs")
    ap.add_argument("--memory-max-seconds", type=float, default=30.0)
    ap.add_argument("--time-limit", type=float, default=None, help="start no new size after this many seconds")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each size wait up to this many seconds until other processes use < 10%% of the "
        "CPUs (shared machines); not counted in --time-limit",
    )
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else ("sizes" if args.sizes is not None else "full")
    if args.sizes is not None:
        sizes = [parse_size(s) for s in args.sizes]
    elif args.quick:
        sizes = [HEADLINE] + [(n, d) for n in (10_000, 100_000) for d in (50, 200)]
    else:
        sizes = [HEADLINE] + [(n, d) for n in (10_000, 100_000, 1_000_000) for d in (50, 200, 1000)]
    if args.datasets is not None:
        datasets = args.datasets
    else:
        datasets = [] if mode != "full" else ["census_kdd", "heritage_health"]
    dtypes = tuple(args.dtypes or (("float64",) if args.quick else ("float64", "float32")))
    out = Path(args.out) if args.out else HERE / "results" / f"{mode}-{_dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    doc = {
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "mode": mode,
        "dtypes": list(dtypes),
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        "machine": machine_info(),
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "loadavg_start": loadavg(),
        "results": [],
        "not_run": [],
    }
    t0 = time.perf_counter()
    warm_up()

    def save():
        doc["complexity"] = complexity(doc["results"])
        doc["elapsed_s"] = time.perf_counter() - t0
        out.write_text(json.dumps(doc, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))

    waited = [0.0]
    jobs = [("synthetic", s) for s in sizes] + [("real", name) for name in datasets]
    for kind, what in jobs:
        label = f"n={what[0]} d={what[1]}" if kind == "synthetic" else what
        if args.time_limit and time.perf_counter() - t0 - waited[0] > args.time_limit:
            doc["not_run"].append(f"{label}: --time-limit {args.time_limit:g} s reached")
            print(f"[skip] {label}: time limit", flush=True)
            continue
        if kind == "synthetic" and what[0] * what[1] * 8 / GB > args.max_x_gb:
            doc["not_run"].append(
                f"{label}: X would be {what[0] * what[1] * 8 / GB:.1f} GB > --max-x-gb "
                f"{args.max_x_gb:g} (24 GB shared machine; the baselines copy X)"
            )
            print(f"[skip] {label}: X too large", flush=True)
            continue
        quiet = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else None
        print(f"[run ] {label} ...{'' if quiet is None else f' (waited {quiet}s for a quiet machine)'}", flush=True)
        try:
            D = synthetic(*what) if kind == "synthetic" else real(what)
        except Exception as e:  # noqa: BLE001 - a missing data package must not stop the benchmark
            doc["not_run"].append(f"{label}: loading failed: {type(e).__name__}: {e}")
            print(f"[skip] {label}: {e}", flush=True)
            continue
        if quiet is not None:  # the wait happened before loading; re-check that it is still quiet
            quiet = {**quiet, **{"after_loading": wait_quiet(args.wait_quiet / 4)}}
            waited[0] += quiet["waited_s"] + quiet["after_loading"]["waited_s"]
        R = bench_one(D, args, dtypes)
        R["wait_quiet"] = quiet
        doc["results"].append(R)
        del D
        gc.collect()
        print(short_line(R), flush=True)
        save()
    doc["loadavg_end"] = loadavg()
    save()
    print(f"wrote {out} ({time.perf_counter() - t0:.0f} s)")


def short_line(R):
    P = R["pipelines"]
    parts = [f"{R['name']}:"]
    for k in ("softunlearn", "tuned", "official", "softunlearn_float32"):
        if k in P:
            parts.append(f"{k} {P[k]['end_to_end']:.3f}s")
    if "tuned" in P and "softunlearn" in P:
        parts.append(f"tuned/su {P['tuned']['end_to_end'] / P['softunlearn']['end_to_end']:.1f}x")
    if "official" in P and "softunlearn" in P:
        parts.append(f"official/su {P['official']['end_to_end'] / P['softunlearn']['end_to_end']:.0f}x")
    ex = R["softunlearn_extras"].get("float64")
    rf = R["roofline"].get("float64")
    if ex and rf:
        parts.append(
            f"gram/XtX {ex['weighted_gram'] / rf['XtX']:.2f} scratch/XtX {ex['influence_from_scratch'] / rf['XtX']:.2f}"
        )
    parts.append(
        f"({R['seconds']:.0f}s, load {R['loadavg_start']}, other processes used "
        f"{100 * R['other_processes']['foreign_share']:.0f}% of the CPUs)"
    )
    return " ".join(parts)


if __name__ == "__main__":
    main()

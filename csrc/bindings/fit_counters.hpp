// The scalar results every Newton fit reports, written once for the CPU core's and the CUDA extension's
// binding (both result types carry these fields), so the two modules' result keys cannot drift apart.
#pragma once

#include <pybind11/pybind11.h>

template <class Result> void put_fit_counters(pybind11::dict& out, const Result& r) {
  out["n_iter"] = r.n_iter;
  out["converged"] = r.converged;
  out["grad_norm"] = r.grad_norm;
  out["grad_scale"] = r.grad_scale;
  out["n_hessian"] = r.n_hessian;
  out["n_passes"] = r.n_passes;
  out["n_warm_iter"] = r.n_warm_iter;
}

// Progress reports of the first-order unlearning loops (fine-tuning, gradient ascent). The loops stay
// free of Python: a binding turns a Python callable into a ProgressCallback.
#pragma once

#include <functional>

#include "types.hpp"

namespace softunlearn {

template <class T> struct Progress {
  int iteration = 0;    // steps taken so far (1 at the first report)
  T objective = 0;      // the minimised function at θ_k
  T grad_norm = 0;      // ‖∇‖_∞ of the minimised function at θ_k
  T step_norm = 0;      // ‖θ_k − θ_{k−1}‖₂
  const Vec<T>* theta = nullptr;  // θ_k, valid during the call only
};

// Called after every step with the values at the new iterate; returning true stops the loop there.
template <class T> using ProgressCallback = std::function<bool(const Progress<T>&)>;

// Summary of a first-order loop.
template <class T> struct LoopResult {
  Vec<T> theta;
  T objective = 0;
  T grad_norm = 0;   // ‖∇‖_∞ at theta
  T grad_scale = 0;  // the stopping test is grad_norm ≤ tol · grad_scale
  int n_iter = 0;
  int n_passes = 0;  // O(np) passes over X
  bool converged = false;
  bool stopped = false;  // the callback asked to stop
};

// Reports the iterate `res.theta` (gradient `grad`) after a step of length `step_norm`; when the callback
// asks to stop, records that in `res` and returns true.
template <class T>
bool report_progress(const ProgressCallback<T>& callback, LoopResult<T>& res, T objective, const Vec<T>& grad,
                     T step_norm, T tol) {
  if (!callback) return false;
  Progress<T> p;
  p.iteration = res.n_iter;
  p.objective = objective;
  p.grad_norm = grad.template lpNorm<Eigen::Infinity>();
  p.step_norm = step_norm;
  p.theta = &res.theta;
  if (!callback(p)) return false;
  res.stopped = true;
  res.grad_norm = p.grad_norm;
  res.converged = res.grad_norm <= tol * res.grad_scale;
  return true;
}

}  // namespace softunlearn

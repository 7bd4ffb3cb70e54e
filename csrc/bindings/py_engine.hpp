// An engine (see softunlearn/newton.hpp) whose passes are methods of a Python object: the CUDA device
// and distributed arrays supply their passes from Python, and the one Newton algorithm drives them.
// It runs with the GIL held; each callback is a whole pass (or one line-search trial), so the calls
// cost nothing next to the work behind them, and the passes release the GIL in their own kernels.
#pragma once

#include <functional>
#include <memory>

#include <softunlearn/fit.hpp>

#include "pybind11.hpp"

namespace softunlearn::bindings {

// The Python object has n_samples, n_features, n_params, fit_intercept, and the methods
//   weight_sum() -> float,  abs_weight_sum() -> float (Σ|sᵢ|, read only when a loop asks),  feature_scale() -> float,
//   loss_pass(theta, C, hessian=bool, h=bool) -> {"loss", "objective", "grad"[, "hessian"][, "h"]},
//   line(theta, dir) -> callable α ↦ Σ sᵢ ℓ(x̃ᵢᵀ(θ + α dir)),
//   cg_solve(h, B, tol, max_iter) -> (U, iterations, residuals, condition),
//   subsample(k, m) -> an engine on every k-th of the first k·m rows, or None.
template <class T> class PyEngine {
 public:
  using Scalar = T;
  PyEngine(py::object engine, T C) : py_(std::move(engine)), C_(C) {
    rows_ = py_.attr("n_samples").cast<Index>();
    features_ = py_.attr("n_features").cast<Index>();
    params_ = py_.attr("n_params").cast<Index>();
    intercept_ = py_.attr("fit_intercept").cast<bool>();
    if (params_ != features_ + (intercept_ ? 1 : 0)) throw py::value_error("engine: n_params must be n_features + fit_intercept");
    weight_sum_ = py_.attr("weight_sum")().cast<T>();
    feature_scale_ = py_.attr("feature_scale")().cast<T>();
  }

  Index rows() const { return rows_; }
  Index features() const { return features_; }
  Index params() const { return params_; }
  bool intercept() const { return intercept_; }
  T C() const { return C_; }
  T weight_sum() const { return weight_sum_; }
  T abs_weight_sum() const { return py_.attr("abs_weight_sum")().template cast<T>(); }
  T feature_scale() const { return feature_scale_; }

  PassResult<T> pass(const Vec<T>& theta, bool hessian, bool want_h) const {
    using namespace pybind11::literals;
    const py::dict r = py_.attr("loss_pass")(theta, C_, "hessian"_a = hessian, "h"_a = want_h);
    PassResult<T> out;
    out.loss = r["loss"].cast<T>();
    out.objective = r["objective"].cast<T>();
    out.grad = r["grad"].cast<Vec<T>>();
    expect_size(out.grad.size(), params_, "engine gradient");
    if (hessian) {
      out.H = r["hessian"].cast<Mat<T>>();
      if (out.H.rows() != params_ || out.H.cols() != params_) throw py::value_error("engine: Hessian of the wrong shape");
    }
    if (want_h) out.h = r["h"].cast<Vec<T>>();
    return out;
  }

  std::function<T(T)> line(const Vec<T>& theta, const Vec<T>& dir) const {
    py::object f = py_.attr("line")(theta, dir);
    return [f](T alpha) { return f(alpha).template cast<T>(); };
  }

  CGResult<T> cg(const Vec<T>& h, const Vec<T>& b, T tol, int max_iter) const {
    const Mat<T> B = b;
    const py::tuple r = py_.attr("cg_solve")(h, B, tol, max_iter);
    CGResult<T> out;
    out.X = r[0].cast<Mat<T>>();
    out.iterations = r[1].cast<std::vector<int>>();
    out.residuals = r[2].cast<std::vector<T>>();
    if (out.iterations.size() != 1 || out.residuals.size() != 1)
      throw std::invalid_argument("cg_solve: expected one iteration count and one residual per right-hand side");
    return out;
  }

  std::unique_ptr<PyEngine> subsample(Index k, Index m) const {
    py::object sub = py_.attr("subsample")(k, m);
    if (sub.is_none()) return nullptr;
    const T part = sub.attr("weight_sum")().template cast<T>();
    if (!(weight_sum_ > T(0) && part > T(0))) return nullptr;
    return std::make_unique<PyEngine>(sub, C_ * weight_sum_ / part);
  }

 private:
  py::object py_;
  T C_;
  Index rows_ = 0, features_ = 0, params_ = 0;
  bool intercept_ = false;
  T weight_sum_ = 0, feature_scale_ = 1;
};

}  // namespace softunlearn::bindings

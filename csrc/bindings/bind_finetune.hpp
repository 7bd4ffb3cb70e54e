// The first-order loops (L-BFGS, gradient ascent) as templates over dtype and X type.
// Included only by bind_finetune_f64.cpp and bind_finetune_f32.cpp (one translation unit per dtype).
#pragma once

#include <softunlearn/finetune.hpp>
#include <softunlearn/gradient_ascent.hpp>
#include <softunlearn/problem_engine.hpp>

#include "py_engine.hpp"
#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

// A Python callable as a ProgressCallback: the loop runs without the GIL and takes it back only for the
// call. An exception raised by the callable propagates out of the loop unchanged.
template <class T> ProgressCallback<T> wrap_callback(const py::object& cb) {
  if (cb.is_none()) return {};
  return [&cb](const Progress<T>& p) {
    py::gil_scoped_acquire gil;
    py::dict d;
    d["iteration"] = p.iteration;
    d["objective"] = p.objective;
    d["grad_norm"] = p.grad_norm;
    d["step_norm"] = p.step_norm;
    d["theta"] = Vec<T>(*p.theta);
    return py::bool_(cb(d)).cast<bool>();
  };
}

template <class T> py::dict loop_to_dict(LoopResult<T>&& r) {
  py::dict out;
  out["theta"] = std::move(r.theta);
  out["objective"] = r.objective;
  out["grad_norm"] = r.grad_norm;
  out["grad_scale"] = r.grad_scale;
  out["n_iter"] = r.n_iter;
  out["n_passes"] = r.n_passes;
  out["converged"] = r.converged;
  out["stopped"] = r.stopped;
  return out;
}

// The arrays every loop reads: labels and weights per row, θ per parameter.
template <class XArg, class T>
void check_loop_inputs(const XArg& X, const VecRef<T>& y, const VecRef<T>& s, const char* s_name,
                       const VecRef<T>& theta, bool intercept, T C, int n_threads) {
  expect_size(y.size(), X.rows(), "y");
  expect_size(s.size(), X.rows(), s_name);
  expect_theta(X, theta.size(), intercept);
  expect_threads(n_threads);
  if (!(C > T(0)) || !std::isfinite(C)) throw py::value_error("C: expected a finite number > 0");
}

// L-BFGS over an engine implemented in Python (PyEngine: distributed arrays); runs with the GIL held.
template <class T> void def_engine_finetune(py::module_& m) {
  m.def(
      "lbfgs_fit_engine",
      [](py::object engine, VecRef<T> theta0, T C, T tol, int max_iter, int memory, const py::object& callback) {
        const PyEngine<T> E(std::move(engine), C);
        expect_size(theta0.size(), E.params(), "theta0");
        if (!(C > T(0)) || !std::isfinite(C)) throw py::value_error("C: expected a finite number > 0");
        if (max_iter < 0 || memory < 1) throw py::value_error("max_iter, memory: expected max_iter >= 0 and memory >= 1");
        return loop_to_dict(lbfgs_fit(E, theta0, tol, max_iter, memory, wrap_callback<T>(callback)));
      },
      arg("engine"), arg("theta0").noconvert(), arg("C"), arg("tol"), arg("max_iter"), arg("memory"),
      arg("callback") = py::none(), "lbfgs_fit with every pass a method of `engine` (see softunlearn.engine).");
  m.def(
      "ascent_curvature_engine",
      [](py::object engine, VecRef<T> theta, T C, T retain) {
        const PyEngine<T> E(std::move(engine), C);
        expect_size(theta.size(), E.params(), "theta");
        return ascent_curvature(E, Vec<T>(theta), retain);
      },
      arg("engine"), arg("theta").noconvert(), arg("C"), arg("retain"),
      "ascent_curvature with the engine's weights as s_abs (see softunlearn.engine).");
  m.def(
      "gradient_steps_engine",
      [](py::object engine, VecRef<T> theta0, T C, T retain, T lr, int steps, T tol, const py::object& callback) {
        const PyEngine<T> E(std::move(engine), C);
        expect_size(theta0.size(), E.params(), "theta0");
        if (steps < 0) throw py::value_error("steps: expected a non-negative count");
        return loop_to_dict(gradient_steps(E, theta0, retain, lr, steps, tol, wrap_callback<T>(callback)));
      },
      arg("engine"), arg("theta0").noconvert(), arg("C"), arg("retain"), arg("lr"), arg("steps"), arg("tol"),
      arg("callback") = py::none(), "gradient_steps with the engine's weights as v (see softunlearn.engine).");
}

template <class T, class XArg> void def_finetune(py::module_& m) {
  m.def(
      "lbfgs_fit",
      [](XArg X, VecRef<T> y, VecRef<T> s, VecRef<T> theta0, T C, bool intercept, T tol, int max_iter, int memory,
         int n_threads, int loss, double loss_param, const py::object& callback) {
        check_loop_inputs(X, y, s, "s", theta0, intercept, C, n_threads);
        if (max_iter < 0 || memory < 1) throw py::value_error("max_iter, memory: expected max_iter >= 0 and memory >= 1");
        const ProgressCallback<T> cb = wrap_callback<T>(callback);
        LoopResult<T> r;
        {
          py::gil_scoped_release release;
          const auto D = make_design(X, intercept);
          const Problem<T, decltype(D)> P{D, y, s, C};
          r = with_loss(loss, loss_param, [&](auto L) {
            return lbfgs_fit(ProblemEngine<T, decltype(D), decltype(L)>(P, n_threads, L), theta0, tol, max_iter,
                             memory, cb);
          });
        }
        return loop_to_dict(std::move(r));
      },
      arg("X").noconvert(), arg("y").noconvert(), arg("s").noconvert(), arg("theta0").noconvert(), arg("C"),
      arg("intercept"), arg("tol"), arg("max_iter"), arg("memory"), arg("n_threads"), arg("loss"),
      arg("loss_param"), arg("callback") = py::none(), "L-BFGS minimisation of ½‖w‖² + C Σ sᵢ ℓᵢ from theta0.");

  m.def(
      "ascent_curvature",
      [](XArg X, VecRef<T> y, VecRef<T> s_abs, VecRef<T> theta, T C, bool intercept, T retain, int n_threads,
         int loss, double loss_param) {
        check_loop_inputs(X, y, s_abs, "s_abs", theta, intercept, C, n_threads);
        py::gil_scoped_release release;
        const auto D = make_design(X, intercept);
        const Problem<T, decltype(D)> P{D, y, s_abs, C};
        return with_loss(loss, loss_param, [&](auto L) {
          return ascent_curvature(ProblemEngine<T, decltype(D), decltype(L)>(P, n_threads, L), Vec<T>(theta), retain);
        });
      },
      arg("X").noconvert(), arg("y").noconvert(), arg("s_abs").noconvert(), arg("theta").noconvert(), arg("C"),
      arg("intercept"), arg("retain"), arg("n_threads"), arg("loss"), arg("loss_param"),
      "λ_max of C X̃ᵀdiag(s_abs ℓ'')X̃ + ρR at θ (the step-size scale of gradient ascent).");

  m.def(
      "gradient_steps",
      [](XArg X, VecRef<T> y, VecRef<T> v, VecRef<T> theta0, T C, bool intercept, T retain, T lr, int steps,
         T tol, int n_threads, int loss, double loss_param, const py::object& callback) {
        check_loop_inputs(X, y, v, "v", theta0, intercept, C, n_threads);
        if (steps < 0) throw py::value_error("steps: expected a non-negative count");
        const ProgressCallback<T> cb = wrap_callback<T>(callback);
        LoopResult<T> r;
        {
          py::gil_scoped_release release;
          const auto D = make_design(X, intercept);
          const Problem<T, decltype(D)> P{D, y, v, C};
          r = with_loss(loss, loss_param, [&](auto L) {
            return gradient_steps(ProblemEngine<T, decltype(D), decltype(L)>(P, n_threads, L), theta0, retain, lr, steps,
                                  tol, cb);
          });
        }
        return loop_to_dict(std::move(r));
      },
      arg("X").noconvert(), arg("y").noconvert(), arg("v").noconvert(), arg("theta0").noconvert(), arg("C"),
      arg("intercept"), arg("retain"), arg("lr"), arg("steps"), arg("tol"), arg("n_threads"), arg("loss"),
      arg("loss_param"), arg("callback") = py::none(), "θ ← θ − lr ∇F with F = C Σ vᵢℓᵢ + ρ·½‖w‖², vᵢ = sᵢ(εᵢ + ρ).");
}

}  // namespace

}  // namespace softunlearn::bindings

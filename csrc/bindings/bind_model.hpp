// The model functions (fit, loss_pass, predict, xtv, weighted_gram) as templates over dtype and X type.
// Included only by bind_model_f64.cpp and bind_model_f32.cpp: each dtype is its own translation unit, so
// the two halves of the heaviest instantiations compile in parallel.
#pragma once

#include <softunlearn/newton.hpp>
#include <softunlearn/problem_engine.hpp>

#include "py_engine.hpp"
#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

template <class T>
py::dict pass_to_dict(PassResult<T>&& r) {
  py::dict out;
  out["loss"] = r.loss;
  out["objective"] = r.objective;
  out["grad"] = std::move(r.grad);
  if (r.H.size()) out["hessian"] = std::move(r.H);
  return out;
}

// The fit's result as a bound read-only object (FitResult_f64 / _f32); its arrays are views kept alive by it.
template <class T> void def_fit_result(py::module_& m) {
  using R = FitResult<T>;
  py::class_<R>(m, (std::string("FitResult_") + dtype_suffix<T>()).c_str(),
                "A Newton fit's result: θ and the loss, objective, gradient and Hessian at θ (hessian is None "
                "after a Hessian-free fit), with the iteration and pass counts.")
      .def_property_readonly("theta", [](const R& r) -> const Vec<T>& { return r.theta; }, py::return_value_policy::reference_internal)
      .def_property_readonly("loss", [](const R& r) { return r.at_optimum.loss; }, "Σ sᵢ ℓᵢ at θ")
      .def_property_readonly("objective", [](const R& r) { return r.at_optimum.objective; })
      .def_property_readonly("grad", [](const R& r) -> const Vec<T>& { return r.at_optimum.grad; },
                             py::return_value_policy::reference_internal)
      .def_property_readonly(
          "hessian",
          [](py::object self) -> py::object {
            const R& r = self.cast<const R&>();
            if (!r.at_optimum.H.size()) return py::none();
            return py::cast(&r.at_optimum.H, py::return_value_policy::reference_internal, self);
          })
      .def_readonly("n_iter", &R::n_iter)
      .def_readonly("converged", &R::converged)
      .def_readonly("grad_norm", &R::grad_norm, "‖∇J‖∞ at θ")
      .def_readonly("grad_scale", &R::grad_scale, "the stopping scale: converged means grad_norm ≤ tol · grad_scale")
      .def_readonly("n_hessian", &R::n_hessian)
      .def_readonly("n_passes", &R::n_passes)
      .def_readonly("n_warm_iter", &R::n_warm_iter)
      .def_readonly("n_cg_iter", &R::n_cg_iter);
}

// The Newton fit over an engine implemented in Python (PyEngine): the CUDA device, distributed arrays.
template <class T> void def_engine_fit(py::module_& m) {
  def_fit_result<T>(m);
  m.def(
      "fit_engine",
      [](py::object engine, VecRef<T> theta0, T C, T tol, int max_iter, Index subsample, VecRef<T> linear,
         bool hessian_free, int cg_budget, bool final_hessian) {
        const PyEngine<T> E(std::move(engine), C);
        expect_size(theta0.size(), E.params(), "theta0");
        expect_size_or_empty(linear.size(), E.params(), "linear");
        if (max_iter < 0) throw py::value_error("max_iter: expected a non-negative count");
        if (!(C > T(0)) || !std::isfinite(C)) throw py::value_error("C: expected a finite number > 0");
        if (!(tol > T(0)) || !std::isfinite(tol)) throw py::value_error("tol: expected a finite number > 0");
        expect_cg_budget(cg_budget);
        return newton_fit(E, theta0, tol, max_iter, subsample, final_hessian, hessian_free,
                          linear.size() ? linear.data() : nullptr, cg_budget);
      },
      arg("engine"), arg("theta0").noconvert(), arg("C"), arg("tol"), arg("max_iter"), arg("subsample") = 0,
      arg("linear").noconvert() = Vec<T>(), arg("hessian_free") = false, arg("cg_budget") = 0,
      arg("final_hessian") = true,
      "The damped Newton fit of `fit` with every pass over the data a method of `engine` (see "
      "softunlearn.engine); same algorithm and constants, same FitResult. With final_hessian false a fit "
      "whose last step was a chord step ends without the Hessian at θ̂ (one Hessian pass fewer).");
}

template <class T, class XArg> void def_model(py::module_& m) {
  m.def(
      "fit",
      [](XArg X, VecRef<T> y, VecRef<T> s, VecRef<T> theta0, T C, bool intercept, T tol, int max_iter,
         int n_threads, int loss, double loss_param, Index subsample, VecRef<T> linear, bool hessian_free,
         int cg_budget) {
        const Index p = X.cols() + (intercept ? 1 : 0);
        expect_size(y.size(), X.rows(), "y");
        expect_size_or_empty(s.size(), X.rows(), "s");
        expect_theta(X, theta0.size(), intercept, "theta0");
        expect_size_or_empty(linear.size(), p, "linear");
        expect_threads(n_threads);
        if (max_iter < 0) throw py::value_error("max_iter: expected a non-negative count");
        if (!(C > T(0)) || !std::isfinite(C)) throw py::value_error("C: expected a finite number > 0");
        if (!(tol > T(0)) || !std::isfinite(tol)) throw py::value_error("tol: expected a finite number > 0");
        expect_cg_budget(cg_budget);
        FitResult<T> r;
        {
          py::gil_scoped_release release;
          const auto D = make_design(X, intercept);
          const Problem<T, decltype(D)> P{D, y, s, C};
          r = with_loss(loss, loss_param, [&](auto L) {
            const ProblemEngine<T, decltype(D), decltype(L)> E(P, n_threads, L);
            return newton_fit(E, theta0, tol, max_iter, subsample, true, hessian_free,
                              linear.size() ? linear.data() : nullptr, cg_budget);
          });
        }
        return r;
      },
      arg("X").noconvert(), arg("y").noconvert(), arg("s").noconvert(), arg("theta0").noconvert(), arg("C"),
      arg("intercept"), arg("tol"), arg("max_iter"), arg("n_threads"), arg("loss"), arg("loss_param"),
      arg("subsample") = 0, arg("linear").noconvert() = Vec<T>(), arg("hessian_free") = false, arg("cg_budget") = 0,
      "Damped Newton fit of ½‖w‖² + C Σ sᵢ ℓᵢ (+ linearᵀθ when given); returns θ and the loss, gradient and "
      "Hessian at θ (of the objective with the linear term; no Hessian when hessian_free: Newton systems "
      "solved by CG on matrix-free products, until more than cg_budget CG iterations (when > 0) turn the "
      "rest of the fit dense).");

  m.def(
      "loss_pass",
      [](XArg X, VecRef<T> y, VecRef<T> s, VecRef<T> theta, T C, bool intercept, bool want_hessian,
         bool want_r, bool want_h, int n_threads, int loss, double loss_param, bool penalised) {
        const Index n = X.rows();
        expect_size(y.size(), n, "y");
        expect_size_or_empty(s.size(), n, "s");
        expect_theta(X, theta.size(), intercept);
        expect_threads(n_threads);
        py::array_t<T> r(want_r ? n : 0), h(want_h ? n : 0);
        T* rp = want_r ? r.mutable_data() : nullptr;
        T* hp = want_h ? h.mutable_data() : nullptr;
        PassResult<T> res;
        {
          py::gil_scoped_release release;
          const auto D = make_design(X, intercept);
          const Problem<T, decltype(D)> P{D, y, s, C, penalised};
          res = with_loss(loss, loss_param, [&](auto L) {
            return loss_pass<T, decltype(L)>(P, theta, want_hessian, rp, hp, n_threads, L);
          });
        }
        py::dict out = pass_to_dict(std::move(res));
        if (want_r) out["r"] = r;
        if (want_h) out["h"] = h;
        return out;
      },
      arg("X").noconvert(), arg("y").noconvert(), arg("s").noconvert(), arg("theta").noconvert(), arg("C"),
      arg("intercept"), arg("want_hessian"), arg("want_r"), arg("want_h"), arg("n_threads"), arg("loss"),
      arg("loss_param"), arg("penalised") = true,
      "One fused pass: loss, ∇J, optionally ∇²J, r = C s ℓ'(z) and h = C s ℓ''(z). penalised=False leaves out "
      "½‖w‖² and R: the data term of a block of rows, for an engine that sums blocks.");

  m.def(
      "predict",
      [](XArg X, VecRef<T> theta, bool intercept, int n_threads) {
        expect_theta(X, theta.size(), intercept);
        expect_threads(n_threads);
        py::array_t<T> z(X.rows());
        Eigen::Map<Vec<T>> zm(z.mutable_data(), X.rows());
        py::gil_scoped_release release;
        predict(make_design(X, intercept), theta, zm, n_threads);
        return z;
      },
      arg("X").noconvert(), arg("theta").noconvert(), arg("intercept"), arg("n_threads"), "z = X̃θ");

  m.def(
      "xtv",
      [](XArg X, VecRef<T> v, bool intercept, int n_threads) {
        expect_size(v.size(), X.rows(), "v");
        expect_threads(n_threads);
        py::gil_scoped_release release;
        return xtv(make_design(X, intercept), v, n_threads);
      },
      arg("X").noconvert(), arg("v").noconvert(), arg("intercept"), arg("n_threads"), "X̃ᵀv");

  m.def(
      "weighted_gram",
      [](XArg X, VecRef<T> w, bool intercept, int n_threads) {
        expect_size(w.size(), X.rows(), "w");
        expect_threads(n_threads);
        py::gil_scoped_release release;
        return weighted_gram(make_design(X, intercept), w, n_threads);
      },
      arg("X").noconvert(), arg("w").noconvert(), arg("intercept"), arg("n_threads"), "X̃ᵀ diag(w) X̃");
}

}  // namespace

}  // namespace softunlearn::bindings

// Cholesky and the matrix-free Hessian products / CG solver as templates over dtype and X type.
// Included only by bind_linalg_f64.cpp and bind_linalg_f32.cpp (one translation unit per dtype).
#pragma once

#include <softunlearn/linalg.hpp>

#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

template <class T> void def_linalg(py::module_& m) {
  py::class_<Cholesky<T>>(m, (std::string("Cholesky_") + dtype_suffix<T>()).c_str(),
                          "Cholesky factor H = LLᵀ; raises NotPositiveDefiniteError naming the failing pivot.")
      .def(py::init([](const Mat<T>& H) {
             expect_size(H.cols(), H.rows(), "H columns");
             if (H.rows() == 0) throw py::value_error("H: expected a non-empty square matrix");
             if (!H.allFinite()) throw NonFinite("H: the Hessian has NaN or infinite entries");
             py::gil_scoped_release release;
             return Cholesky<T>(H);
           }),
           arg("H"))
      .def(
          "solve",
          [](const Cholesky<T>& c, const Mat<T>& B) {
            expect_size(B.rows(), c.size(), "B rows");
            if (B.cols() == 0) return Mat<T>(c.size(), 0);
            py::gil_scoped_release release;
            return c.solve(B);
          },
          arg("B"), "H⁻¹B for B of shape (p, k)")
      .def_property_readonly("L", &Cholesky<T>::L)
      .def_property_readonly("size", &Cholesky<T>::size);
}

template <class T, class XArg> void def_cg(py::module_& m) {
  m.def(
      "hessian_matvec",
      [](XArg X, VecRef<T> h, VecRef<T> reg, const Mat<T>& V, bool intercept, int n_threads) {
        expect_size(h.size(), X.rows(), "h");
        expect_theta(X, reg.size(), intercept, "reg");
        expect_theta(X, V.rows(), intercept, "V rows");
        expect_threads(n_threads);
        py::gil_scoped_release release;
        return hessian_matvec(make_design(X, intercept), h, reg, V, n_threads);
      },
      arg("X").noconvert(), arg("h").noconvert(), arg("reg").noconvert(), arg("V"), arg("intercept"),
      arg("n_threads"), "(X̃ᵀdiag(h)X̃ + diag(reg)) V in one pass over X (each row block is read twice from cache).");

  m.def(
      "cg_solve",
      [](XArg X, VecRef<T> h, VecRef<T> reg, const Mat<T>& B, bool intercept, T tol, int max_iter,
         int n_threads) {
        expect_size(h.size(), X.rows(), "h");
        expect_theta(X, reg.size(), intercept, "reg");
        expect_theta(X, B.rows(), intercept, "B rows");
        expect_threads(n_threads);
        if (!(tol > T(0)) || !std::isfinite(tol)) throw py::value_error("tol: expected a finite number > 0");
        if (max_iter < 0) throw py::value_error("max_iter: expected a non-negative count");
        CGResult<T> r;
        {
          py::gil_scoped_release release;
          r = cg_solve(make_design(X, intercept), h, reg, B, tol, max_iter, n_threads);
        }
        return py::make_tuple(std::move(r.X), r.iterations, r.residuals, r.condition);
      },
      arg("X").noconvert(), arg("h").noconvert(), arg("reg").noconvert(), arg("B"), arg("intercept"), arg("tol"),
      arg("max_iter"), arg("n_threads"),
      "Jacobi-preconditioned CG on H = X̃ᵀdiag(h)X̃ + diag(reg) for every column of B; returns (U, iterations, "
      "relative residuals, condition estimates of the preconditioned system).");
}

}  // namespace

}  // namespace softunlearn::bindings

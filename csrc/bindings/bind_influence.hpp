// Influence scores as a template over dtype and X type.
// Included only by bind_influence_f64.cpp and bind_influence_f32.cpp (one translation unit per dtype).
#pragma once

#include <softunlearn/kernels.hpp>

#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

template <class T, class XArg> void def_influence(py::module_& m) {
  m.def(
      "scores",
      [](XArg X, const Mat<T>& U, VecRef<T> r, bool intercept, int n_threads) {
        const auto D = make_design(X, intercept);
        expect_size(U.rows(), D.params(), "U rows");
        expect_size(r.size(), X.rows(), "r");
        expect_threads(n_threads);
        py::array_t<T> out({X.rows(), U.cols()});
        Eigen::Map<RowMat<T>> om(out.mutable_data(), X.rows(), U.cols());
        py::gil_scoped_release release;
        scores(D, U, r, om, n_threads);
        return out;
      },
      arg("X").noconvert(), arg("U"), arg("r").noconvert(), arg("intercept"), arg("n_threads"),
      "r ⊙ (X̃U): influence scores for every column of U = H⁻¹[∇f₁ … ∇f_k].");
}

}  // namespace

}  // namespace softunlearn::bindings

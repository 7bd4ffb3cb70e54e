// The built-in targets and the mirror attack as templates over dtype and X type.
// Included only by bind_targets_f64.cpp and bind_targets_f32.cpp (one translation unit per dtype).
#pragma once

#include <softunlearn/targets.hpp>

#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

template <class T, class XArg> void def_targets(py::module_& m) {
  m.def(
      "evaluate_target",
      [](int kind, XArg X, VecRef<T> theta, VecRef<T> y, VecRef<T> group, bool intercept, int n_threads,
         int loss, double loss_param) {
        if (kind < 0 || kind > 2) throw py::value_error("kind: unknown target kind " + std::to_string(kind));
        const auto tk = static_cast<TargetKind>(kind);
        expect_theta(X, theta.size(), intercept);
        expect_threads(n_threads);
        if (tk == TargetKind::DemographicParity) expect_size_or_empty(y.size(), X.rows(), "y");
        else expect_size(y.size(), X.rows(), "y");
        if (tk == TargetKind::Utility) expect_size_or_empty(group.size(), X.rows(), "group");
        else expect_size(group.size(), X.rows(), "group");
        TargetValue<T> r;
        {
          py::gil_scoped_release release;
          r = with_loss(loss, loss_param, [&](auto L) {
            return evaluate_target<T, decltype(L)>(tk, make_design(X, intercept), theta, y,
                                                   group, n_threads, L);
          });
        }
        return py::make_tuple(r.value, std::move(r.grad));
      },
      arg("kind"), arg("X").noconvert(), arg("theta").noconvert(), arg("y").noconvert(), arg("group").noconvert(),
      arg("intercept"), arg("n_threads"), arg("loss"), arg("loss_param"), "(value, gradient) of a built-in target at θ.");

  m.def(
      "mirror_attack",
      [](XArg X, VecRef<T> theta, bool intercept, T factor, int n_threads) {
        expect_theta(X, theta.size(), intercept);
        expect_threads(n_threads);
        if (!(factor > T(0)) || !std::isfinite(factor)) throw py::value_error("factor: expected a finite number > 0");
        py::gil_scoped_release release;
        return mirror_attack(make_design(X, intercept), theta, factor, n_threads);
      },
      arg("X").noconvert(), arg("theta").noconvert(), arg("intercept"), arg("factor"), arg("n_threads"),
      "xᵃ = x − factor·(wᵀx+b)/‖w‖²·w");
}

}  // namespace

}  // namespace softunlearn::bindings

// The built-in targets and the mirror attack as templates over dtype and X type.
// Included only by bind_targets_f64.cpp and bind_targets_f32.cpp (one translation unit per dtype).
#pragma once

#include <softunlearn/targets.hpp>

#include <array>
#include <optional>

#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

TargetKind target_kind(int kind) {
  if (kind < 0 || kind > 2) throw py::value_error("kind: unknown target kind " + std::to_string(kind));
  return static_cast<TargetKind>(kind);
}

// DP reads no labels, utility no groups: those may be empty.
void expect_target_data(TargetKind tk, Index n_y, Index n_group, Index n) {
  if (tk == TargetKind::DemographicParity) expect_size_or_empty(n_y, n, "y");
  else expect_size(n_y, n, "y");
  if (tk == TargetKind::Utility) expect_size_or_empty(n_group, n, "group");
  else expect_size(n_group, n, "group");
}

template <class T> void def_target_counts(py::module_& m) {
  m.def(
      "target_counts",
      [](int kind, VecRef<T> y, VecRef<T> group) {
        const auto tk = target_kind(kind);
        expect_target_data(tk, y.size(), group.size(), tk == TargetKind::Utility ? y.size() : group.size());
        return target_counts<T>(tk, y, group);
      },
      arg("kind"), arg("y").noconvert(), arg("group").noconvert(),
      "Rows per group (s=0, s=1) that a DP or EOP target averages over (EOP: among y=1); (0, 0) for utility.");
}

template <class T, class XArg> void def_targets(py::module_& m) {
  m.def(
      "evaluate_target",
      [](int kind, XArg X, VecRef<T> theta, VecRef<T> y, VecRef<T> group, bool intercept, int n_threads,
         int loss, double loss_param, std::optional<std::array<Index, 2>> counts) {
        const auto tk = target_kind(kind);
        expect_theta(X, theta.size(), intercept);
        expect_threads(n_threads);
        expect_target_data(tk, y.size(), group.size(), X.rows());
        if (counts && ((*counts)[0] < 0 || (*counts)[1] < 0))
          throw py::value_error("counts: expected two non-negative row counts");
        TargetValue<T> r;
        {
          py::gil_scoped_release release;
          const auto n_g = counts ? *counts : target_counts<T>(tk, y, group);
          r = with_loss(loss, loss_param, [&](auto L) {
            return evaluate_target<T, decltype(L)>(tk, make_design(X, intercept), theta, y, group, n_g,
                                                   n_threads, L);
          });
        }
        return py::make_tuple(r.value, std::move(r.grad));
      },
      arg("kind"), arg("X").noconvert(), arg("theta").noconvert(), arg("y").noconvert(), arg("group").noconvert(),
      arg("intercept"), arg("n_threads"), arg("loss"), arg("loss_param"), arg("counts") = py::none(),
      "(value, gradient) of a built-in target at θ; counts: the rows per group of the whole set when X is one "
      "row block of it (default: X's own, see target_counts).");

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

#include <softunlearn/targets.hpp>

#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

template <class T, class XArg> void def_targets(py::module_& m) {
  m.def(
      "evaluate_target",
      [](int kind, XArg X, VecRef<T> theta, VecRef<T> y, VecRef<T> group, bool intercept, int n_threads,
         int loss, double loss_param) {
        if (kind < 0 || kind > 2) throw std::invalid_argument("unknown target kind");
        TargetValue<T> r;
        {
          py::gil_scoped_release release;
          r = with_loss(loss, loss_param, [&](auto L) {
            return evaluate_target<T, decltype(L)>(static_cast<TargetKind>(kind), make_design(X, intercept), theta, y,
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
        py::gil_scoped_release release;
        return mirror_attack(make_design(X, intercept), theta, factor, n_threads);
      },
      arg("X").noconvert(), arg("theta").noconvert(), arg("intercept"), arg("factor"), arg("n_threads"),
      "xᵃ = x − factor·(wᵀx+b)/‖w‖²·w");
}

}  // namespace

void bind_targets(py::module_& m) {
  for_each_design<double>([&](auto* x) { def_targets<double, std::remove_pointer_t<decltype(x)>>(m); });
  for_each_design<float>([&](auto* x) { def_targets<float, std::remove_pointer_t<decltype(x)>>(m); });
  m.attr("TARGET_UTILITY") = static_cast<int>(TargetKind::Utility);
  m.attr("TARGET_DP") = static_cast<int>(TargetKind::DemographicParity);
  m.attr("TARGET_EOP") = static_cast<int>(TargetKind::EqualOpportunity);
}

}  // namespace softunlearn::bindings

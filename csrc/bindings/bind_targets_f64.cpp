// The targets and the mirror attack for float64 arrays (float32 in bind_targets_f32.cpp).
#include "bind_targets.hpp"

namespace softunlearn::bindings {

void bind_targets_f64(py::module_& m) {
  def_target_counts<double>(m);
  for_each_design<double>([&](auto* x) { def_targets<double, std::remove_pointer_t<decltype(x)>>(m); });
}

}  // namespace softunlearn::bindings

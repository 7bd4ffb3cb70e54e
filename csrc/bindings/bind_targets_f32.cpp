// The targets and the mirror attack for float32 arrays (float64 in bind_targets_f64.cpp).
#include "bind_targets.hpp"

namespace softunlearn::bindings {

void bind_targets_f32(py::module_& m) {
  def_target_counts<float>(m);
  for_each_design<float>([&](auto* x) { def_targets<float, std::remove_pointer_t<decltype(x)>>(m); });
}

}  // namespace softunlearn::bindings

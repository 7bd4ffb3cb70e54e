// The influence scores for float64 arrays (float32 in bind_influence_f32.cpp).
#include "bind_influence.hpp"

namespace softunlearn::bindings {

void bind_influence_f64(py::module_& m) {
  for_each_design<double>([&](auto* x) { def_influence<double, std::remove_pointer_t<decltype(x)>>(m); });
}

}  // namespace softunlearn::bindings

// The influence scores for float32 arrays (float64 in bind_influence_f64.cpp).
#include "bind_influence.hpp"

namespace softunlearn::bindings {

void bind_influence_f32(py::module_& m) {
  for_each_design<float>([&](auto* x) { def_influence<float, std::remove_pointer_t<decltype(x)>>(m); });
}

}  // namespace softunlearn::bindings

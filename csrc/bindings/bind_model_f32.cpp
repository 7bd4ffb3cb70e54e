// The model functions for float32 arrays (float64 in bind_model_f64.cpp).
#include "bind_model.hpp"

namespace softunlearn::bindings {

void bind_model_f32(py::module_& m) {
  for_each_design<float>([&](auto* x) { def_model<float, std::remove_pointer_t<decltype(x)>>(m); });
  def_engine_fit<float>(m);
}

}  // namespace softunlearn::bindings

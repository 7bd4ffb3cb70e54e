// The model functions for float64 arrays (float32 in bind_model_f32.cpp).
#include "bind_model.hpp"

namespace softunlearn::bindings {

void bind_model_f64(py::module_& m) {
  for_each_design<double>([&](auto* x) { def_model<double, std::remove_pointer_t<decltype(x)>>(m); });
  def_engine_fit<double>(m);
}

}  // namespace softunlearn::bindings

// The first-order loops for float64 arrays (float32 in bind_finetune_f32.cpp).
#include "bind_finetune.hpp"

namespace softunlearn::bindings {

void bind_finetune_f64(py::module_& m) {
  for_each_design<double>([&](auto* x) { def_finetune<double, std::remove_pointer_t<decltype(x)>>(m); });
  def_engine_finetune<double>(m);
}

}  // namespace softunlearn::bindings

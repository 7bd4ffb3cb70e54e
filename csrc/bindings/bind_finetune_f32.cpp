// The first-order loops for float32 arrays (float64 in bind_finetune_f64.cpp).
#include "bind_finetune.hpp"

namespace softunlearn::bindings {

void bind_finetune_f32(py::module_& m) {
  for_each_design<float>([&](auto* x) { def_finetune<float, std::remove_pointer_t<decltype(x)>>(m); });
  def_engine_finetune<float>(m);
}

}  // namespace softunlearn::bindings

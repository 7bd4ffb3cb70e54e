// The Cholesky class and the CG functions for float32 arrays (float64 in bind_linalg_f64.cpp).
#include "bind_linalg.hpp"

namespace softunlearn::bindings {

void bind_linalg_f32(py::module_& m) {
  def_linalg<float>(m);
  for_each_design<float>([&](auto* x) { def_cg<float, std::remove_pointer_t<decltype(x)>>(m); });
}

}  // namespace softunlearn::bindings

// The Cholesky class and the CG functions for float64 arrays (float32 in bind_linalg_f32.cpp).
#include "bind_linalg.hpp"

namespace softunlearn::bindings {

void bind_linalg_f64(py::module_& m) {
  def_linalg<double>(m);
  for_each_design<double>([&](auto* x) { def_cg<double, std::remove_pointer_t<decltype(x)>>(m); });
}

}  // namespace softunlearn::bindings

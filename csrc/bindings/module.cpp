#include "pybind11.hpp"

#include <softunlearn/parallel.hpp>

namespace sb = softunlearn::bindings;

PYBIND11_MODULE(_core, m) {
  m.doc() = "softunlearn compiled core (header-only Eigen kernels; see softunlearn's Python API)";
  py::register_exception<softunlearn::NotPositiveDefinite>(m, "NotPositiveDefiniteError", PyExc_ValueError);
  m.def("max_threads", [] { return softunlearn::resolve_threads(0); },
        "Threads the kernels use when n_threads is 0 (OpenMP's default; 1 without OpenMP).");
  m.attr("LOSS_LOGISTIC") = static_cast<int>(softunlearn::LossKind::Logistic);
  m.attr("LOSS_SMOOTH_HINGE") = static_cast<int>(softunlearn::LossKind::SmoothHinge);
  m.attr("LOSS_SQUARED_HINGE") = static_cast<int>(softunlearn::LossKind::SquaredHinge);
  sb::bind_model(m);
  sb::bind_linalg(m);
  sb::bind_influence(m);
  sb::bind_targets(m);
  sb::bind_weights(m);
  sb::bind_finetune(m);
}

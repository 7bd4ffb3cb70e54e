// Shared by the binding files: pybind11 + Eigen casters and the small helpers every area uses.
// The Python layer passes C-contiguous arrays of the exact dtype, so arguments are `noconvert`:
// a wrong dtype or layout is a TypeError, never a silent copy.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <softunlearn/loss.hpp>
#include <softunlearn/types.hpp>

namespace py = pybind11;

namespace softunlearn::bindings {

using py::arg;

template <class T> const char* dtype_suffix();
template <> inline const char* dtype_suffix<float>() { return "f32"; }
template <> inline const char* dtype_suffix<double>() { return "f64"; }

// Calls f with the loss object named by `loss` (LossKind as int) and its parameter (the smooth
// hinge's temperature; ignored by parameter-free losses).
template <class F> decltype(auto) with_loss(int loss, double param, F&& f) {
  switch (static_cast<LossKind>(loss)) {
    case LossKind::Logistic:
      return f(Logistic{});
    case LossKind::SmoothHinge:
      return f(SmoothHinge{param});
    case LossKind::SquaredHinge:
      return f(SquaredHinge{});
  }
  throw std::invalid_argument("unknown loss code " + std::to_string(loss));
}

void bind_model(py::module_& m);
void bind_linalg(py::module_& m);
void bind_influence(py::module_& m);
void bind_targets(py::module_& m);
void bind_weights(py::module_& m);
void bind_finetune(py::module_& m);

}  // namespace softunlearn::bindings

// Shared by the binding files: pybind11 + Eigen casters and the small helpers every area uses.
// The Python layer passes C-contiguous arrays of the exact dtype, so arguments are `noconvert`:
// a wrong dtype or layout is a TypeError, never a silent copy.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <softunlearn/loss.hpp>
#include <softunlearn/sparse.hpp>
#include <softunlearn/types.hpp>

namespace py = pybind11;

// A scipy.sparse CSR matrix (spmatrix or sparray) arrives as a CsrView: its indptr, indices and data
// must already have the exact dtypes (I for both index arrays, T for data) and be contiguous — like
// the dense `noconvert` arguments, anything else does not match this overload. The caster keeps the
// three arrays alive for the call; index ranges are checked once at the Python boundary.
namespace pybind11::detail {
template <class T, class I> struct type_caster<softunlearn::CsrView<T, I>> {
  using View = softunlearn::CsrView<T, I>;
  PYBIND11_TYPE_CASTER(View, const_name("scipy.sparse.csr_matrix"));
  array_t<I, array::c_style> indptr_, indices_;
  array_t<T, array::c_style> data_;

  bool load(handle src, bool) {
    if (!hasattr(src, "format") || !hasattr(src, "indptr") || !hasattr(src, "shape")) return false;
    if (src.attr("format").cast<std::string>() != "csr") return false;
    object ip = src.attr("indptr"), ix = src.attr("indices"), dt = src.attr("data");
    if (!array_t<I, array::c_style>::check_(ip) || !array_t<I, array::c_style>::check_(ix) ||
        !array_t<T, array::c_style>::check_(dt))
      return false;
    indptr_ = reinterpret_borrow<array_t<I, array::c_style>>(ip);
    indices_ = reinterpret_borrow<array_t<I, array::c_style>>(ix);
    data_ = reinterpret_borrow<array_t<T, array::c_style>>(dt);
    const tuple shape = src.attr("shape");
    value.n_rows = shape[0].cast<softunlearn::Index>();
    value.n_cols = shape[1].cast<softunlearn::Index>();
    if (indptr_.ndim() != 1 || indptr_.shape(0) != value.n_rows + 1)
      throw value_error("X: CSR indptr must have n_rows + 1 entries");
    const softunlearn::Index nnz = value.n_rows ? softunlearn::Index(indptr_.data()[value.n_rows]) : 0;
    if (indices_.shape(0) < nnz || data_.shape(0) < nnz)
      throw value_error("X: CSR indices/data are shorter than indptr[-1]");
    value.indptr = indptr_.data();
    value.indices = indices_.data();
    value.data = data_.data();
    return true;
  }
  static handle cast(const softunlearn::CsrView<T, I>&, return_value_policy, handle) {
    throw cast_error("CsrView cannot be returned to Python");
  }
};
}  // namespace pybind11::detail

namespace softunlearn::bindings {

using py::arg;

// The compiled functions are not a trusted boundary: every entry point checks the lengths of the
// arrays it reads (the public Python layer checks them first, with friendlier messages).
inline void expect_size(Index got, Index want, const char* name) {
  if (got != want)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(want) + " values, got " +
                          std::to_string(got));
}
// Optional arrays (sample weights, a linear term) are either empty or full length.
inline void expect_size_or_empty(Index got, Index want, const char* name) {
  if (got != 0) expect_size(got, want, name);
}
// θ = (w, b): n_features + intercept values.
template <class XArg> void expect_theta(const XArg& X, Index theta_size, bool intercept, const char* name = "theta") {
  expect_size(theta_size, Index(X.cols()) + (intercept ? 1 : 0), name);
}
inline void expect_cg_budget(int cg_budget) {
  if (cg_budget < 0) throw py::value_error("cg_budget: expected 0 (no budget) or a positive count, got " +
                                           std::to_string(cg_budget));
}
inline void expect_threads(int n_threads) {
  if (n_threads < 0) throw py::value_error("n_threads: expected 0 (all) or a positive count, got " +
                                           std::to_string(n_threads));
}

template <class T> const char* dtype_suffix();
template <> inline const char* dtype_suffix<float>() { return "f32"; }
template <> inline const char* dtype_suffix<double>() { return "f64"; }

// Every function taking X is bound for each of these argument types (dense, CSR with int32 or
// int64 indices): f is called with a null pointer of each type, to pick the type up in a generic lambda.
template <class T> using DenseX = Eigen::Ref<const RowMat<T>>;
template <class T, class F> void for_each_design(F&& f) {
  f(static_cast<DenseX<T>*>(nullptr));
  f(static_cast<CsrView<T, std::int32_t>*>(nullptr));
  f(static_cast<CsrView<T, std::int64_t>*>(nullptr));
}

// Calls f with the loss object named by `loss` (a LossKind; Python passes softunlearn._core.Loss members,
// which convert to int) and its parameter (the smooth hinge's temperature; ignored by parameter-free losses).
template <class F> decltype(auto) with_loss(int loss, double param, F&& f) {
  switch (static_cast<LossKind>(loss)) {
    case LossKind::Logistic:
      return f(Logistic{});
    case LossKind::SmoothHinge:
      return f(SmoothHinge{param});
    case LossKind::SquaredHinge:
      return f(SquaredHinge{});
  }
  throw py::value_error("loss: unknown loss code " + std::to_string(loss));
}

// One function per binding file, called in this order by module.cpp (the order of pybind11's overloads:
// float64 first). Each area has one translation unit per dtype; bind_weights is float64 only.
void bind_model_f64(py::module_& m);
void bind_model_f32(py::module_& m);
void bind_linalg_f64(py::module_& m);
void bind_linalg_f32(py::module_& m);
void bind_influence_f64(py::module_& m);
void bind_influence_f32(py::module_& m);
void bind_targets_f64(py::module_& m);
void bind_targets_f32(py::module_& m);
void bind_weights(py::module_& m);
void bind_finetune_f64(py::module_& m);
void bind_finetune_f32(py::module_& m);

}  // namespace softunlearn::bindings

// The passes of the weight solvers (HostWeightPasses' interface) as methods of a Python object: the
// distributed arrays supply them as reductions over row chunks, and the one bounded dual, LP and polish
// drive them. Sums travel as small float64 arrays in the fixed orders below, which add chunk by chunk.
// Runs with the GIL held; every callback is a whole pass.
#pragma once

#include <utility>

#include <softunlearn/host_weight_passes.hpp>

#include "pybind11.hpp"

namespace softunlearn::bindings {

// [tt, tu, ee, at, au, m11, m12, m22, n_free, changed]
inline constexpr int kClipFields = 10;
template <class T> py::array_t<T> to_array(const ClipStats<T>& s) {
  return py::array_t<T>(kClipFields, std::array<T, kClipFields>{s.tt, s.tu, s.ee, s.at, s.au, s.m11, s.m12, s.m22,
                                                                 s.n_free, s.changed}.data());
}
template <class T> ClipStats<T> clip_stats(const py::handle& h) {
  const auto a = py::cast<py::array_t<T, py::array::c_style | py::array::forcecast>>(h);
  if (a.ndim() != 1 || a.shape(0) != kClipFields) throw py::value_error("weight passes: expected 10 clip sums");
  const T* v = a.data();
  ClipStats<T> s;
  s.tt = v[0], s.tu = v[1], s.ee = v[2], s.at = v[3], s.au = v[4];
  s.m11 = v[5], s.m12 = v[6], s.m22 = v[7], s.n_free = v[8], s.changed = v[9];
  return s;
}
// Small fixed-length result arrays of the other passes.
template <class T, std::size_t N> std::array<T, N> fields(const py::handle& h, const char* what) {
  const auto a = py::cast<py::array_t<T, py::array::c_style | py::array::forcecast>>(h);
  if (a.ndim() != 1 || a.shape(0) != py::ssize_t(N))
    throw py::value_error(std::string("weight passes: wrong number of values from ") + what);
  std::array<T, N> out;
  std::copy(a.data(), a.data() + N, out.begin());
  return out;
}
// [a, b, c, tpos, tneg]; [kl, ku, empty]; [r, reach_pos, reach_neg, ss, n]; [value, slope, scale]
template <class T> py::array_t<T> to_array(const Moments<T>& m) {
  return py::array_t<T>(5, std::array<T, 5>{m.a, m.b, m.c, m.tpos, m.tneg}.data());
}
template <class T> py::array_t<T> to_array(const LpDomain<T>& d) {
  return py::array_t<T>(3, std::array<T, 3>{d.kl, d.ku, T(d.empty)}.data());
}
template <class T> py::array_t<T> to_array(const LpTies<T>& s) {
  return py::array_t<T>(5, std::array<T, 5>{s.r, s.reach_pos, s.reach_neg, s.ss, s.n}.data());
}
template <class T> py::array_t<T> to_array(const LpTieSums<T>& s) {
  return py::array_t<T>(3, std::array<T, 3>{s.value, s.slope, s.scale}.data());
}

// The Python object has the methods of softunlearn._core.WeightPasses (the per-chunk host passes)
// except the slots, lp_breakpoints and residual_norm2, returning sums over all samples, and
// lp_crossing(sign, lo, hi, d0) -> κ.
template <class T> class PyWeightPasses {
 public:
  using Scalar = T;
  explicit PyWeightPasses(py::object passes) : py_(std::move(passes)) {}

  Moments<T> moments() {
    const auto v = fields<T, 5>(py_.attr("moments")(), "moments");
    return Moments<T>{v[0], v[1], v[2], v[3], v[4]};
  }
  ClipStats<T> clip(T alpha, T beta, T lo, T hi, bool write) {
    return clip_stats<T>(py_.attr("clip")(alpha, beta, lo, hi, write));
  }
  ClipStats<T> correct(T kt, T ku, T alpha, T beta, T lo, T hi) {
    return clip_stats<T>(py_.attr("correct")(kt, ku, alpha, beta, lo, hi));
  }
  T free_residual(T sign, T q, T lo, T hi) { return py_.attr("free_residual")(sign, q, lo, hi).template cast<T>(); }
  ClipStats<T> use_lp(bool unbounded) { return clip_stats<T>(py_.attr("use_lp")(unbounded)); }

  LpDomain<T> lp_domain(T sign, T lo, T hi) {
    const auto v = fields<T, 3>(py_.attr("lp_domain")(sign, lo, hi), "lp_domain");
    return LpDomain<T>{v[0], v[1], v[2] != 0};
  }
  T lp_slope(T sign, T kappa, T lo, T hi) { return py_.attr("lp_slope")(sign, kappa, lo, hi).template cast<T>(); }
  T lp_crossing(T sign, T lo, T hi, T d0) { return py_.attr("lp_crossing")(sign, lo, hi, d0).template cast<T>(); }
  LpTies<T> lp_assign(T sign, T kappa, T lo, T hi) {
    const auto v = fields<T, 5>(py_.attr("lp_assign")(sign, kappa, lo, hi), "lp_assign");
    return LpTies<T>{v[0], v[1], v[2], v[3], v[4]};
  }
  LpTieSums<T> lp_tie_sums(T sign, T kappa, T lo, T hi, T dir, T tau) {
    const auto v = fields<T, 3>(py_.attr("lp_tie_sums")(sign, kappa, lo, hi, dir, tau), "lp_tie_sums");
    return LpTieSums<T>{v[0], v[1], v[2]};
  }
  T lp_fill(T sign, T kappa, T lo, T hi, T dir, T tau) {
    return py_.attr("lp_fill")(sign, kappa, lo, hi, dir, tau).template cast<T>();
  }

 private:
  py::object py_;
};

}  // namespace softunlearn::bindings

// softunlearn._cuda: thin pybind11 wiring of api.hpp. Host-compiler only (no CUDA headers); arrays are
// validated and cast by the Python layer, so arguments are `noconvert` and a wrong dtype or layout is a
// TypeError. Every call releases the GIL around the device work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>

#include <softunlearn/kinds.hpp>

#include "api.hpp"

namespace py = pybind11;
using py::arg;
namespace sc = softunlearn::cuda;
using sc::Index;

namespace {

template <class T> using CArray = py::array_t<T, py::array::c_style>;
template <class T> using FArray = py::array_t<T, py::array::f_style>;

template <class T> const char* suffix();
template <> const char* suffix<float>() { return "f32"; }
template <> const char* suffix<double>() { return "f64"; }

constexpr int kLogistic = static_cast<int>(softunlearn::LossKind::Logistic);  // the only loss the device code has

void check_loss(int loss) {
  if (loss != kLogistic)
    throw py::value_error("loss: the CUDA backend implements the logistic loss only (code " + std::to_string(kLogistic) +
                          "), got code " + std::to_string(loss));
}

template <class T> CArray<T> to_array(const std::vector<T>& v) {
  CArray<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// p×p symmetric, so the column-major buffer reads the same in C order.
template <class T> CArray<T> to_square(const std::vector<T>& v, Index p) {
  CArray<T> out({p, p});
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

template <class T> void pass_to_dict(py::dict& out, const sc::PassOut<T>& r, Index p) {
  out["loss"] = r.loss;
  out["objective"] = r.objective;
  out["grad"] = to_array(r.grad);
  if (!r.H.empty()) out["hessian"] = to_square(r.H, p);
}

// Keeps the host arrays alive: in streaming mode every pass reads X from host memory.
template <class T> struct Data {
  CArray<T> X, y, s;
  std::unique_ptr<sc::DeviceData<T>> dev;
};

template <class T> void def_data(py::module_& m) {
  using D = Data<T>;
  py::class_<D>(m, (std::string("Data_") + suffix<T>()).c_str(),
                "X, y, s on the device (or streamed from host memory when X does not fit), for repeated passes.")
      .def(py::init([](CArray<T> X, CArray<T> y, CArray<T> s, bool intercept, Index max_device_bytes,
                       Index block_rows) {
             if (X.ndim() != 2) throw py::value_error("X must be 2-D");
             const Index n = X.shape(0), d = X.shape(1);
             if (y.ndim() != 1 || y.shape(0) != n) throw py::value_error("y must have one entry per row of X");
             if (s.ndim() != 1 || (s.shape(0) != 0 && s.shape(0) != n))
               throw py::value_error("s must be empty or have one entry per row of X");
             auto out = std::make_unique<D>(D{X, y, s, nullptr});
             const T* sp = s.shape(0) ? s.data() : nullptr;
             py::gil_scoped_release release;
             out->dev = std::make_unique<sc::DeviceData<T>>(X.data(), n, d, y.data(), sp, intercept, max_device_bytes,
                                                            block_rows);
             return out;
           }),
           arg("X").noconvert(), arg("y").noconvert(), arg("s").noconvert(), arg("intercept"),
           arg("max_device_bytes") = -1, arg("block_rows") = 0)
      .def_property_readonly("resident", [](const D& self) { return self.dev->resident(); },
                             "True when X was copied to the device; False when every pass streams it.")
      .def_property_readonly("block_rows", [](const D& self) { return self.dev->block_rows(); })
      .def_property_readonly("n_params", [](const D& self) { return self.dev->params(); })
      .def(
          "loss_pass",
          [](D& self, CArray<T> theta, T C, bool want_hessian, bool want_r, bool want_h, int loss) {
            check_loss(loss);
            const Index n = self.dev->rows(), p = self.dev->params();
            if (theta.ndim() != 1 || theta.shape(0) != p) throw py::value_error("theta must have n_params entries");
            CArray<T> r(want_r ? n : 0), h(want_h ? n : 0);
            T* rp = want_r ? r.mutable_data() : nullptr;
            T* hp = want_h ? h.mutable_data() : nullptr;
            sc::PassOut<T> res;
            {
              py::gil_scoped_release release;
              res = self.dev->loss_pass(theta.data(), C, want_hessian, rp, hp);
            }
            py::dict out;
            pass_to_dict(out, res, p);
            if (want_r) out["r"] = r;
            if (want_h) out["h"] = h;
            return out;
          },
          arg("theta").noconvert(), arg("C"), arg("want_hessian"), arg("want_r"), arg("want_h"), arg("loss"),
          "One fused pass: loss, ∇J, optionally ∇²J, r = C s ℓ'(z) and h = C s ℓ''(z).")
      .def(
          "scores",
          [](D& self, FArray<T> U, CArray<T> r) {
            const Index n = self.dev->rows(), p = self.dev->params();
            if (U.ndim() != 2 || U.shape(0) != p) throw py::value_error("U must have one row per parameter");
            if (r.ndim() != 1 || r.shape(0) != n) throw py::value_error("r must have one entry per row of X");
            const Index k = U.shape(1);
            CArray<T> out({n, k});
            py::gil_scoped_release release;
            self.dev->scores(U.data(), k, r.data(), out.mutable_data());
            return out;
          },
          arg("U").noconvert(), arg("r").noconvert(), "r ⊙ (X̃U) for U = H⁻¹[∇f₁ … ∇f_k] (p×k, Fortran order).")
      .def(
          "xtv",
          [](D& self, CArray<T> v) {
            if (v.ndim() != 1 || v.shape(0) != self.dev->rows()) throw py::value_error("v must have one entry per row");
            CArray<T> out(self.dev->params());
            py::gil_scoped_release release;
            self.dev->xtv(v.data(), out.mutable_data());
            return out;
          },
          arg("v").noconvert(), "X̃ᵀv")
      .def(
          "predict",
          [](D& self, CArray<T> theta) {
            if (theta.ndim() != 1 || theta.shape(0) != self.dev->params())
              throw py::value_error("theta must have n_params entries");
            CArray<T> z(self.dev->rows());
            py::gil_scoped_release release;
            self.dev->predict(theta.data(), z.mutable_data());
            return z;
          },
          arg("theta").noconvert(), "z = X̃θ")
      .def(
          "weighted_gram",
          [](D& self, CArray<T> w) {
            if (w.ndim() != 1 || w.shape(0) != self.dev->rows()) throw py::value_error("w must have one entry per row");
            const Index p = self.dev->params();
            CArray<T> out({p, p});
            py::gil_scoped_release release;
            self.dev->weighted_gram(w.data(), out.mutable_data());
            return out;
          },
          arg("w").noconvert(), "X̃ᵀ diag(w) X̃ (symmetric rank-k updates over row blocks)");
}

template <class T> void def_cholesky(py::module_& m) {
  using C = sc::DeviceCholesky<T>;
  py::class_<C>(m, (std::string("Cholesky_") + suffix<T>()).c_str(),
                "Cholesky factor H = LLᵀ on the device; raises NotPositiveDefiniteError naming the failing pivot.")
      .def(py::init([](FArray<T> H) {
             if (H.ndim() != 2 || H.shape(0) != H.shape(1)) throw py::value_error("hessian must be square");
             const Index p = H.shape(0);
             py::gil_scoped_release release;
             return std::make_unique<C>(H.data(), p);
           }),
           arg("H"))
      .def(
          "solve",
          [](const C& self, FArray<T> B) {
            const Index p = self.size();
            if (B.ndim() != 2 || B.shape(0) != p) throw py::value_error("right-hand side has the wrong number of rows");
            const Index k = B.shape(1);
            FArray<T> X({p, k});
            py::gil_scoped_release release;
            self.solve(B.data(), k, X.mutable_data());
            return X;
          },
          arg("B"), "H⁻¹B for B of shape (p, k)")
      .def_property_readonly("L",
                             [](const C& self) {
                               const Index p = self.size();
                               FArray<T> L({p, p});
                               const std::vector<T> v = self.lower();
                               std::copy(v.begin(), v.end(), L.mutable_data());
                               return L;
                             })
      .def_property_readonly("size", &C::size);
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "softunlearn CUDA backend (cuBLAS/cuSOLVER and hand-written kernels; used through backend=\"cuda\")";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const sc::NotPositiveDefinite& e) {
      // The CPU core's exception class, so callers catch one NotPositiveDefiniteError for both backends.
      py::object cls = py::module_::import("softunlearn._core").attr("NotPositiveDefiniteError");
      PyErr_SetString(cls.ptr(), e.what());
    }
  });
  m.def(
      "device_count",
      [] {
        std::string err;
        return sc::device_count(&err);
      },
      "Visible CUDA devices (0 without a device or a usable driver).");
  m.def(
      "device_error",
      [] {
        std::string err;
        sc::device_count(&err);
        return err;
      },
      "Why device_count() is 0 ('' when a device is visible).");
  m.def("device_name", &sc::device_name, arg("device") = 0);
  m.def("runtime_version", &sc::runtime_version, "CUDA runtime version, e.g. 13000 for 13.0.");
  m.def("device_free_bytes", &sc::device_free_bytes, "Free memory on the current device in bytes.");
  m.attr("LOSS_LOGISTIC") = kLogistic;
  def_data<double>(m);
  def_data<float>(m);
  def_cholesky<double>(m);
  def_cholesky<float>(m);
}

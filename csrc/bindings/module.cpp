#include "pybind11.hpp"

#include <softunlearn/interrupt.hpp>
#include <softunlearn/parallel.hpp>

#include <pythread.h>

#include <Eigen/Core>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace sb = softunlearn::bindings;

namespace {

// Signals are delivered to Python's main thread only; the core polls from the calling thread.
unsigned long g_main_thread = 0;
// The exception a signal handler raised (KeyboardInterrupt for SIGINT), re-raised once the core has
// unwound: PyErr_CheckSignals runs the Python handler, the core then throws Interrupted.
PyObject *g_pending_type = nullptr, *g_pending_value = nullptr, *g_pending_tb = nullptr;

bool poll_python_signals() {
  if (PyThread_get_thread_ident() != g_main_thread) return false;
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() == 0) return false;
  PyErr_Fetch(&g_pending_type, &g_pending_value, &g_pending_tb);
  return true;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "softunlearn compiled core (header-only Eigen kernels; see softunlearn's Python API)";
  // The exception classes live in softunlearn.errors (pure Python, one common base); the core's C++
  // exceptions are translated to them here, so no Python code recognises an error by its message.
  py::module_ errors = py::module_::import("softunlearn.errors");
  static py::handle not_pd = py::object(errors.attr("NotPositiveDefiniteError")).release();
  static py::handle non_finite = py::object(errors.attr("NonFiniteError")).release();
  m.attr("NotPositiveDefiniteError") = not_pd;
  m.attr("NonFiniteError") = non_finite;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const softunlearn::NotPositiveDefinite& e) {
      PyErr_SetString(not_pd.ptr(), e.what());
    } catch (const softunlearn::NonFinite& e) {
      PyErr_SetString(non_finite.ptr(), e.what());
    } catch (const softunlearn::Interrupted&) {
      if (g_pending_type) {
        PyErr_Restore(g_pending_type, g_pending_value, g_pending_tb);
        g_pending_type = g_pending_value = g_pending_tb = nullptr;
      } else {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
      }
    }
  });
  g_main_thread = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  softunlearn::set_interrupt_poll(&poll_python_signals);
  softunlearn::install_fork_guard();

  m.def("max_threads", [] { return softunlearn::resolve_threads(0); },
        "Threads the kernels use when n_threads is 0 (OpenMP's default; 1 without OpenMP, and 1 in a process "
        "forked after the thread pool started, where OpenMP cannot run).");
  m.def(
      "build_info",
      [] {
        py::dict d;
        d["isa"] = SOFTUNLEARN_ISA;
#if defined(__clang__)
        d["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
        d["compiler"] = "gcc " __VERSION__;
#else
        d["compiler"] = "unknown";
#endif
        d["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                     std::to_string(EIGEN_MINOR_VERSION);
        // Eigen's own SimdInstructionSetsInUse() names AVX for an AVX2+FMA build: list what it vectorises for.
        std::string simd;
        const auto add = [&simd](const char* name) { simd += simd.empty() ? name : std::string(", ") + name; };
#ifdef EIGEN_VECTORIZE_AVX512
        add("AVX512");
#endif
#ifdef EIGEN_VECTORIZE_AVX2
        add("AVX2");
#endif
#ifdef EIGEN_VECTORIZE_FMA
        add("FMA");
#endif
#ifdef EIGEN_VECTORIZE_AVX
        add("AVX");
#endif
#ifdef EIGEN_VECTORIZE_SSE4_2
        add("SSE4.2");
#endif
#ifdef EIGEN_VECTORIZE_SSE2
        add("SSE2");
#endif
#ifdef EIGEN_VECTORIZE_NEON
        add("NEON");
#endif
        d["eigen_simd"] = simd.empty() ? std::string("none") : simd;
#ifdef _OPENMP
        d["openmp"] = _OPENMP;
#else
        d["openmp"] = py::none();
#endif
        return d;
      },
      "How this copy of the core was built: its instruction-set level, compiler, Eigen version and the SIMD "
      "instructions Eigen's kernels use, and the OpenMP version (None without OpenMP).");
  m.def("forked_single_threaded", &softunlearn::single_threaded_after_fork,
        "True in a process forked after the parent's kernels ran multi-threaded: kernels run on one thread there.");
  // One source for the names every layer uses (kinds.hpp); Python reads them from here.
  py::enum_<softunlearn::LossKind>(m, "Loss", "Per-sample losses of the compiled core.")
      .value("logistic", softunlearn::LossKind::Logistic)
      .value("smooth_hinge", softunlearn::LossKind::SmoothHinge)
      .value("squared_hinge", softunlearn::LossKind::SquaredHinge);
  py::enum_<softunlearn::TargetKind>(m, "TargetKind", "Built-in targets evaluated by the compiled core.")
      .value("utility", softunlearn::TargetKind::Utility)
      .value("dp", softunlearn::TargetKind::DemographicParity)
      .value("eop", softunlearn::TargetKind::EqualOpportunity);
  py::enum_<softunlearn::WeightStatus>(m, "WeightStatus", "Outcome of the bounded weight QP.")
      .value("optimal", softunlearn::WeightStatus::Optimal)
      .value("infeasible", softunlearn::WeightStatus::Infeasible)
      .value("degenerate", softunlearn::WeightStatus::Degenerate)
      .value("not_converged", softunlearn::WeightStatus::NotConverged);
  sb::bind_model_f64(m);
  sb::bind_model_f32(m);
  sb::bind_linalg_f64(m);
  sb::bind_linalg_f32(m);
  sb::bind_influence_f64(m);
  sb::bind_influence_f32(m);
  sb::bind_targets_f64(m);
  sb::bind_targets_f32(m);
  sb::bind_weights(m);
  sb::bind_finetune_f64(m);
  sb::bind_finetune_f32(m);
}

// softunlearn._cpu: which x86-64 instruction-set levels the running CPU and OS support, so that
// softunlearn/_runtime.py can load the matching copy of _core. Built for the baseline, like the code
// that imports it. libgcc's __builtin_cpu_supports also checks that the OS saves the vector registers
// (XCR0), which a CPUID feature bit alone does not say.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

namespace py = pybind11;

namespace {

std::vector<std::string> supported_levels() {
  std::vector<std::string> out;
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v2")) out.emplace_back("x86-64-v2");
  if (__builtin_cpu_supports("x86-64-v3")) out.emplace_back("x86-64-v3");
  if (__builtin_cpu_supports("x86-64-v4")) out.emplace_back("x86-64-v4");
#endif
  return out;
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "Instruction-set levels of the running CPU (softunlearn's dispatch of its compiled core).";
  m.def("supported_levels", &supported_levels,
        "The x86-64 micro-architecture levels (x86-64-v2, -v3, -v4) this CPU and OS support; empty on other "
        "platforms or compilers.");
}

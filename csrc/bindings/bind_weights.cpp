#include <softunlearn/weights.hpp>

#include <cmath>

#include "pybind11.hpp"

namespace softunlearn::bindings {
namespace {

// Weights are computed in float64 only: the closed forms and the dual divide by quantities such as
// ‖t − (c/b)u‖² and Schur complements that lose all accuracy in float32.
using T = double;

void check_pair(const VecRef<T>& t, const VecRef<T>& u) {
  if (t.size() != u.size()) throw std::invalid_argument("T and U must have the same length");
}

void check_box(T lo, T hi) {
  if (std::isnan(lo) || std::isnan(hi) || lo > 0 || hi < 0)
    throw std::invalid_argument("bounds must satisfy lo <= 0 <= hi");
}

void check_problem(T sign, T delta, T lo, T hi) {
  if (sign != 1 && sign != -1) throw std::invalid_argument("sign must be +1 or -1");
  if (!(delta >= 0) || !std::isfinite(delta)) throw std::invalid_argument("delta must be finite and >= 0 (oriented)");
  check_box(lo, hi);
}

py::dict stats_dict(const ClipStats<T>& s) {
  py::dict d;
  d["tt"] = s.tt;
  d["tu"] = s.tu;
  d["ee"] = s.ee;
  d["at"] = s.at;
  d["au"] = s.au;
  d["n_free"] = s.n_free;
  d["m11"] = s.m11;
  d["m12"] = s.m12;
  d["m22"] = s.m22;
  return d;
}

}  // namespace

void bind_weights(py::module_& m) {
  m.def(
      "weight_moments",
      [](VecRef<T> t, VecRef<T> u, int n_threads) {
        check_pair(t, u);
        Moments<T> r;
        {
          py::gil_scoped_release release;
          r = weight_moments<T>(t, u, n_threads);
        }
        check_finite_moments(r.a, r.b);
        return py::make_tuple(r.a, r.b, r.c);
      },
      arg("T").noconvert(), arg("U").noconvert(), arg("n_threads"),
      "(a, b, c) = (TᵀT, UᵀU, TᵀU); raises ValueError when T or U holds NaN or inf.");

  m.def(
      "weight_residual_norm2",
      [](VecRef<T> t, VecRef<T> u, T r, int n_threads) {
        check_pair(t, u);
        py::gil_scoped_release release;
        return residual_norm2<T>(t, u, r, n_threads);
      },
      arg("T").noconvert(), arg("U").noconvert(), arg("r"), arg("n_threads"), "‖T − rU‖² from the residual itself");

  m.def(
      "weight_combine",
      [](VecRef<T> t, VecRef<T> u, T alpha, T beta, T lo, T hi, int n_threads) {
        check_pair(t, u);
        check_box(lo, hi);
        py::array_t<T> eps(t.size());
        T* out = eps.mutable_data();
        ClipStats<T> s;
        {
          py::gil_scoped_release release;
          s = clip_pass<T>(t, u, alpha, beta, lo, hi, out, n_threads);
        }
        return py::make_tuple(eps, stats_dict(s));
      },
      arg("T").noconvert(), arg("U").noconvert(), arg("alpha"), arg("beta"), arg("lo"), arg("hi"), arg("n_threads"),
      "ε = clip(αT + βU, lo, hi) and its sums (tt = εᵀT, tu = εᵀU, ee = ‖ε‖², at = Σ|Tε|, au = Σ|Uε|).");

  m.def(
      "weight_correct",
      [](VecOut<T> eps, VecRef<T> t, VecRef<T> u, T alpha, T beta, T sign, T delta, T lo, T hi, bool target_active,
         bool utility_active, py::dict stats, T tol, int n_threads) {
        check_pair(t, u);
        check_problem(sign, delta, lo, hi);
        if (eps.size() != t.size()) throw std::invalid_argument("eps must have the length of T");
        ClipStats<T> st;
        for (const char* k : {"tt", "tu", "ee", "at", "au", "m11", "m12", "m22", "n_free"})
          if (!stats.contains(k)) throw std::invalid_argument(std::string("stats lacks '") + k + "'");
        st.tt = stats["tt"].cast<T>();
        st.tu = stats["tu"].cast<T>();
        st.ee = stats["ee"].cast<T>();
        st.at = stats["at"].cast<T>();
        st.au = stats["au"].cast<T>();
        st.m11 = stats["m11"].cast<T>();
        st.m12 = stats["m12"].cast<T>();
        st.m22 = stats["m22"].cast<T>();
        st.n_free = stats["n_free"].cast<T>();
        {
          py::gil_scoped_release release;
          st = polish_active<T>(eps, t, u, sign, delta, lo, hi, target_active, utility_active, st, alpha, beta,
                                n_threads, 8, nullptr, tol);
        }
        return py::make_tuple(stats_dict(st), alpha, beta);
      },
      arg("eps").noconvert(), arg("T").noconvert(), arg("U").noconvert(), arg("alpha"), arg("beta"), arg("sign"),
      arg("delta"), arg("lo"), arg("hi"), arg("target_active"), arg("utility_active"), arg("stats"), arg("tol"),
      arg("n_threads"),
      "In place: semismooth-Newton polish of ε = clip(αT + βU, lo, hi) (stats: its sums as weight_combine "
      "returns them) on the active constraints εᵀ(sign·T) = delta and εᵀU = 0, until their residuals relative "
      "to Σ|Tε| + delta and Σ|Uε| are at most tol (and rounding); returns (sums of the new ε, α, β), the "
      "multipliers the new ε corresponds to.");

  m.def(
      "weights_bounded",
      [](VecRef<T> t, VecRef<T> u, T sign, T delta, T rho_min, T lo, T hi, int n_threads) {
        check_pair(t, u);
        check_problem(sign, delta, lo, hi);
        if (!(rho_min > 0) || !std::isfinite(rho_min)) throw std::invalid_argument("rho_min must be finite and > 0");
        py::array_t<T> eps(t.size());
        T* out = eps.mutable_data();
        BoundedSolution<T> s;
        T a = 0, b = 0;
        {
          py::gil_scoped_release release;
          BoundedWeights<T> solver(t, u, sign, delta, lo, hi, n_threads);
          a = solver.moments().a;
          b = solver.moments().b;
          s = solver.solve(rho_min, out);
        }
        py::dict d = stats_dict(s.stats);
        d["a"] = a;
        d["b"] = b;
        d["eps"] = eps;
        d["rho1"] = s.rho1;
        d["rho2"] = s.rho2;
        d["status"] = static_cast<int>(s.status);
        d["passes"] = s.passes;
        d["max_decrease"] = s.max_decrease;
        return d;
      },
      arg("T").noconvert(), arg("U").noconvert(), arg("sign"), arg("delta"), arg("rho_min"), arg("lo"), arg("hi"),
      arg("n_threads"),
      "Exact optimum of the box-bounded weight QP through its 2-D dual; ε = clip(sign·ρ₁T + ρ₂U, lo, hi).");

  m.def(
      "weights_bounded_path",
      [](VecRef<T> t, VecRef<T> u, T sign, T delta, VecRef<T> rho_mins, T lo, T hi, int n_threads) {
        check_pair(t, u);
        check_problem(sign, delta, lo, hi);
        for (Index k = 0; k < rho_mins.size(); ++k)
          if (!(rho_mins(k) > 0) || !std::isfinite(rho_mins(k)))
            throw std::invalid_argument("rho_mins must be finite and > 0");
        const Index L = rho_mins.size();
        std::vector<BoundedSolution<T>> sols;
        Vec<T> lp_eps;
        Moments<T> mom;
        {
          py::gil_scoped_release release;
          BoundedWeights<T> solver(t, u, sign, delta, lo, hi, n_threads);
          sols = bounded_path<T>(solver, rho_mins);
          lp_eps = solver.lp_eps();
          mom = solver.moments();
        }
        py::array_t<T> r1(L), r2(L), tt(L), tu(L), ee(L), at(L), au(L), md(L);
        py::array_t<int> status(L), passes(L);
        for (Index k = 0; k < L; ++k) {
          const auto& s = sols[k];
          r1.mutable_at(k) = s.rho1;
          r2.mutable_at(k) = s.rho2;
          tt.mutable_at(k) = s.stats.tt;
          tu.mutable_at(k) = s.stats.tu;
          ee.mutable_at(k) = s.stats.ee;
          at.mutable_at(k) = s.stats.at;
          au.mutable_at(k) = s.stats.au;
          md.mutable_at(k) = s.max_decrease;
          status.mutable_at(k) = static_cast<int>(s.status);
          passes.mutable_at(k) = s.passes;
        }
        py::dict d;
        d["rho1"] = r1;
        d["rho2"] = r2;
        d["tt"] = tt;
        d["tu"] = tu;
        d["ee"] = ee;
        d["at"] = at;
        d["au"] = au;
        d["max_decrease"] = md;
        d["status"] = status;
        d["passes"] = passes;
        d["a"] = mom.a;
        d["b"] = mom.b;
        d["lp_eps"] = lp_eps.size() ? py::object(py::cast(std::move(lp_eps))) : py::object(py::none());
        return d;
      },
      arg("T").noconvert(), arg("U").noconvert(), arg("sign"), arg("delta"), arg("rho_mins"), arg("lo"), arg("hi"),
      arg("n_threads"),
      "The bounded weight QP for every ρ_min = 1/(2λ), warm-started along the path; ε is not formed "
      "(weight_combine(T, U, sign·ρ₁, ρ₂, lo, hi) rebuilds it; lp_eps holds the LP point for statuses 1 and 2).");

}

}  // namespace softunlearn::bindings

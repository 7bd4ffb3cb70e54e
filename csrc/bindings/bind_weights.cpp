#include <softunlearn/weights.hpp>

#include <cmath>
#include <memory>
#include <type_traits>

#include "py_weight_passes.hpp"
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

ClipStats<T> stats_from_dict(const py::dict& stats) {
  for (const char* k : {"tt", "tu", "ee", "at", "au", "m11", "m12", "m22", "n_free"})
    if (!stats.contains(k)) throw std::invalid_argument(std::string("stats lacks '") + k + "'");
  ClipStats<T> st;
  st.tt = stats["tt"].cast<T>();
  st.tu = stats["tu"].cast<T>();
  st.ee = stats["ee"].cast<T>();
  st.at = stats["at"].cast<T>();
  st.au = stats["au"].cast<T>();
  st.m11 = stats["m11"].cast<T>();
  st.m12 = stats["m12"].cast<T>();
  st.m22 = stats["m22"].cast<T>();
  st.n_free = stats["n_free"].cast<T>();
  return st;
}

void check_rho(T rho_min) {
  if (!(rho_min > 0) || !std::isfinite(rho_min)) throw std::invalid_argument("rho_min must be finite and > 0");
}

// Host passes run without the GIL; Python passes call back into Python and keep it.
template <class Passes, class F> auto run_passes(F&& f) {
  if constexpr (std::is_same_v<Passes, PyWeightPasses<T>>) {
    return f();
  } else {
    py::gil_scoped_release release;
    return f();
  }
}

// The drivers, once for both kinds of passes; ε is left in the passes' ε slot.
template <class Passes>
py::tuple correct_with(Passes& ps, T alpha, T beta, T sign, T delta, T lo, T hi, bool target_active,
                       bool utility_active, const py::dict& stats, T tol) {
  check_problem(sign, delta, lo, hi);
  ClipStats<T> st = stats_from_dict(stats);
  st = run_passes<Passes>([&] {
    return polish_active(ps, sign, delta, lo, hi, target_active, utility_active, st, alpha, beta, 8, nullptr, tol);
  });
  return py::make_tuple(stats_dict(st), alpha, beta);
}

template <class Passes> py::dict bounded_with(Passes& ps, T sign, T delta, T rho_min, T lo, T hi) {
  check_problem(sign, delta, lo, hi);
  check_rho(rho_min);
  Moments<T> mom;
  const BoundedSolution<T> s = run_passes<Passes>([&] {
    BoundedWeights<Passes> solver(ps, sign, delta, lo, hi);
    mom = solver.moments();
    return solver.solve(rho_min);
  });
  py::dict d = stats_dict(s.stats);
  d["a"] = mom.a;
  d["b"] = mom.b;
  d["rho1"] = s.rho1;
  d["rho2"] = s.rho2;
  d["status"] = static_cast<int>(s.status);
  d["passes"] = s.passes;
  d["max_decrease"] = s.max_decrease;
  return d;
}

// The path's sums per ρ_min; "lp" is whether the passes' LP slot holds the LP point (statuses 1 and 2).
template <class Passes> py::dict bounded_path_with(Passes& ps, T sign, T delta, const VecRef<T>& rho_mins, T lo, T hi) {
  check_problem(sign, delta, lo, hi);
  for (Index k = 0; k < rho_mins.size(); ++k) check_rho(rho_mins(k));
  const Index L = rho_mins.size();
  std::vector<BoundedSolution<T>> sols;
  Moments<T> mom;
  bool lp = false;
  run_passes<Passes>([&] {
    BoundedWeights<Passes> solver(ps, sign, delta, lo, hi);
    sols = bounded_path(solver, rho_mins);
    mom = solver.moments();
    lp = solver.has_lp_point();
    return 0;
  });
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
  d["lp"] = lp;
  return d;
}

// One row chunk's host passes for the distributed weight solvers: t, u and the ε and LP slots as owned
// arrays (the slots copied from the chunks given, which are never written).
struct ChunkPasses {
  py::array_t<T, py::array::c_style> t, u;
  py::array_t<T> eps, lp;
  std::unique_ptr<HostWeightPasses<T>> ps;
  ChunkPasses(py::array_t<T, py::array::c_style> t_, py::array_t<T, py::array::c_style> u_, const py::object& eps_, const py::object& lp_)
      : t(std::move(t_)), u(std::move(u_)) {
    if (t.ndim() != 1 || u.ndim() != 1 || t.shape(0) != u.shape(0))
      throw std::invalid_argument("T and U must be 1-D of the same length");
    eps = slot(eps_, "eps");
    lp = slot(lp_, "lp");
    ps = std::make_unique<HostWeightPasses<T>>(VecRef<T>(Eigen::Map<const Vec<T>>(t.data(), t.shape(0))),
                                              VecRef<T>(Eigen::Map<const Vec<T>>(u.data(), u.shape(0))), 1,
                                              eps.mutable_data(), lp.mutable_data());
  }
  py::array_t<T> slot(const py::object& given, const char* name) const {
    if (given.is_none()) return py::array_t<T>(t.shape(0));
    auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(given);
    if (!a || a.ndim() != 1 || a.shape(0) != t.shape(0))
      throw std::invalid_argument(std::string(name) + " must be 1-D with the length of T");
    py::array_t<T> out(a.shape(0));
    std::copy(a.data(), a.data() + a.shape(0), out.mutable_data());
    return out;
  }
};

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
        if (eps.size() != t.size()) throw std::invalid_argument("eps must have the length of T");
        HostWeightPasses<T> ps(t, u, n_threads, eps.data());
        return correct_with(ps, alpha, beta, sign, delta, lo, hi, target_active, utility_active, stats, tol);
      },
      arg("eps").noconvert(), arg("T").noconvert(), arg("U").noconvert(), arg("alpha"), arg("beta"), arg("sign"),
      arg("delta"), arg("lo"), arg("hi"), arg("target_active"), arg("utility_active"), arg("stats"), arg("tol"),
      arg("n_threads"),
      "In place: semismooth-Newton polish of ε = clip(αT + βU, lo, hi) (stats: its sums as weight_combine "
      "returns them) on the active constraints εᵀ(sign·T) = delta and εᵀU = 0, until their residuals relative "
      "to Σ|Tε| + delta and Σ|Uε| are at most tol (and rounding); returns (sums of the new ε, α, β), the "
      "multipliers the new ε corresponds to.");

  m.def(
      "weight_correct_engine",
      [](py::object passes, T alpha, T beta, T sign, T delta, T lo, T hi, bool target_active, bool utility_active,
         py::dict stats, T tol) {
        PyWeightPasses<T> ps(std::move(passes));
        return correct_with(ps, alpha, beta, sign, delta, lo, hi, target_active, utility_active, stats, tol);
      },
      arg("passes"), arg("alpha"), arg("beta"), arg("sign"), arg("delta"), arg("lo"), arg("hi"),
      arg("target_active"), arg("utility_active"), arg("stats"), arg("tol"),
      "weight_correct on the ε slot of a passes object (the methods of WeightPasses, summed over chunks).");

  m.def(
      "weights_bounded",
      [](VecRef<T> t, VecRef<T> u, T sign, T delta, T rho_min, T lo, T hi, int n_threads) {
        check_pair(t, u);
        py::array_t<T> eps(t.size());
        HostWeightPasses<T> ps(t, u, n_threads, eps.mutable_data());
        py::dict d = bounded_with(ps, sign, delta, rho_min, lo, hi);
        d["eps"] = eps;
        return d;
      },
      arg("T").noconvert(), arg("U").noconvert(), arg("sign"), arg("delta"), arg("rho_min"), arg("lo"), arg("hi"),
      arg("n_threads"),
      "Exact optimum of the box-bounded weight QP through its 2-D dual; ε = clip(sign·ρ₁T + ρ₂U, lo, hi).");

  m.def(
      "weights_bounded_engine",
      [](py::object passes, T sign, T delta, T rho_min, T lo, T hi) {
        PyWeightPasses<T> ps(std::move(passes));
        return bounded_with(ps, sign, delta, rho_min, lo, hi);
      },
      arg("passes"), arg("sign"), arg("delta"), arg("rho_min"), arg("lo"), arg("hi"),
      "weights_bounded over a passes object; ε is left in its ε slot.");

  m.def(
      "weights_bounded_path",
      [](VecRef<T> t, VecRef<T> u, T sign, T delta, VecRef<T> rho_mins, T lo, T hi, int n_threads) {
        check_pair(t, u);
        py::array_t<T> lp(t.size());
        HostWeightPasses<T> ps(t, u, n_threads, nullptr, lp.mutable_data());
        py::dict d = bounded_path_with(ps, sign, delta, rho_mins, lo, hi);
        d["lp_eps"] = d["lp"].cast<bool>() ? py::object(lp) : py::object(py::none());
        return d;
      },
      arg("T").noconvert(), arg("U").noconvert(), arg("sign"), arg("delta"), arg("rho_mins"), arg("lo"), arg("hi"),
      arg("n_threads"),
      "The bounded weight QP for every ρ_min = 1/(2λ), warm-started along the path; ε is not formed "
      "(weight_combine(T, U, sign·ρ₁, ρ₂, lo, hi) rebuilds it; lp_eps holds the LP point for statuses 1 and 2).");

  m.def(
      "weights_bounded_path_engine",
      [](py::object passes, T sign, T delta, VecRef<T> rho_mins, T lo, T hi) {
        PyWeightPasses<T> ps(std::move(passes));
        return bounded_path_with(ps, sign, delta, rho_mins, lo, hi);
      },
      arg("passes"), arg("sign"), arg("delta"), arg("rho_mins"), arg("lo"), arg("hi"),
      "weights_bounded_path over a passes object; with lp true its LP slot holds the LP point.");

  m.def(
      "weighted_crossing",
      [](py::array_t<T, py::array::c_style | py::array::forcecast> pairs, T d0) {
        if (pairs.ndim() != 2 || pairs.shape(1) != 2) throw std::invalid_argument("pairs must have shape (m, 2)");
        std::vector<std::pair<T, T>> pts(pairs.shape(0));
        for (py::ssize_t i = 0; i < pairs.shape(0); ++i) {
          pts[i] = {pairs.at(i, 0), pairs.at(i, 1)};
          // the selection orders by κ: a NaN would break its ordering
          if (std::isnan(pts[i].first) || std::isnan(pts[i].second)) throw std::invalid_argument("pairs contain NaN");
        }
        return detail::weighted_crossing(pts, d0);
      },
      arg("pairs"), arg("d0"),
      "Smallest κ with d0 + Σ_{κᵢ ≤ κ} wᵢ ≥ 0 over rows (κᵢ, wᵢ) (the LP's weighted selection).");

  py::class_<ChunkPasses>(m, "WeightPasses",
                          "The weight solvers' passes over one chunk of (T, U) (single-threaded), with its ε and "
                          "LP slots; sums come back as float64 arrays that add across chunks.")
      .def(py::init<py::array_t<T, py::array::c_style>, py::array_t<T, py::array::c_style>, py::object, py::object>(), arg("T").noconvert(),
           arg("U").noconvert(), arg("eps") = py::none(), arg("lp") = py::none())
      .def_readonly("eps", &ChunkPasses::eps)
      .def_readonly("lp", &ChunkPasses::lp)
      .def("moments", [](ChunkPasses& c) { return to_array(c.ps->moments()); })
      .def("residual_norm2", [](ChunkPasses& c, T r) { return c.ps->residual_norm2(r); }, arg("r"))
      .def("clip", [](ChunkPasses& c, T alpha, T beta, T lo, T hi, bool write) {
            return to_array(c.ps->clip(alpha, beta, lo, hi, write)); },
           arg("alpha"), arg("beta"), arg("lo"), arg("hi"), arg("write"))
      .def("correct", [](ChunkPasses& c, T kt, T ku, T alpha, T beta, T lo, T hi) {
            return to_array(c.ps->correct(kt, ku, alpha, beta, lo, hi)); },
           arg("kt"), arg("ku"), arg("alpha"), arg("beta"), arg("lo"), arg("hi"))
      .def("free_residual", [](ChunkPasses& c, T sign, T q, T lo, T hi) { return c.ps->free_residual(sign, q, lo, hi); },
           arg("sign"), arg("q"), arg("lo"), arg("hi"))
      .def("stats", [](ChunkPasses& c) { return to_array(c.ps->stats()); })
      .def("use_lp", [](ChunkPasses& c, bool unbounded) { return to_array(c.ps->use_lp(unbounded)); }, arg("unbounded"))
      .def("lp_domain", [](ChunkPasses& c, T sign, T lo, T hi) { return to_array(c.ps->lp_domain(sign, lo, hi)); },
           arg("sign"), arg("lo"), arg("hi"))
      .def("lp_slope", [](ChunkPasses& c, T sign, T kappa, T lo, T hi) { return c.ps->lp_slope(sign, kappa, lo, hi); },
           arg("sign"), arg("kappa"), arg("lo"), arg("hi"))
      .def("lp_breakpoints", [](ChunkPasses& c, T sign, T lo, T hi, T above, T upto) {
            const auto pts = c.ps->lp_breakpoints(sign, lo, hi, above, upto);
            py::array_t<T> out({py::ssize_t(pts.size()), py::ssize_t(2)});
            for (std::size_t i = 0; i < pts.size(); ++i) out.mutable_at(i, 0) = pts[i].first, out.mutable_at(i, 1) = pts[i].second;
            return out; },
           arg("sign"), arg("lo"), arg("hi"), arg("above"), arg("upto"),
           "rows (κᵢ, wᵢ) of the LP's breakpoints with above < κᵢ ≤ upto")
      .def("lp_assign", [](ChunkPasses& c, T sign, T kappa, T lo, T hi) {
            return to_array(c.ps->lp_assign(sign, kappa, lo, hi)); },
           arg("sign"), arg("kappa"), arg("lo"), arg("hi"))
      .def("lp_tie_sums", [](ChunkPasses& c, T sign, T kappa, T lo, T hi, T dir, T tau) {
            return to_array(c.ps->lp_tie_sums(sign, kappa, lo, hi, dir, tau)); },
           arg("sign"), arg("kappa"), arg("lo"), arg("hi"), arg("dir"), arg("tau"))
      .def("lp_fill", [](ChunkPasses& c, T sign, T kappa, T lo, T hi, T dir, T tau) {
            return c.ps->lp_fill(sign, kappa, lo, hi, dir, tau); },
           arg("sign"), arg("kappa"), arg("lo"), arg("hi"), arg("dir"), arg("tau"));
}

}  // namespace softunlearn::bindings

// The damped Newton fit of fit.hpp with every pass over X, the factorisation and the solves on the
// device; the O(p) bookkeeping (step, Armijo test, stopping rule) stays on the host, line for line the
// CPU algorithm, so both backends take the same steps up to rounding.
#include <cmath>
#include <limits>

#include "device_data.cuh"

namespace softunlearn::cuda {

template <class T>
FitOut<T> DeviceData<T>::Impl::fit_view(const View<T>& v, const std::vector<T>& theta0, T C, T tol, int max_iter,
                                        Index subsample, bool final_hessian) {
  const T eps = std::numeric_limits<T>::epsilon();
  FitOut<T> res;
  res.theta = theta0;
  // The subsample warm start reads every k-th row as a strided view of the resident copy; streamed
  // data skips it (it only saves time, the stopping rule of the full problem decides the result).
  const Index m = subsample > 1 ? v.n / subsample : 0;
  if (v.X && m >= std::max<Index>(2000, 20 * p)) {
    ysub.resize(std::size_t(m));
    blas::copy(cublas.get(), int(m), v.y, int(subsample), ysub.get(), 1);
    double part = double(m);
    if (v.s) {
      ssub.resize(std::size_t(m));
      blas::copy(cublas.get(), int(m), v.s, int(subsample), ssub.get(), 1);
      part = 0;
      for (Index i = 0; i < m; ++i) part += double(s_host[std::size_t(i * subsample)]);
    }
    if (v.weight_sum > 0 && part > 0) {
      const View<T> sub{v.X, subsample * v.ld, m, ysub.get(), v.s ? ssub.get() : nullptr, part};
      try {
        // C scaled by the weight ratio so both objectives weigh data alike (as fit.hpp).
        FitOut<T> warm = fit_view(sub, theta0, T(double(C) * v.weight_sum / part), std::sqrt(tol), max_iter, 0, false);
        res.theta = warm.theta;
        res.n_warm_iter = warm.n_iter;
      } catch (const NotPositiveDefinite&) {
        // A subsample can be degenerate (one class, separable): the full problem decides.
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()).rfind("non-finite", 0) != 0) throw;  // device errors are not degeneracy
      }
    }
  }
  res.grad_scale = C * T(std::abs(v.weight_sum)) > T(0) ? C * T(std::abs(v.weight_sum)) : T(1);  // as stopping_scale (fit.hpp)
  auto run_pass = [&](const std::vector<T>& th, bool hessian, int slot) {
    ++res.n_passes;
    res.n_hessian += hessian;
    return pass(v, th.data(), C, hessian, slot);
  };
  PassState<T> cur = run_pass(res.theta, true, 0);
  T prev_gn = std::numeric_limits<T>::infinity();
  bool chord = false;  // was the last step taken with a lagged Hessian?
  std::vector<T> dir(static_cast<std::size_t>(p)), trial(static_cast<std::size_t>(p));
  for (;;) {
    res.grad_norm = 0;
    for (const T g : cur.grad) res.grad_norm = std::max(res.grad_norm, std::abs(g));
    for (const T g : cur.grad)
      if (!std::isfinite(g)) throw std::runtime_error("non-finite gradient during the Newton fit");
    const T ratio = res.grad_norm / prev_gn;
    if (res.grad_norm <= tol * res.grad_scale) {
      res.converged = true;
      break;
    }
    if (res.n_iter >= max_iter) break;
    if (cur.has_hessian) factor(cur.slot);
    dir = solve(cur.grad);
    T slope = 0;
    for (Index j = 0; j < p; ++j) {
      dir[j] = -dir[j];
      slope += cur.grad[j] * dir[j];
    }
    if (!(slope < T(0))) break;  // no descent direction left at working precision
    const bool lag = cur.has_hessian ? ratio < T(0.05) : (chord && ratio < T(0.1));
    const T slack = T(64) * eps * (T(std::abs(cur.objective)) + T(1));
    for (Index j = 0; j < p; ++j) trial[j] = res.theta[j] + dir[j];
    // Never overwrite the Hessian of `cur`: if the step fails it is still the one at res.theta.
    const int other = 1 - cur.slot;
    PassState<T> next = run_pass(trial, !lag, other);
    if (!(T(next.objective) <= T(cur.objective) + T(1e-4) * slope + slack)) {
      // Backtrack along z(α) = z + α X̃·dir: O(n) per trial instead of a pass over X.
      upload_theta(res.theta.data(), 0);
      upload_theta(dir.data(), 1);
      predict_columns(v, 2);
      T alpha = 1;
      bool ok = false;
      for (int k = 0; k < 60 && !ok; ++k) {
        alpha *= T(0.5);
        const T loss = T(trial_loss(v, alpha));
        T wsq = 0;
        for (Index j = 0; j < d; ++j) {
          const T wj = res.theta[j] + alpha * dir[j];
          wsq += wj * wj;
        }
        const T Ja = T(0.5) * wsq + C * loss;
        ok = Ja <= T(cur.objective) + T(1e-4) * alpha * slope + slack;
      }
      if (!ok) break;
      for (Index j = 0; j < p; ++j) trial[j] = res.theta[j] + alpha * dir[j];
      next = run_pass(trial, true, other);
    }
    chord = !next.has_hessian;
    prev_gn = res.grad_norm;
    res.theta = trial;
    cur = std::move(next);
    ++res.n_iter;
  }
  if (final_hessian && !cur.has_hessian) cur = run_pass(res.theta, true, 1 - cur.slot);
  res.at_optimum.loss = cur.loss;
  res.at_optimum.objective = cur.objective;
  res.at_optimum.grad = cur.grad;
  if (cur.has_hessian && final_hessian) res.at_optimum.H = download_hessian(cur.slot);
  return res;
}

template FitOut<float> DeviceData<float>::Impl::fit_view(const View<float>&, const std::vector<float>&, float, float,
                                                          int, Index, bool);
template FitOut<double> DeviceData<double>::Impl::fit_view(const View<double>&, const std::vector<double>&, double,
                                                            double, int, Index, bool);

}  // namespace softunlearn::cuda

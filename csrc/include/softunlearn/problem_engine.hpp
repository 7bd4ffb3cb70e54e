// The in-memory engine: the passes newton_fit (newton.hpp) needs, over a Problem held in this process
// (dense or CSR X). Other engines (the CUDA device, a distributed array) supply the same members from
// the host language; see newton.hpp for the concept.
#pragma once

#include <functional>
#include <memory>

#include "fit.hpp"

namespace softunlearn {

template <class T, class Dsn, class Loss> class ProblemEngine {
 public:
  using Scalar = T;
  ProblemEngine(const Problem<T, Dsn>& P, int n_threads, const Loss& loss_fn)
      : P_(P), n_threads_(n_threads), loss_(loss_fn) {}

  Index rows() const { return P_.design.rows(); }
  Index features() const { return P_.design.features(); }
  Index params() const { return P_.design.params(); }
  bool intercept() const { return P_.design.intercept; }
  T C() const { return P_.C; }
  T weight_sum() const { return P_.weight_sum(); }
  T abs_weight_sum() const {
    T sum = 0;
    for (Index i = 0; i < rows(); ++i) sum += std::abs(P_.weight(i));
    return sum;
  }
  T feature_scale() const { return softunlearn::feature_scale(P_.design); }

  // Loss, ∇J and ∇²J (hessian) or h = C s ⊙ ℓ''(z) (want_h) at θ.
  PassResult<T> pass(const Vec<T>& theta, bool hessian, bool want_h) const {
    if (!want_h) return loss_pass<T, Loss>(P_, theta, hessian, nullptr, nullptr, n_threads_, loss_);
    Vec<T> h(rows());
    PassResult<T> r = loss_pass<T, Loss>(P_, theta, hessian, nullptr, h.data(), n_threads_, loss_);
    r.h = std::move(h);
    return r;
  }

  // α ↦ Σ sᵢ ℓ(x̃ᵢᵀ(θ + α·dir)) along z(α) = z + α X̃·dir: O(n) per α instead of a pass over X.
  std::function<T(T)> line(const Vec<T>& theta, const Vec<T>& dir) const {
    auto z = std::make_shared<Vec<T>>(rows()), dz = std::make_shared<Vec<T>>(rows());
    predict(P_.design, VecRef<T>(theta), *z, n_threads_);
    predict(P_.design, VecRef<T>(dir), *dz, n_threads_);
    return [this, z, dz](T alpha) {
      T loss = 0;
      for (Index i = 0; i < rows(); ++i) loss += P_.weight(i) * loss_.value(T((*z)(i) + alpha * (*dz)(i)), P_.y(i));
      return loss;
    };
  }

  // Jacobi-preconditioned CG on the matrix-free Hessian (diag(h) from a want_h pass) for one right side.
  CGResult<T> cg(const Vec<T>& h, const Vec<T>& b, T tol, int max_iter) const {
    return cg_solve(P_.design, VecRef<T>(h), VecRef<T>(regulariser_diagonal(P_.design)), MatIn<T>(b), tol, max_iter,
                    n_threads_);
  }

  // Every k-th of the first m·k rows, with C scaled by the weight ratio so that both objectives weigh
  // the data alike; null when either weight sum is not positive.
  std::unique_ptr<ProblemEngine> subsample(Index k, Index m) const {
    auto own = std::make_shared<Owned>(Owned{subsample_rows(P_.design, k, m), Vec<T>(m), Vec<T>(P_.s.size() ? m : 0)});
    for (Index i = 0; i < m; ++i) {
      own->y(i) = P_.y(i * k);
      if (own->s.size()) own->s(i) = P_.s(i * k);
    }
    const T full = P_.weight_sum(), part = own->s.size() ? own->s.sum() : T(m);
    if (!(full > T(0) && part > T(0))) return nullptr;
    auto sub = std::make_unique<ProblemEngine>(
        Problem<T, Dsn>{own->rows.design, own->y, own->s, P_.C * full / part}, n_threads_, loss_);
    sub->owned_ = std::move(own);
    return sub;
  }

 private:
  using Rows = decltype(subsample_rows(std::declval<const Dsn&>(), Index(), Index()));
  struct Owned {
    Rows rows;
    Vec<T> y, s;
  };
  Problem<T, Dsn> P_;
  int n_threads_;
  Loss loss_;
  std::shared_ptr<const Owned> owned_;  // what a subsample's Problem points into
};

}  // namespace softunlearn

// Targets on a validation set: value and gradient in θ (the table in docs/conventions.md). Every gradient is
// X̃ᵀc for a per-row coefficient c, so one kernel serves all of them.
#pragma once

#include <array>
#include <cmath>

#include "kernels.hpp"
#include "kinds.hpp"
#include "loss.hpp"
#include "types.hpp"

namespace softunlearn {

template <class T> struct TargetValue {
  T value = 0;
  Vec<T> grad;
};

// The rows each group's mean runs over: DP {s=0, s=1}, EOP the same among y=1 (utility: none). Apart from
// the evaluation so that a set held in row chunks (Dask) evaluates every chunk with the whole set's counts.
template <class T>
std::array<Index, 2> target_counts(TargetKind kind, const VecRef<T>& y, const VecRef<T>& group) {
  std::array<Index, 2> count{0, 0};
  if (kind == TargetKind::Utility) return count;
  const bool eop = kind == TargetKind::EqualOpportunity;
  for (Index i = 0; i < group.size(); ++i)
    if (!eop || y(i) == T(1)) ++count[group(i) != T(0)];
  return count;
}

// utility:  Σ ℓ,                                  c = ℓ'
// DP:       mean σ(z) over s=1 − mean over s=0,    c = ±σ(1−σ)/n_g
// EOP:      mean ℓ over {s=0,y=1} − over {s=1,y=1}, c = ±ℓ'/n_g on those rows
// (robustness is utility on the fixed adversarial set.) ℓ is the model's own loss, so utility, EOP
// and robustness of an SVM use the SVM loss. DP stays on σ(z) for every loss: a smooth, bounded
// stand-in for the positive rate 1[z > 0] that fairlearn's label gap measures (see targets.py).
// n_g = count[g] from target_counts over the whole set, which D may be one row block of: the value and
// gradient are then that block's share, and the shares add up to the whole set's.
template <class T, class Loss, class Dsn>
TargetValue<T> evaluate_target(TargetKind kind, const Dsn& D, const VecRef<T>& theta, const VecRef<T>& y,
                               const VecRef<T>& group, const std::array<Index, 2>& count, int n_threads,
                               const Loss& loss_fn) {
  const Index n = D.rows();
  Vec<T> z(n);
  predict(D, theta, z, n_threads);
  Vec<T> c = Vec<T>::Zero(n);
  TargetValue<T> out;
  if (kind == TargetKind::Utility) {
    for (Index i = 0; i < n; ++i) {
      out.value += loss_fn.value(z(i), y(i));
      c(i) = loss_fn.d1(z(i), y(i));
    }
  } else {
    const bool eop = kind == TargetKind::EqualOpportunity;
    if (count[0] == 0 || count[1] == 0)
      throw std::invalid_argument(eop ? "every sensitive group needs at least one positive label (y=1)"
                                      : "the sensitive attribute needs both groups (0 and 1)");
    // DP is s=1 minus s=0; EOP is s=0 minus s=1 (the paper's orientation: the loss gap of group 0).
    for (Index i = 0; i < n; ++i) {
      if (eop && y(i) != T(1)) continue;
      const int g = group(i) != T(0);
      const T sign = (g == 1) == !eop ? T(1) : T(-1);
      const T scale = sign / T(count[g]);
      if (eop) {
        out.value += scale * loss_fn.value(z(i), y(i));
        c(i) = scale * loss_fn.d1(z(i), y(i));
      } else {
        const T p = sigmoid(z(i));
        out.value += scale * p;
        c(i) = scale * p * (T(1) - p);
      }
    }
  }
  out.grad = xtv(D, VecRef<T>(c), n_threads);
  return out;
}

// The mirror attack: xᵃ = x − factor · (wᵀx + b)/‖w‖² · w, computed once from θ̂. The points are
// dense even for a sparse X (every coordinate moves along w).
template <class Dsn, class T = typename Dsn::Scalar>
RowMat<T> mirror_attack(const Dsn& D, const VecRef<T>& theta, T factor, int n_threads) {
  const Index d = D.features();
  const T wn = theta.head(d).squaredNorm();
  if (!(wn > T(0))) throw std::invalid_argument("the mirror attack needs a non-zero weight vector w");
  Vec<T> z(D.rows());
  predict(D, theta, z, n_threads);
  RowMat<T> Xa(D.rows(), d);
  Xa.noalias() = -(z * (factor / wn)) * theta.head(d).transpose();
  for_row_blocks(D.rows(), kStreamBlock, resolve_threads(n_threads), [&](int, Index b, Index e) {
    for (Index i = b; i < e; ++i) densify_row(D, i, Xa.row(i));
  });
  return Xa;
}

}  // namespace softunlearn

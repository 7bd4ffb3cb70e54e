// Solves with the Hessian: a Cholesky factorisation that names the failing pivot, and a
// matrix-free, Jacobi-preconditioned conjugate-gradient solver for many right-hand sides.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "kernels.hpp"
#include "types.hpp"

namespace softunlearn {

template <class T> class Cholesky {
 public:
  explicit Cholesky(const Mat<T>& H) : L_(H) {
    if (H.rows() != H.cols()) throw std::invalid_argument("hessian must be square");
    // Eigen's blocked in-place LLT reports the first non-positive pivot, which LLT::info() hides.
    const Index k = Eigen::internal::llt_inplace<T, Eigen::Lower>::blocked(L_);
    if (k >= 0) {
      const T lmin = Eigen::SelfAdjointEigenSolver<Mat<T>>(H, Eigen::EigenvaluesOnly).eigenvalues()(0);
      std::ostringstream msg;
      msg << "Hessian is not positive definite: Cholesky pivot " << k << " of " << H.rows()
          << " is not positive (smallest eigenvalue " << lmin
          << "); use a stronger regulariser (smaller C), drop collinear or constant features, "
             "or avoid negative sample weights";
      throw NotPositiveDefinite(msg.str(), k);
    }
    L_.template triangularView<Eigen::StrictlyUpper>().setZero();
  }

  // H⁻¹ B for B of shape p×k.
  Mat<T> solve(const MatIn<T>& B) const {
    Mat<T> X = B;
    L_.template triangularView<Eigen::Lower>().solveInPlace(X);
    L_.transpose().template triangularView<Eigen::Upper>().solveInPlace(X);
    return X;
  }

  const Mat<T>& L() const { return L_; }
  Index size() const { return L_.rows(); }

 private:
  Mat<T> L_;
};

template <class T> struct CGResult {
  Mat<T> X;
  std::vector<int> iterations;
  std::vector<T> residuals;  // final ‖b − H x‖ / ‖b‖ per column
  std::vector<T> condition;  // κ estimate of the preconditioned system per column (0 if < 2 iterations)
};

// CG's coefficients define the Lanczos tridiagonal of the preconditioned operator M⁻¹H; the ratio of
// its extreme eigenvalues (Ritz values) estimates κ(M⁻¹H) from below, at O(k²) cost.
template <class T> T lanczos_condition(const std::vector<T>& alpha, const std::vector<T>& beta) {
  const Index k = Index(alpha.size());
  if (k < 2) return T(0);
  Vec<double> diag(k), sub(k - 1);
  for (Index j = 0; j < k; ++j) {
    diag(j) = 1.0 / double(alpha[j]) + (j ? double(beta[j - 1]) / double(alpha[j - 1]) : 0.0);
    if (j + 1 < k) sub(j) = std::sqrt(std::max(0.0, double(beta[j]))) / double(alpha[j]);
  }
  Eigen::SelfAdjointEigenSolver<Mat<double>> es;
  es.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
  const auto& ev = es.eigenvalues();
  return ev(0) > 0 ? T(ev(k - 1) / ev(0)) : std::numeric_limits<T>::infinity();
}

// H = X̃ᵀ diag(h) X̃ + diag(reg); h already carries C and the sample weights. H V for all k columns
// in one pass over X, dense or CSR.
template <class Dsn, class T = typename Dsn::Scalar>
Mat<T> hessian_matvec(const Dsn& D, const VecRef<T>& h, const VecRef<T>& reg, const Mat<T>& V, int n_threads) {
  using Acc = accumulator_t<Dsn>;
  const Index p = D.params(), k = V.cols();
  const int nt = used_threads(D.rows(), kStreamBlock, resolve_threads(n_threads));
  std::vector<Mat<Acc>> acc(nt, Mat<Acc>::Zero(p, k));
  std::vector<Mat<T>> Zs(nt);
  for_row_blocks(D.rows(), kStreamBlock, nt, [&](int t, Index b, Index e) {
    hessian_matvec_block(D, h, V, b, e, Zs[t], acc[t]);
  });
  for (int t = 1; t < nt; ++t) acc[0] += acc[t];
  Mat<T> HV = accumulated<T>(std::move(acc[0]));
  HV += reg.asDiagonal() * V;
  return HV;
}

template <class Dsn, class T = typename Dsn::Scalar>
CGResult<T> cg_solve(const Dsn& D, const VecRef<T>& h, const VecRef<T>& reg, const MatIn<T>& B,
                     T tol, int max_iter, int n_threads) {
  const Index p = D.params(), k = B.cols();
  // Jacobi preconditioner: diag(H) = Σ hᵢ x̃ᵢ² + reg.
  Vec<T> diag = reg;
  {
    const int nt = used_threads(D.rows(), kStreamBlock, resolve_threads(n_threads));
    std::vector<Vec<accumulator_t<Dsn>>> acc(nt, Vec<accumulator_t<Dsn>>::Zero(p));
    for_row_blocks(D.rows(), kStreamBlock, nt, [&](int t, Index b, Index e) {
      hessian_diagonal_block(D, h, b, e, acc[t]);
    });
    for (auto& a : acc) diag += a.template cast<T>();
  }
  for (Index j = 0; j < p; ++j)
    if (!(diag(j) > T(0)))
      throw NotPositiveDefinite("Hessian has a non-positive diagonal entry at index " + std::to_string(j) +
                                    "; use a stronger regulariser (smaller C) or drop constant features",
                                j);
  const Vec<T> Minv = diag.cwiseInverse();

  CGResult<T> res;
  res.X = Mat<T>::Zero(p, k);
  res.iterations.assign(k, 0);
  res.residuals.assign(k, T(0));
  res.condition.assign(k, T(0));
  std::vector<std::vector<T>> alphas(k), betas(k);
  Mat<T> R = B, Z = Minv.asDiagonal() * R, P = Z;
  Vec<T> rz = (R.cwiseProduct(Z)).colwise().sum().transpose();
  Vec<T> bnorm = B.colwise().norm().transpose();
  std::vector<bool> active(k, true);
  for (Index j = 0; j < k; ++j) {
    if (bnorm(j) == T(0)) active[j] = false;
    res.residuals[j] = bnorm(j) == T(0) ? T(0) : T(1);
  }
  for (int it = 0; it < max_iter; ++it) {
    bool any = false;
    for (Index j = 0; j < k; ++j) any |= active[j];
    if (!any) break;
    const Mat<T> HP = hessian_matvec(D, h, reg, P, n_threads);
    for (Index j = 0; j < k; ++j) {
      if (!active[j]) continue;
      const T pHp = P.col(j).dot(HP.col(j));
      if (rz(j) == T(0)) {  // the recursive residual underflowed to zero: nothing left to reduce
        active[j] = false;
        continue;
      }
      if (!(pHp > T(0))) {
        if (!std::isfinite(pHp))
          throw NonFinite("CG: a Hessian-vector product is not finite (the data or weights overflowed)");
        throw NotPositiveDefinite("Hessian is not positive definite (CG found a direction of non-positive "
                                  "curvature); use a stronger regulariser (smaller C) or avoid negative "
                                  "sample weights",
                                  -1);
      }
      const T alpha = rz(j) / pHp;
      alphas[j].push_back(alpha);
      res.X.col(j) += alpha * P.col(j);
      R.col(j) -= alpha * HP.col(j);
      res.iterations[j] = it + 1;
      res.residuals[j] = R.col(j).norm() / bnorm(j);
      if (!std::isfinite(res.residuals[j]))
        throw NonFinite("CG: the residual became non-finite at iteration " + std::to_string(it + 1));
      if (res.residuals[j] <= tol) {
        active[j] = false;
        continue;
      }
      Z.col(j) = Minv.cwiseProduct(R.col(j));
      const T rz_new = R.col(j).dot(Z.col(j));
      betas[j].push_back(rz_new / rz(j));
      P.col(j) = Z.col(j) + (rz_new / rz(j)) * P.col(j);
      rz(j) = rz_new;
    }
  }
  for (Index j = 0; j < k; ++j) res.condition[j] = lanczos_condition(alphas[j], betas[j]);
  return res;
}

}  // namespace softunlearn

// Common types of the header-only core. No Python headers anywhere under csrc/include.
#pragma once

#include <Eigen/Dense>
#include <stdexcept>
#include <string>

namespace softunlearn {

using Index = Eigen::Index;

// Row-major so that NumPy's default C order maps without a copy and a row block is contiguous.
template <class T> using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T> using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
// Ref aliases go through Identity so they are non-deduced: T comes from the Design argument and a
// plain Vec, Map or block converts to the Ref at the call.
template <class U> struct Identity { using type = U; };
template <class T> using MatRef = typename Identity<Eigen::Ref<const RowMat<T>>>::type;
template <class T> using VecRef = typename Identity<Eigen::Ref<const Vec<T>>>::type;
template <class T> using VecOut = typename Identity<Eigen::Ref<Vec<T>>>::type;
template <class T> using RowMatOut = typename Identity<Eigen::Ref<RowMat<T>>>::type;
template <class T> using MatIn = typename Identity<Eigen::Ref<const Mat<T>>>::type;

// The design matrix X̃ = [X, 1] is never formed: kernels take X and this flag.
template <class T> struct Design {
  using Scalar = T;
  MatRef<T> X;
  bool intercept;
  Index rows() const { return X.rows(); }
  Index features() const { return X.cols(); }
  Index params() const { return X.cols() + (intercept ? 1 : 0); }
};

// Deduces T from the exact Ref type the bindings receive (MatRef itself is non-deduced).
template <class T> Design<T> make_design(const Eigen::Ref<const RowMat<T>>& X, bool intercept) { return {X, intercept}; }

// Raised when a Hessian is not positive definite; `index` is the first failing pivot.
struct NotPositiveDefinite : std::runtime_error {
  Index index;
  NotPositiveDefinite(const std::string& what, Index i) : std::runtime_error(what), index(i) {}
};

// Raised when an intermediate (gradient, Newton direction, CG residual, weights) stops being finite:
// the input overflowed the working precision. A NaN is never returned as a result.
struct NonFinite : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Raised at a safe point (outside parallel regions) when the embedding asked a long computation to stop.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

}  // namespace softunlearn

// Per-sample losses as functions of the margin z = wᵀx + b and the label y ∈ {0, 1}.
// A loss supplies value, first and second derivative in z; everything else is generic.
#pragma once

#include <cmath>

namespace softunlearn {

enum class LossKind { Logistic = 0 };

template <class T> inline T sigmoid(T z) {
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

template <class T> inline T softplus(T z) { return std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z))); }

// ℓ = log(1 + e^z) − y z;  ℓ' = σ(z) − y;  ℓ'' = σ(z)(1 − σ(z)).
struct Logistic {
  // For y ∈ {0, 1}, ℓ = softplus((1 − 2y) z) avoids the cancellation of softplus(z) − z for large z·y.
  template <class T> static T value(T z, T y) {
    if (y == T(0)) return softplus(z);
    if (y == T(1)) return softplus(-z);
    return softplus(z) - y * z;
  }
  template <class T> static T d1(T z, T y) { return sigmoid(z) - y; }
  template <class T> static void eval(T z, T y, T& value_out, T& d1_out, T& d2_out) {
    const T p = sigmoid(z);
    value_out = value(z, y);
    d1_out = p - y;
    d2_out = p * (T(1) - p);
  }
};

}  // namespace softunlearn

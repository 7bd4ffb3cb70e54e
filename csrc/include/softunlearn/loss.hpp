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

// ℓ = log(1 + e^z) − y z;  ℓ' = σ(z) − y;  ℓ'' = σ(z)(1 − σ(z)).
struct Logistic {
  template <class T> static void eval(T z, T y, T& value, T& d1, T& d2) {
    const T p = sigmoid(z);
    value = std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z))) - y * z;
    d1 = p - y;
    d2 = p * (T(1) - p);
  }
  template <class T> static T value(T z, T y) { return std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z))) - y * z; }
  template <class T> static T d1(T z, T y) { return sigmoid(z) - y; }
};

}  // namespace softunlearn

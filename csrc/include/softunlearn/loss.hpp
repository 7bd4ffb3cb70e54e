// Per-sample losses as functions of the decision value z = wᵀx + b and the label y ∈ {0, 1}.
// A loss is a small object (it may carry a parameter) with value, first and second derivative in z;
// everything else is generic. Margin losses map y to y± = 2y − 1 and use the margin m = y± z.
// A new loss needs only value/d1/eval below and a LossKind for the bindings.
#pragma once

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kinds.hpp"

namespace softunlearn {

template <class T> inline T sigmoid(T z) {
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

template <class T> inline T softplus(T z) { return std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z))); }

// softplus(z), σ(z) and σ(z)(1 − σ(z)) from one exp(−|z|) (the fused pass evaluates all three per row, and
// these libm calls were a third of a gradient pass's time); σ(1 − σ) = e/(1 + e)² keeps full relative
// precision in the tails, where 1 − σ would cancel.
template <class T> struct SoftplusSigmoid {
  T exp_neg_abs, log1p_e, sigmoid, sigmoid_d;
  explicit SoftplusSigmoid(T z) {
    exp_neg_abs = std::exp(-std::abs(z));
    const T inv = T(1) / (T(1) + exp_neg_abs);
    log1p_e = std::log1p(exp_neg_abs);
    sigmoid = z >= T(0) ? inv : exp_neg_abs * inv;
    sigmoid_d = exp_neg_abs * inv * inv;
  }
  T softplus(T z) const { return std::max(z, T(0)) + log1p_e; }  // also right for −z: |−z| = |z|
};

// ℓ = log(1 + e^z) − y z;  ℓ' = σ(z) − y;  ℓ'' = σ(z)(1 − σ(z)).
struct Logistic {
  // For y ∈ {0, 1}, ℓ = softplus((1 − 2y) z) avoids the cancellation of softplus(z) − z for large z·y.
  template <class T> static T value_from(const SoftplusSigmoid<T>& f, T z, T y) {
    if (y == T(0)) return f.softplus(z);
    if (y == T(1)) return f.softplus(-z);
    return f.softplus(z) - y * z;
  }
  template <class T> T value(T z, T y) const { return value_from(SoftplusSigmoid<T>(z), z, y); }
  template <class T> T d1(T z, T y) const { return sigmoid(z) - y; }
  template <class T> void eval(T z, T y, T& value_out, T& d1_out, T& d2_out) const {
    const SoftplusSigmoid<T> f(z);
    value_out = value_from(f, z, y);
    d1_out = f.sigmoid - y;
    d2_out = f.sigmoid_d;
  }
};

// Koh & Liang's smooth hinge with temperature t > 0, u = (1 − m)/t:
//   ℓ = t·softplus(u);  ℓ' = −y± σ(u);  ℓ'' = σ(u)(1 − σ(u))/t.
// ℓ → max(0, 1 − m) as t → 0 (the gap is at most t·log 2, at m = 1); the curvature is at most 1/(4t).
struct SmoothHinge {
  double temperature;
  explicit SmoothHinge(double t) : temperature(t) {
    if (!(t > 0.0) || !std::isfinite(t)) throw std::invalid_argument("temperature must be a finite number > 0");
  }
  template <class T> T u(T z, T y) const { return (T(1) - (T(2) * y - T(1)) * z) / T(temperature); }
  template <class T> T value(T z, T y) const { return T(temperature) * softplus(u(z, y)); }
  template <class T> T d1(T z, T y) const { return -(T(2) * y - T(1)) * sigmoid(u(z, y)); }
  template <class T> void eval(T z, T y, T& value_out, T& d1_out, T& d2_out) const {
    const T uz = u(z, y);
    const SoftplusSigmoid<T> f(uz);
    value_out = T(temperature) * f.softplus(uz);
    d1_out = -(T(2) * y - T(1)) * f.sigmoid;
    d2_out = f.sigmoid_d / T(temperature);
  }
};

// scikit-learn LinearSVC's default loss, v = max(0, 1 − m):
//   ℓ = v²;  ℓ' = −2 y± v;  ℓ'' = 2·1[m < 1] (the generalised second derivative: ℓ' is piecewise linear
// and only its kink at m = 1 lacks a derivative). Newton with this Hessian is exact on a fixed set of
// margin violators, so it stops after finitely many steps once that set settles (Keerthi & DeCoste 2005).
struct SquaredHinge {
  template <class T> T slack(T z, T y) const { return std::max(T(0), T(1) - (T(2) * y - T(1)) * z); }
  template <class T> T value(T z, T y) const {
    const T v = slack(z, y);
    return v * v;
  }
  template <class T> T d1(T z, T y) const { return -T(2) * (T(2) * y - T(1)) * slack(z, y); }
  template <class T> void eval(T z, T y, T& value_out, T& d1_out, T& d2_out) const {
    const T v = slack(z, y);
    value_out = v * v;
    d1_out = -T(2) * (T(2) * y - T(1)) * v;
    d2_out = v > T(0) ? T(2) : T(0);
  }
};

}  // namespace softunlearn

// The CUDA backend as plain C++: no CUDA, cuBLAS or Python headers, so the binding file compiles with
// the host compiler alone and the device code stays behind a pimpl.
//
// Math and conventions are those of csrc/include/softunlearn (docs/conventions.md): X is the host's row-major
// n×d matrix, X̃ = [X, 1] when there is an intercept, θ = (w, b),
// J(θ) = ½‖w‖² + C Σᵢ sᵢ ℓ(x̃ᵢᵀθ, yᵢ) with the logistic loss, r = C s ⊙ ℓ'(z), h = C s ⊙ ℓ''(z).
// p×p matrices cross this interface column-major (symmetric ones are the same either way).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace softunlearn::cuda {

using Index = std::int64_t;

// Mirrors softunlearn::NotPositiveDefinite of the CPU core; `index` is the 0-based failing pivot.
struct NotPositiveDefinite : std::runtime_error {
  Index index;
  NotPositiveDefinite(const std::string& what, Index i) : std::runtime_error(what), index(i) {}
};

// Number of visible devices; 0 when there is none or no usable driver, `error` then says why.
int device_count(std::string* error);
std::string device_name(int device);
int runtime_version();
// Bytes free on the current device (cudaMemGetInfo).
Index device_free_bytes();

template <class T> struct PassOut {
  double loss = 0;       // Σ sᵢ ℓᵢ
  double objective = 0;  // ½‖w‖² + C Σ sᵢ ℓᵢ
  std::vector<T> grad;   // ∇J, length p
  std::vector<T> H;      // ∇²J, p×p, empty unless requested
};

// X, y and s on the device (resident) or, when X does not fit in `max_device_bytes`, kept on the
// host and streamed through pinned double buffers on every pass. The host arrays must outlive the
// object in streaming mode (the binding keeps a reference).
template <class T> class DeviceData {
 public:
  // s may be null (all ones). max_device_bytes < 0: up to 80% of the free device memory.
  // block_rows ≤ 0: about 64 MiB of X per row block (tests set it small to exercise the block loop).
  DeviceData(const T* X, Index n, Index d, const T* y, const T* s, bool intercept, Index max_device_bytes,
             Index block_rows = 0);
  ~DeviceData();
  DeviceData(const DeviceData&) = delete;
  DeviceData& operator=(const DeviceData&) = delete;

  Index rows() const;
  Index features() const;
  Index params() const;
  bool resident() const;
  Index block_rows() const;

  // One fused pass at θ: loss, ∇J and optionally ∇²J; r_out / h_out (length n, may be null).
  PassOut<T> loss_pass(const T* theta, T C, bool hessian, T* r_out, T* h_out);
  // out (n×k, row-major) = r ⊙ (X̃U) for U (p×k, column-major).
  void scores(const T* U, Index k, const T* r, T* out);
  // out (p) = X̃ᵀv.
  void xtv(const T* v, T* out);
  // z (n) = X̃θ.
  void predict(const T* theta, T* z);
  // out (p×p) = X̃ᵀ diag(w) X̃.
  void weighted_gram(const T* w, T* out);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Cholesky factor H = LLᵀ kept on the device (cuSOLVER potrf); solve runs potrs.
template <class T> class DeviceCholesky {
 public:
  DeviceCholesky(const T* H, Index p);  // H column-major p×p; only the lower triangle is read
  ~DeviceCholesky();
  DeviceCholesky(const DeviceCholesky&) = delete;
  DeviceCholesky& operator=(const DeviceCholesky&) = delete;
  Index size() const;
  void solve(const T* B, Index k, T* X) const;  // B, X column-major p×k
  std::vector<T> lower() const;                 // L column-major, upper triangle zero

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace softunlearn::cuda

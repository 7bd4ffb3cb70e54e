// DeviceData's state and its passes over X (device_data.cu). The Newton fit drives these passes from
// the host (softunlearn/newton.hpp through the Python engine), as it drives the CPU core's.
//
// Layout: the host's row-major X (n×d) is, to cuBLAS, the column-major d×n matrix Xᵀ; a block of m rows
// starting at row b is the d×m matrix at X + b·ld. Resident mode copies X once; streaming mode sends
// each block of every pass through two pinned host buffers and two device buffers, so the copy of
// block k+1 (host memcpy into pinned memory, then an asynchronous copy on its own stream) overlaps the
// kernels of block k on the compute stream.
#pragma once

#include <mutex>
#include <vector>

#include "api.hpp"
#include "blas.cuh"
#include "buffers.cuh"

namespace softunlearn::cuda {

// The rows a pass runs over (all of X; a row stride other than d reads every k-th row).
template <class T> struct View {
  const T* X;  // device pointer; null: stream from the host copy
  Index ld;    // elements between consecutive rows
  Index n;
  const T* y;  // device
  const T* s;  // device, null: all ones
  double weight_sum;
};

template <class T> struct PassState {
  double loss = 0, objective = 0;
  std::vector<T> grad;
  bool has_hessian = false;
  int slot = 0;  // which device Hessian buffer holds it
};

template <class T> struct DeviceData<T>::Impl {
  Impl(const T* X, Index n, Index d, const T* y, const T* s, bool intercept, Index max_device_bytes, Index block_rows);

  // f(Xb, ld, b, m) for consecutive row blocks [b, b + m), enqueued on `compute`.
  template <class F> void for_blocks(const View<T>& v, F&& f);

  View<T> full_view() const { return {resident ? X.get() : nullptr, d, n, y.get(), s_host.empty() ? nullptr : s.get(), weight_sum}; }

  // θ (host, length p) → column 0 of TD.
  void upload_theta(const T* theta, int column = 0);
  // zz[:, c] = X̃ TD[:, c] for c < ncols.
  void predict_columns(const View<T>& v, int ncols);
  // One fused pass at TD[:, 0]: V = [s ℓ, r, h], ∇J, and ∇²J into H[slot] on request.
  PassState<T> pass(const View<T>& v, const T* theta, T C, bool hessian, int slot);
  // Device H[slot] → host, full symmetric.
  std::vector<T> download_hessian(int slot);
  const T* host_X;
  Index n, d, p;
  bool intercept;
  bool resident = false;
  bool any_negative_s = false;
  double weight_sum = 0;
  std::vector<T> s_host;
  Index block = 0;
  // Public calls run one at a time: they share the work buffers below (the binding releases the GIL).
  std::mutex mutex;

  Stream compute, copy;
  BlasHandle cublas{compute.get()};
  SolverHandle solver{compute.get()};

  DeviceBuffer<T> X, y, s;
  DeviceBuffer<T> V;     // 3n: s ⊙ ℓ, r, h
  DeviceBuffer<T> zz;    // n: z
  DeviceBuffer<T> S;     // block·d: rows scaled by √h
  DeviceBuffer<T> G;     // 2d: X̃ᵀr, X̃ᵀh (first d entries)
  DeviceBuffer<T> TD;    // 2p: θ and a direction
  DeviceBuffer<T> H[1];  // p×p
  DeviceBuffer<double> partial, sums;

  // Streaming state.
  PinnedBuffer<T> pinned[2];
  DeviceBuffer<T> staged[2];
  Event ready[2], done[2];
  bool pending[2] = {false, false};
};

}  // namespace softunlearn::cuda

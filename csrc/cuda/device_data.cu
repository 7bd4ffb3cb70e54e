#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "device_data.cuh"
#include "elementwise.cuh"

namespace softunlearn::cuda {
namespace {

// About this many bytes of X per block: large enough that each cuBLAS call runs near its peak, small
// enough that the streaming buffers (two pinned, two on the device, one scaled copy) stay modest.
constexpr Index kBlockBytes = Index(64) << 20;

// memcpy into pinned memory is the host side of every streamed block; one thread does ~5-10 GB/s,
// below what PCIe delivers, so large copies are split over a few threads.
void parallel_copy(void* dst, const void* src, std::size_t bytes) {
  constexpr std::size_t kChunk = std::size_t(8) << 20;
  const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t nt = std::min<std::size_t>({hw, 8, bytes / kChunk});
  if (nt <= 1) {
    std::memcpy(dst, src, bytes);
    return;
  }
  std::vector<std::thread> pool;
  const std::size_t part = (bytes + nt - 1) / nt;
  for (std::size_t t = 0; t < nt; ++t) {
    const std::size_t b = t * part, e = std::min(bytes, b + part);
    if (b < e)
      pool.emplace_back([=] { std::memcpy(static_cast<char*>(dst) + b, static_cast<const char*>(src) + b, e - b); });
  }
  for (auto& th : pool) th.join();
}

}  // namespace

template <class T>
DeviceData<T>::Impl::Impl(const T* Xh, Index n_, Index d_, const T* yh, const T* sh, bool icpt, Index max_device_bytes,
                          Index block_rows)
    : host_X(Xh), n(n_), d(d_), p(d_ + (icpt ? 1 : 0)), intercept(icpt) {
  if (sh) {
    s_host.assign(sh, sh + n);
    for (const T v : s_host) {
      weight_sum += double(v);
      any_negative_s |= v < T(0);
    }
  } else {
    weight_sum = double(n);
  }
  const Index row_bytes = d * Index(sizeof(T));
  block = block_rows > 0 ? block_rows : std::max<Index>(256, kBlockBytes / row_bytes);
  block = std::max<Index>(1, std::min<Index>(n, block));

  const Index x_bytes = n * row_bytes;
  const Index other_bytes = Index(sizeof(T)) * (6 * n + p * p + 2 * p + 2 * d + block * d);
  const Index budget = max_device_bytes >= 0 ? max_device_bytes : Index(0.8 * double(device_free_bytes()));
  resident = x_bytes + other_bytes <= budget;

  y.resize(std::size_t(n));
  if (sh) s.resize(std::size_t(n));
  V.resize(std::size_t(3 * n));
  zz.resize(std::size_t(n));
  S.resize(std::size_t(block * d));
  G.resize(std::size_t(2 * d));
  TD.resize(std::size_t(2 * p));
  H[0].resize(std::size_t(p * p));
  partial.resize(std::size_t(kSumBlocks * 3));
  sums.resize(3);
  SU_CHECK(cudaMemcpy(y.get(), yh, sizeof(T) * n, cudaMemcpyHostToDevice));
  if (sh) SU_CHECK(cudaMemcpy(s.get(), sh, sizeof(T) * n, cudaMemcpyHostToDevice));

  if (resident) {
    X.resize(std::size_t(n * d));
    if (x_bytes <= kBlockBytes) {
      SU_CHECK(cudaMemcpy(X.get(), host_X, std::size_t(x_bytes), cudaMemcpyHostToDevice));
    } else {
      // The same double-buffered pipeline as a streamed pass, once, into the resident copy.
      PinnedBuffer<T> pin[2] = {PinnedBuffer<T>(std::size_t(block * d)), PinnedBuffer<T>(std::size_t(block * d))};
      Index k = 0;
      for (Index b = 0; b < n; b += block, ++k) {
        const Index m = std::min(block, n - b);
        const int slot = int(k & 1);
        if (k >= 2) SU_CHECK(cudaEventSynchronize(done[slot].get()));
        parallel_copy(pin[slot].get(), host_X + b * d, sizeof(T) * std::size_t(m * d));
        SU_CHECK(cudaMemcpyAsync(X.get() + b * d, pin[slot].get(), sizeof(T) * std::size_t(m * d),
                                 cudaMemcpyHostToDevice, copy.get()));
        SU_CHECK(cudaEventRecord(done[slot].get(), copy.get()));
      }
      copy.sync();
    }
  } else {
    for (int slot = 0; slot < 2; ++slot) {
      pinned[slot] = PinnedBuffer<T>(std::size_t(block * d));
      staged[slot].resize(std::size_t(block * d));
    }
  }
}

template <class T>
template <class F>
void DeviceData<T>::Impl::for_blocks(const View<T>& v, F&& f) {
  Index k = 0;
  for (Index b = 0; b < v.n; b += block, ++k) {
    const Index m = std::min(block, v.n - b);
    if (v.X) {
      f(v.X + b * v.ld, v.ld, b, m);
      continue;
    }
    const int slot = int(k & 1);
    if (pending[slot]) {
      SU_CHECK(cudaEventSynchronize(done[slot].get()));  // the kernels still reading this slot are done
      pending[slot] = false;
    }
    const std::size_t bytes = sizeof(T) * std::size_t(m * d);
    parallel_copy(pinned[slot].get(), host_X + b * d, bytes);
    SU_CHECK(cudaMemcpyAsync(staged[slot].get(), pinned[slot].get(), bytes, cudaMemcpyHostToDevice, copy.get()));
    SU_CHECK(cudaEventRecord(ready[slot].get(), copy.get()));
    SU_CHECK(cudaStreamWaitEvent(compute.get(), ready[slot].get(), 0));
    f(staged[slot].get(), d, b, m);
    SU_CHECK(cudaEventRecord(done[slot].get(), compute.get()));
    pending[slot] = true;
  }
}

template <class T> void DeviceData<T>::Impl::upload_theta(const T* theta, int column) {
  SU_CHECK(cudaMemcpyAsync(TD.get() + column * p, theta, sizeof(T) * p, cudaMemcpyHostToDevice, compute.get()));
}

template <class T> void DeviceData<T>::Impl::predict_columns(const View<T>& v, int ncols) {
  T* z = zz.get();
  for_blocks(v, [&](const T* Xb, Index ld, Index b, Index m) {
    if (ncols == 1)
      blas::gemv(cublas.get(), CUBLAS_OP_T, int(d), int(m), T(1), Xb, int(ld), TD.get(), T(0), z + b);
    else
      blas::gemm(cublas.get(), CUBLAS_OP_T, CUBLAS_OP_N, int(m), ncols, int(d), T(1), Xb, int(ld), TD.get(), int(p),
                 T(0), z + b, int(n));
  });
  if (intercept) add_to_columns(compute.get(), v.n, ncols, z, n, TD.get() + d, p);
}

template <class T>
PassState<T> DeviceData<T>::Impl::pass(const View<T>& v, const T* theta, T C, bool hessian, int slot) {
  const cudaStream_t st = compute.get();
  upload_theta(theta);
  SU_CHECK(cudaMemsetAsync(G.get(), 0, sizeof(T) * 2 * d, st));
  if (hessian) SU_CHECK(cudaMemsetAsync(H[slot].get(), 0, sizeof(T) * p * p, st));
  T* z = zz.get();
  T* loss = V.get();
  T* r = V.get() + n;
  T* h = V.get() + 2 * n;
  for_blocks(v, [&](const T* Xb, Index ld, Index b, Index m) {
    blas::gemv(cublas.get(), CUBLAS_OP_T, int(d), int(m), T(1), Xb, int(ld), TD.get(), T(0), z + b);
    logistic_terms(st, m, z + b, intercept ? TD.get() + d : nullptr, v.y + b, v.s ? v.s + b : nullptr, C, loss + b,
                   r + b, h + b);
    if (!hessian) {
      blas::gemv(cublas.get(), CUBLAS_OP_N, int(d), int(m), T(1), Xb, int(ld), r + b, T(1), G.get());
      return;
    }
    // [X̃ᵀr, X̃ᵀh] in one GEMM: r and h are n apart in V.
    blas::gemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_N, int(d), 2, int(m), T(1), Xb, int(ld), r + b, int(n), T(1),
               G.get(), int(d));
    scale_columns(st, d, m, Xb, ld, h + b, T(1), S.get());
    blas::syrk(cublas.get(), int(d), int(m), T(1), S.get(), int(d), T(1), H[slot].get(), int(p));
    if (any_negative_s) {  // h < 0 only for negative sample weights: subtract that part separately
      scale_columns(st, d, m, Xb, ld, h + b, T(-1), S.get());
      blas::syrk(cublas.get(), int(d), int(m), T(-1), S.get(), int(d), T(1), H[slot].get(), int(p));
    }
  });
  column_sums(st, v.n, 3, V.get(), n, partial.get(), sums.get());
  if (hessian) assemble_hessian(st, d, intercept, H[slot].get(), G.get() + d, sums.get() + 2, true);
  std::vector<T> xtr(static_cast<std::size_t>(d));
  double hs[3];
  SU_CHECK(cudaMemcpyAsync(xtr.data(), G.get(), sizeof(T) * d, cudaMemcpyDeviceToHost, st));
  SU_CHECK(cudaMemcpyAsync(hs, sums.get(), sizeof(hs), cudaMemcpyDeviceToHost, st));
  compute.sync();

  PassState<T> out;
  out.grad.resize(std::size_t(p));
  T wsq = 0;
  for (Index j = 0; j < d; ++j) {
    out.grad[j] = xtr[j] + theta[j];
    wsq += theta[j] * theta[j];
  }
  if (intercept) out.grad[d] = T(hs[1]);
  out.loss = hs[0];
  out.objective = double(T(0.5) * wsq + C * T(hs[0]));
  out.has_hessian = hessian;
  out.slot = slot;
  return out;
}

template <class T> std::vector<T> DeviceData<T>::Impl::download_hessian(int slot) {
  symmetrize_lower(compute.get(), p, H[slot].get());
  std::vector<T> out(static_cast<std::size_t>(p * p));
  SU_CHECK(cudaMemcpyAsync(out.data(), H[slot].get(), sizeof(T) * out.size(), cudaMemcpyDeviceToHost, compute.get()));
  compute.sync();
  return out;
}

// ---- public interface ------------------------------------------------------------------------------

template <class T>
DeviceData<T>::DeviceData(const T* X, Index n, Index d, const T* y, const T* s, bool intercept, Index max_device_bytes,
                          Index block_rows)
    : impl_(new Impl(X, n, d, y, s, intercept, max_device_bytes, block_rows)) {}

template <class T> DeviceData<T>::~DeviceData() = default;
template <class T> Index DeviceData<T>::rows() const { return impl_->n; }
template <class T> Index DeviceData<T>::features() const { return impl_->d; }
template <class T> Index DeviceData<T>::params() const { return impl_->p; }
template <class T> bool DeviceData<T>::resident() const { return impl_->resident; }
template <class T> Index DeviceData<T>::block_rows() const { return impl_->block; }

template <class T> PassOut<T> DeviceData<T>::loss_pass(const T* theta, T C, bool hessian, T* r_out, T* h_out) {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mutex);
  PassState<T> st = m.pass(m.full_view(), theta, C, hessian, 0);
  PassOut<T> out;
  out.loss = st.loss;
  out.objective = st.objective;
  out.grad = std::move(st.grad);
  if (hessian) out.H = m.download_hessian(0);
  if (r_out) SU_CHECK(cudaMemcpyAsync(r_out, m.V.get() + m.n, sizeof(T) * m.n, cudaMemcpyDeviceToHost, m.compute.get()));
  if (h_out)
    SU_CHECK(cudaMemcpyAsync(h_out, m.V.get() + 2 * m.n, sizeof(T) * m.n, cudaMemcpyDeviceToHost, m.compute.get()));
  m.compute.sync();
  return out;
}

template <class T> void DeviceData<T>::scores(const T* U, Index k, const T* r, T* out) {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mutex);
  if (k <= 0) return;
  const cudaStream_t st = m.compute.get();
  DeviceBuffer<T> Ud(std::size_t(m.p * k)), Z(std::size_t(m.n * k));
  SU_CHECK(cudaMemcpyAsync(Ud.get(), U, sizeof(T) * m.p * k, cudaMemcpyHostToDevice, st));
  T* rd = m.V.get() + m.n;
  SU_CHECK(cudaMemcpyAsync(rd, r, sizeof(T) * m.n, cudaMemcpyHostToDevice, st));
  // Z (k×n, column-major) = Uᵀ X̃ᵀ is the row-major n×k result the host expects.
  m.for_blocks(m.full_view(), [&](const T* Xb, Index ld, Index b, Index rows) {
    blas::gemm(m.cublas.get(), CUBLAS_OP_T, CUBLAS_OP_N, int(k), int(rows), int(m.d), T(1), Ud.get(), int(m.p), Xb,
               int(ld), T(0), Z.get() + b * k, int(k));
  });
  finish_scores(st, k, m.n, Z.get(), m.intercept ? Ud.get() + m.d : nullptr, m.p, rd);
  SU_CHECK(cudaMemcpyAsync(out, Z.get(), sizeof(T) * m.n * k, cudaMemcpyDeviceToHost, st));
  m.compute.sync();
}

template <class T> void DeviceData<T>::xtv(const T* v, T* out) {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mutex);
  const cudaStream_t st = m.compute.get();
  T* vd = m.V.get();
  SU_CHECK(cudaMemcpyAsync(vd, v, sizeof(T) * m.n, cudaMemcpyHostToDevice, st));
  SU_CHECK(cudaMemsetAsync(m.G.get(), 0, sizeof(T) * m.d, st));
  m.for_blocks(m.full_view(), [&](const T* Xb, Index ld, Index b, Index rows) {
    blas::gemv(m.cublas.get(), CUBLAS_OP_N, int(m.d), int(rows), T(1), Xb, int(ld), vd + b, T(1), m.G.get());
  });
  double total = 0;
  if (m.intercept) {
    column_sums(st, m.n, 1, vd, m.n, m.partial.get(), m.sums.get());
    SU_CHECK(cudaMemcpyAsync(&total, m.sums.get(), sizeof(double), cudaMemcpyDeviceToHost, st));
  }
  SU_CHECK(cudaMemcpyAsync(out, m.G.get(), sizeof(T) * m.d, cudaMemcpyDeviceToHost, st));
  m.compute.sync();
  if (m.intercept) out[m.d] = T(total);
}

template <class T> void DeviceData<T>::predict(const T* theta, T* z) {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mutex);
  m.upload_theta(theta);
  m.predict_columns(m.full_view(), 1);
  SU_CHECK(cudaMemcpyAsync(z, m.zz.get(), sizeof(T) * m.n, cudaMemcpyDeviceToHost, m.compute.get()));
  m.compute.sync();
}

template <class T> void DeviceData<T>::weighted_gram(const T* w, T* out) {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mutex);
  const cudaStream_t st = m.compute.get();
  bool any_negative = false;
  for (Index i = 0; i < m.n; ++i) any_negative |= w[i] < T(0);
  T* wd = m.V.get() + 2 * m.n;
  SU_CHECK(cudaMemcpyAsync(wd, w, sizeof(T) * m.n, cudaMemcpyHostToDevice, st));
  SU_CHECK(cudaMemsetAsync(m.G.get(), 0, sizeof(T) * 2 * m.d, st));
  SU_CHECK(cudaMemsetAsync(m.H[0].get(), 0, sizeof(T) * m.p * m.p, st));
  const int d = int(m.d), p = int(m.p);
  m.for_blocks(m.full_view(), [&](const T* Xb, Index ld, Index b, Index rows) {
    blas::gemv(m.cublas.get(), CUBLAS_OP_N, d, int(rows), T(1), Xb, int(ld), wd + b, T(1), m.G.get() + d);
    scale_columns(st, m.d, rows, Xb, ld, wd + b, T(1), m.S.get());
    blas::syrk(m.cublas.get(), d, int(rows), T(1), m.S.get(), d, T(1), m.H[0].get(), p);
    if (any_negative) {
      scale_columns(st, m.d, rows, Xb, ld, wd + b, T(-1), m.S.get());
      blas::syrk(m.cublas.get(), d, int(rows), T(-1), m.S.get(), d, T(1), m.H[0].get(), p);
    }
  });
  column_sums(st, m.n, 1, wd, m.n, m.partial.get(), m.sums.get() + 2);
  assemble_hessian(st, m.d, m.intercept, m.H[0].get(), m.G.get() + d, m.sums.get() + 2, false);
  const std::vector<T> H = m.download_hessian(0);
  std::copy(H.begin(), H.end(), out);
}

template struct DeviceData<float>::Impl;
template struct DeviceData<double>::Impl;
template class DeviceData<float>;
template class DeviceData<double>;

}  // namespace softunlearn::cuda

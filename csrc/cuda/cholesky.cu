#include <mutex>
#include <vector>

#include "cholesky.cuh"

namespace softunlearn::cuda {

template <class T> struct DeviceCholesky<T>::Impl {
  Index p;
  Stream stream;
  SolverHandle solver{stream.get()};
  DeviceBuffer<T> L, work, B;
  DeviceBuffer<int> info;
  std::mutex mutex;  // solves share the right-hand-side buffer
};

template <class T> DeviceCholesky<T>::DeviceCholesky(const T* H, Index p) : impl_(new Impl{p}) {
  Impl& m = *impl_;
  m.L.resize(std::size_t(p * p));
  SU_CHECK(cudaMemcpyAsync(m.L.get(), H, sizeof(T) * p * p, cudaMemcpyHostToDevice, m.stream.get()));
  factor_in_place(m.solver.get(), m.stream.get(), p, m.L.get(), m.work, m.info);
}

template <class T> DeviceCholesky<T>::~DeviceCholesky() = default;

template <class T> Index DeviceCholesky<T>::size() const { return impl_->p; }

template <class T> void DeviceCholesky<T>::solve(const T* B, Index k, T* X) const {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mutex);
  const std::size_t count = std::size_t(m.p * k);
  if (count == 0) return;
  if (m.B.size() < count) m.B.resize(count);
  SU_CHECK(cudaMemcpyAsync(m.B.get(), B, sizeof(T) * count, cudaMemcpyHostToDevice, m.stream.get()));
  solve_in_place(m.solver.get(), m.stream.get(), m.p, m.L.get(), k, m.B.get(), m.info);
  SU_CHECK(cudaMemcpyAsync(X, m.B.get(), sizeof(T) * count, cudaMemcpyDeviceToHost, m.stream.get()));
  m.stream.sync();
}

template <class T> std::vector<T> DeviceCholesky<T>::lower() const {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.mutex);
  std::vector<T> out(static_cast<std::size_t>(m.p * m.p));
  SU_CHECK(cudaMemcpyAsync(out.data(), m.L.get(), sizeof(T) * out.size(), cudaMemcpyDeviceToHost, m.stream.get()));
  m.stream.sync();
  // potrf leaves the strict upper triangle as it found it.
  for (Index j = 0; j < m.p; ++j)
    for (Index i = 0; i < j; ++i) out[std::size_t(i + j * m.p)] = T(0);
  return out;
}

template class DeviceCholesky<float>;
template class DeviceCholesky<double>;

}  // namespace softunlearn::cuda

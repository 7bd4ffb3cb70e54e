// Row-block scheduling shared by every kernel: the single-machine path is the same block kernels a
// distributed engine would map over partitions, with one static schedule.
#pragma once

#include <algorithm>
#include <vector>

#include "types.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace softunlearn {

inline int resolve_threads(int n_threads) {
#ifdef _OPENMP
  return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
  (void)n_threads;
  return 1;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Calls f(tid, begin, end) for contiguous row blocks of at most `block` rows, statically spread over
// `n_threads` threads. Uses at most ceil(n / block) threads so tiny inputs stay single-threaded.
template <class F>
void for_row_blocks(Index n, Index block, int n_threads, F&& f) {
  const Index n_blocks = (n + block - 1) / block;
  const int nt = static_cast<int>(std::max<Index>(1, std::min<Index>(n_threads, n_blocks)));
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
  for (Index k = 0; k < n_blocks; ++k) {
    const Index b = k * block;
    f(thread_id(), b, std::min(n, b + block));
  }
  (void)nt;
}

// Number of threads for_row_blocks will actually use (to size per-thread accumulators).
inline int used_threads(Index n, Index block, int n_threads) {
  const Index n_blocks = (n + block - 1) / block;
  return static_cast<int>(std::max<Index>(1, std::min<Index>(n_threads, n_blocks)));
}

// Σᵢ term(i) for i < n: each block summed in one vectorised loop, then the per-thread partial sums in thread
// order (a static schedule, so the result does not depend on timing).
template <class T, class Term>
T parallel_sum(Index n, Index block, int n_threads, Term&& term) {
  const int nt = used_threads(n, block, resolve_threads(n_threads));
  std::vector<T> acc(nt, T(0));
  for_row_blocks(n, block, nt, [&](int th, Index b, Index e) {
    T s = 0;
#ifdef _OPENMP
#pragma omp simd reduction(+ : s)
#endif
    for (Index i = b; i < e; ++i) s += term(i);
    acc[th] += s;
  });
  T s = 0;
  for (T a : acc) s += a;
  return s;
}

}  // namespace softunlearn

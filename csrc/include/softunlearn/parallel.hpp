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

}  // namespace softunlearn

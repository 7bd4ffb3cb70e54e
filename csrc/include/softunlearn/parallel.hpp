// Row-block scheduling shared by every kernel: the single-machine path is the same block kernels a
// distributed engine would map over partitions, with one static schedule.
#pragma once

#include <algorithm>
#include <atomic>
#include <vector>

#include "interrupt.hpp"
#include "types.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define SOFTUNLEARN_HAVE_PTHREAD_ATFORK 1
#endif

namespace softunlearn {

// libgomp's thread pool does not survive fork(): a child that enters a parallel region after its parent
// ran one waits forever for threads that no longer exist. A child forked after the pool started
// therefore runs every kernel on its own thread (it is usually one of several worker processes
// already), without entering a parallel region. pthread_atfork marks such children.
namespace detail {
inline std::atomic<bool>& pool_started() {
  static std::atomic<bool> v{false};
  return v;
}
inline std::atomic<bool>& forked_child() {
  static std::atomic<bool> v{false};
  return v;
}
}  // namespace detail

// Registers the fork handler (once per process; the binding calls it at import).
inline void install_fork_guard() {
#if defined(_OPENMP) && defined(SOFTUNLEARN_HAVE_PTHREAD_ATFORK)
  static const int once = pthread_atfork(nullptr, nullptr, [] {
    if (detail::pool_started().load()) detail::forked_child().store(true);
  });
  (void)once;
#endif
}

// True in a process forked after the thread pool started: kernels run single-threaded there.
inline bool single_threaded_after_fork() { return detail::forked_child().load(std::memory_order_relaxed); }

inline int resolve_threads(int n_threads) {
#ifdef _OPENMP
  if (single_threaded_after_fork()) return 1;
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
//
// `tid` is a slot in [0, threads) that owns a contiguous range of blocks, exactly OpenMP's static
// schedule (the first n_blocks mod threads slots get one block more), visited in order: per-slot
// accumulators see the same blocks in the same order whatever the timing, so sums are reproducible.
// When a host polls for interrupts (interrupt.hpp), slot 0 pauses the team at a block boundary once the
// poll interval has passed; the poll runs outside the parallel region and every slot then resumes where
// it stopped (or Interrupted propagates). A runtime that grants fewer threads than asked still covers
// every slot: each thread takes the slots t, t + team, t + 2·team, …
template <class F>
void for_row_blocks(Index n, Index block, int n_threads, F&& f) {
  const Index n_blocks = (n + block - 1) / block;
  int nt = static_cast<int>(std::max<Index>(1, std::min<Index>(n_threads, n_blocks)));
  if (single_threaded_after_fork()) nt = 1;
  const Index q = n_blocks / nt, extra = n_blocks % nt;
  std::vector<Index> next(nt), stop(nt);
  for (int t = 0; t < nt; ++t) {
    next[t] = t * q + std::min<Index>(t, extra);
    stop[t] = next[t] + q + (t < extra ? 1 : 0);
  }
  auto run_block = [&](int slot, Index k) { f(slot, k * block, std::min(n, (k + 1) * block)); };
  if (nt == 1) {
    for (Index k = 0; k < n_blocks; ++k) {
      run_block(0, k);
      maybe_check_interrupt();
    }
    return;
  }
#ifdef _OPENMP
  detail::pool_started().store(true, std::memory_order_relaxed);
  std::atomic<bool> pause{false};
  for (;;) {
    pause.store(false, std::memory_order_relaxed);
#pragma omp parallel num_threads(nt)
    {
      const int team = omp_get_num_threads(), me = omp_get_thread_num();
      for (int slot = me; slot < nt; slot += team) {
        while (next[slot] < stop[slot] && !pause.load(std::memory_order_relaxed)) {
          run_block(slot, next[slot]++);
          if (me == 0 && interrupt_poll_due()) pause.store(true, std::memory_order_relaxed);
        }
      }
    }
    bool done = true;
    for (int t = 0; t < nt; ++t) done &= next[t] == stop[t];
    if (done) break;
    check_interrupt();
  }
  maybe_check_interrupt();
#else
  for (int t = 0; t < nt; ++t)
    for (Index k = next[t]; k < stop[t]; ++k) run_block(t, k);
#endif
}

// Number of threads for_row_blocks will actually use (to size per-thread accumulators).
inline int used_threads(Index n, Index block, int n_threads) {
  if (single_threaded_after_fork()) return 1;
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

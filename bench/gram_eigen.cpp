// Weighted Gram X̃ᵀdiag(h)X̃ of a one-hot CSR matrix: softunlearn's per-row non-zero-pair kernel
// versus Eigen's sparse products. Synthetic data of Census-KDD's shape (299,285 × 411: 7 dense numeric
// columns + 31 one-hot blocks, 38 non-zeros per row). Build and run (Eigen from the cmeel-eigen wheel):
//   g++ -O3 -march=native -fopenmp -DEIGEN_DONT_PARALLELIZE -I csrc/include -I <cmeel.prefix>/include/eigen3 \
//       bench/gram_eigen.cpp -o gram_eigen && ./gram_eigen [rows] [threads]
// Prints one JSON object.
#include <Eigen/Sparse>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <softunlearn/kernels.hpp>

using namespace softunlearn;

template <class F> double best_of(int k, F&& f) {
  double best = 1e300;
  for (int r = 0; r < k; ++r) {
    auto t = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

int main(int argc, char** argv) {
  const Index n = argc > 1 ? std::atol(argv[1]) : 299285;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  const int n_num = 7, n_cat = 31, level = 13;  // 7 + 31·13 = 410 columns (+ intercept = 411 parameters)
  const Index d = n_num + Index(n_cat) * level;
  std::mt19937_64 rng(0);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> pick(0, level - 1);
  std::vector<std::int32_t> indptr{0}, indices;
  std::vector<double> data;
  for (Index i = 0; i < n; ++i) {
    for (int j = 0; j < n_num; ++j) indices.push_back(j), data.push_back(normal(rng));
    for (int c = 0; c < n_cat; ++c) indices.push_back(n_num + c * level + pick(rng)), data.push_back(1.0);
    indptr.push_back(std::int32_t(indices.size()));
  }
  Vec<double> h = Vec<double>::Random(n).cwiseAbs();
  const CsrDesign<double, std::int32_t> D{{n, d, indptr.data(), indices.data(), data.data()}, true};
  Mat<double> H_ours;
  const double t_ours = best_of(3, [&] { H_ours = weighted_gram(D, h, threads); });
  const double t_ours_1 = best_of(3, [&] { H_ours = weighted_gram(D, h, 1); });

  // Eigen: the same X̃ (intercept as a last column of ones) as a row-major sparse matrix.
  std::vector<Eigen::Triplet<double>> trip;
  for (Index i = 0; i < n; ++i) {
    for (Index k = indptr[i]; k < indptr[i + 1]; ++k) trip.emplace_back(i, indices[k], data[k]);
    trip.emplace_back(i, d, 1.0);
  }
  Eigen::SparseMatrix<double, Eigen::RowMajor> Xs(n, d + 1);
  Xs.setFromTriplets(trip.begin(), trip.end());
  Mat<double> H_sparse, H_dense_out;
  const double t_eigen_sparse = best_of(3, [&] {
    Eigen::SparseMatrix<double> Ht = Xs.transpose() * (h.asDiagonal() * Xs);
    H_sparse = Mat<double>(Ht);
  });
  const double t_eigen_dense_out = best_of(3, [&] {
    Eigen::SparseMatrix<double> hX = h.asDiagonal() * Xs;
    H_dense_out = Xs.transpose() * hX;  // sparse × sparse written into a dense matrix
  });
  const double diff1 = (H_sparse - H_ours).cwiseAbs().maxCoeff() / H_ours.cwiseAbs().maxCoeff();
  const double diff2 = (H_dense_out - H_ours).cwiseAbs().maxCoeff() / H_ours.cwiseAbs().maxCoeff();
  std::printf(
      "{\"n\": %ld, \"params\": %ld, \"nnz_per_row\": %d, \"threads\": %d, \"ours_s\": %.4f, \"ours_1thread_s\": %.4f, "
      "\"eigen_sparse_product_s\": %.4f, \"eigen_sparse_product_dense_result_s\": %.4f, \"rel_diff\": [%.2e, %.2e]}\n",
      long(n), long(d + 1), n_num + n_cat, resolve_threads(threads), t_ours, t_ours_1, t_eigen_sparse,
      t_eigen_dense_out, diff1, diff2);
}

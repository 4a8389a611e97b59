// AtomicHistogram: a Prometheus-style histogram (cumulative "le" buckets, count, sum)
// that records with two atomic additions and no lock. prometheus-cpp's Histogram takes
// a mutex on every Observe(), which put a lock on the per-call path of every plugin
// target (and serialized concurrent callers of one target on it).
//
// Thread-safety: observe() and collect() may run concurrently from any threads; a
// collect() racing observe()s sees each observation either fully or not at all in a
// bucket, and the sum may run one observation ahead or behind (as Prometheus allows).
#pragma once

#include <prometheus/client_metric.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace oaio::host {

class AtomicHistogram {
 public:
  // `bounds`: the bucket upper bounds, ascending; an +Inf bucket is implied.
  explicit AtomicHistogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

  void observe(double value) {
    const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    double sum = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
    }
  }

  // The histogram as prometheus-cpp's serializer takes it.
  prometheus::ClientMetric::Histogram collect() const {
    prometheus::ClientMetric::Histogram h;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      prometheus::ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
      h.bucket.push_back(b);
    }
    h.sample_count = cumulative;
    h.sample_sum = sum_.load(std::memory_order_relaxed);
    return h;
  }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // one per bound, then +Inf
  std::atomic<double> sum_{0};
};

}  // namespace oaio::host

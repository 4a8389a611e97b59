// Small measurement helpers for the benchmark drivers: latency samples with
// percentiles, rates, and a table printer that shows each figure next to its
// baseline as a ratio.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace oaio::bench {

using Clock = std::chrono::steady_clock;

struct Latencies {
  std::vector<double> us;  // one sample per operation, microseconds
  void add(Clock::duration d) { us.push_back(std::chrono::duration<double, std::micro>(d).count()); }
  // Leaves `us` in measuring order (median_round_difference_ns needs it).
  double percentile(double p) const {
    if (us.empty()) return 0;
    std::vector<double> sorted = us;
    std::sort(sorted.begin(), sorted.end());
    std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
    return sorted[i];
  }
};

// One row: a measured value, its baseline and which direction is better.
struct Row {
  std::string what;
  double value;
  double baseline;
  std::string unit;
  bool lower_is_better;
  std::string target;  // the goal, as text
};

inline void print_rows(const std::string& title, const std::vector<Row>& rows) {
  std::printf("\n== %s\n", title.c_str());
  std::printf("%-46s %14s %14s %9s  %s\n", "measure", "oaio", "baseline", "ratio", "target");
  for (const auto& r : rows) {
    double ratio = r.baseline > 0 ? r.value / r.baseline : 0;
    std::printf("%-46s %12.2f %s %12.2f %s %8.2fx  %s\n", r.what.c_str(), r.value, r.unit.c_str(), r.baseline,
                r.unit.c_str(), ratio, r.target.c_str());
  }
  std::fflush(stdout);
}

// Sequential latency on several paths, interleaved: each round makes kBlock calls on
// every path in turn, so load from other processes (which comes and goes within a run)
// hits every path alike. The first round warms up and is not counted.
struct LatencyPath {
  std::string name;
  std::function<void()> call;  // one operation; exits the process on failure
  Latencies lat;
};

constexpr int kInterleaveBlock = 50;

inline void measure_interleaved(std::vector<LatencyPath>& paths, int calls) {
  constexpr int kBlock = kInterleaveBlock;
  const int rounds = calls / kBlock + 1;
  for (int round = 0; round < rounds; ++round) {
    for (auto& p : paths) {
      for (int i = 0; i < kBlock; ++i) {
        auto t0 = Clock::now();
        p.call();
        if (round > 0) p.lat.add(Clock::now() - t0);
      }
    }
  }
}

// Mean of the samples in nanoseconds.
inline double mean_ns(const Latencies& l) {
  double sum = 0;
  for (double u : l.us) sum += u;
  return l.us.empty() ? 0 : sum * 1000 / static_cast<double>(l.us.size());
}

// The time path `a` adds per call over path `b`, both measured by measure_interleaved,
// in nanoseconds: the median over rounds of the difference between the two paths' mean
// latency in that round. A round's blocks run back to back, so load that comes and goes
// lands on both, and a round it hit unevenly is an outlier the median ignores; the
// difference of the overall means moves by tens of ns between runs on a shared VM.
inline double median_round_difference_ns(const Latencies& a, const Latencies& b) {
  const std::size_t rounds = std::min(a.us.size(), b.us.size()) / kInterleaveBlock;
  std::vector<double> diffs;
  for (std::size_t r = 0; r < rounds; ++r) {
    double sum = 0;
    for (std::size_t i = r * kInterleaveBlock; i < (r + 1) * kInterleaveBlock; ++i) sum += a.us[i] - b.us[i];
    diffs.push_back(sum * 1000 / kInterleaveBlock);
  }
  if (diffs.empty()) return 0;
  std::nth_element(diffs.begin(), diffs.begin() + static_cast<std::ptrdiff_t>(diffs.size() / 2), diffs.end());
  return diffs[diffs.size() / 2];
}

}  // namespace oaio::bench

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
  double percentile(double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(us.size() - 1));
    return us[i];
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

inline void measure_interleaved(std::vector<LatencyPath>& paths, int calls) {
  constexpr int kBlock = 50;
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

}  // namespace oaio::bench

// MetricsRegistry: the host's Prometheus metrics (prometheus-cpp core), rendered as the
// text exposition format by GET /metrics. The host records messages in/out, errors by
// code, latency histograms per target, bridge states and restarts; plugins define their
// own through the ABI (host_api.metric_define/record), labelled with their bridge.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace oaio::host {

class AtomicHistogram;

enum class MetricKind { kCounter = 0, kGauge = 1, kHistogram = 2 };

// One time series (a family and its label values), resolved once: recording through it
// is one atomic update, with no label map, lookup or lock. For hot paths (per-call
// metrics); MetricsRegistry::record() is the convenient form for the rest.
// A default-constructed series (or one whose family is not defined) records nothing.
// Thread-safety: record() is thread-safe; the series must not outlive its registry.
class MetricSeries {
 public:
  MetricSeries() = default;
  // Adds to a counter (negative values are ignored), sets a gauge, or observes a value.
  void record(double value) const;

 private:
  friend class MetricsRegistry;
  prometheus::Counter* counter_ = nullptr;
  prometheus::Gauge* gauge_ = nullptr;
  AtomicHistogram* histogram_ = nullptr;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();

  // Defines a family once (idempotent for the same name and kind). False when the name is
  // invalid or already defined with another kind.
  bool define(const std::string& name, MetricKind kind, const std::string& help);
  // Adds to a counter, sets a gauge, or observes a histogram value (seconds).
  void record(const std::string& name, double value, const std::map<std::string, std::string>& labels);
  // The series of family `name` with these labels, for recording many times.
  MetricSeries series(const std::string& name, const std::map<std::string, std::string>& labels);
  // The Prometheus text exposition of everything.
  std::string render() const;

 private:
  struct Family;
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Family>> families_;  // guarded by mu_
};

// True for names matching [a-zA-Z_:][a-zA-Z0-9_:]*.
bool is_valid_metric_name(const std::string& name);

}  // namespace oaio::host

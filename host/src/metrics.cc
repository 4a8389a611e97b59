#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <variant>

#include "atomic_histogram.h"

namespace oaio::host {

struct MetricsRegistry::Family {
  MetricKind kind;
  prometheus::Family<prometheus::Counter>* counter = nullptr;
  prometheus::Family<prometheus::Gauge>* gauge = nullptr;
  // Histograms are ours (lock-free recording); rendered next to the registry's.
  std::string help;
  std::map<std::map<std::string, std::string>, std::unique_ptr<AtomicHistogram>> histograms;
};

namespace {

// Latency buckets in seconds: 50 us .. 30 s.
const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                         0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                                         0.5,     1,      2.5,     5,      10,    30};
  return b;
}

bool valid_label_name(const std::string& n) {
  if (n.empty() || n.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool is_valid_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

MetricsRegistry::MetricsRegistry() : registry_(std::make_shared<prometheus::Registry>()) {}
MetricsRegistry::~MetricsRegistry() = default;

bool MetricsRegistry::define(const std::string& name, MetricKind kind, const std::string& help) {
  if (!is_valid_metric_name(name)) return false;
  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) return it->second->kind == kind;
  auto f = std::make_shared<Family>();
  f->kind = kind;
  switch (kind) {
    case MetricKind::kCounter:
      f->counter = &prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
      break;
    case MetricKind::kGauge:
      f->gauge = &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
      break;
    case MetricKind::kHistogram:
      f->help = help;
      break;
  }
  families_.emplace(name, std::move(f));
  return true;
}

void MetricSeries::record(double value) const {
  if (counter_ && value >= 0) counter_->Increment(value);
  if (gauge_) gauge_->Set(value);
  if (histogram_) histogram_->observe(value);
}

MetricSeries MetricsRegistry::series(const std::string& name, const std::map<std::string, std::string>& labels) {
  std::map<std::string, std::string> clean;
  for (const auto& [k, v] : labels)
    if (valid_label_name(k)) clean.emplace(k, v);
  MetricSeries out;
  std::lock_guard lock(mu_);  // prometheus-cpp's Add() is thread-safe; the lock guards families_
  auto it = families_.find(name);
  if (it == families_.end()) return out;
  Family& f = *it->second;
  switch (f.kind) {
    case MetricKind::kCounter:
      out.counter_ = &f.counter->Add(clean);
      break;
    case MetricKind::kGauge:
      out.gauge_ = &f.gauge->Add(clean);
      break;
    case MetricKind::kHistogram: {
      auto& h = f.histograms[clean];
      if (!h) h = std::make_unique<AtomicHistogram>(latency_buckets());
      out.histogram_ = h.get();
      break;
    }
  }
  return out;
}

void MetricsRegistry::record(const std::string& name, double value, const std::map<std::string, std::string>& labels) {
  series(name, labels).record(value);
}

std::string MetricsRegistry::render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) {
      if (f->kind != MetricKind::kHistogram) continue;
      prometheus::MetricFamily family;
      family.name = name;
      family.help = f->help;
      family.type = prometheus::MetricType::Histogram;
      for (const auto& [labels, histogram] : f->histograms) {
        prometheus::ClientMetric metric;
        for (const auto& [k, v] : labels) metric.label.push_back({k, v});
        metric.histogram = histogram->collect();
        family.metric.push_back(std::move(metric));
      }
      families.push_back(std::move(family));
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer serializer;
  serializer.Serialize(out, families);
  return out.str();
}

}  // namespace oaio::host

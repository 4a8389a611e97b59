#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <variant>

namespace oaio::host {

struct MetricsRegistry::Family {
  MetricKind kind;
  prometheus::Family<prometheus::Counter>* counter = nullptr;
  prometheus::Family<prometheus::Gauge>* gauge = nullptr;
  prometheus::Family<prometheus::Histogram>* histogram = nullptr;
};

namespace {

// Latency buckets in seconds: 50 us .. 30 s.
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
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
      f->histogram = &prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
      break;
  }
  families_.emplace(name, std::move(f));
  return true;
}

void MetricSeries::record(double value) const {
  if (counter_ && value >= 0) counter_->Increment(value);
  if (gauge_) gauge_->Set(value);
  if (histogram_) histogram_->Observe(value);
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
    case MetricKind::kHistogram:
      out.histogram_ = &f.histogram->Add(clean, latency_buckets());
      break;
  }
  return out;
}

void MetricsRegistry::record(const std::string& name, double value, const std::map<std::string, std::string>& labels) {
  series(name, labels).record(value);
}

std::string MetricsRegistry::render() const {
  std::ostringstream out;
  prometheus::TextSerializer serializer;
  serializer.Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace oaio::host

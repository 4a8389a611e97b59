// The default logger: level-filtered lines on stderr.
#include "oaio/log.h"

#include <cstdio>
#include <mutex>

namespace oaio {
namespace {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min) : min_(min) {}
  bool enabled(LogLevel level) const override { return level >= min_; }
  void log(LogLevel level, std::string_view message) override {
    if (!enabled(level)) return;
    std::lock_guard lock(mu_);  // keeps lines whole when threads log at once
    std::fprintf(stderr, "%.*s %.*s\n", static_cast<int>(level_name(level).size()), level_name(level).data(),
                 static_cast<int>(message.size()), message.data());
  }

 private:
  LogLevel min_;
  std::mutex mu_;
};

}  // namespace

std::shared_ptr<Logger> make_stderr_logger(LogLevel min_level) { return std::make_shared<StderrLogger>(min_level); }

}  // namespace oaio

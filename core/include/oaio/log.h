// Logger: where the core writes its diagnostics. The host installs one that writes
// text or JSON lines; the default writes warnings and errors to stderr.
//
// Thread-safety: implementations must accept calls from any thread.
#pragma once

#include <memory>
#include <string_view>

namespace oaio {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

class Logger {
 public:
  virtual ~Logger() = default;
  // Cheap check so callers skip formatting messages nobody reads.
  virtual bool enabled(LogLevel level) const = 0;
  virtual void log(LogLevel level, std::string_view message) = 0;
};

// Writes "LEVEL message" lines to stderr for levels >= min_level.
std::shared_ptr<Logger> make_stderr_logger(LogLevel min_level = LogLevel::kWarn);

}  // namespace oaio

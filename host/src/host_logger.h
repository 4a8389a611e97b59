// HostLogger: the host's log sink, as text ("2026-11-21T10:00:00.123Z INFO [bridge] msg")
// or JSON lines ({"ts":...,"level":"info","bridge":...,"msg":...}), chosen by
// --log-format. Implements oaio::Logger so the bus logs through it too.
//
// Thread-safety: thread-safe; lines are written whole.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "oaio/log.h"

namespace oaio::host {

enum class LogFormat { kText, kJson };

class HostLogger final : public Logger {
 public:
  HostLogger(LogFormat format, LogLevel min_level, std::FILE* out = stderr)
      : format_(format), min_(min_level), out_(out) {}

  bool enabled(LogLevel level) const override { return level >= min_; }
  void log(LogLevel level, std::string_view message) override { write(level, {}, message); }
  // A line attributed to one bridge.
  void write(LogLevel level, std::string_view bridge, std::string_view message);

 private:
  const LogFormat format_;
  const LogLevel min_;
  std::FILE* out_;
  std::mutex mu_;
};

// Parses "debug|info|warn|error"; nullopt-like false on anything else.
bool parse_log_level(std::string_view text, LogLevel* out);

}  // namespace oaio::host

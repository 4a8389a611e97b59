#include "host_logger.h"

#include <nlohmann/json.hpp>

#include "oaio/envelope.h"

namespace oaio::host {
namespace {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void HostLogger::write(LogLevel level, std::string_view bridge, std::string_view message) {
  if (!enabled(level)) return;
  std::string line;
  std::string ts = now_timestamp();
  if (format_ == LogFormat::kJson) {
    nlohmann::json j{{"ts", ts}, {"level", level_name(level)}, {"msg", std::string(message)}};
    if (!bridge.empty()) j["bridge"] = std::string(bridge);
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = ts + " " + std::string(level_name(level)) + " ";
    if (!bridge.empty()) line += "[" + std::string(bridge) + "] ";
    line += message;
  }
  line += '\n';
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

bool parse_log_level(std::string_view text, LogLevel* out) {
  if (text == "debug") *out = LogLevel::kDebug;
  else if (text == "info") *out = LogLevel::kInfo;
  else if (text == "warn" || text == "warning") *out = LogLevel::kWarn;
  else if (text == "error") *out = LogLevel::kError;
  else return false;
  return true;
}

}  // namespace oaio::host

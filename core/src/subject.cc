// Subject construction and the [IMP] subject-token safety check (WIRE.md §3).
#include "oaio/subject.h"

#include <array>
#include <cstdint>
#include <string>

namespace oaio {

Status check_subject_name(std::string_view what, std::string_view name) {
  auto refuse = [&](std::string_view why) {
    std::string msg(what);
    msg += " \"";
    // Show control characters escaped so the log line stays one line.
    for (unsigned char c : name) {
      if (c < 0x20 || c == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        msg += "\\x";
        msg += kHex[c >> 4];
        msg += kHex[c & 15];
      } else {
        msg += static_cast<char>(c);
      }
    }
    msg += "\" is not a valid subject name: ";
    msg += why;
    return Status::invalid(std::move(msg));
  };
  if (name.empty()) return refuse("it is empty");
  // Every call checks its target: one table lookup per byte.
  enum : std::uint8_t { kOk = 0, kDot, kSpace, kWildcard };
  static constexpr auto kClass = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[c] = kSpace;  // control characters, \t \n \v \f \r among them
    t[' '] = t[0x7f] = kSpace;
    t['*'] = t['>'] = kWildcard;
    t['.'] = kDot;
    return t;
  }();
  bool token_empty = true;
  for (unsigned char c : name) {
    switch (kClass[c]) {
      case kOk: token_empty = false; break;
      case kDot:
        if (token_empty) return refuse("it has an empty token (leading dot or '..')");
        token_empty = true;
        break;
      case kSpace: return refuse("it contains whitespace or a control character");
      default: return refuse("it contains a wildcard ('*' or '>')");
    }
  }
  if (token_empty) return refuse("it has an empty token (trailing dot)");
  return Status();
}

namespace {
std::string join(std::string_view prefix, std::string_view tenant, std::string_view kind, std::string_view name) {
  std::string s;
  s.reserve(prefix.size() + tenant.size() + kind.size() + name.size() + 3);
  s.append(prefix);
  s.push_back('.');
  if (!tenant.empty()) {
    s.append(tenant);
    s.push_back('.');
  }
  s.append(kind);
  s.push_back('.');
  s.append(name);
  return s;
}
}  // namespace

std::string invoke_subject(std::string_view prefix, std::string_view tenant, std::string_view target) {
  return join(prefix, tenant, "invoke", target);
}
std::string event_subject(std::string_view prefix, std::string_view tenant, std::string_view event_type) {
  return join(prefix, tenant, "events", event_type);
}
std::string dlq_subject(std::string_view prefix, std::string_view event_type) {
  return join(prefix, {}, "dlq", event_type);
}
std::string cancel_subject(std::string_view reply_to) { return std::string(reply_to) + ".cancel"; }

}  // namespace oaio

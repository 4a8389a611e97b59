#include "subject_match.h"

namespace oaio::detail {
namespace {

// Splits off the next token; returns false when `s` is exhausted.
bool next_token(std::string_view& s, std::string_view& token) {
  if (s.data() == nullptr) return false;
  auto dot = s.find('.');
  if (dot == std::string_view::npos) {
    token = s;
    s = std::string_view();
  } else {
    token = s.substr(0, dot);
    s = s.substr(dot + 1);
  }
  return true;
}

}  // namespace

bool subject_has_wildcard(std::string_view pattern) noexcept {
  std::string_view rest = pattern, token;
  while (next_token(rest, token)) {
    if (token == "*" || token == ">") return true;
  }
  return false;
}

bool subject_matches(std::string_view pattern, std::string_view subject) noexcept {
  std::string_view p = pattern, s = subject, pt, st;
  while (true) {
    bool has_p = next_token(p, pt);
    bool has_s = next_token(s, st);
    if (!has_p) return !has_s;
    if (pt == ">") return has_s;  // one or more remaining tokens
    if (!has_s) return false;
    if (pt != "*" && pt != st) return false;
  }
}

}  // namespace oaio::detail

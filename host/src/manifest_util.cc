#include "manifest_util.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace oaio::host::manifest_detail {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxShownChars = 60;

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string json_literal(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    }
  }
  return out;
}

std::string show_pointer(const std::string& p) { return p.empty() ? "/" : printable(p); }
std::string show_pointer(const json::json_pointer& p) { return show_pointer(p.to_string()); }

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string Diag::line(const json::json_pointer& at, const std::string& what) const {
  return file_ + ": " + show_pointer(at) + ": " + what;
}

void Diag::error_at(const std::string& pointer, const std::string& what) {
  errors_.push_back(file_ + ": " + show_pointer(pointer) + ": " + what);
}

std::string Diag::ignored_key(const json::json_pointer& at, const std::string& key) const {
  return line(at, "unknown key " + json_literal(key) + " ignored (as the seed does)");
}

void Diag::unknown_key(const json::json_pointer& at, const std::string& key, const std::vector<std::string>& allowed,
                       std::string_view note) {
  std::string what = "unknown key " + json_literal(key) + "; allowed: " + join(allowed, ", ");
  if (!note.empty()) what += " (" + std::string(note) + ")";
  std::string best;
  std::size_t best_distance = 3;  // suggest only close matches
  if (key.size() <= 64) {
    for (const auto& a : allowed) {
      const std::size_t d = edit_distance(key, a);
      if (d < best_distance && d < key.size()) best = a, best_distance = d;
    }
  }
  if (!best.empty()) what += "; did you mean " + json_literal(best) + "?";
  error(at, what);
}

std::string Diag::got(const json& v, const json::json_pointer& at) const {
  if (substituted_.count(at.to_string()) != 0) return "a value from the environment";
  switch (v.type()) {
    case json::value_t::object: return "a mapping";
    case json::value_t::array: return "a list";
    case json::value_t::null: return "null";
    default: break;
  }
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kMaxShownChars) s = s.substr(0, kMaxShownChars) + "...";
  return s;
}

std::string Diag::shown(const std::string& v, const json::json_pointer& at) const {
  if (substituted_.count(at.to_string()) != 0) return "(a value from the environment)";
  return json_literal(v);
}

}  // namespace oaio::host::manifest_detail

// Internal helpers shared by manifest.cc and manifest_dir.cc: message formatting and
// the per-file collector of error lines. Not part of the host's interface.
//
// Thread-safety: a Diag is used by one thread at a time.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace oaio::host::manifest_detail {

// `s` as a JSON string literal (invalid UTF-8 replaced).
std::string json_literal(std::string_view s);
// `s` with control characters escaped (\n, \u0001, ...), so that one message stays
// one line whatever the keys in a file look like.
std::string printable(std::string_view s);
// The pointer's text, printable, "/" for the document root.
std::string show_pointer(const nlohmann::json::json_pointer& p);
std::string show_pointer(const std::string& p);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// ASCII lowercase.
std::string lowercase(std::string s);

// Collects the error lines of one file, "<file>: <pointer>: <what>", and knows which
// values came from the environment so that they are never quoted.
class Diag {
 public:
  explicit Diag(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  std::string line(const nlohmann::json::json_pointer& at, const std::string& what) const;
  void error(const nlohmann::json::json_pointer& at, const std::string& what) { errors_.push_back(line(at, what)); }
  void error_at(const std::string& pointer, const std::string& what);
  // The warning line for a key a seed file may carry and the seed ignores.
  std::string ignored_key(const nlohmann::json::json_pointer& at, const std::string& key) const;
  // "unknown key "x"; allowed: a, b (did you mean "y"?)".
  void unknown_key(const nlohmann::json::json_pointer& at, const std::string& key,
                   const std::vector<std::string>& allowed, std::string_view note = {});

  void add_substituted(const std::vector<std::string>& pointers) {
    substituted_.insert(pointers.begin(), pointers.end());
  }
  // "\"threads\"", "5", "a list", ...; "a value from the environment" for substituted values.
  std::string got(const nlohmann::json& v, const nlohmann::json::json_pointer& at) const;
  // A string value quoted, unless it was substituted.
  std::string shown(const std::string& v, const nlohmann::json::json_pointer& at) const;

  std::size_t error_count() const { return errors_.size(); }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
  std::set<std::string> substituted_;
};

}  // namespace oaio::host::manifest_detail

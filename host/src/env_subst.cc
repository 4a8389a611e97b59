#include "env_subst.h"

#include <cstdlib>

namespace oaio::host {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::string> substitute_env(std::string_view text, const EnvLookup& env, bool* substituted) {
  std::string out;
  out.reserve(text.size());
  bool any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      continue;
    }
    if (text[i + 1] == '$') {  // "$$" -> "$"
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {  // a lone '$' is literal
      out += c;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) return Status::invalid("unterminated ${ (expected ${VAR} or ${VAR:-default})");
    const std::string_view body = text.substr(i + 2, close - i - 2);
    const std::size_t sep = body.find(":-");
    const std::string_view name = body.substr(0, sep);
    bool valid = !name.empty() && is_name_start(name[0]);
    for (char n : name) valid = valid && is_name_char(n);
    if (!valid) return Status::invalid("invalid variable name in ${...} (expected ${VAR} or ${VAR:-default})");
    std::optional<std::string> value = env ? env(std::string(name)) : std::nullopt;
    if (sep != std::string_view::npos && (!value || value->empty())) value = std::string(body.substr(sep + 2));
    if (!value) return Status::invalid("environment variable " + std::string(name) + " is not set and has no default");
    out += *value;
    any = true;
    i = close;
  }
  if (substituted != nullptr) *substituted = any;
  return out;
}

void substitute_env_tree(nlohmann::json& value, const nlohmann::json::json_pointer& at, const EnvLookup& env,
                         std::vector<std::string>* substituted,
                         const std::function<void(const std::string& pointer, const std::string& what)>& on_error) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      substitute_env_tree(it.value(), at / it.key(), env, substituted, on_error);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) substitute_env_tree(value[i], at / i, env, substituted, on_error);
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.find('$') == std::string::npos) return;
    bool any = false;
    Result<std::string> r = substitute_env(text, env, &any);
    if (!r.ok()) {
      on_error(at.to_string(), r.status().message());
      return;
    }
    value = std::move(r).value();
    if (any && substituted != nullptr) substituted->push_back(at.to_string());
  }
}

}  // namespace oaio::host

// Environment substitution for manifest values: `${VAR}`, `${VAR:-default}` (the default
// is used when VAR is unset or empty) and `$$` (a literal '$'). A '$' followed by
// anything else is kept as is. VAR is [A-Za-z_][A-Za-z0-9_]*; a default is literal text
// up to the first '}'. A substituted value is always a string.
//
// Substituted values may be secrets: error messages name the variable and the
// location, never the value or the surrounding text.
//
// Thread-safety: pure functions; `env` must be safe to call from the calling thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oaio/result.h"

namespace oaio::host {

// Looks up environment variables; tests pass their own map.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// Reads the process environment (getenv).
EnvLookup process_env();

// Substitutes every reference in `text`. `*substituted` (if not null) is set to true
// when at least one ${...} was replaced. Errors (INVALID_REQUEST): "environment
// variable X is not set and has no default", "unterminated ${", "invalid variable
// name in ${...}".
Result<std::string> substitute_env(std::string_view text, const EnvLookup& env, bool* substituted = nullptr);

// Substitutes in every string value (not in object keys) under `value`, in place.
// `at` is the JSON Pointer of `value`; the pointers of values that had a ${...}
// replaced are appended to `substituted`, and each failure is reported to `on_error`
// with the pointer of the value, so the caller can collect all of them.
void substitute_env_tree(nlohmann::json& value, const nlohmann::json::json_pointer& at, const EnvLookup& env,
                         std::vector<std::string>* substituted,
                         const std::function<void(const std::string& pointer, const std::string& what)>& on_error);

}  // namespace oaio::host

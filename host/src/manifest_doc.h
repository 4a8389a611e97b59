// Manifest documents: YAML or JSON text -> one nlohmann::json value, with syntax errors
// located as "<file>:<line>:<column>: ..." (1-based). The only user of yaml-cpp.
//
// YAML follows the YAML 1.2 core schema: plain scalars become null (null, Null, NULL,
// ~, empty), booleans (true/True/TRUE, false/...), integers (decimal, 0x hex, 0o
// octal) and floats (1.5, 1e3, .inf, .nan); anything quoted, block scalars (| >) and
// !!str stay strings. Unlike PyYAML (YAML 1.1, used by the Python SDK) yes/no/on/off
// stay strings and 0755 is decimal. Merge keys (`<<: *anchor`) are expanded.
// Duplicate keys are errors in both formats (a typo must not silently win), as are
// non-UTF-8 text, more than one YAML document, custom tags, non-scalar keys, and
// documents nested deeper than 128 or larger than 100,000 values (alias bombs).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "oaio/result.h"

namespace oaio::host {

// Parses one YAML document. An empty document (or only comments) is JSON null.
// Errors (INVALID_REQUEST) start with "<file_label>:<line>:<col>: yaml ..." when the
// position is known, else "<file_label>: <pointer>: ...".
Result<nlohmann::json> parse_yaml_document(std::string_view text, const std::string& file_label);

// Parses one JSON text. Errors start with "<file_label>:<line>:<col>: json syntax error".
Result<nlohmann::json> parse_json_document(std::string_view text, const std::string& file_label);

// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace oaio::host

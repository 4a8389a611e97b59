// JSON Schema validation of a JSON value with valijson (draft 7 parser; draft 4 and 6
// schemas mostly work too). The only user of valijson.
//
// valijson reports the failing location as a list like {"<root>", "[servers]", "[0]"}
// and English descriptions; here they become JSON Pointers ("/servers/0") and short
// "expected ..., got ..." messages. Summary errors that only repeat a more specific one
// ("Failed to validate against schema associated with property name 'x'") are dropped;
// every other error is reported, not just the first.
//
// Thread-safety: pure function.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oaio/result.h"

namespace oaio::host {

struct SchemaViolation {
  std::string pointer;  // JSON Pointer inside the instance; "" is the instance itself
  std::string message;  // e.g. "expected integer, got string"
};

// Validates `instance` against the schema text. Returns the violations (empty when
// valid), or INVALID_REQUEST when the schema itself is broken (not JSON, not an
// object or boolean, or refused by valijson), with the reason. Values at the pointers in `hidden`
// (and inside them) are never quoted in messages: only their type is named.
Result<std::vector<SchemaViolation>> validate_json_schema(const std::string& schema_json,
                                                          const nlohmann::json& instance,
                                                          const std::set<std::string>& hidden = {});

}  // namespace oaio::host

// Test helper: validates JSON text against tests/golden/envelope.schema.json with
// valijson (draft 7 parser; the schema is draft 2020-12).
//
// Why this works without rewriting the schema: valijson 1.0 implements the
// keywords the schema uses (type, required, pattern, minimum, minLength, enum,
// const, allOf, anyOf, if/then). "$defs" is not a keyword it knows, but it does not
// have to: "$ref": "#/$defs/ErrorPayload" is resolved as a plain JSON Pointer into the
// root document, and unknown keywords are ignored. "$id" is ignored too (valijson reads
// draft-4 "id"), so no remote fetch is ever attempted. "format": "date-time" is
// checked by valijson as well, on top of the schema's own pattern.
// golden_test.cc proves the parse is genuine: payloads that break the $defs'd
// ErrorPayload, or the if/then rules, must fail.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "support/test_util.h"

namespace oaio::test {

class EnvelopeSchema {
 public:
  EnvelopeSchema() {
    schema_doc_ = nlohmann::json::parse(read_file(test_data_path("golden/envelope.schema.json")));
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(schema_doc_);
    parser.populateSchema(adapter, schema_);
  }

  // "" if `json_text` is valid against the schema, otherwise the errors, one a line.
  std::string errors(const std::string& json_text) const {
    nlohmann::json doc = nlohmann::json::parse(json_text);
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    if (validator.validate(schema_, adapter, &results)) return "";
    std::string out = "invalid:";
    valijson::ValidationResults::Error err;
    while (results.popError(err)) {
      out += "\n  ";
      for (const auto& part : err.context) out += part;
      out += ": " + err.description;
    }
    return out;
  }

 private:
  nlohmann::json schema_doc_;
  valijson::Schema schema_;
};

}  // namespace oaio::test

// valijson reports a schema it cannot parse by throwing (VALIJSON_USE_EXCEPTIONS=1,
// set for this file only in CMakeLists.txt); without it, it would abort the process.
#include "arg_validator.h"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace oaio::mcp {

struct ArgValidator::Compiled {
  valijson::Schema schema;
};

namespace {

// "<root>", "[a]", "[0]" -> "a[0]"
std::string field_path(const std::vector<std::string>& context) {
  std::string out;
  for (const std::string& c : context) {
    if (c == "<root>" || c.size() < 2 || c.front() != '[' || c.back() != ']') continue;
    std::string inner = c.substr(1, c.size() - 2);
    bool index = !inner.empty() && inner.find_first_not_of("0123456789") == std::string::npos;
    if (index) {
      out += "[" + inner + "]";
    } else {
      if (!out.empty()) out.push_back('.');
      out += inner;
    }
  }
  return out;
}

}  // namespace

ArgValidator::ArgValidator(const Json& schema) {
  if (!schema.is_object()) return;  // no schema: anything goes
  // Tools declare schemas for 2020-12 or draft 7; valijson knows draft 7 rules, which
  // cover what tool schemas use. Drop "$schema" so it does not refuse the dialect.
  Json copy = schema;
  copy.erase("$schema");
  try {
    auto c = std::make_unique<Compiled>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(copy);
    parser.populateSchema(adapter, c->schema);
    compiled_ = std::move(c);
  } catch (const std::exception& e) {
    compile_error_ = e.what();
  }
}

ArgValidator::~ArgValidator() = default;

std::optional<std::string> ArgValidator::validate(const Json& args) const {
  if (!compiled_) return std::nullopt;
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(args);
  try {
    if (validator.validate(compiled_->schema, target, &results)) return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("arguments could not be validated: ") + e.what();
  }
  // valijson reports the outermost failure first ("... any of the properties"); the
  // deepest one names the field best.
  valijson::ValidationResults::Error best;
  bool have = false;
  for (auto it = results.begin(); it != results.end(); ++it) {
    if (!have || it->context.size() > best.context.size()) {
      best = *it;
      have = true;
    }
  }
  if (!have) return std::string("arguments do not match the tool's input schema");
  std::string path = field_path(best.context);
  if (path.empty()) return "arguments: " + best.description;
  return "argument '" + path + "': " + best.description;
}

}  // namespace oaio::mcp

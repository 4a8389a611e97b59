// valijson reports a broken schema through throwRuntimeError(); without exceptions it
// prints and abort()s, which a plugin's bad schema must never do to the host.
#if defined(VALIJSON_USE_EXCEPTIONS) && !VALIJSON_USE_EXCEPTIONS
#error "schema_validate.cc needs valijson's exceptions"
#endif
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif

#include "schema_validate.h"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <regex>
#include <string_view>

namespace oaio::host {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;

constexpr std::size_t kMaxShownChars = 60;

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "value";
  }
}

std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Is `p` one of `hidden`, or inside one of them?
bool is_hidden(const std::string& p, const std::set<std::string>& hidden) {
  for (const std::string& h : hidden) {
    if (p == h || (starts_with(p, h) && p.size() > h.size() && p[h.size()] == '/')) return true;
  }
  return false;
}

// "got 5", "got \"threads\"", "got object"; only the type for hidden values.
std::string got(const json* v, const std::string& p, const std::set<std::string>& hidden) {
  if (v == nullptr) return "got nothing";
  if (is_hidden(p, hidden) || v->is_object() || v->is_array()) return "got " + type_name(*v);
  std::string s = dump(*v);
  if (s.size() > kMaxShownChars) s = s.substr(0, kMaxShownChars) + "...";
  return "got " + s;
}

// The instance value at `tokens`, or nullptr. Also tells, per step, whether the step
// went into an array (valijson writes array indexes and property names alike).
struct Located {
  Pointer pointer;
  const json* value = nullptr;
  std::vector<bool> into_array;
  std::vector<std::string> tokens;
  std::vector<std::size_t> indexes;  // for steps into arrays
};

Located locate(const json& instance, const std::vector<std::string>& context) {
  Located out;
  const json* cur = &instance;
  for (std::size_t i = 1; i < context.size(); ++i) {  // context[0] is "<root>"
    std::string tok = context[i];
    if (tok.size() >= 2 && tok.front() == '[' && tok.back() == ']') tok = tok.substr(1, tok.size() - 2);
    const bool array = cur != nullptr && cur->is_array();
    out.into_array.push_back(array);
    out.tokens.push_back(tok);
    std::size_t idx = 0;
    bool numeric = !tok.empty() && tok.size() < 19;
    for (char c : tok) numeric = numeric && c >= '0' && c <= '9';
    if (numeric) idx = std::stoull(tok);
    out.indexes.push_back(idx);
    if (array) {
      out.pointer /= idx;
      cur = numeric && idx < cur->size() ? &(*cur)[idx] : nullptr;
    } else {
      out.pointer /= tok;
      cur = cur != nullptr && cur->is_object() && cur->contains(tok) ? &(*cur)[tok] : nullptr;
    }
  }
  out.value = cur;
  return out;
}

// Follows a local "$ref" ("#/definitions/x"); other refs are left alone.
const json* deref(const json& root, const json* s) {
  for (int hops = 0; s != nullptr && s->is_object() && hops < 16; ++hops) {
    auto ref = s->find("$ref");
    if (ref == s->end() || !ref->is_string()) break;
    const std::string& r = ref->get_ref<const std::string&>();
    if (r.empty() || r[0] != '#') return nullptr;
    try {
      s = &root.at(Pointer(r.substr(1)));
    } catch (const std::exception&) {
      return nullptr;
    }
  }
  return s;
}

// The subschema that applies at `loc`, for the common shapes (properties,
// additionalProperties, items); nullptr when it cannot be told simply.
const json* subschema_at(const json& root, const Located& loc, std::size_t steps) {
  const json* s = deref(root, &root);
  for (std::size_t i = 0; i < steps && s != nullptr; ++i) {
    if (!s->is_object()) return nullptr;
    const std::string& tok = loc.tokens[i];
    if (loc.into_array[i]) {
      auto items = s->find("items");
      if (items == s->end()) return nullptr;
      if (items->is_object()) s = &*items;
      else if (items->is_array()) {
        const std::size_t idx = loc.indexes[i];
        s = idx < items->size() ? &(*items)[idx] : nullptr;
      } else {
        return nullptr;
      }
    } else {
      auto props = s->find("properties");
      auto extra = s->find("additionalProperties");
      if (props != s->end() && props->is_object() && props->contains(tok)) s = &(*props)[tok];
      else if (extra != s->end() && extra->is_object()) s = &*extra;
      else return nullptr;
    }
    s = deref(root, s);
  }
  return s;
}

std::string join_dumped(const json& arr, std::string_view sep) {
  std::string out;
  for (const json& v : arr) {
    if (!out.empty()) out += sep;
    out += v.is_string() ? v.get<std::string>() : dump(v);
  }
  return out;
}

// Lowercases the first letter and drops a trailing '.' of a valijson description.
std::string tidy(std::string d) {
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (!d.empty() && d[0] >= 'A' && d[0] <= 'Z') d[0] = static_cast<char>(d[0] - 'A' + 'a');
  return d;
}

bool is_summary(const std::string& d) {
  static const char* const kSummaries[] = {
      "Failed to validate against schema associated with property name",
      "Failed to validate item #",
      "Failed to validate against additional properties schema",
      "Failed to validate against schema associated with pattern",
  };
  for (const char* s : kSummaries) if (starts_with(d, s)) return true;
  return false;
}

bool is_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

class Translator {
 public:
  Translator(const json& schema, const json& instance, const std::set<std::string>& hidden)
      : schema_(schema), instance_(instance), hidden_(hidden) {}

  void add(const valijson::ValidationResults::Error& e) {
    const Located loc = locate(instance_, e.context);
    const std::string p = loc.pointer.to_string();
    const json* s = subschema_at(schema_, loc, loc.tokens.size());
    const std::string& d = e.description;
    const std::string got_v = got(loc.value, p, hidden_);

    if (starts_with(d, "Value type not permitted by 'type' constraint")) {
      const std::string got_t = loc.value != nullptr ? "got " + type_name(*loc.value) : "got nothing";
      if (s != nullptr && s->contains("type")) {
        const json& t = (*s)["type"];
        const std::string want = t.is_array() ? join_dumped(t, " or ") : t.is_string() ? t.get<std::string>() : dump(t);
        push(p, "expected " + want + ", " + got_t);
      } else {
        push(p, "value type not allowed by the schema, " + got_t);
      }
    } else if (starts_with(d, "Missing required property '")) {
      std::string name = d.substr(std::string_view("Missing required property '").size());
      if (name.size() >= 2) name.resize(name.size() - 2);  // "'."
      push((loc.pointer / name).to_string(), "missing required property");
    } else if (starts_with(d, "Object contains a property that could not be validated")) {
      unknown_properties(loc, s, d);
    } else if (starts_with(d, "Failed to match against any enum values") && has(s, "enum") && (*s)["enum"].is_array()) {
      push(p, "expected one of " + join_dumped((*s)["enum"], ", ") + ", " + got_v);
    } else if (starts_with(d, "Failed to match expected value set by 'const'") && has(s, "const")) {
      push(p, "expected " + dump((*s)["const"]) + ", " + got_v);
    } else if (starts_with(d, "Expected number greater than or equal to") && has(s, "minimum")) {
      push(p, "expected a number >= " + dump((*s)["minimum"]) + ", " + got_v);
    } else if (starts_with(d, "Expected number greater than") && (has(s, "exclusiveMinimum") || has(s, "minimum"))) {
      push(p, "expected a number > " + dump(bound(*s, "exclusiveMinimum", "minimum")) + ", " + got_v);
    } else if (starts_with(d, "Expected number less than or equal to") && has(s, "maximum")) {
      push(p, "expected a number <= " + dump((*s)["maximum"]) + ", " + got_v);
    } else if (starts_with(d, "Expected number less than") && (has(s, "exclusiveMaximum") || has(s, "maximum"))) {
      push(p, "expected a number < " + dump(bound(*s, "exclusiveMaximum", "maximum")) + ", " + got_v);
    } else if (starts_with(d, "Failed to match regex specified by 'pattern'") && has(s, "pattern")) {
      push(p, "does not match the pattern " + dump((*s)["pattern"]));
    } else {
      push(p, tidy(d));
    }
  }

  std::vector<SchemaViolation> take() { return std::move(out_); }

 private:
  static bool has(const json* s, const char* key) { return s != nullptr && s->is_object() && s->contains(key); }
  // The exclusive bound: draft 6+ writes it as a number, draft 4 as `true` next to
  // minimum/maximum.
  static json bound(const json& s, const char* exclusive, const char* inclusive) {
    auto it = s.find(exclusive);
    if (it != s.end() && it->is_number()) return *it;
    return s.value(inclusive, json("?"));
  }

  void unknown_properties(const Located& loc, const json* s, const std::string& d) {
    std::vector<std::string> allowed, patterns;
    if (has(s, "properties") && (*s)["properties"].is_object()) {
      for (const auto& [key, value] : (*s)["properties"].items()) allowed.push_back(key);
    }
    if (has(s, "patternProperties") && (*s)["patternProperties"].is_object()) {
      for (const auto& [key, value] : (*s)["patternProperties"].items()) patterns.push_back(key);
    }
    std::string allowed_text = allowed.empty() ? "no other properties are allowed" : "allowed: ";
    for (std::size_t i = 0; i < allowed.size(); ++i) allowed_text += (i ? ", " : "") + allowed[i];
    bool any = false;
    if (s != nullptr && loc.value != nullptr && loc.value->is_object()) {
      for (auto it = loc.value->begin(); it != loc.value->end(); ++it) {
        if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
        bool matched = false;
        for (const auto& pat : patterns) {
          try {
            matched = matched || std::regex_search(it.key(), std::regex(pat, std::regex::ECMAScript));
          } catch (const std::exception&) {
          }
        }
        if (matched) continue;
        push((loc.pointer / it.key()).to_string(), "unknown property (" + allowed_text + ")");
        any = true;
      }
    }
    if (!any) {  // fall back on the one name valijson gives
      const std::size_t q = d.rfind(": '");
      std::string name = q == std::string::npos ? "" : d.substr(q + 3);
      if (name.size() >= 2) name.resize(name.size() - 2);
      push((loc.pointer / name).to_string(), "unknown property (" + allowed_text + ")");
    }
  }

  void push(const std::string& pointer, const std::string& message) {
    for (const auto& v : out_) if (v.pointer == pointer && v.message == message) return;
    out_.push_back({pointer, message});
  }

  const json& schema_;
  const json& instance_;
  const std::set<std::string>& hidden_;
  std::vector<SchemaViolation> out_;
};

}  // namespace

Result<std::vector<SchemaViolation>> validate_json_schema(const std::string& schema_json, const json& instance,
                                                          const std::set<std::string>& hidden) {
  json schema_doc;
  try {
    schema_doc = json::parse(schema_json);
  } catch (const std::exception& e) {
    return Status::invalid(std::string("the schema is not valid JSON: ") + e.what());
  }
  if (schema_doc.is_boolean()) {  // draft 6+: true accepts anything, false nothing
    if (schema_doc.get<bool>()) return std::vector<SchemaViolation>{};
    return std::vector<SchemaViolation>{{"", "the plugin accepts no config (its schema is false)"}};
  }
  if (!schema_doc.is_object()) return Status::invalid("the schema is not a JSON object");

  valijson::ValidationResults results;
  try {
    valijson::Schema schema;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
    parser.populateSchema(schema_adapter, schema);
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::adapters::NlohmannJsonAdapter target(instance);
    if (validator.validate(schema, target, &results)) return std::vector<SchemaViolation>{};
  } catch (const std::exception& e) {
    return Status::invalid(std::string("the schema is invalid: ") + e.what());
  }

  std::vector<valijson::ValidationResults::Error> errors(results.begin(), results.end());
  Translator translator(schema_doc, instance, hidden);
  for (const auto& e : errors) {
    if (is_summary(e.description)) {
      const bool has_detail = std::any_of(errors.begin(), errors.end(), [&](const auto& other) {
        return &other != &e && !is_summary(other.description) && is_prefix(e.context, other.context);
      });
      if (has_detail) continue;
    }
    translator.add(e);
  }
  return translator.take();
}

}  // namespace oaio::host

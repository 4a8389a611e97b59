#include "manifest_doc.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>
#include <vector>

#include "manifest_util.h"

namespace oaio::host {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;
using manifest_detail::json_literal;
using manifest_detail::printable;
using manifest_detail::show_pointer;

constexpr int kMaxDepth = 128;
constexpr std::size_t kMaxNodes = 100000;
constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";


// YAML 1.2 core schema scalar resolution helpers.
bool is_core_bool(std::string_view s, bool* v) {
  if (s == "true" || s == "True" || s == "TRUE") return *v = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *v = false, true;
  return false;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) if (!pred(c)) return false;
  return true;
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Integer forms: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+. Returns false if `s` is not
// one; sets *out_of_range when it is one but fits neither int64 nor uint64.
bool parse_core_int(std::string_view s, json* out, bool* out_of_range) {
  int base = 10;
  std::string_view digits = s;
  bool negative = false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    digits = s.substr(2);
    if (!all_of(digits, base == 8 ? is_oct : is_hex)) return false;
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (!all_of(digits, is_dec)) return false;
  }
  std::uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    *out_of_range = true;
    return true;
  }
  if (!negative) {
    if (magnitude <= static_cast<std::uint64_t>(INT64_MAX)) *out = static_cast<std::int64_t>(magnitude);
    else *out = magnitude;
  } else if (magnitude <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
    *out = static_cast<std::int64_t>(0 - magnitude);  // two's complement; exact for INT64_MIN
  } else {
    *out_of_range = true;
  }
  return true;
}

// Float forms: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, and the .inf/.nan
// spellings (which are reported as not representable in JSON).
enum class FloatForm { kNone, kFinite, kNonFinite, kOutOfRange };
FloatForm parse_core_float(std::string_view s, double* out) {
  std::string_view body = s;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body.remove_prefix(1);
  if (body == ".inf" || body == ".Inf" || body == ".INF") return FloatForm::kNonFinite;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return FloatForm::kNonFinite;
  std::size_t i = 0;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < body.size() && is_dec(body[i])) ++i, ++int_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_dec(body[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return FloatForm::kNone;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < body.size() && is_dec(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return FloatForm::kNone;
  }
  if (i != body.size()) return FloatForm::kNone;
  // from_chars takes a leading '-' but not '+'.
  std::string_view num = s[0] == '+' ? s.substr(1) : s;
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), *out);
  if (ec == std::errc::result_out_of_range) return FloatForm::kOutOfRange;
  if (ec != std::errc() || ptr != num.data() + num.size() || !std::isfinite(*out)) return FloatForm::kOutOfRange;
  return FloatForm::kFinite;
}

class YamlConverter {
 public:
  explicit YamlConverter(const std::string& file) : file_(file) {}

  Result<json> convert(const YAML::Node& root) {
    json out;
    OAIO_RETURN_IF_ERROR(node(root, Pointer(), 0, &out));
    return out;
  }

 private:
  Status error(const YAML::Node& n, const Pointer& at, const std::string& what) const {
    const YAML::Mark m = n.Mark();
    std::string where = file_;
    if (!m.is_null()) where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    return Status::invalid(where + ": " + show_pointer(at) + ": " + what);
  }

  Status node(const YAML::Node& n, const Pointer& at, int depth, json* out) {
    if (depth > kMaxDepth) return error(n, at, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (++nodes_ > kMaxNodes) return error(n, at, "document too large (over 100000 values after alias expansion)");
    const std::string& tag = n.Tag();
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        if (tag == "!" || tag == std::string(kTagPrefix) + "str") *out = "";
        else *out = nullptr;
        return Status();
      case YAML::NodeType::Scalar:
        return scalar(n, at, out);
      case YAML::NodeType::Sequence: {
        if (!tag_is(tag, "seq")) return error(n, at, "unsupported tag " + json_literal(tag) + " on a list");
        *out = json::array();
        std::size_t i = 0;
        for (const YAML::Node& child : n) {
          json v;
          OAIO_RETURN_IF_ERROR(node(child, at / i, depth + 1, &v));
          out->push_back(std::move(v));
          ++i;
        }
        return Status();
      }
      case YAML::NodeType::Map:
        if (!tag_is(tag, "map")) return error(n, at, "unsupported tag " + json_literal(tag) + " on a mapping");
        return mapping(n, at, depth, out);
    }
    return error(n, at, "unsupported YAML node");
  }

  static bool tag_is(const std::string& tag, std::string_view core) {
    return tag == "?" || tag == "!" || tag.empty() || tag == std::string(kTagPrefix) + std::string(core);
  }

  Status mapping(const YAML::Node& n, const Pointer& at, int depth, json* out) {
    *out = json::object();
    std::vector<YAML::Node> merges;
    for (const auto& kv : n) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar()) return error(key, at, "mapping keys must be strings");
      const std::string& name = key.Scalar();
      if (!is_valid_utf8(name)) return error(key, at, "key is not valid UTF-8");
      if (name == "<<" && key.Tag() == "?") {
        merges.push_back(kv.second);
        continue;
      }
      if (out->contains(name)) return error(key, at / name, "duplicate key " + json_literal(name));
      json v;
      OAIO_RETURN_IF_ERROR(node(kv.second, at / name, depth + 1, &v));
      (*out)[name] = std::move(v);
    }
    // Merge keys: explicit keys win; among merged mappings the earlier one wins.
    for (const YAML::Node& m : merges) {
      std::vector<YAML::Node> sources;
      if (m.IsMap()) sources.push_back(m);
      else if (m.IsSequence()) for (const YAML::Node& s : m) sources.push_back(s);
      for (const YAML::Node& s : sources) {
        if (!s.IsMap()) return error(m, at / "<<", "a merge key (<<) takes a mapping or a list of mappings");
        json merged;
        OAIO_RETURN_IF_ERROR(node(s, at, depth + 1, &merged));
        for (auto it = merged.begin(); it != merged.end(); ++it) {
          if (!out->contains(it.key())) (*out)[it.key()] = it.value();
        }
      }
    }
    return Status();
  }

  Status scalar(const YAML::Node& n, const Pointer& at, json* out) {
    const std::string& tag = n.Tag();
    const std::string& s = n.Scalar();
    if (!is_valid_utf8(s)) return error(n, at, "value is not valid UTF-8");
    if (tag == "!" || tag == std::string(kTagPrefix) + "str") {
      *out = s;
      return Status();
    }
    const bool plain = tag == "?" || tag.empty();
    const std::string_view core =
        tag.rfind(kTagPrefix, 0) == 0 ? std::string_view(tag).substr(kTagPrefix.size()) : std::string_view();
    if (!plain && core != "null" && core != "bool" && core != "int" && core != "float") {
      return error(n, at, "unsupported tag " + json_literal(tag));
    }
    if ((plain || core == "null") && (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")) {
      *out = nullptr;
      return Status();
    }
    bool b = false;
    if ((plain || core == "bool") && is_core_bool(s, &b)) {
      *out = b;
      return Status();
    }
    bool out_of_range = false;
    if ((plain || core == "int" || core == "float") && parse_core_int(s, out, &out_of_range)) {
      if (out_of_range) return error(n, at, "integer out of range (beyond 64 bits)");
      if (core == "float") *out = out->get<double>();
      return Status();
    }
    double d = 0;
    if (plain || core == "float") {
      switch (parse_core_float(s, &d)) {
        case FloatForm::kFinite: *out = d; return Status();
        case FloatForm::kNonFinite: return error(n, at, "infinity and NaN cannot be represented in JSON");
        case FloatForm::kOutOfRange: return error(n, at, "number out of range");
        case FloatForm::kNone: break;
      }
    }
    if (!plain) return error(n, at, "value does not match its tag " + json_literal(tag));
    *out = s;
    return Status();
  }

  const std::string& file_;
  std::size_t nodes_ = 0;
};

// Parses without building anything: only to count documents.
class IgnoreEvents : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Line and column (1-based) of byte `offset` (0-based) in `text`.
std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

// Tracks the JSON Pointer of the value being parsed, to report duplicate keys.
class DuplicateKeyCheck {
 public:
  bool on_event(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        next_element();
        frames_.push_back(Frame{false, 0, {}, {}});
        break;
      case json::parse_event_t::array_start:
        next_element();
        frames_.push_back(Frame{true, 0, {}, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case json::parse_event_t::key: {
        if (frames_.empty() || !parsed.is_string()) break;
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && first_.empty()) {
          first_ = show_pointer(pointer()) + ": duplicate key " + json_literal(f.key);
        }
        break;
      }
      case json::parse_event_t::value:
        next_element();
        break;
    }
    return true;
  }
  const std::string& first_duplicate() const { return first_; }

 private:
  struct Frame {
    bool is_array;
    std::size_t next_index;  // arrays: index of the next element
    std::set<std::string> keys;
    std::string key;  // objects: the current key
  };
  void next_element() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().next_index;
  }
  Pointer pointer() const {
    Pointer p;
    for (const Frame& f : frames_) p = f.is_array ? p / (f.next_index - 1) : p / f.key;
    return p;
  }
  std::vector<Frame> frames_;
  std::string first_;
};

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) len = 1, cp = c;
    else if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

Result<json> parse_yaml_document(std::string_view text, const std::string& file_label) {
  // Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating, on some invalid
  // input such as "{}," (jbeder/yaml-cpp#1040, fixed upstream in #1319). One document
  // is loaded, and a second parse (which builds nothing) asks for at most one more.
  YAML::Node root;
  bool more_documents = false;
  try {
    const std::string owned(text);
    root = YAML::Load(owned);
    std::istringstream in(owned);
    YAML::Parser parser(in);
    IgnoreEvents ignore;
    if (parser.HandleNextDocument(ignore)) more_documents = parser.HandleNextDocument(ignore);
  } catch (const YAML::Exception& e) {
    std::string where = file_label;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return Status::invalid(where + ": yaml syntax error: " + printable(e.msg));
  } catch (const std::exception& e) {
    return Status::invalid(file_label + ": yaml syntax error: " + printable(e.what()));
  }
  if (more_documents) {
    return Status::invalid(file_label + ": expected one YAML document, found more (or text after its end)");
  }
  try {
    return YamlConverter(file_label).convert(root);
  } catch (const std::exception& e) {  // yaml-cpp accessors may throw on malformed trees
    return Status::invalid(file_label + ": yaml error: " + printable(e.what()));
  }
}

Result<json> parse_json_document(std::string_view text, const std::string& file_label) {
  DuplicateKeyCheck dups;
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(),
                      [&dups](int /*depth*/, json::parse_event_t event, json& parsed) {
                        return dups.on_event(event, parsed);
                      });
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: <detail>" -> detail
    const std::size_t colon = what.find(": ", what.find(']'));
    if (colon != std::string::npos) what = what.substr(colon + 2);
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    return Status::invalid(file_label + ":" + position(text, offset) + ": json syntax error: " + printable(what));
  } catch (const std::exception& e) {
    return Status::invalid(file_label + ": json error: " + printable(e.what()));
  }
  if (!dups.first_duplicate().empty()) return Status::invalid(file_label + ": " + dups.first_duplicate());
  return doc;
}

}  // namespace oaio::host

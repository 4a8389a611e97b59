// Manifest structure: documents (manifest_doc.h) -> BridgeManifest values, with the
// checks and messages described in manifest.h. Directory loading and schema validation
// are in manifest_dir.cc.
#include "manifest.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "manifest_doc.h"
#include "manifest_util.h"
#include "oaio/subject.h"

namespace oaio::host {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;
using manifest_detail::Diag;
using manifest_detail::join;

constexpr std::string_view kSeedVersion = "openagentio.bridge/v1";
constexpr std::uintmax_t kMaxFileBytes = 4u << 20;

const std::vector<std::string> kBridgeKeys = {"name",     "plugin",    "type",    "config",
                                              "mappings", "isolation", "restart", "on_startup_failure",
                                              "tenant",   "target_prefix", "sha256"};
const std::vector<std::string> kRestartKeys = {"enabled", "max_restarts", "window_seconds", "initial_backoff_ms",
                                               "max_backoff_ms"};

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }
bool is_dotted_tokens(std::string_view s) {
  if (s.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    if (!is_token(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}
bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// Parses one bridge entry; reports every problem to `diag`.
class BridgeParser {
 public:
  BridgeParser(Diag& diag, bool seed_file, const EnvLookup& env) : diag_(diag), seed_file_(seed_file), env_(env) {}

  std::optional<BridgeManifest> parse(json& entry, const Pointer& at) {
    if (!entry.is_object()) {
      diag_.error(at, "expected a mapping (one bridge), got " + diag_.got(entry, at));
      return std::nullopt;
    }
    const std::size_t errors_before = diag_.error_count();
    refused_.clear();
    // ${VAR} only inside the plugin's data. Host settings are literal, so that they can
    // be logged as they are; a reference there is an error, not a silent literal.
    std::vector<std::string> substituted;
    for (const char* key : {"config", "mappings"}) {
      if (!entry.contains(key)) continue;
      substitute_env_tree(entry[key], at / key, env_, &substituted,
                          [this](const std::string& p, const std::string& what) { diag_.error_at(p, what); });
    }
    diag_.add_substituted(substituted);
    for (const std::string& key : kBridgeKeys) {
      if (key == "config" || key == "mappings" || !entry.contains(key) || !has_reference(entry[key])) continue;
      diag_.error(at / key, "${...} is substituted only inside config and mappings (host settings are literal)");
      entry.erase(key);
      refused_.insert(key);
    }

    BridgeManifest b;
    b.file = diag_.file();
    b.pointer = at.to_string();
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      const std::string& key = it.key();
      if (std::find(kBridgeKeys.begin(), kBridgeKeys.end(), key) != kBridgeKeys.end()) continue;
      if (at.empty() && key.rfind("x-", 0) == 0) continue;  // single-bridge file: extension keys
      if (seed_file_) {
        b.warnings.push_back(diag_.ignored_key(at / key, key));
      } else {
        diag_.unknown_key(at / key, key, kBridgeKeys);
      }
    }

    parse_name(entry, at, &b);
    if (auto v = string_field(entry, at, "type", false)) b.seed_type = *v;
    if (auto v = string_field(entry, at, "plugin", false)) b.plugin = *v;
    if (!present(entry, "plugin") && !present(entry, "type")) {
      diag_.error(at, "missing required key \"plugin\" "
                      "(or a seed \"type\": mcp_tool, matrix_event, openclaw_chat_sse)");
    }
    parse_config(entry, at, &b);
    if (auto v = enum_field(entry, at, "isolation", {"inprocess", "subprocess"})) {
      b.isolation = *v == "subprocess" ? Isolation::kSubprocess : Isolation::kInProcess;
    }
    if (auto v = enum_field(entry, at, "on_startup_failure", {"fail", "retry", "ignore"})) {
      b.on_startup_failure = *v == "fail"     ? StartupFailure::kFail
                             : *v == "ignore" ? StartupFailure::kIgnore
                                              : StartupFailure::kRetry;
    }
    if (entry.contains("restart")) parse_restart(entry["restart"], at / "restart", &b.restart);
    if (auto v = string_field(entry, at, "tenant", true)) {
      if (!v->empty() && !is_token(*v)) {
        diag_.error(at / "tenant", "expected one token of letters, digits, '-' and '_', got " +
                                       diag_.got(entry["tenant"], at / "tenant"));
      }
      b.tenant = *v;
    }
    if (auto v = string_field(entry, at, "target_prefix", true)) {
      if (!v->empty() && !check_subject_name("target_prefix", *v).ok()) {
        diag_.error(at / "target_prefix", "expected dot-separated subject tokens (no spaces, '*' or '>'), got " +
                                              diag_.got(entry["target_prefix"], at / "target_prefix"));
      }
      b.target_prefix = *v;
    }
    if (auto v = string_field(entry, at, "sha256", false)) {
      if (!is_hex64(*v)) {
        diag_.error(at / "sha256", "expected 64 hex digits (the plugin file's sha256), got " +
                                       diag_.got(entry["sha256"], at / "sha256"));
      } else {
        b.sha256 = manifest_detail::lowercase(*v);
      }
    }
    collect_secret_paths(substituted, at, &b);
    if (diag_.error_count() != errors_before) return std::nullopt;
    return b;
  }

 private:
  static bool has_reference(const json& v) {
    if (v.is_string()) return v.get_ref<const std::string&>().find("${") != std::string::npos;
    if (v.is_object() || v.is_array()) {
      for (const json& child : v) if (has_reference(child)) return true;
    }
    return false;
  }

  // Given, even if refused for a ${...} (so that it is not also reported as missing).
  bool present(const json& entry, const std::string& key) const {
    return entry.contains(key) || refused_.count(key) != 0;
  }

  void parse_name(json& entry, const Pointer& at, BridgeManifest* b) {
    if (!entry.contains("name")) {
      if (refused_.count("name") != 0) return;
      diag_.error(at, "missing required key \"name\"");
      return;
    }
    const json& v = entry["name"];
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      diag_.error(at / "name", "expected a non-empty string, got " + diag_.got(v, at / "name"));
      return;
    }
    const std::string& name = v.get_ref<const std::string&>();
    if (entry.contains("type")) {
      if (!is_dotted_tokens(name)) {
        diag_.error(at / "name",
                    "expected a name of letters, digits, '-' and '_' (dot-separated for a seed bridge), got " +
                        diag_.got(v, at / "name"));
      }
    } else if (!is_token(name)) {
      diag_.error(at / "name",
                  "expected a name of letters, digits, '-' and '_' (no dots), got " + diag_.got(v, at / "name"));
    }
    b->name = name;
  }

  // The string at entry[key]; nullopt when absent or wrong (reported).
  std::optional<std::string> string_field(json& entry, const Pointer& at, const char* key, bool allow_empty) {
    if (!entry.contains(key)) return std::nullopt;
    const json& v = entry[key];
    if (!v.is_string() || (!allow_empty && v.get_ref<const std::string&>().empty())) {
      diag_.error(at / key, std::string(allow_empty ? "expected a string" : "expected a non-empty string") + ", got " +
                                diag_.got(v, at / key));
      return std::nullopt;
    }
    return v.get<std::string>();
  }

  std::optional<std::string> enum_field(json& entry, const Pointer& at, const char* key,
                                        const std::vector<std::string>& allowed) {
    if (!entry.contains(key)) return std::nullopt;
    const json& v = entry[key];
    if (v.is_string() && std::find(allowed.begin(), allowed.end(), v.get<std::string>()) != allowed.end()) {
      return v.get<std::string>();
    }
    diag_.error(at / key, "expected one of " + join(allowed, ", ") + ", got " + diag_.got(v, at / key));
    return std::nullopt;
  }

  void parse_config(json& entry, const Pointer& at, BridgeManifest* b) {
    if (entry.contains("config") && !entry["config"].is_null()) {
      if (!entry["config"].is_object()) {
        diag_.error(at / "config", "expected a mapping, got " + diag_.got(entry["config"], at / "config"));
        return;
      }
      b->config = entry["config"];
    }
    const bool bridge_level = entry.contains("mappings") && !entry["mappings"].is_null();
    const bool in_config = b->config.contains("mappings");
    if (bridge_level && in_config) {
      diag_.error(at / "mappings", "also given as config.mappings; give the mappings in one place");
      return;
    }
    // Without a seed type, config.mappings is the plugin's own business.
    if (!bridge_level && !entry.contains("type")) return;
    const Pointer src = bridge_level ? at / "mappings" : at / "config" / "mappings";
    const json given = bridge_level ? entry["mappings"] : in_config ? b->config["mappings"] : json(nullptr);
    if (!given.is_null() && !given.is_object()) {
      diag_.error(src, "expected a mapping, got " + diag_.got(given, src));
      return;
    }
    // The seed's defaults for its four known keys; other keys are kept as given.
    static const std::vector<std::pair<std::string, std::string>> kKnown = {
        {"tool", ""}, {"text_field", "text"}, {"session_field", "session_id"}, {"metadata_prefix", ""}};
    json normalized = given.is_object() ? given : json::object();
    for (const auto& [key, fallback] : kKnown) {
      const json v = normalized.value(key, json(nullptr));
      if (v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty())) {
        normalized[key] = fallback;
      } else if (!v.is_string()) {
        diag_.error(src / key, "expected a string, got " + diag_.got(v, src / key));
      }
    }
    b->config["mappings"] = std::move(normalized);
  }

  void parse_restart(const json& v, const Pointer& at, RestartPolicy* r) {
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s == "never") {
        r->enabled = false;
        return;
      }
      if (s == "on-failure") return;
      if (s == "always") {
        r->max_restarts = -1;
        return;
      }
    }
    if (!v.is_object()) {
      diag_.error(at, "expected one of never, on-failure, always, or a mapping with " + join(kRestartKeys, ", ") +
                          ", got " + diag_.got(v, at));
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (std::find(kRestartKeys.begin(), kRestartKeys.end(), it.key()) == kRestartKeys.end()) {
        diag_.unknown_key(at / it.key(), it.key(), kRestartKeys);
      }
    }
    if (v.contains("enabled")) {
      if (v["enabled"].is_boolean()) r->enabled = v["enabled"].get<bool>();
      else diag_.error(at / "enabled", "expected true or false, got " + diag_.got(v["enabled"], at / "enabled"));
    }
    std::int64_t n = 0;
    using u32 = std::uint32_t;
    if (int_field(v, at, "max_restarts", -1, INT_MAX, &n)) r->max_restarts = static_cast<int>(n);
    if (int_field(v, at, "window_seconds", 1, UINT32_MAX, &n)) r->window_seconds = static_cast<u32>(n);
    if (int_field(v, at, "initial_backoff_ms", 1, UINT32_MAX, &n)) r->initial_backoff_ms = static_cast<u32>(n);
    if (int_field(v, at, "max_backoff_ms", 1, UINT32_MAX, &n)) r->max_backoff_ms = static_cast<u32>(n);
    if (r->max_backoff_ms < r->initial_backoff_ms) {
      diag_.error(at / (v.contains("max_backoff_ms") ? "max_backoff_ms" : "initial_backoff_ms"),
                  "expected max_backoff_ms (" + std::to_string(r->max_backoff_ms) + ") >= initial_backoff_ms (" +
                      std::to_string(r->initial_backoff_ms) + ")");
    }
  }

  bool int_field(const json& obj, const Pointer& at, const char* key, std::int64_t min, std::int64_t max,
                 std::int64_t* out) {
    if (!obj.contains(key)) return false;
    const json& v = obj[key];
    const bool in_range = (v.is_number_unsigned() && v.get<std::uint64_t>() <= static_cast<std::uint64_t>(max)) ||
                          (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() >= min &&
                           v.get<std::int64_t>() <= max);
    if (!in_range || (v.is_number_unsigned() && min > 0 && v.get<std::uint64_t>() < static_cast<std::uint64_t>(min))) {
      diag_.error(at / key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                                ", got " + diag_.got(v, at / key));
      return false;
    }
    *out = v.is_number_unsigned() ? static_cast<std::int64_t>(v.get<std::uint64_t>()) : v.get<std::int64_t>();
    return true;
  }

  // Substituted values under the bridge's config (or its bridge-level mappings, which
  // end up in config.mappings), relative to the config.
  static void collect_secret_paths(const std::vector<std::string>& substituted, const Pointer& at, BridgeManifest* b) {
    const std::string config = (at / "config").to_string();
    const std::string mappings = (at / "mappings").to_string();
    for (const std::string& p : substituted) {
      auto under = [&p](const std::string& base) {
        return p.size() > base.size() && p.compare(0, base.size(), base) == 0 && p[base.size()] == '/';
      };
      if (under(config)) b->secret_paths.push_back(p.substr(config.size()));
      else if (under(mappings)) b->secret_paths.push_back("/mappings" + p.substr(mappings.size()));
    }
  }

  Diag& diag_;
  bool seed_file_;
  const EnvLookup& env_;
  std::set<std::string> refused_;  // keys of the current entry refused for a ${...}
};

}  // namespace

json BridgeManifest::redacted_config() const {
  json out = config;
  for (const std::string& p : secret_paths) {
    try {
      out.at(Pointer(p)) = "***";
    } catch (const std::exception&) {  // a path normalization removed; nothing to hide
    }
  }
  return out;
}

Result<std::vector<BridgeManifest>> parse_manifest_text(std::string_view text, const std::string& file_label,
                                                        ManifestFormat format, const EnvLookup& env) {
  if (text.size() > kMaxFileBytes) {
    return Status::invalid(file_label + ": too large (" + std::to_string(text.size()) + " bytes; at most 4 MiB)");
  }
  Result<json> parsed = format == ManifestFormat::kJson ? parse_json_document(text, file_label)
                                                         : parse_yaml_document(text, file_label);
  if (!parsed.ok()) return parsed.status();
  json& doc = parsed.value();
  Diag diag(file_label);
  const Pointer root;
  if (doc.is_null()) {
    return Status::invalid(file_label + ": the file is empty (expected \"bridges\": a list of bridges)");
  }
  if (!doc.is_object()) {
    return Status::invalid(file_label + ": /: expected a mapping with \"bridges\" (a list of bridges), got " +
                           diag.got(doc, root));
  }

  std::vector<BridgeManifest> bridges;
  std::vector<std::string> file_warnings;
  const bool seed = doc.contains("version");
  if (!seed && !doc.contains("bridges") && doc.contains("name")) {  // a single bridge object
    BridgeParser parser(diag, false, env);
    if (auto b = parser.parse(doc, root)) bridges.push_back(std::move(*b));
  } else {
    if (seed) {
      const json& v = doc["version"];
      if (!v.is_string() || v.get_ref<const std::string&>() != kSeedVersion) {
        diag.error(root / "version", "expected \"" + std::string(kSeedVersion) +
                                         "\" (the Python SDK's bridge config), got " + diag.got(v, root / "version"));
      }
    }
    const std::vector<std::string> allowed = seed ? std::vector<std::string>{"version", "bridges"}
                                                  : std::vector<std::string>{"bridges"};
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string& key = it.key();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end() || key.rfind("x-", 0) == 0) continue;
      if (seed) {
        file_warnings.push_back(diag.ignored_key(root / key, key));
      } else {
        diag.unknown_key(root / key, key, allowed, "x-... extension keys are ignored");
      }
    }
    if (!doc.contains("bridges")) {
      diag.error(root, seed ? "missing required key \"bridges\" (a list of bridges)"
                            : "missing required key \"bridges\" (a list of bridges; or give one bridge with \"name\")");
    } else if (!doc["bridges"].is_array()) {
      diag.error(root / "bridges", "expected a list of bridges, got " + diag.got(doc["bridges"], root / "bridges"));
    } else {
      BridgeParser parser(diag, seed, env);
      json& list = doc["bridges"];
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (auto b = parser.parse(list[i], root / "bridges" / i)) bridges.push_back(std::move(*b));
      }
    }
  }

  // Names are unique within the file (across files: load_manifest_dir).
  for (std::size_t i = 0; i < bridges.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (bridges[i].name != bridges[j].name) continue;
      const Pointer at = Pointer(bridges[i].pointer) / "name";
      diag.error(at, "duplicate bridge name " + diag.shown(bridges[i].name, at) + " (first declared at " +
                         manifest_detail::show_pointer(Pointer(bridges[j].pointer)) + ")");
      break;
    }
  }
  if (diag.error_count() > 0) return Status::invalid(join(diag.errors(), "\n"));
  if (!bridges.empty()) {
    bridges.front().warnings.insert(bridges.front().warnings.begin(), file_warnings.begin(), file_warnings.end());
  }
  return bridges;
}

Result<std::vector<BridgeManifest>> load_manifest_file(const std::string& path, const EnvLookup& env) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return Status::invalid(path + ": cannot read: " + ec.message());
  if (size > kMaxFileBytes) {
    return Status::invalid(path + ": file too large (" + std::to_string(size) + " bytes; at most 4 MiB)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalid(path + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::invalid(path + ": read error");
  const bool json_file = manifest_detail::lowercase(fs::path(path).extension().string()) == ".json";
  return parse_manifest_text(text.str(), path, json_file ? ManifestFormat::kJson : ManifestFormat::kYaml, env);
}

}  // namespace oaio::host

// Manifests: YAML or JSON files declaring bridges (which plugin, its config, and the
// host's settings for it). Two formats are accepted:
//   - ours: `bridges: [{name, plugin, config, isolation, restart, on_startup_failure,
//     tenant, target_prefix, sha256}]` (a file may also be a single bridge object);
//   - the OpenAgentIO Python bridge config as is: `version: "openagentio.bridge/v1"`,
//     `bridges: [{name, type, config, mappings}]` with types mcp_tool, matrix_event,
//     openclaw_chat_sse (the plugin is found by the type; `mappings` is merged into the
//     config under "mappings").
// `${VAR}` and `${VAR:-default}` are substituted in the config's string values from the
// environment before validation; an unset variable without default is an error naming it. Secret
// values never reach logs: BridgeManifest::redacted_config() shows substituted values as
// "***", and no error message quotes a substituted value.
//
// Errors name the file, the path inside it (JSON Pointer, e.g. /bridges/0/config/url)
// and what was expected: "manifests/x.yaml: /bridges/0/isolation: expected one of
// inprocess, subprocess, got \"threads\"". Syntax errors carry the position instead:
// "manifests/x.yaml:3:5: yaml syntax error: ...". Every problem of a file is reported,
// one line each, and a file with any error yields no bridges.
//
// The details, for manifest authors:
//   - name: letters, digits, '-' and '_' (a subject token). A seed bridge (one with
//     `type`) may use dot-separated tokens, as the seed uses the name as a target.
//   - plugin: required unless `type` is given; with both, `plugin` picks the plugin.
//   - config: a mapping (null = {}). restart: a mapping of RestartPolicy's fields, or
//     never | on-failure | always. isolation: inprocess | subprocess.
//     on_startup_failure: fail | retry | ignore. tenant: one token; target_prefix:
//     dot-separated tokens; sha256: 64 hex digits.
//   - Unknown keys are errors (with a "did you mean" hint), except in seed files, where
//     the seed ignores them: there they become warnings. Top-level keys starting with
//     "x-" are ignored in both formats (a place for YAML anchors).
//   - A seed bridge's `mappings` (or config.mappings) ends up in config.mappings,
//     normalized as the seed does: tool, text_field ("text"), session_field
//     ("session_id") and metadata_prefix are strings, empty or null meaning the default
//     in brackets; other keys are kept as they are. Seed bridges always get it.
//   - Substitution applies to the string values inside each bridge's config and
//     mappings (not to keys), where secrets live. Host settings (name, plugin, type,
//     isolation, restart, tenant, ...) are literal so that they can be logged as they
//     are: a ${...} there is an error. A substituted value is always a string, even if
//     it looks like a number. `$$` is a literal '$'.
//
// Thread-safety: plain values; the functions are thread-safe (process_env() reads the
// environment with getenv).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "env_subst.h"  // EnvLookup, process_env()
#include "oaio/result.h"

namespace oaio::host {

enum class Isolation { kInProcess, kSubprocess };
enum class StartupFailure { kFail, kRetry, kIgnore };

struct RestartPolicy {
  bool enabled = true;                 // restart a failed bridge
  int max_restarts = 5;                // within `window`; then the bridge stays failed; -1 = no limit;
                                       // -1 = unlimited (`restart: always`)
  std::uint32_t window_seconds = 300;
  std::uint32_t initial_backoff_ms = 200;
  std::uint32_t max_backoff_ms = 30000;
};

struct BridgeManifest {
  std::string file;                    // the manifest file it came from
  std::string pointer;                 // JSON Pointer of the bridge in the file, e.g. /bridges/0
  std::string name;                    // unique across all manifests
  std::string plugin;                  // plugin name (ours) ...
  std::string seed_type;               // ... or the seed bridge type (mcp_tool, ...)
  nlohmann::json config = nlohmann::json::object();  // after ${VAR} substitution
  Isolation isolation = Isolation::kInProcess;
  RestartPolicy restart;
  StartupFailure on_startup_failure = StartupFailure::kRetry;
  std::string tenant;                  // bus tenant for this bridge's targets; empty = host's
  std::string target_prefix;           // prepended as "<prefix>." to every target; empty = none
  std::optional<std::string> sha256;   // pin of the plugin file
  std::vector<std::string> secret_paths;  // JSON Pointers, relative to `config` (e.g.
                                          // "/token"), of values that came from ${VAR}
  std::vector<std::string> warnings;   // seed-format keys ignored, as "<file>: <pointer>: ..."

  // The config with every substituted value replaced by "***" (for logs and `validate`).
  nlohmann::json redacted_config() const;
};

enum class ManifestFormat { kYaml, kJson };

// Parses one manifest from memory; `file_label` is used in BridgeManifest::file and in
// messages. load_manifest_file is this plus reading the file (and the fuzz target's
// entry point). Errors: INVALID_REQUEST, one line per problem, joined with '\n'.
Result<std::vector<BridgeManifest>> parse_manifest_text(std::string_view text, const std::string& file_label,
                                                        ManifestFormat format, const EnvLookup& env = process_env());

// Parses one manifest file: .json as JSON; .yaml, .yml and anything else as YAML
// (JSON is YAML too, as the seed does). Files over 4 MiB are refused.
Result<std::vector<BridgeManifest>> load_manifest_file(const std::string& path, const EnvLookup& env = process_env());

// Loads every manifest file in `dir` (*.yaml, *.yml, *.json, not hidden, sorted by
// name, not recursive). Errors of all files are collected; duplicate bridge names
// across files are errors too (naming both files; the first declaration is kept).
// Returns the bridges of the files that parsed, the error lines (one per problem) and
// the warning lines of the bridges.
struct ManifestSet {
  std::vector<BridgeManifest> bridges;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};
ManifestSet load_manifest_dir(const std::string& dir, const EnvLookup& env = process_env());

// Validates `bridge.config` against the plugin's JSON Schema (valijson). Errors name the
// file and the path inside it, e.g.
//   "manifests/mcp.yaml: /bridges/0/config/timeout: expected integer, got string".
// All violations are reported, one line each (INVALID_REQUEST). A schema that is not
// JSON or that valijson refuses is an error naming the plugin. An empty schema accepts
// any config. Substituted (secret) values are never quoted.
Status validate_bridge_config(const BridgeManifest& bridge, const std::string& schema_json);

}  // namespace oaio::host

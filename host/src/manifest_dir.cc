// load_manifest_dir (every manifest file of a directory, names unique across files) and
// validate_bridge_config (a bridge's config against its plugin's JSON Schema).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

#include "manifest.h"
#include "manifest_util.h"
#include "schema_validate.h"

namespace oaio::host {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_manifest_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  const std::string ext = manifest_detail::lowercase(fs::path(name).extension().string());
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void append_lines(const std::string& text, std::vector<std::string>* out) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out->push_back(line);
  }
}

}  // namespace

ManifestSet load_manifest_dir(const std::string& dir, const EnvLookup& env) {
  ManifestSet set;
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    set.errors.push_back(dir + ": cannot read the manifests directory: " + ec.message());
    return set;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (is_manifest_name(name) && it->is_regular_file(type_ec)) names.push_back(name);
    if (ec) break;
  }
  if (ec) set.errors.push_back(dir + ": cannot read the manifests directory: " + ec.message());
  std::sort(names.begin(), names.end());

  std::map<std::string, const BridgeManifest*> first;  // name -> where it was declared first
  std::vector<BridgeManifest> loaded;
  for (const std::string& name : names) {
    const std::string path = (fs::path(dir) / name).string();
    Result<std::vector<BridgeManifest>> r = load_manifest_file(path, env);
    if (!r.ok()) {
      append_lines(r.status().message(), &set.errors);
      continue;
    }
    for (BridgeManifest& b : r.value()) loaded.push_back(std::move(b));
  }
  for (BridgeManifest& b : loaded) {
    auto [pos, inserted] = first.emplace(b.name, &b);
    if (!inserted) {
      const json::json_pointer at = json::json_pointer(b.pointer) / "name";
      set.errors.push_back(b.file + ": " + manifest_detail::show_pointer(at) + ": duplicate bridge name " +
                           manifest_detail::json_literal(b.name) + " (first declared in " + pos->second->file + " at " +
                           manifest_detail::show_pointer(pos->second->pointer) + ")");
      continue;
    }
    set.warnings.insert(set.warnings.end(), b.warnings.begin(), b.warnings.end());
  }
  for (BridgeManifest& b : loaded) {
    if (first[b.name] == &b) set.bridges.push_back(std::move(b));
  }
  return set;
}

Status validate_bridge_config(const BridgeManifest& bridge, const std::string& schema_json) {
  const std::string at = bridge.file + ": " + manifest_detail::printable(bridge.pointer) + "/config";
  if (schema_json.find_first_not_of(" \t\r\n") == std::string::npos) return Status();
  const std::set<std::string> hidden(bridge.secret_paths.begin(), bridge.secret_paths.end());
  Result<std::vector<SchemaViolation>> r = validate_json_schema(schema_json, bridge.config, hidden);
  if (!r.ok()) {
    using manifest_detail::json_literal;
  const std::string plugin = !bridge.plugin.empty() ? "plugin " + json_literal(bridge.plugin)
                                                     : "the plugin for type " + json_literal(bridge.seed_type);
    return Status::invalid(at + ": cannot validate: " + plugin + " declares a broken config schema: " +
                           manifest_detail::printable(r.status().message()));
  }
  if (r->empty()) return Status();
  std::vector<std::string> lines;
  for (const SchemaViolation& v : *r) {
    lines.push_back(at + manifest_detail::printable(v.pointer) + ": " + manifest_detail::printable(v.message));
  }
  return Status::invalid(manifest_detail::join(lines, "\n"));
}

}  // namespace oaio::host

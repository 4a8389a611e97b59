// PluginLoader: finds bridge plugins in a directory, loads each shared library with
// Boost.DLL (RTLD_NOW, local symbols), calls its versioned entry symbol and checks the
// ABI. The only user of Boost.DLL. Libraries are never unloaded: a LoadedPlugin keeps
// its library for the life of the process.
//
// Every refusal is one clear line naming the file and the reason, and never stops the
// other plugins: a file that is not a shared library, a missing entry symbol, a wrong
// ABI major, a plugin needing a newer minor than the host, a duplicate plugin name, a
// group- or world-writable file, a sha256 pin mismatch, an entry returning NULL, a
// plugin that throws (the entry is called inside a catch-all; a C++ exception
// escaping a C entry is caught as well).
//
// Thread-safety: a PluginLoader is used from the host's control thread only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "oaio/plugin.h"
#include "oaio/result.h"

namespace oaio::host {

// One loaded plugin. The table is copied (min(struct_size, sizeof)) into `api`, so
// fields a plugin built against an older minor does not have read as zero.
struct LoadedPlugin {
  std::string path;                // absolute path of the .so
  std::string sha256;              // hex digest of the file as loaded
  oaio_plugin_api api{};           // zero-extended copy of the plugin's table
  const oaio_plugin_api* raw = nullptr;  // the plugin's own table (for identity only)
  std::shared_ptr<void> library;   // keeps the library mapped; never released before exit

  std::string name() const { return std::string(api.name.data, api.name.len); }
  std::string version() const { return std::string(api.version.data, api.version.len); }
  std::string config_schema() const { return std::string(api.config_schema.data, api.config_schema.len); }
};

struct LoadReport {
  std::vector<std::shared_ptr<LoadedPlugin>> loaded;
  // One entry per refused file: "<path>: <reason>".
  std::vector<std::string> refused;
};

class PluginLoader {
 public:
  // `host_api` is handed to every entry function; it must outlive the process's plugins.
  explicit PluginLoader(const oaio_host_api* host_api);

  // Loads one file. `sha256_pin` (lowercase hex) must match the file when given.
  Result<std::shared_ptr<LoadedPlugin>> load(const std::string& path,
                                             const std::optional<std::string>& sha256_pin = std::nullopt);

  // Loads every *.so in `dir` (sorted by name; not recursive). `pins` maps plugin file
  // names or plugin names to sha256 pins. Names already loaded (by an earlier call or
  // earlier in this scan) are refused as duplicates.
  LoadReport load_directory(const std::string& dir, const std::map<std::string, std::string>& pins = {});

  // The plugin with that name, or nullptr.
  std::shared_ptr<LoadedPlugin> find(const std::string& name) const;
  // Also matches a seed manifest type listed in oaio_plugin_api.manifest_types.
  std::shared_ptr<LoadedPlugin> find_by_manifest_type(const std::string& type) const;
  const std::vector<std::shared_ptr<LoadedPlugin>>& plugins() const { return plugins_; }

 private:
  const oaio_host_api* host_api_;
  std::vector<std::shared_ptr<LoadedPlugin>> plugins_;
};

// Hex sha256 of a file's bytes; empty on I/O error.
std::string file_sha256(const std::string& path);

}  // namespace oaio::host

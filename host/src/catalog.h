// Catalog: the targets this host serves, with their bridge, flows, description and
// input schema. Filled by bridges as they register targets; read by the gateway
// (GET /v1/catalog), the catalog query on the bus and `oaio plugins`.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oaio::host {

struct CatalogEntry {
  std::string target;        // full target name on the bus
  std::string bridge;        // the bridge serving it
  std::string plugin;        // the plugin of that bridge
  std::string tenant;        // empty = the host's default
  bool invoke = false;
  bool stream = false;
  std::string description;
  nlohmann::json input_schema;  // null when unknown

  nlohmann::json to_json() const;
};

class Catalog {
 public:
  void put(CatalogEntry entry);
  void remove(const std::string& target);
  // Removes every target of one bridge (it stopped).
  void remove_bridge(const std::string& bridge);
  std::vector<CatalogEntry> entries() const;
  // {"targets":[...]} sorted by target name.
  nlohmann::json to_json() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, CatalogEntry> entries_;  // guarded by mu_
};

}  // namespace oaio::host

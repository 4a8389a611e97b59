#include "catalog.h"

namespace oaio::host {

nlohmann::json CatalogEntry::to_json() const {
  nlohmann::json j{{"target", target}, {"bridge", bridge}, {"plugin", plugin}};
  j["flows"] = nlohmann::json::array();
  if (invoke) j["flows"].push_back("invoke");
  if (stream) j["flows"].push_back("stream");
  if (!tenant.empty()) j["tenant"] = tenant;
  if (!description.empty()) j["description"] = description;
  if (!input_schema.is_null()) j["input_schema"] = input_schema;
  return j;
}

void Catalog::put(CatalogEntry entry) {
  std::lock_guard lock(mu_);
  std::string key = entry.target;
  entries_[key] = std::move(entry);
}

void Catalog::remove(const std::string& target) {
  std::lock_guard lock(mu_);
  entries_.erase(target);
}

void Catalog::remove_bridge(const std::string& bridge) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.bridge == bridge ? entries_.erase(it) : std::next(it);
  }
}

std::vector<CatalogEntry> Catalog::entries() const {
  std::lock_guard lock(mu_);
  std::vector<CatalogEntry> out;
  out.reserve(entries_.size());
  for (const auto& [_, e] : entries_) out.push_back(e);
  return out;
}

nlohmann::json Catalog::to_json() const {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& e : entries()) targets.push_back(e.to_json());
  return nlohmann::json{{"targets", targets}};
}

}  // namespace oaio::host

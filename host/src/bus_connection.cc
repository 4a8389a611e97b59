#include "bus_connection.h"

#include <thread>
#include <vector>

#include "oaio/inmem_transport.h"

namespace oaio::host {

Result<std::unique_ptr<BusConnection>> BusConnection::open(ConnectionOptions options) {
  std::shared_ptr<Transport> transport;
  if (options.nats_url.empty()) {
    transport = make_inmem_transport();
  } else {
    NatsOptions nats = options.nats;
    nats.servers = split_server_list(options.nats_url);
    auto t = connect_nats(nats);
    if (!t.ok()) return t.status();
    transport = std::move(t).value();
  }
  auto conn = std::unique_ptr<BusConnection>(new BusConnection(std::move(options), std::move(transport)));
  auto first = conn->bus_for("");
  if (!first.ok()) return first.status();
  return conn;
}

Result<Bus*> BusConnection::bus_for(const std::string& tenant) {
  std::lock_guard lock(mu_);
  const std::string& t = tenant.empty() ? options_.default_tenant : tenant;
  if (auto it = buses_.find(t); it != buses_.end()) return it->second.get();
  BusOptions bo;
  bo.agent_id = options_.agent_id;
  bo.tenant = t;
  bo.logger = options_.logger;
  bo.default_timeout = options_.default_timeout;
  auto bus = Bus::open(transport_, bo);
  if (!bus.ok()) return bus.status();
  Bus* raw = bus.value().get();
  buses_.emplace(t, std::move(bus).value());
  return raw;
}

void BusConnection::drain(std::chrono::milliseconds deadline) {
  std::vector<Bus*> buses;
  {
    std::lock_guard lock(mu_);
    for (auto& [_, b] : buses_) buses.push_back(b.get());
  }
  std::vector<std::thread> drains;
  for (Bus* b : buses) drains.emplace_back([b, deadline] { (void)b->drain(deadline); });
  for (auto& t : drains) t.join();
}

}  // namespace oaio::host

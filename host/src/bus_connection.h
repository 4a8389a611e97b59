// BusConnection: the transport and buses a host or CLI verb uses. With a NATS URL (flag
// or OAIO_NATS_URL) it connects to NATS; without one it runs the in-process bus. Buses
// are per tenant (the configured tenant decides subjects), all on one transport.
//
// Thread-safety: bus_for() is thread-safe; the buses are.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "oaio/bus.h"
#include "oaio/nats_transport.h"

namespace oaio::host {

struct ConnectionOptions {
  std::string nats_url;           // comma-separated servers; empty = in-process bus
  std::string agent_id = "oaio";  // `from` of what this process sends
  std::string default_tenant;
  NatsOptions nats;               // auth/TLS/reconnect settings (servers come from nats_url)
  std::shared_ptr<Logger> logger;
  std::chrono::milliseconds default_timeout{30000};
};

class BusConnection {
 public:
  static Result<std::unique_ptr<BusConnection>> open(ConnectionOptions options);

  // The bus for `tenant` ("" = the default tenant), opened on first use.
  Result<Bus*> bus_for(const std::string& tenant);
  Bus& default_bus() { return *bus_for("").value(); }
  bool is_nats() const { return !options_.nats_url.empty(); }
  const std::string& nats_url() const { return options_.nats_url; }
  Transport& transport() { return *transport_; }
  // Drains every bus (graceful shutdown).
  void drain(std::chrono::milliseconds deadline);

 private:
  BusConnection(ConnectionOptions options, std::shared_ptr<Transport> transport)
      : options_(std::move(options)), transport_(std::move(transport)) {}

  const ConnectionOptions options_;
  std::shared_ptr<Transport> transport_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Bus>> buses_;  // guarded by mu_
};

}  // namespace oaio::host

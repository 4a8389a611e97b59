// Helpers for bus tests: two buses (a "client" and a "server" agent) on one transport,
// and small JSON helpers. The transport defaults to the in-process one; integration
// tests pass a NATS transport.
//
// The core bus suites are built twice (tests/CMakeLists.txt): as they are, where the
// in-process transport hands envelopes over as objects, and with OAIO_TEST_INMEM_CODEC,
// where it encodes and decodes every one as over NATS. test_inmem_transport() is the
// switch.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "oaio/bus.h"
#include "oaio/inmem_transport.h"

namespace oaio::test {

inline std::shared_ptr<Transport> test_inmem_transport(InmemOptions options = {}) {
#ifdef OAIO_TEST_INMEM_CODEC
  options.carry_envelopes = false;
#endif
  return make_inmem_transport(options);
}

inline BusOptions bus_options(std::string agent_id, std::string tenant = {}) {
  BusOptions o;
  o.agent_id = std::move(agent_id);
  o.tenant = std::move(tenant);
  o.default_timeout = std::chrono::seconds(5);
  return o;
}

inline std::unique_ptr<Bus> open_bus(std::shared_ptr<Transport> transport, BusOptions options) {
  auto bus = Bus::open(std::move(transport), std::move(options));
  EXPECT_TRUE(bus.ok()) << bus.status().to_string();
  return std::move(bus).value();
}

inline nlohmann::json payload_json(const Envelope& e) {
  return e.payload.empty() ? nlohmann::json() : nlohmann::json::parse(e.payload);
}

// Client and server buses sharing one transport.
class BusPair : public ::testing::Test {
 protected:
  void SetUp() override {
    transport_ = make_transport();
    server_ = open_bus(transport_, bus_options("server-agent"));
    client_ = open_bus(transport_, bus_options("client-agent"));
  }
  virtual std::shared_ptr<Transport> make_transport() { return test_inmem_transport(); }

  std::shared_ptr<Transport> transport_;
  std::unique_ptr<Bus> server_;
  std::unique_ptr<Bus> client_;
};

}  // namespace oaio::test

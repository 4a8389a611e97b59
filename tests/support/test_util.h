// Small helpers shared by tests: waiting on a condition with a deadline (never sleep
// for async work), free loopback ports, paths to test data.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace oaio::test {

// Polls `cond` every millisecond until it is true or `timeout` passes; returns its
// last value. For asserting on asynchronous outcomes without fixed sleeps.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
// Never 4222, so a developer's own nats-server is never touched.
int free_loopback_port();

// Reads a whole file; empty string if it cannot be read.
std::string read_file(const std::string& path);

// Absolute path of a file under tests/ (e.g. "golden/response_final.json").
std::string test_data_path(const std::string& relative);

}  // namespace oaio::test

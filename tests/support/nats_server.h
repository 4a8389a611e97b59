// NatsServer: a real nats-server (/usr/sbin/nats-server, or $OAIO_NATS_SERVER) for one test, listening only on
// 127.0.0.1 on a free port (never 4222). The server runs in its own process group and
// dies with the test binary (PR_SET_PDEATHSIG), and the destructor always stops it, so
// a failing or crashing test leaves no server behind. Its output goes to log_path();
// the directory holding it is kept when the test failed.
//
// Thread-safety: none; drive one NatsServer from the test's main thread. (The death
// signal is tied to the thread that started the server, so start it from a thread that
// outlives it.)
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace oaio::test {

struct NatsServerOptions {
  int port = 0;                          // 0 = pick a free loopback port
  long max_payload = 0;                  // bytes; 0 = the server default (1 MiB)
  std::string user, password;            // user/password authorization
  std::string token;                     // token authorization (not with user/nkeys)
  std::vector<std::string> nkeys;        // public NKeys ("U...") allowed to connect
  std::string tls_cert_file;             // server certificate (PEM); enables TLS
  std::string tls_key_file;              // its private key
  std::string tls_ca_file;               // CA for client certificates (with tls_verify)
  bool tls_verify = false;               // require client certificates
};

class NatsServer {
 public:
  explicit NatsServer(NatsServerOptions options = {});
  ~NatsServer();  // stops the server (SIGTERM, then SIGKILL) and reaps it
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Starts the server on options.port (or a free loopback port) and waits until it
  // accepts clients.
  // On failure the message carries the server's log. Use: ASSERT_TRUE(server.start()).
  ::testing::AssertionResult start();
  // Starts again on the same port (after stop() or kill()).
  ::testing::AssertionResult restart();
  // Graceful: SIGTERM, SIGKILL after `grace`; returns once the process is reaped.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL now, as in a crash; returns once the process is reaped.
  void kill();

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const;  // "nats://127.0.0.1:<port>"
  const std::string& log_path() const { return log_path_; }
  std::string log() const;  // the whole server log so far

 private:
  ::testing::AssertionResult launch();  // on port_
  void write_config() const;

  NatsServerOptions options_;
  std::string dir_;          // private temp directory: config and log
  std::string config_path_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace oaio::test

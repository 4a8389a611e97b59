// The NATS transport against servers that demand credentials: user/password, token,
// NKey, and TLS with a throwaway CA made by the openssl CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "oaio/nats_transport.h"
#include "support/nats_server.h"
#include "support/test_util.h"
#include "support/transport_probe.h"

namespace oaio {
namespace {

using namespace std::chrono_literals;
using test::MessageLog;
using test::NatsServer;
using test::wait_until;
using ::testing::AnyOf;
using ::testing::HasSubstr;

// A user NKey pair (the nats.c / nkeys test vector) and a second, unrelated seed.
constexpr const char* kUserSeed = "SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY";
constexpr const char* kUserPublic = "UAT6BWCSCWLUKJT6K6MBJJOEOTXZ5AJDOYKNEVRFC7VNO6OA43N4TRNO";
constexpr const char* kOtherSeed = "SUACH75SWCM5D2JMJM6EKLR2WDARVGZT4QC6LX3AGHSWOMVAKERABBBRWM";

NatsOptions options_for(const NatsServer& server) {
  NatsOptions o;
  o.servers = {server.url()};
  o.max_reconnect = 0;  // a rejected connect must not turn into background retries
  return o;
}

// Connects, then proves the connection carries messages.
void expect_round_trip(const NatsOptions& o) {
  auto t = connect_nats(o);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  auto log = MessageLog::make();
  auto sub = (*t)->subscribe("oaio.auth", "", log->handler());
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE((*t)->publish("oaio.auth", "", "hi").ok());
  ASSERT_TRUE(wait_until([&] { return log->size() == 1; }));
}

void expect_rejected(const NatsOptions& o) {
  auto t = connect_nats(o);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kTransportFailure);
  EXPECT_THAT(t.status().message(), AnyOf(HasSubstr("uthoriz"), HasSubstr("uthentication")));
  EXPECT_THAT(t.status().message(), HasSubstr(o.servers.front()));
}

TEST(NatsTransportAuthTest, UserPassword) {
  test::NatsServerOptions so;
  so.user = "alice";
  so.password = "s3cret";
  NatsServer server(so);
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  o.user = "alice";
  o.password = "s3cret";
  expect_round_trip(o);
  o.password = "wrong";
  expect_rejected(o);
  o.user.clear();
  o.password.clear();
  expect_rejected(o);
}

TEST(NatsTransportAuthTest, Token) {
  test::NatsServerOptions so;
  so.token = "t0ken-xyz";
  NatsServer server(so);
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  o.token = "t0ken-xyz";
  expect_round_trip(o);
  o.token = "nope";
  expect_rejected(o);
}

TEST(NatsTransportAuthTest, NKeySeed) {
  test::NatsServerOptions so;
  so.nkeys = {kUserPublic};
  NatsServer server(so);
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  o.nkey_seed = kUserSeed;
  expect_round_trip(o);
  o.nkey_seed = kOtherSeed;  // a valid seed the server does not know
  expect_rejected(o);
}

// A private directory with a throwaway CA and a certificate for localhost/127.0.0.1.
class TestPki {
 public:
  TestPki() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/oaio-pki-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }
  ~TestPki() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  ::testing::AssertionResult generate() {
    if (dir_.empty()) return ::testing::AssertionFailure() << "mkdtemp failed";
    std::ofstream(dir_ + "/server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                           "basicConstraints=CA:FALSE\n"
                                           "extendedKeyUsage=serverAuth\n";
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    for (const std::string& cmd : {
             "openssl req -x509 " + ec + " -keyout ca.key -out ca.pem -days 1 -subj /CN=oaio-test-ca" +
                 " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
             "openssl req " + ec + " -keyout server.key -out server.csr -subj /CN=localhost",
             std::string("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                         " -out server.pem -days 1 -extfile server.ext"),
         }) {
      const std::string full = "cd '" + dir_ + "' && " + cmd + " >>openssl.log 2>&1";
      if (std::system(full.c_str()) != 0) {
        return ::testing::AssertionFailure() << cmd << " failed:\n" << test::read_file(dir_ + "/openssl.log");
      }
    }
    return ::testing::AssertionSuccess();
  }
  std::string path(const char* name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

TEST(NatsTransportAuthTest, TlsWithPrivateCa) {
  TestPki pki;
  ASSERT_TRUE(pki.generate());
  test::NatsServerOptions so;
  so.tls_cert_file = pki.path("server.pem");
  so.tls_key_file = pki.path("server.key");
  NatsServer server(so);
  ASSERT_TRUE(server.start());

  auto o = options_for(server);
  o.tls.ca_file = pki.path("ca.pem");
  expect_round_trip(o);

  auto tls_url = o;
  tls_url.servers = {"tls://localhost:" + std::to_string(server.port())};
  expect_round_trip(tls_url);

  auto untrusted = options_for(server);  // the system CAs do not know our CA
  untrusted.tls.enabled = true;
  auto t = connect_nats(untrusted);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kTransportFailure);

  auto skip = untrusted;
  skip.tls.skip_verify = true;
  expect_round_trip(skip);

  auto plain = options_for(server);  // the server requires TLS
  auto p = connect_nats(plain);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kTransportFailure);
}

}  // namespace
}  // namespace oaio

// The HTTP/SSE gateway (WIRE.md §10) through a real HTTP client (cpp-httplib's) against
// handlers served on the in-process bus: routes and status codes, verbatim payloads,
// header mapping, bearer auth, size limits, error mapping, SSE framing, synthetic
// error frames, keep-alive comments, [E2] cancel on disconnect, and shutdown.
#include "gateway.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "catalog.h"
#include "metrics.h"
#include "oaio/inmem_transport.h"
#include "support/bus_fixture.h"
#include "support/test_util.h"

namespace oaio::host {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;
using std::chrono::milliseconds;
using test::wait_until;

constexpr const char* kJson = "application/json";

// A handler's view of its request, as JSON (so a test can check every mapped field).
Envelope echo_fields(const Envelope& r) {
  nlohmann::ordered_json j{{"event_type", r.event_type}, {"frame_type", r.frame_type},
                           {"from", r.from},             {"to", r.to},
                           {"trace_id", r.trace_id},     {"traceparent", r.traceparent},
                           {"tenant_id", r.tenant_id},   {"session_id", r.session_id},
                           {"conversation_id", r.conversation_id},
                           {"user_id", r.user_id},       {"channel", r.channel},
                           {"payload", r.payload}};
  return result_payload(j.dump());
}

// The blocks of an SSE body ("\n\n"-separated), each as its lines.
std::vector<std::vector<std::string>> sse_blocks(const std::string& body) {
  std::vector<std::vector<std::string>> blocks;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::vector<std::string> lines;
    std::size_t p = pos;
    while (p < end) {
      std::size_t nl = body.find('\n', p);
      if (nl == std::string::npos || nl > end) nl = end;
      lines.push_back(body.substr(p, nl - p));
      p = nl + 1;
    }
    blocks.push_back(std::move(lines));
    pos = end + 2;
  }
  return blocks;
}

// The envelope of an SSE event block's "data: " line.
Envelope data_of(const std::vector<std::string>& block) {
  for (const auto& line : block)
    if (line.rfind("data: ", 0) == 0) {
      auto env = decode_envelope(line.substr(6));
      EXPECT_TRUE(env.ok()) << line;
      if (env.ok()) return env.value();
    }
  ADD_FAILURE() << "no data line";
  return {};
}

json body_json(const httplib::Result& r) { return json::parse(r->body); }

class GatewayTest : public ::testing::Test {
 protected:
  void start(GatewayOptions options = {}, InmemOptions inmem = {}) {
    transport_ = make_inmem_transport(inmem);
    server_ = test::open_bus(transport_, test::bus_options("server-agent"));
    client_ = test::open_bus(transport_, test::bus_options("gateway"));
    GatewayDeps deps;
    deps.bus = client_.get();
    deps.catalog = &catalog_;
    deps.metrics = &metrics_;
    deps.ready = [this] { return ready_.load(); };
    deps.status = [] { return json{{"bridges", json::array({json{{"name", "echo"}, {"state", "running"}}})}}; };
    auto gw = Gateway::start(std::move(options), std::move(deps));
    ASSERT_TRUE(gw.ok()) << gw.status().to_string();
    gateway_ = std::move(gw).value();
    http_ = client();
  }

  std::unique_ptr<httplib::Client> client() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", gateway_->port());
    c->set_read_timeout(std::chrono::seconds(15));
    return c;
  }

  void TearDown() override {
    http_.reset();
    if (gateway_) gateway_->stop();
    std::vector<Done> parked;
    {
      std::lock_guard lock(parked_mu_);  // handlers push from bus threads
      parked.swap(parked_);
    }
    for (auto& done : parked) done(result_payload(""));
  }

  void serve(const std::string& target, InvokeFn fn) {
    auto sub = server_->handle_invoke(target, sync_invoke(std::move(fn)));
    ASSERT_TRUE(sub.ok()) << sub.status().to_string();
    subs_.push_back(std::move(sub).value());
  }
  void serve_stream(const std::string& target, StreamFn fn) {
    auto sub = server_->handle_stream(target, sync_stream(std::move(fn)));
    ASSERT_TRUE(sub.ok()) << sub.status().to_string();
    subs_.push_back(std::move(sub).value());
  }
  // A target whose handler never answers (its Done is called at teardown).
  void serve_never(const std::string& target) {
    auto sub = server_->handle_invoke(target, [this](const std::shared_ptr<Call>&, Done done) {
      std::lock_guard lock(parked_mu_);
      parked_.push_back(std::move(done));
    });
    ASSERT_TRUE(sub.ok());
    subs_.push_back(std::move(sub).value());
  }

  httplib::Result post(const std::string& path, const std::string& body, httplib::Headers headers = {}) {
    return http_->Post(path.c_str(), headers, body, kJson);
  }

  std::shared_ptr<Transport> transport_;
  std::unique_ptr<Bus> server_;
  std::unique_ptr<Bus> client_;
  MetricsRegistry metrics_;
  Catalog catalog_;
  std::atomic<bool> ready_{true};
  std::vector<Subscription> subs_;
  std::mutex parked_mu_;
  std::vector<Done> parked_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<httplib::Client> http_;
};

// ---- Invoke ----

TEST_F(GatewayTest, InvokeReturnsReplyPayloadBytesVerbatim) {
  start();
  const std::string reply = R"({"z": 1,"a":"h\u00e9llo ✓ 雪","m":[1, 2]})";
  std::string seen;
  serve("echo", [&](Call& c) -> Result<Envelope> {
    seen = c.request().payload;
    return result_payload(reply);
  });
  const std::string body = R"({"b": 2, "a": "ü"})";
  auto r = post("/v1/agents/echo/invoke", body);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJson);
  EXPECT_EQ(r->body, reply);
  EXPECT_EQ(seen, body);
}

TEST_F(GatewayTest, InvokeWithoutReplyPayloadIs204) {
  start();
  serve("quiet", [](Call&) -> Result<Envelope> { return result_payload(""); });
  auto r = post("/v1/agents/quiet/invoke", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->body, "");
}

TEST_F(GatewayTest, EmptyBodyMeansNoPayloadAndBuildsARequestEnvelope) {
  start();
  serve("echo", [](Call& c) -> Result<Envelope> { return echo_fields(c.request()); });
  auto r = post("/v1/agents/echo/invoke", "");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json j = body_json(r);
  EXPECT_EQ(j["payload"], "");
  EXPECT_EQ(j["event_type"], "agent.message.received");
  EXPECT_EQ(j["frame_type"], "request");
  EXPECT_EQ(j["from"], "gateway");
  EXPECT_EQ(j["to"], "echo");
}

TEST_F(GatewayTest, HeadersMapToEnvelopeFields) {
  start();
  serve("echo", [](Call& c) -> Result<Envelope> { return echo_fields(c.request()); });
  const std::string tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  auto r = post("/v1/agents/echo/invoke", "{}",
                {{"X-Trace-Id", "trace-1"},
                 {"X-Traceparent", tp},
                 {"X-Session-Id", "sess-1"},
                 {"X-Conversation-Id", "conv-1"},
                 {"X-User-Id", "user-1"},
                 {"X-Channel", "web"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = body_json(r);
  EXPECT_EQ(j["trace_id"], "trace-1");
  EXPECT_EQ(j["traceparent"], tp);
  EXPECT_EQ(j["session_id"], "sess-1");
  EXPECT_EQ(j["conversation_id"], "conv-1");
  EXPECT_EQ(j["user_id"], "user-1");
  EXPECT_EQ(j["channel"], "web");
  EXPECT_EQ(j["tenant_id"], "");
  EXPECT_EQ(j["payload"], "{}");
}

TEST_F(GatewayTest, XTraceparentWinsOverTraceparentAndEmptyHeadersAreUnset) {
  start();
  serve("echo", [](Call& c) -> Result<Envelope> { return echo_fields(c.request()); });
  const std::string standard = "00-11111111111111111111111111111111-2222222222222222-01";
  const std::string ours = "00-33333333333333333333333333333333-4444444444444444-00";

  auto only_standard = post("/v1/agents/echo/invoke", "", {{"traceparent", standard}});
  ASSERT_TRUE(only_standard);
  EXPECT_EQ(body_json(only_standard)["traceparent"], standard);

  auto both = post("/v1/agents/echo/invoke", "", {{"traceparent", standard}, {"X-Traceparent", ours}});
  ASSERT_TRUE(both);
  EXPECT_EQ(body_json(both)["traceparent"], ours);

  auto empty_ours = post("/v1/agents/echo/invoke", "",
                         {{"traceparent", standard}, {"X-Traceparent", ""}, {"X-Session-Id", ""}});
  ASSERT_TRUE(empty_ours);
  EXPECT_EQ(body_json(empty_ours)["traceparent"], standard);
  EXPECT_EQ(body_json(empty_ours)["session_id"], "");
}

TEST_F(GatewayTest, TenantHeaderSelectsTheTenantSubject) {
  start();
  auto acme = test::open_bus(transport_, test::bus_options("acme-agent", "acme"));
  auto sub = acme->handle_invoke("echo", sync_invoke([](Call& c) -> Result<Envelope> { return echo_fields(c.request()); }));
  ASSERT_TRUE(sub.ok());
  auto r = post("/v1/agents/echo/invoke", "", {{"X-Tenant-Id", "acme"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_json(r)["tenant_id"], "acme");
  // Nobody serves "echo" without a tenant.
  auto untenanted = post("/v1/agents/echo/invoke", "");
  ASSERT_TRUE(untenanted);
  EXPECT_EQ(untenanted->status, 404);
  sub.value().unsubscribe();
}

// ---- Errors ----

TEST_F(GatewayTest, InvalidJsonBodyIs400) {
  start();
  int calls = 0;
  serve("echo", [&](Call&) -> Result<Envelope> { ++calls; return result_payload("{}"); });
  auto r = post("/v1/agents/echo/invoke", "{not json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJson);
  json j = body_json(r);
  EXPECT_EQ(j["code"], "INVALID_REQUEST");
  EXPECT_EQ(j["retryable"], false);
  EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("JSON"));
  EXPECT_EQ(calls, 0);
}

TEST_F(GatewayTest, MissingOrBadTargetIs400) {
  start();
  auto missing = post("/v1/agents//invoke", "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(body_json(missing)["code"], "INVALID_REQUEST");
  auto wildcard = post("/v1/agents/a*b/invoke", "");
  ASSERT_TRUE(wildcard);
  EXPECT_EQ(wildcard->status, 400);
  EXPECT_EQ(body_json(wildcard)["code"], "INVALID_REQUEST");
  EXPECT_THAT(body_json(wildcard)["message"].get<std::string>(), HasSubstr("target"));
}

TEST_F(GatewayTest, UnservedTargetIs404NoHandler) {
  start();
  auto r = post("/v1/agents/nobody/invoke", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  json j = body_json(r);
  EXPECT_EQ(j["code"], "NO_HANDLER");
  EXPECT_EQ(j["retryable"], false);
}

TEST_F(GatewayTest, BusTimeoutIs504AgentTimeout) {
  GatewayOptions o;
  o.timeout = milliseconds(300);
  start(o);
  serve_never("slow");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = post("/v1/agents/slow/invoke", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  json j = body_json(r);
  EXPECT_EQ(j["code"], "AGENT_TIMEOUT");
  EXPECT_EQ(j["retryable"], true);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(GatewayTest, ErrorReplyKeepsItsStatusAndErrorPayload) {
  start();
  serve("denied", [](Call&) -> Result<Envelope> { return Status::auth("token expired"); });
  auto r = post("/v1/agents/denied/invoke", "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJson);
  EXPECT_EQ(r->body, R"({"code":"AUTH_FAILURE","message":"token expired","retryable":false})");
}

TEST_F(GatewayTest, ErrorReplyWithMissingFieldsOrForeignCode) {
  start();
  auto reply_with = [](std::string payload) {
    return [payload](Call&) -> Result<Envelope> {
      Envelope e;
      e.event_type = std::string(event_type::kResponseError);
      e.payload = payload;
      return e;
    };
  };
  serve("bare", reply_with(R"({"cause":{"x":1}})"));
  serve("foreign", reply_with(R"({"code":"INTERNAL_ERROR","message":"boom","retryable":false})"));

  auto bare = post("/v1/agents/bare/invoke", "");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->status, 502);
  EXPECT_EQ(bare->body, R"({"code":"AGENT_UNAVAILABLE","message":"agent error","retryable":false,"cause":{"x":1}})");

  auto foreign = post("/v1/agents/foreign/invoke", "");
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 500);
  EXPECT_EQ(foreign->body, R"({"code":"INTERNAL_ERROR","message":"boom","retryable":false})");
}

TEST_F(GatewayTest, UnknownPathIs404AndWrongMethodIs405WithDefaultBodies) {
  start();
  auto unknown = http_->Get("/nope");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto get_invoke = http_->Get("/v1/agents/echo/invoke");
  ASSERT_TRUE(get_invoke);
  EXPECT_EQ(get_invoke->status, 405);
  EXPECT_EQ(get_invoke->get_header_value("Allow"), "POST");
  EXPECT_THAT(get_invoke->body, Not(HasSubstr("code")));
  auto post_health = post("/healthz", "");
  ASSERT_TRUE(post_health);
  EXPECT_EQ(post_health->status, 405);
  auto delete_events = http_->Delete("/v1/events/x");
  ASSERT_TRUE(delete_events);
  EXPECT_EQ(delete_events->status, 405);
}

// ---- Auth ----

TEST_F(GatewayTest, BearerAuthGuardsApiAndMetricsButNotProbes) {
  GatewayOptions o;
  o.bearer_token = "s3cret";
  start(o);
  serve("echo", [](Call&) -> Result<Envelope> { return result_payload(R"({"ok":true})"); });

  auto expect_401 = [](const httplib::Result& r, const std::string& what) {
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->status, 401) << what;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer") << what;
    json j = json::parse(r->body);
    EXPECT_EQ(j["code"], "AUTH_FAILURE") << what;
    EXPECT_EQ(j["retryable"], false) << what;
    EXPECT_FALSE(j["message"].get<std::string>().empty()) << what;
  };
  expect_401(post("/v1/agents/echo/invoke", "{}"), "missing");
  expect_401(post("/v1/agents/echo/invoke", "{}", {{"Authorization", "Bearer wrong"}}), "wrong token");
  expect_401(post("/v1/agents/echo/invoke", "{}", {{"Authorization", "Bearer "}}), "empty token");
  expect_401(post("/v1/agents/echo/invoke", "{}", {{"Authorization", "Basic s3cret"}}), "other scheme");
  expect_401(post("/v1/agents/echo/stream", "{}"), "stream");
  expect_401(post("/v1/events/x.y", "{}"), "publish");
  expect_401(http_->Get("/metrics"), "metrics");
  expect_401(http_->Get("/v1/catalog"), "catalog");

  for (const char* auth : {"Bearer s3cret", "bearer s3cret", "BEARER s3cret"}) {
    auto r = post("/v1/agents/echo/invoke", "{}", {{"Authorization", auth}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << auth;
    EXPECT_EQ(r->body, R"({"ok":true})");
  }
  auto metrics = http_->Get("/metrics", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  auto health = http_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = http_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
}

// ---- Size limits ----

TEST_F(GatewayTest, BodyOverMaxBodyBytesIs413AndSendsNothing) {
  GatewayOptions o;
  o.max_body_bytes = 1024;
  start(o);
  std::atomic<int> calls{0};
  serve("echo", [&](Call&) -> Result<Envelope> { ++calls; return result_payload(""); });
  const std::string at_limit = "\"" + std::string(1022, 'a') + "\"";
  const std::string over = "\"" + std::string(1023, 'a') + "\"";
  auto ok = post("/v1/agents/echo/invoke", at_limit);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204);
  auto r = post("/v1/agents/echo/invoke", over);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  json j = body_json(r);
  EXPECT_EQ(j["code"], "INVALID_REQUEST");
  EXPECT_EQ(j["retryable"], false);
  EXPECT_EQ(calls.load(), 1);
  // The connection-level limit also holds for a chunked upload.
  httplib::Client chunked("127.0.0.1", gateway_->port());
  auto c = chunked.Post(
      "/v1/agents/echo/invoke",
      [&](std::size_t, httplib::DataSink& sink) {
        sink.write(over.data(), over.size());
        sink.done();
        return true;
      },
      kJson);
  ASSERT_TRUE(c) << httplib::to_string(c.error());
  EXPECT_EQ(c->status, 413);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(GatewayTest, EnvelopeOverTransportMaxPayloadIs413AndPublishesNothing) {
  InmemOptions inmem;
  inmem.max_payload = 2048;
  start({}, inmem);
  std::atomic<int> calls{0}, events{0};
  serve("echo", [&](Call&) -> Result<Envelope> { ++calls; return result_payload(""); });
  auto sub = server_->subscribe("big.event", [&](const Envelope&) { ++events; });
  ASSERT_TRUE(sub.ok());
  const std::string body = "\"" + std::string(1900, 'a') + "\"";  // fits the body limit, not the envelope

  for (const char* path : {"/v1/agents/echo/invoke", "/v1/agents/echo/stream", "/v1/events/big.event"}) {
    auto r = post(path, body);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 413) << path;
    EXPECT_EQ(body_json(r)["code"], "INVALID_REQUEST") << path;
    EXPECT_THAT(body_json(r)["message"].get<std::string>(), HasSubstr("max_payload")) << path;
  }
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(events.load(), 0);
  auto small = post("/v1/agents/echo/invoke", R"({"a":1})");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 204);
}

// ---- Publish ----

TEST_F(GatewayTest, PublishIs202AndDeliversTheEventVerbatim) {
  start();
  std::mutex mu;
  std::vector<Envelope> got;
  auto sub = server_->subscribe("goc.incident.created", [&](const Envelope& e) {
    std::lock_guard lock(mu);
    got.push_back(e);
  });
  ASSERT_TRUE(sub.ok());
  const std::string body = R"({"id": 7, "title":"disk ✓"})";
  auto r = post("/v1/events/goc.incident.created", body, {{"X-Session-Id", "s-9"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "");
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return !got.empty();
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(got[0].event_type, "goc.incident.created");
  EXPECT_EQ(got[0].payload, body);
  EXPECT_EQ(got[0].session_id, "s-9");
  EXPECT_EQ(got[0].frame_type, "");
  EXPECT_EQ(got[0].from, "");
}

TEST_F(GatewayTest, PublishRejectsBadJsonAndBadEventType) {
  start();
  auto bad_json = post("/v1/events/x.y", "[1,");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);
  auto bad_type = post("/v1/events/x.>", "{}");
  ASSERT_TRUE(bad_type);
  EXPECT_EQ(bad_type->status, 400);
  EXPECT_EQ(body_json(bad_type)["code"], "INVALID_REQUEST");
}

// ---- SSE ----

// One kept-alive client making many calls in a row, as a chat front end does: every
// response must come back on the reused connection (a server that closed it after a
// request budget while announcing keep-alive made the client's next request fail).
TEST_F(GatewayTest, ManyStreamsOnOneKeptAliveConnection) {
  start();
  serve_stream("story", [](Call&, StreamWriter& w) -> Status { return w.final(R"({"ok":true})"); });
  auto c = client();
  c->set_keep_alive(true);
  for (int i = 0; i < 150; ++i) {
    auto r = c->Post("/v1/agents/story/stream", R"({"i":1})", kJson);
    ASSERT_TRUE(r) << "request " << i << ": " << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << "request " << i;
    EXPECT_EQ(r->get_header_value_count("Connection"), 1u) << "request " << i;
    ASSERT_NE(r->body.find("agent.response.final"), std::string::npos) << "request " << i;
  }
  auto inv = c->Post("/v1/agents/story/invoke", R"({"i":2})", kJson);
  ASSERT_TRUE(inv) << httplib::to_string(inv.error());
  EXPECT_EQ(inv->status, 200);
}

TEST_F(GatewayTest, StreamSendsHeadersAndExactFramesAndEndsAfterFinal) {
  start();
  serve_stream("story", [](Call&, StreamWriter& w) -> Status {
    OAIO_RETURN_IF_ERROR(w.delta(R"({"delta":"a"})"));
    OAIO_RETURN_IF_ERROR(w.delta("{\"delta\": \"b c\",\n \"n\": [1, 2]}"));
    return w.final(R"({"result":{"text":"ab ✓"}})");
  });
  auto keep_alive_client = client();
  keep_alive_client->set_keep_alive(true);
  auto r = keep_alive_client->Post("/v1/agents/story/stream", R"({"q":1})", kJson);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
  EXPECT_EQ(r->get_header_value("Connection"), "keep-alive");
  EXPECT_EQ(r->get_header_value("X-Accel-Buffering"), "no");
  EXPECT_FALSE(r->has_header("Content-Encoding"));
  keep_alive_client.reset();

  auto blocks = sse_blocks(r->body);
  ASSERT_EQ(blocks.size(), 3u) << r->body;
  const char* types[] = {"agent.response.delta", "agent.response.delta", "agent.response.final"};
  std::string request_id;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto& b = blocks[i];
    ASSERT_EQ(b.size(), 4u) << r->body;
    EXPECT_EQ(b[0], std::string("event: ") + types[i]);
    Envelope env = data_of(b);
    EXPECT_EQ(b[1], "id: " + env.event_id);
    EXPECT_EQ(b[2], "retry: 3000");
    // The data line is the compact encoding of the frame.
    auto again = encode_envelope(env);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(b[3], "data: " + again.value());
    EXPECT_EQ(env.seq, i);
    EXPECT_EQ(env.is_final, i == 2);
    EXPECT_EQ(env.from, "server-agent");
    if (i == 0) request_id = env.correlation_id;
    EXPECT_EQ(env.correlation_id, request_id);
  }
  EXPECT_EQ(data_of(blocks[1]).payload, R"({"delta":"b c","n":[1,2]})");
  EXPECT_EQ(data_of(blocks[2]).payload, R"({"result":{"text":"ab ✓"}})");
  EXPECT_EQ(r->body.substr(r->body.size() - 2), "\n\n");
}

TEST_F(GatewayTest, StreamRetryZeroOmitsTheRetryLine) {
  GatewayOptions o;
  o.sse_retry = milliseconds(0);
  start(o);
  serve_stream("one", [](Call&, StreamWriter& w) -> Status { return w.final(R"({"x":1})"); });
  auto r = post("/v1/agents/one/stream", "");
  ASSERT_TRUE(r);
  auto blocks = sse_blocks(r->body);
  ASSERT_EQ(blocks.size(), 1u);
  ASSERT_EQ(blocks[0].size(), 3u);
  EXPECT_THAT(blocks[0][1], StartsWith("id: "));
  EXPECT_THAT(blocks[0][2], StartsWith("data: "));
}

TEST_F(GatewayTest, StreamErrorFrameOfTheAgentIsForwarded) {
  start();
  serve_stream("fails", [](Call&, StreamWriter& w) -> Status {
    OAIO_RETURN_IF_ERROR(w.delta(R"({"delta":"x"})"));
    return Status::unavailable("boom");
  });
  auto r = post("/v1/agents/fails/stream", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto blocks = sse_blocks(r->body);
  ASSERT_EQ(blocks.size(), 2u) << r->body;
  EXPECT_EQ(blocks[1][0], "event: agent.response.error");
  Envelope err = data_of(blocks[1]);
  EXPECT_EQ(err.from, "server-agent");
  EXPECT_TRUE(err.is_final);
  EXPECT_EQ(json::parse(err.payload)["message"], "boom");
}

TEST_F(GatewayTest, StreamTimeoutWritesSyntheticErrorFrameAndCancelsTheHandler) {
  GatewayOptions o;
  o.timeout = milliseconds(500);
  start(o);
  std::atomic<bool> cancelled{false};
  serve_stream("slow", [&](Call& c, StreamWriter& w) -> Status {
    OAIO_RETURN_IF_ERROR(w.delta(R"({"delta":"first"})"));
    if (wait_until([&] { return c.cancelled(); }, std::chrono::seconds(10))) cancelled = true;
    return Status();
  });
  auto r = post("/v1/agents/slow/stream", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto blocks = sse_blocks(r->body);
  ASSERT_EQ(blocks.size(), 2u) << r->body;
  const std::string request_id = data_of(blocks[0]).correlation_id;
  ASSERT_EQ(blocks[1].size(), 4u);
  EXPECT_EQ(blocks[1][0], "event: agent.response.error");
  Envelope err = data_of(blocks[1]);
  EXPECT_EQ(blocks[1][1], "id: " + err.event_id);
  EXPECT_EQ(err.event_type, "agent.response.error");
  EXPECT_EQ(err.frame_type, "response.error");
  EXPECT_TRUE(err.is_final);
  EXPECT_EQ(err.correlation_id, request_id);
  EXPECT_EQ(err.from, "");
  json p = json::parse(err.payload);
  EXPECT_EQ(p["code"], "AGENT_TIMEOUT");
  EXPECT_EQ(p["retryable"], true);
  EXPECT_TRUE(wait_until([&] { return cancelled.load(); }));
}

TEST_F(GatewayTest, StreamIdleTimeoutWritesSyntheticAgentTimeout) {
  GatewayOptions o;
  o.idle_timeout = milliseconds(300);
  start(o);
  serve_stream("stalls", [&](Call& c, StreamWriter& w) -> Status {
    OAIO_RETURN_IF_ERROR(w.delta(R"({"delta":"first"})"));
    (void)wait_until([&] { return c.cancelled(); }, std::chrono::seconds(10));
    return Status();
  });
  auto r = post("/v1/agents/stalls/stream", "");
  ASSERT_TRUE(r);
  auto blocks = sse_blocks(r->body);
  ASSERT_EQ(blocks.size(), 2u) << r->body;
  EXPECT_EQ(json::parse(data_of(blocks[1]).payload)["code"], "AGENT_TIMEOUT");
}

TEST_F(GatewayTest, SlowStreamGetsKeepAliveCommentsNotHeartbeatEvents) {
  GatewayOptions o;
  o.heartbeat = milliseconds(250);
  start(o);
  serve_stream("slow", [](Call&, StreamWriter& w) -> Status {
    std::this_thread::sleep_for(milliseconds(1100));  // the slowness under test
    return w.final(R"({"done":true})");
  });
  auto r = post("/v1/agents/slow/stream", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, Not(HasSubstr("heartbeat")));
  auto blocks = sse_blocks(r->body);
  ASSERT_GE(blocks.size(), 3u) << r->body;
  for (std::size_t i = 0; i + 1 < blocks.size(); ++i) EXPECT_EQ(blocks[i], std::vector<std::string>{": keep-alive"});
  EXPECT_EQ(blocks.back()[0], "event: agent.response.final");
}

TEST_F(GatewayTest, ClientDisconnectCancelsTheStreamHandler) {
  start();
  std::atomic<bool> cancelled{false};
  serve_stream("endless", [&](Call& c, StreamWriter& w) -> Status {
    OAIO_RETURN_IF_ERROR(w.delta(R"({"delta":"first"})"));
    if (wait_until([&] { return c.cancelled(); }, std::chrono::seconds(10))) cancelled = true;
    return Status();
  });
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/agents/endless/stream";
  req.body = "{}";
  req.set_header("Content-Type", kJson);
  std::string received;
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    received.append(data, n);
    return received.find("data: ") == std::string::npos;  // hang up after the first frame
  };
  auto r = http_->send(req);
  EXPECT_THAT(received, HasSubstr("event: agent.response.delta"));
  http_.reset();  // make sure the socket is closed
  EXPECT_TRUE(wait_until([&] { return cancelled.load(); }));
}

TEST_F(GatewayTest, StreamToUnservedTargetIs404BeforeAnyFrame) {
  start();
  auto r = post("/v1/agents/nobody/stream", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(body_json(r)["code"], "NO_HANDLER");
}

TEST_F(GatewayTest, StopEndsOpenStreamsWithASyntheticFrame) {
  start();
  std::atomic<bool> streaming{false}, cancelled{false};
  serve_stream("endless", [&](Call& c, StreamWriter& w) -> Status {
    OAIO_RETURN_IF_ERROR(w.delta(R"({"delta":"first"})"));
    streaming = true;
    if (wait_until([&] { return c.cancelled(); }, std::chrono::seconds(10))) cancelled = true;
    return Status();
  });
  std::string body;
  int status = 0;
  std::thread reader([&] {
    auto c = client();
    auto r = c->Post("/v1/agents/endless/stream", "{}", kJson);
    if (r) {
      status = r->status;
      body = r->body;
    }
  });
  ASSERT_TRUE(wait_until([&] { return streaming.load(); }));
  const auto t0 = std::chrono::steady_clock::now();
  gateway_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  reader.join();
  EXPECT_EQ(status, 200);
  auto blocks = sse_blocks(body);
  ASSERT_EQ(blocks.size(), 2u) << body;
  json p = json::parse(data_of(blocks[1]).payload);
  EXPECT_EQ(p["code"], "AGENT_UNAVAILABLE");
  EXPECT_THAT(p["message"].get<std::string>(), HasSubstr("shutting down"));
  EXPECT_TRUE(wait_until([&] { return cancelled.load(); }));
}

// ---- Probes, metrics, catalog ----

TEST_F(GatewayTest, HealthAndReadiness) {
  start();
  auto health = http_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body), json({{"status", "ok"}}));

  const json status = {{"bridges", json::array({json{{"name", "echo"}, {"state", "running"}}})}};
  auto ready = http_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(json::parse(ready->body), status);
  ready_ = false;
  auto not_ready = http_->Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(json::parse(not_ready->body), status);
}

TEST_F(GatewayTest, MetricsExposeTheRecordedFamilies) {
  start();
  serve("echo", [](Call&) -> Result<Envelope> { return result_payload(R"({"a":1})"); });
  ASSERT_TRUE(post("/v1/agents/echo/invoke", "{}"));
  ASSERT_TRUE(post("/v1/agents/nobody/invoke", "{}"));
  std::string text;
  std::string content_type;
  // The access counter is recorded after each response is written, on the thread of
  // that response's connection: poll until both requests are counted (the first one's
  // count may come after the second's).
  ASSERT_TRUE(wait_until([&] {
    auto r = http_->Get("/metrics");
    if (!r || r->status != 200) return false;
    text = r->body;
    content_type = r->get_header_value("Content-Type");
    return text.find(R"(status="404")") != std::string::npos && text.find(R"(status="200")") != std::string::npos;
  })) << text;
  EXPECT_EQ(content_type, "text/plain; version=0.0.4");
  EXPECT_THAT(text, HasSubstr(R"(oaio_http_requests_total{route="/v1/agents/{target}/invoke",status="200"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_http_requests_total{route="/v1/agents/{target}/invoke",status="404"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_messages_out_total{target="echo"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_messages_in_total{target="echo"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_messages_out_total{target="other"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_errors_total{code="NO_HANDLER"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_request_duration_seconds_count{target="echo"} 1)"));
}

TEST_F(GatewayTest, CatalogListsTheTargets) {
  start();
  CatalogEntry e;
  e.target = "mcp-fs.read_file";
  e.bridge = "mcp-fs";
  e.plugin = "mcp";
  e.invoke = true;
  e.description = "read a file";
  catalog_.put(e);
  auto r = http_->Get("/v1/catalog");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), kJson);
  EXPECT_EQ(json::parse(r->body), catalog_.to_json());
  EXPECT_EQ(json::parse(r->body)["targets"][0]["target"], "mcp-fs.read_file");
}

// ---- Lifecycle ----

TEST_F(GatewayTest, StartFailsClearlyWhenThePortIsTaken) {
  start();
  GatewayOptions o;
  o.port = gateway_->port();
  GatewayDeps d;
  d.bus = client_.get();
  auto second = Gateway::start(o, d);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(o.port)));
}

TEST(ParseListenAddressTest, AcceptsHostPortColonPortAndPort) {
  auto full = parse_listen_address("0.0.0.0:8080");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full.value(), std::make_pair(std::string("0.0.0.0"), std::uint16_t{8080}));
  auto colon = parse_listen_address(":9090");
  ASSERT_TRUE(colon.ok());
  EXPECT_EQ(colon.value(), std::make_pair(std::string("127.0.0.1"), std::uint16_t{9090}));
  auto bare = parse_listen_address("7070");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare.value(), std::make_pair(std::string("127.0.0.1"), std::uint16_t{7070}));
  auto v6 = parse_listen_address("[::1]:8081");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6.value(), std::make_pair(std::string("::1"), std::uint16_t{8081}));
  for (const char* bad : {"", "host:", "host:port", "1:2:3", "70000", "[::1]"}) {
    auto r = parse_listen_address(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest);
    EXPECT_THAT(r.status().message(), HasSubstr("listen address")) << bad;
  }
}

}  // namespace
}  // namespace oaio::host

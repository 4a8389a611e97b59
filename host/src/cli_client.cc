// The client verbs: call, stream, publish, listen, catalog. They talk to the bus over
// NATS (--nats or $OAIO_NATS_URL), or through a host's HTTP gateway (--http or
// $OAIO_HTTP_URL, cli_http.cc): the in-process bus of a running `oaio run` lives in that
// process only, and its gateway is the way in from outside.
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <algorithm>

#include "cli.h"

namespace oaio::host {

int report_error(const Status& s) {
  std::cerr << "error: " << s.code_name() << ": " << s.message() << "\n";
  return kExitError;
}

namespace {

Result<std::unique_ptr<BusConnection>> connect(const ClientOptions& o) {
  if (o.connection.nats_url.empty()) {
    return Status::invalid(
        "no bus to talk to: give --nats URL or set OAIO_NATS_URL, or --http ADDR / OAIO_HTTP_URL for a host's "
        "gateway (the in-process bus of `oaio run` is reachable from outside only through `oaio run --http ADDR`)");
  }
  ConnectionOptions c = o.connection;
  c.default_timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
  c.logger = make_stderr_logger(LogLevel::kError);
  return BusConnection::open(c);
}

Result<Envelope> request_envelope(const ClientOptions& o) {
  Envelope e;
  if (!o.json.empty()) {
    if (!is_valid_json(o.json)) return Status::invalid("the payload is not valid JSON: " + o.json);
    e.payload = o.json;
  }
  e.tenant_id = o.tenant;
  e.session_id = o.session;
  e.conversation_id = o.conversation;
  return e;
}

CallOptions call_options(const ClientOptions& o) {
  CallOptions c;
  c.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
  return c;
}

std::string envelope_line(const Envelope& e) {
  auto bytes = encode_envelope(e);
  return bytes.ok() ? bytes.value() : std::string("{}");
}

}  // namespace

int cmd_call(const ClientOptions& o) {
  if (!o.http_url.empty()) return http_call(o);
  auto conn = connect(o);
  if (!conn.ok()) return report_error(conn.status());
  auto req = request_envelope(o);
  if (!req.ok()) return report_error(req.status());
  auto reply = conn.value()->default_bus().invoke(o.target_or_event, std::move(req).value(), call_options(o));
  if (!reply.ok()) return report_error(reply.status());
  if (Status s = reply_status(reply.value()); !s.ok()) return report_error(s);
  std::cout << (reply.value().payload.empty() ? "null" : reply.value().payload) << "\n";
  return kExitOk;
}

int cmd_stream(const ClientOptions& o) {
  if (!o.http_url.empty()) return http_stream(o);
  auto conn = connect(o);
  if (!conn.ok()) return report_error(conn.status());
  auto req = request_envelope(o);
  if (!req.ok()) return report_error(req.status());
  auto stream = conn.value()->default_bus().stream_invoke(o.target_or_event, std::move(req).value(), call_options(o));
  if (!stream.ok()) return report_error(stream.status());
  Status last;
  while (true) {
    auto next = stream.value()->next();
    if (!next.ok()) return report_error(next.status());
    if (!next.value()) break;
    const Envelope& frame = *next.value();
    std::cout << envelope_line(frame) << std::endl;  // one line per frame, as it arrives
    last = reply_status(frame);
  }
  return last.ok() ? kExitOk : report_error(last);
}

int cmd_publish(const ClientOptions& o) {
  if (!o.http_url.empty()) return http_publish(o);
  auto conn = connect(o);
  if (!conn.ok()) return report_error(conn.status());
  auto e = request_envelope(o);
  if (!e.ok()) return report_error(e.status());
  Envelope event = std::move(e).value();
  event.event_type = o.target_or_event;
  Bus& bus = conn.value()->default_bus();
  if (Status s = bus.publish(std::move(event)); !s.ok()) return report_error(s);
  if (Status s = bus.transport().flush(std::chrono::seconds(5)); !s.ok()) return report_error(s);
  return kExitOk;
}

int cmd_listen(const ClientOptions& o) {
  if (!o.http_url.empty()) {
    return report_error(Status::invalid("listen subscribes on the bus, which the HTTP gateway does not offer: use --nats URL"));
  }
  block_shutdown_signals();
  auto conn = connect(o);
  if (!conn.ok()) return report_error(conn.status());
  std::mutex mu;
  std::condition_variable cv;
  int seen = 0;
  Bus* bus = o.tenant.empty() ? &conn.value()->default_bus() : conn.value()->bus_for(o.tenant).value();
  auto sub = bus->subscribe(o.target_or_event, [&](const Envelope& event) {
    std::lock_guard lock(mu);
    std::cout << envelope_line(event) << std::endl;
    ++seen;
    cv.notify_all();
  });
  if (!sub.ok()) return report_error(sub.status());
  (void)bus->transport().flush(std::chrono::seconds(5));
  std::cerr << "listening on " << o.target_or_event << "\n";
  if (o.count > 0) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return seen >= o.count; });
    return kExitOk;
  }
  wait_for_shutdown_signal();
  return kExitOk;
}

// Collects the answers of every host on the bus to a catalog query for `o.wait_s`.
Result<nlohmann::json> bus_catalog_targets(const ClientOptions& o) {
  auto conn = connect(o);
  if (!conn.ok()) return conn.status();
  Bus& bus = conn.value()->default_bus();
  std::mutex mu;
  nlohmann::json targets = nlohmann::json::array();
  std::string inbox = bus.transport().new_inbox();
  auto sub = bus.transport().subscribe(inbox, {}, [&](const TransportMessage& m) {
    auto answer = decode_envelope(m.data);
    if (!answer.ok()) return;
    auto j = nlohmann::json::parse(answer.value().payload, nullptr, false);
    if (!j.is_object() || !j.contains("targets")) return;
    std::lock_guard lock(mu);
    for (auto& t : j["targets"]) {
      t["host"] = answer.value().from;
      targets.push_back(t);
    }
  });
  if (!sub.ok()) return sub.status();
  Envelope query;
  query.event_type = kCatalogQueryEvent;
  query.reply_to = inbox;
  if (Status s = bus.publish(std::move(query)); !s.ok()) return s;
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long long>(o.wait_s * 1000)));
  sub.value()->unsubscribe();
  std::lock_guard lock(mu);
  return targets;
}

int cmd_catalog(const ClientOptions& o) {
  auto found = o.http_url.empty() ? bus_catalog_targets(o) : http_catalog_targets(o);
  if (!found.ok()) return report_error(found.status());
  nlohmann::json targets = std::move(found).value();
  std::sort(targets.begin(), targets.end(),
            [](const nlohmann::json& a, const nlohmann::json& b) { return a["target"] < b["target"]; });
  if (o.json_output) {
    std::cout << nlohmann::json{{"targets", targets}}.dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& t : targets) {
    std::string flows;
    for (const auto& f : t.value("flows", nlohmann::json::array())) flows += (flows.empty() ? "" : ",") + f.get<std::string>();
    std::cout << t.value("target", std::string()) << "  [" << flows << "]  bridge " << t.value("bridge", std::string());
    if (t.contains("description") && t["description"].is_string()) std::cout << "  - " << t["description"].get<std::string>();
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace oaio::host

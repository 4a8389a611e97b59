// The client verbs through a host's HTTP gateway (--http URL or $OAIO_HTTP_URL) instead
// of NATS: the way to reach the in-process bus of `oaio run --http ADDR` from another
// process. Same output and exit codes as over NATS (cli_client.cc): a gateway error
// answer carries the ACP ErrorPayload (WIRE.md §10), printed as "error: CODE: message".
// `listen` has no gateway route and stays NATS-only.
#include <httplib.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli.h"

namespace oaio::host {
namespace {

// "http://host:port" or "host:port" (the form `oaio run --http` takes).
std::string base_url(const std::string& given) {
  return given.find("://") == std::string::npos ? "http://" + given : given;
}

std::unique_ptr<httplib::Client> make_client(const ClientOptions& o) {
  auto c = std::make_unique<httplib::Client>(base_url(o.http_url));
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
  c->set_connection_timeout(std::chrono::seconds(5));
  // The gateway answers 504 at its own call timeout; --timeout bounds the wait here.
  c->set_read_timeout(timeout);
  c->set_tcp_nodelay(true);
  if (!o.http_token.empty()) c->set_bearer_token_auth(o.http_token);
  return c;
}

httplib::Headers context_headers(const ClientOptions& o) {
  httplib::Headers h;
  if (!o.tenant.empty()) h.emplace("X-Tenant-Id", o.tenant);
  if (!o.session.empty()) h.emplace("X-Session-Id", o.session);
  if (!o.conversation.empty()) h.emplace("X-Conversation-Id", o.conversation);
  return h;
}

Status unreachable(const ClientOptions& o, httplib::Error e) {
  return Status(ErrorCode::kTransportFailure,
                "cannot reach the gateway at " + base_url(o.http_url) + ": " + httplib::to_string(e), true);
}

// The Status of a non-2xx gateway answer: its ErrorPayload when it has one.
Status error_answer(const httplib::Result& res) {
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  ErrorCode code = ErrorCode::kAgentUnavailable;
  std::string message = "HTTP " + std::to_string(res->status);
  if (body.is_object()) {
    if (body.contains("code") && body["code"].is_string()) {
      ErrorCode parsed = error_code_from_name(body["code"].get<std::string>());
      if (parsed != ErrorCode::kUnknown && parsed != ErrorCode::kOk) code = parsed;
    }
    if (body.contains("message") && body["message"].is_string()) message = body["message"].get<std::string>();
  }
  return Status(code, message, false);
}

std::string payload_or_null(const ClientOptions& o) { return o.json.empty() ? "null" : o.json; }

Status check_payload(const ClientOptions& o) {
  if (!o.json.empty() && !is_valid_json(o.json)) return Status::invalid("the payload is not valid JSON: " + o.json);
  return Status();
}

}  // namespace

int http_call(const ClientOptions& o) {
  if (Status s = check_payload(o); !s.ok()) return report_error(s);
  auto client = make_client(o);
  auto res = client->Post("/v1/agents/" + o.target_or_event + "/invoke", context_headers(o), payload_or_null(o),
                          "application/json");
  if (!res) return report_error(unreachable(o, res.error()));
  if (res->status != 200) return report_error(error_answer(res));
  std::cout << (res->body.empty() ? "null" : res->body) << "\n";
  return kExitOk;
}

int http_stream(const ClientOptions& o) {
  if (Status s = check_payload(o); !s.ok()) return report_error(s);
  auto client = make_client(o);
  // SSE: frames are blocks of lines ending with an empty line; each block's `data:`
  // line is one envelope (WIRE.md §10). Print each as it completes.
  std::string pending, data;
  Status last;
  int status = 0;
  std::string error_body;
  auto on_line = [&](std::string_view line) {
    if (line.empty()) {
      if (data.empty()) return;
      auto frame = decode_envelope(data);
      if (frame.ok()) {
        std::cout << data << std::endl;
        last = reply_status(frame.value());
      } else {
        last = Status(ErrorCode::kCodecFailure, "the gateway sent a frame that is not an envelope: " + frame.status().message());
      }
      data.clear();
      return;
    }
    if (line.rfind("data:", 0) == 0) {
      std::string_view value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (!data.empty()) data += '\n';
      data += value;
    }
  };
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/agents/" + o.target_or_event + "/stream";
  req.headers = context_headers(o);
  req.headers.emplace("Accept", "text/event-stream");
  req.body = payload_or_null(o);
  req.set_header("Content-Type", "application/json");
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* bytes, std::size_t n, std::uint64_t, std::uint64_t) {
    if (status != 200) {
      error_body.append(bytes, n);
      return true;
    }
    pending.append(bytes, n);
    std::size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string::npos) {
      std::string_view line(pending.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      on_line(line);
      start = nl + 1;
    }
    pending.erase(0, start);
    return true;
  };
  auto res = client->send(req);
  if (!res) return report_error(unreachable(o, res.error()));
  if (status != 200) {
    res->body = error_body;
    return report_error(error_answer(res));
  }
  on_line("");  // a last block without its empty line
  return last.ok() ? kExitOk : report_error(last);
}

int http_publish(const ClientOptions& o) {
  if (Status s = check_payload(o); !s.ok()) return report_error(s);
  auto client = make_client(o);
  auto res = client->Post("/v1/events/" + o.target_or_event, context_headers(o), payload_or_null(o), "application/json");
  if (!res) return report_error(unreachable(o, res.error()));
  if (res->status / 100 != 2) return report_error(error_answer(res));
  return kExitOk;
}

Result<nlohmann::json> http_catalog_targets(const ClientOptions& o) {
  auto client = make_client(o);
  auto res = client->Get("/v1/catalog");
  if (!res) return unreachable(o, res.error());
  if (res->status != 200) return error_answer(res);
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  if (!body.is_object() || !body.contains("targets") || !body["targets"].is_array()) {
    return Status(ErrorCode::kCodecFailure, "the gateway's catalog is not {\"targets\": [...]}", false);
  }
  return body["targets"];
}

}  // namespace oaio::host

#include "outbound.h"

#include "text_rules.h"

namespace oaio::matrix {

using Json = nlohmann::json;

Outbound::Outbound(oaio::plugin::Host& host, const Config& config, Poster& poster)
    : host_(host), config_(config), poster_(poster) {}

void Outbound::dead_letter(const std::string& envelope, const std::string& event_id, const std::string& payload,
                           const std::string& error) {
  dead_.fetch_add(1);
  oaio_status s;
  if (host_.has_dead_letter()) {
    // The bus's dead-letter subject, with the event kept whole (WIRE.md §9).
    s = host_.dead_letter(envelope, error);
  } else {
    // A 1.0 host: an event of its own type carrying the same acp.dlq.* stamps.
    Json meta = {{"acp.dlq.original_event_type", kSendEventType}, {"acp.dlq.last_error", error}};
    if (!event_id.empty()) meta["acp.dlq.original_event_id"] = event_id;
    std::string meta_s = meta.dump();
    oaio::plugin::CallOptions o;
    o.metadata = meta_s;
    o.channel = "matrix";
    s = host_.publish(kSendDeadLetterType, payload.empty() ? std::string("null") : payload, o);
  }
  host_.warn("matrix: matrix.message.send " + event_id + " dead-lettered: " + error +
             (s == OAIO_OK ? "" : " (and the dead-letter publish failed too)"));
}

void Outbound::on_event(std::string_view payload_view, std::string_view envelope_view) {
  std::string payload(payload_view);
  std::string envelope(envelope_view);
  Json env = Json::parse(envelope_view, nullptr, false);
  std::string event_id = env.is_object() ? env.value("event_id", std::string()) : std::string();
  Json p = Json::parse(payload, nullptr, false);
  std::string error;
  if (!p.is_object()) error = "payload is not a JSON object";
  else if (!p.contains("room_id") || !p["room_id"].is_string() || p["room_id"].get<std::string>().empty())
    error = "payload has no room_id";
  else if (!p.contains("text") || !p["text"].is_string()) error = "payload has no text";
  else if (p.contains("html") && !p["html"].is_null() && !p["html"].is_string()) error = "html must be a string";
  if (!error.empty()) {
    dead_letter(envelope, event_id, payload, "invalid matrix.message.send: " + error);
    return;
  }
  std::string room = p["room_id"];
  std::string msgtype = p.contains("msgtype") && p["msgtype"].is_string() ? p["msgtype"].get<std::string>()
                                                                           : config_.outbound_msgtype;
  Json content = text_content(p["text"], p.contains("html") && p["html"].is_string() ? p["html"].get<std::string>() : "",
                              msgtype);
  if (p.contains("reply_to_event_id") && p["reply_to_event_id"].is_string() &&
      !p["reply_to_event_id"].get<std::string>().empty())
    content["m.relates_to"] = {{"m.in_reply_to", {{"event_id", p["reply_to_event_id"]}}}};
  // Without an event id (should not happen on the bus) the content itself keys the txn.
  std::string txn = txn_id("send", event_id.empty() ? content.dump() : event_id);
  poster_.post([this, room, txn, content, envelope, event_id, payload](MatrixClient& c) {
    ApiResult r = c.send_message(room, txn, content);
    if (r.ok()) {
      posted_.fetch_add(1);
      return;
    }
    if (r.aborted) {
      dead_letter(envelope, event_id, payload, "bridge stopped before the message was posted");
      return;
    }
    std::string why = r.errcode.empty() ? r.error : r.errcode + ": " + r.error;
    dead_letter(envelope, event_id, payload,
                "posting to " + room + " failed after " + std::to_string(r.attempts) + " attempts: " + why);
  });
}

}  // namespace oaio::matrix

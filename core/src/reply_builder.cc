#include "reply_builder.h"

#include <random>

namespace oaio::detail {
namespace {

bool is_reserved_key(std::string_view key) { return key.substr(0, 4) == "acp."; }

void fill(std::string& field, const std::string& from) {
  if (field.empty()) field = from;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

Metadata inherited_metadata(const Metadata& request) {
  Metadata out;
  for (const auto& [k, v] : request) {
    if (!is_reserved_key(k)) out.emplace_hint(out.end(), k, v);
  }
  return out;
}

void overlay_metadata(Metadata& inherited, const Metadata& own) {
  for (const auto& [k, v] : own) {
    if (!is_reserved_key(k)) inherited[k] = v;
  }
}

Metadata merged_metadata(const Metadata& request, const Metadata& own) {
  Metadata out = inherited_metadata(request);
  overlay_metadata(out, own);
  return out;
}

Envelope make_reply_shell(const Envelope& request, std::string_view event_type, std::string_view agent_id) {
  Envelope e;
  fill_reply_shell(e, request, event_type, agent_id);
  return e;
}

void fill_reply_shell(Envelope& e, const Envelope& request, std::string_view event_type, std::string_view agent_id) {
  e.event_id = new_event_id();
  e.event_type = std::string(event_type);
  e.frame_type = std::string(canonical_frame_type(event_type));
  e.occurred_at = now_timestamp();
  e.from = std::string(agent_id);
  e.to = request.from;
  e.correlation_id = request.event_id;
  e.session_id = request.session_id;
  e.conversation_id = request.conversation_id;
  e.tenant_id = request.tenant_id;
  e.user_id = request.user_id;
  e.channel = request.channel;
  e.trace_id = request.trace_id;
  e.span_id = request.span_id;
  e.traceparent = request.traceparent;
  e.metadata = inherited_metadata(request.metadata);
}

void complete_reply(Envelope& reply, const Envelope& request, std::string_view agent_id) {
  if (reply.spec_version.empty()) reply.spec_version = std::string(kSpecVersion);
  if (reply.schema_version <= 0) reply.schema_version = kSchemaVersion;
  if (reply.event_id.empty()) reply.event_id = new_event_id();
  if (reply.occurred_at.empty()) reply.occurred_at = now_timestamp();
  if (reply.from.empty()) reply.from = std::string(agent_id);
  fill(reply.to, request.from);
  fill(reply.correlation_id, request.event_id);
  fill(reply.session_id, request.session_id);
  fill(reply.conversation_id, request.conversation_id);
  fill(reply.tenant_id, request.tenant_id);
  fill(reply.trace_id, request.trace_id);
  fill(reply.traceparent, request.traceparent);
  fill(reply.user_id, request.user_id);
  fill(reply.channel, request.channel);
  fill(reply.span_id, request.span_id);
  if (auto canonical = canonical_frame_type(reply.event_type); !canonical.empty()) {
    reply.frame_type = std::string(canonical);
  }
  if (is_terminal_event_type(reply.event_type)) reply.is_final = true;
  reply.metadata = merged_metadata(request.metadata, reply.metadata);
  reply.reply_to.clear();
}

void prepare_request(Envelope& request, std::string_view target, std::string_view agent_id,
                     std::string_view configured_tenant) {
  if (request.spec_version.empty()) request.spec_version = std::string(kSpecVersion);
  if (request.schema_version <= 0) request.schema_version = kSchemaVersion;
  if (request.event_type.empty()) request.event_type = std::string(event_type::kMessageReceived);
  if (request.event_type == event_type::kMessageReceived && request.frame_type.empty()) {
    request.frame_type = std::string(canonical_frame_type(request.event_type));
  }
  if (request.event_id.empty()) request.event_id = new_event_id();
  if (request.occurred_at.empty()) request.occurred_at = now_timestamp();
  if (request.from.empty()) request.from = std::string(agent_id);
  if (request.to.empty()) request.to = std::string(target);
  if (request.tenant_id.empty()) request.tenant_id = std::string(configured_tenant);
}

void inherit_context(Envelope& out, const Envelope& parent) {
  fill(out.session_id, parent.session_id);
  fill(out.conversation_id, parent.conversation_id);
  fill(out.trace_id, parent.trace_id);
  // The parent was received on the configured tenant's subject, so this is the
  // configured tenant too (WIRE.md §3); copying keeps it when the bus has none.
  fill(out.tenant_id, parent.tenant_id);
  if (out.traceparent.empty()) {
    std::string child = child_traceparent(parent.traceparent);
    if (!child.empty()) {
      out.traceparent = child;
      if (out.span_id.empty()) out.span_id = child.substr(36, 16);
    }
  }
  fill(out.span_id, parent.span_id);
}

bool is_valid_traceparent(std::string_view tp) noexcept {
  // 00-<32 hex>-<16 hex>-<2 hex>
  if (tp.size() != 55 || tp.substr(0, 3) != "00-" || tp[35] != '-' || tp[52] != '-') return false;
  auto trace = tp.substr(3, 32), parent = tp.substr(36, 16), flags = tp.substr(53, 2);
  return is_lower_hex(trace) && is_lower_hex(parent) && is_lower_hex(flags) && !all_zero(trace) &&
         !all_zero(parent);
}

std::string child_traceparent(std::string_view tp) {
  if (!is_valid_traceparent(tp)) return {};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t id = 0;
  while (id == 0) id = rng();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(tp);
  for (int i = 0; i < 16; ++i) out[36 + i] = kHex[(id >> (60 - 4 * i)) & 0xf];
  return out;
}

}  // namespace oaio::detail

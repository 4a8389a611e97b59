#include "host_api.h"

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "bridge_host.h"
#include "call_table.h"

namespace oaio::host {
namespace {

std::string_view view(oaio_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }
oaio_str str(std::string_view s) { return oaio_str{s.data(), s.size()}; }

oaio_status to_code(const Status& s) { return plugin_code_for(s.code()); }

// Every trampoline body runs inside this: a host bug must not unwind into plugin frames.
template <typename Fn>
auto no_throw(Fn&& fn, decltype(fn()) on_error) noexcept -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    return on_error;
  }
}

// ---- logging and identity ----

int32_t api_log_enabled(oaio_host* host, int32_t level) {
  return no_throw([&]() -> int32_t { return host ? BridgeHost::from(host)->log_enabled(level) : level >= OAIO_LOG_WARN; }, 0);
}

void api_log(oaio_host* host, int32_t level, oaio_str message) {
  no_throw(
      [&]() -> int {
        if (host) {
          BridgeHost::from(host)->log(level, view(message));
        } else if (level >= OAIO_LOG_WARN) {
          std::fprintf(stderr, "plugin: %.*s\n", static_cast<int>(message.len), message.data);
        }
        return 0;
      },
      0);
}

oaio_str api_bridge_name(oaio_host* host) {
  return host ? str(BridgeHost::from(host)->name()) : oaio_str{nullptr, 0};
}

oaio_status api_register_target(oaio_host* host, const oaio_target_desc* raw) {
  if (!host || !raw) return OAIO_ERR_INVALID_REQUEST;
  return no_throw(
      [&] {
        oaio_target_desc d{};
        std::memcpy(&d, raw, std::min<std::size_t>(raw->struct_size, sizeof d));
        return BridgeHost::from(host)->register_target(d);
      },
      OAIO_ERR_INTERNAL);
}

oaio_status api_unregister_target(oaio_host* host, oaio_str name) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw([&] { return BridgeHost::from(host)->unregister_target(view(name)); }, OAIO_ERR_INTERNAL);
}

// ---- inbound calls ----

// result_payload(body) built inside the Result: converting an Envelope into a
// Result moves its two dozen strings, a few hundred instructions per call.
Result<Envelope> bare_result(std::string_view payload) {
  Result<Envelope> result(std::in_place);
  Envelope& e = result.value();
  e.spec_version.clear();
  e.schema_version = 0;
  e.payload.assign(payload);
  return result;
}

oaio_status api_call_info(oaio_call* call, oaio_call_info* info) {
  if (!info || info->struct_size == 0) return OAIO_ERR_INVALID_REQUEST;
  return no_throw(
      [&] {
        auto pc = call_table().get(call);
        if (!pc) return OAIO_ERR_CLOSED;
        const Envelope& r = pc->call->request();
        oaio_call_info out{};
        out.struct_size = info->struct_size;
        out.target = str(pc->call->target());
        out.payload = str(r.payload);
        out.event_id = str(r.event_id);
        out.session_id = str(r.session_id);
        out.conversation_id = str(r.conversation_id);
        out.tenant_id = str(r.tenant_id);
        out.user_id = str(r.user_id);
        out.channel = str(r.channel);
        out.trace_id = str(r.trace_id);
        out.traceparent = str(r.traceparent);
        out.metadata = str(pc->metadata_text());
        out.is_stream = pc->call->is_stream() ? 1 : 0;
        out.target_user_data = pc->target_user_data;
        // Views point into the Call, which lives until the call is completed.
        std::memcpy(info, &out, std::min<std::size_t>(info->struct_size, sizeof out));
        return OAIO_OK;
      },
      OAIO_ERR_INTERNAL);
}

oaio_status api_complete(oaio_call* call, oaio_str payload) {
  return no_throw(
      [&] {
        auto pc = call_table().take(call);
        if (!pc) return OAIO_ERR_CLOSED;
        std::string_view body = view(payload);
        if (pc->streaming_target && pc->call->is_stream()) {
          // The writer validates the payload before it sends anything; the host's own
          // check runs only when final() refused (it also fails harmlessly after a
          // cancel terminal), to tell the plugin and the caller what was wrong.
          Status sent = pc->call->writer().final(body);
          if (!sent.ok() && !body.empty() && !is_valid_json(body)) {
            Status bad = Status::codec("bridge \"" + pc->bridge->name() + "\" returned a payload that is not valid JSON");
            pc->bridge->retire_call(*pc, &bad)(std::move(bad));
            return OAIO_ERR_CODEC;
          }
          pc->bridge->retire_call(*pc, nullptr)(Envelope{});
        } else {
          // An Invoke caller (of any target): the bus checks the payload as it encodes
          // the reply, and answers the caller CODEC_FAILURE if it is not JSON. Checking
          // here too would scan every reply twice, the largest part of the ABI hop.
          pc->bridge->retire_call(*pc, nullptr)(bare_result(body));
        }
        return OAIO_OK;
      },
      OAIO_ERR_INTERNAL);
}

oaio_status api_fail(oaio_call* call, const oaio_error* error) {
  return no_throw(
      [&] {
        auto pc = call_table().take(call);
        if (!pc) return OAIO_ERR_CLOSED;
        Status failed = status_from_plugin_error(OAIO_OK, error);
        pc->bridge->retire_call(*pc, &failed)(std::move(failed));
        return OAIO_OK;
      },
      OAIO_ERR_INTERNAL);
}

// Sends a non-terminal frame, or accepts and drops it when the caller is not reading a
// stream (an Invoke-only target, or an Invoke caller of a stream target).
template <typename Send>
oaio_status stream_frame(oaio_call* call, Send&& send) {
  return no_throw(
      [&] {
        auto pc = call_table().get(call);
        if (!pc) return OAIO_ERR_CLOSED;
        if (!pc->streaming_target || !pc->call->is_stream()) return OAIO_OK;  // an Invoke caller sees only the end
        return to_code(send(pc->call->writer()));
      },
      OAIO_ERR_INTERNAL);
}

oaio_status api_stream_started(oaio_call* call, oaio_str meta) {
  return stream_frame(call, [&](StreamWriter& w) { return w.started(view(meta)); });
}

oaio_status api_stream_delta(oaio_call* call, oaio_str payload) {
  return stream_frame(call, [&](StreamWriter& w) { return w.delta(view(payload)); });
}

oaio_status api_progress(oaio_call* call, double progress, double total, oaio_str message) {
  return stream_frame(call, [&](StreamWriter& w) {
    nlohmann::json p{{"progress", progress}};
    if (total >= 0) p["total"] = total;
    if (message.len) p["message"] = std::string(view(message));
    return w.delta(p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
}

// ---- events and outgoing calls ----

oaio_status api_publish(oaio_host* host, oaio_str event_type, oaio_str payload, const oaio_call_opts* opts) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw([&] { return BridgeHost::from(host)->publish(view(event_type), view(payload), opts); },
                  OAIO_ERR_INTERNAL);
}

oaio_status api_subscribe(oaio_host* host, oaio_str event_type, oaio_str queue, oaio_event_fn fn, void* user_data,
                          uint64_t* subscription) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw(
      [&] { return BridgeHost::from(host)->subscribe(view(event_type), view(queue), fn, user_data, subscription); },
      OAIO_ERR_INTERNAL);
}

oaio_status api_unsubscribe(oaio_host* host, uint64_t subscription) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw([&] { return BridgeHost::from(host)->unsubscribe(subscription); }, OAIO_ERR_INTERNAL);
}

oaio_status api_invoke(oaio_host* host, oaio_str target, oaio_str payload, const oaio_call_opts* opts,
                       oaio_frame_fn fn, void* user_data, uint64_t* call_id) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw(
      [&] {
        return BridgeHost::from(host)->call_out(false, view(target), view(payload), opts, fn, user_data, call_id);
      },
      OAIO_ERR_INTERNAL);
}

oaio_status api_stream(oaio_host* host, oaio_str target, oaio_str payload, const oaio_call_opts* opts,
                       oaio_frame_fn fn, void* user_data, uint64_t* call_id) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw(
      [&] {
        return BridgeHost::from(host)->call_out(true, view(target), view(payload), opts, fn, user_data, call_id);
      },
      OAIO_ERR_INTERNAL);
}

oaio_status api_cancel_call(oaio_host* host, uint64_t call_id) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw([&] { return BridgeHost::from(host)->cancel_call(call_id); }, OAIO_ERR_INTERNAL);
}

// ---- state, metrics, files ----

void api_report_state(oaio_host* host, int32_t state, oaio_str detail, uint32_t retry_after_ms) {
  if (!host) return;
  no_throw(
      [&] {
        BridgeHost::from(host)->report_state(state, view(detail), retry_after_ms);
        return 0;
      },
      0);
}

oaio_status api_metric_define(oaio_host* host, oaio_str name, int32_t kind, oaio_str help, uint32_t* metric) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw([&] { return BridgeHost::from(host)->metric_define(view(name), kind, view(help), metric); },
                  OAIO_ERR_INTERNAL);
}

void api_metric_record(oaio_host* host, uint32_t metric, double value, oaio_str labels) {
  if (!host) return;
  no_throw(
      [&] {
        BridgeHost::from(host)->metric_record(metric, value, view(labels));
        return 0;
      },
      0);
}

oaio_str api_state_dir(oaio_host* host) {
  if (!host) return oaio_str{nullptr, 0};
  return no_throw([&] { return str(BridgeHost::from(host)->state_dir()); }, oaio_str{nullptr, 0});
}

oaio_status api_dead_letter(oaio_host* host, oaio_str envelope, oaio_str last_error) {
  if (!host) return OAIO_ERR_INVALID_REQUEST;
  return no_throw([&] { return BridgeHost::from(host)->dead_letter(view(envelope), view(last_error)); },
                  OAIO_ERR_INTERNAL);
}

const oaio_host_api kHostApi = {
    sizeof(oaio_host_api),
    OAIO_PLUGIN_ABI_MAJOR,
    OAIO_PLUGIN_ABI_MINOR,
    api_log_enabled,
    api_log,
    api_bridge_name,
    api_register_target,
    api_unregister_target,
    api_call_info,
    api_complete,
    api_fail,
    api_stream_started,
    api_stream_delta,
    api_progress,
    api_publish,
    api_subscribe,
    api_unsubscribe,
    api_invoke,
    api_stream,
    api_cancel_call,
    api_report_state,
    api_metric_define,
    api_metric_record,
    api_state_dir,
    api_dead_letter,
};

}  // namespace

const oaio_host_api* host_api_table() { return &kHostApi; }

}  // namespace oaio::host

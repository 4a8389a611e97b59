/*
 * oaio/plugin.h — the stable C ABI between the OpenAgentIO host (`oaio`) and bridge
 * plugins. This header is the whole contract: C99, no dependencies beyond <stddef.h>
 * and <stdint.h>, usable from C, C++, Rust, Zig or anything with a C FFI.
 *
 * Compatibility promise (ABI major 1): a plugin built against 1.N loads in every host
 * 1.M with M >= N. Rules that keep it:
 *   - One exported entry symbol with the major in its name: oaio_plugin_entry_v1.
 *   - Every struct that crosses the boundary starts with `struct_size` and only ever
 *     grows at the end ("SINCE: 1.N" marks additions). A reader copies
 *     min(struct_size, sizeof(its own struct)) into a zeroed local, so a field the
 *     writer does not know reads as zero / NULL. A NULL function pointer means
 *     "not provided". OAIO_HAS_FIELD() tells whether a table has a field.
 *   - Nothing throws or unwinds across the boundary; errors are oaio_status codes with
 *     an oaio_error detail. A plugin must catch everything in every hook.
 *   - No memory is allocated on one side and freed on the other. Strings are borrowed
 *     views (oaio_str) valid only for the duration of the call that passes them,
 *     unless a comment says otherwise; whoever keeps one copies it.
 *   - The host never unloads a plugin library once loaded.
 *
 * Lifecycle of one bridge (an instance of a plugin declared by a manifest):
 *   entry -> describe (the returned table) -> create(config) -> start -> [calls]
 *   -> drain(deadline) -> stop -> destroy.
 * One library may have several instances (several bridges of the same plugin).
 *
 * Threading: hooks may be called from any host thread, concurrently for different
 * calls, unless a hook says otherwise. Host API functions may be called from any
 * thread, including threads the plugin creates, unless their comment says otherwise.
 */
#ifndef OAIO_PLUGIN_H_
#define OAIO_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OAIO_PLUGIN_ABI_MAJOR 1
#define OAIO_PLUGIN_ABI_MINOR 1

#if defined(_WIN32)
#define OAIO_PLUGIN_EXPORT __declspec(dllexport)
#else
#define OAIO_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* True if the self-sized struct at `ptr` is large enough to contain `field`. */
#define OAIO_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* ---------------------------------------------------------------------------------
 * Basic types
 */

/* A borrowed, not NUL-terminated UTF-8 view.
 * OWNERSHIP: the side that passes it owns the bytes; valid only during the call that
 * passes it (or as the comment of the containing type says). Copy to keep. */
typedef struct oaio_str {
  const char* data;
  size_t len;
} oaio_str;

/* Status codes. The ACP error codes (WIRE.md §7) map one to one; the rest are local. */
typedef int32_t oaio_status;
#define OAIO_OK 0
#define OAIO_ERR_AGENT_TIMEOUT 1      /* AGENT_TIMEOUT: a deadline passed (retryable) */
#define OAIO_ERR_AGENT_UNAVAILABLE 2  /* AGENT_UNAVAILABLE: the upstream or handler failed */
#define OAIO_ERR_BACKPRESSURE 3       /* BACKPRESSURE_DROP: overloaded (retryable) */
#define OAIO_ERR_TRANSPORT 4          /* TRANSPORT_FAILURE: connection or upstream 5xx (retryable) */
#define OAIO_ERR_CODEC 5              /* CODEC_FAILURE: bad encoding or decoding */
#define OAIO_ERR_AUTH 6               /* AUTH_FAILURE: authentication or authorisation */
#define OAIO_ERR_INVALID_REQUEST 7    /* INVALID_REQUEST: bad input, unknown field, bad config */
#define OAIO_ERR_NO_HANDLER 8         /* NO_HANDLER: nobody serves the target */
#define OAIO_ERR_CANCELLED 64         /* the call was cancelled (reported as INVALID_REQUEST) */
#define OAIO_ERR_INCOMPATIBLE 65      /* ABI or feature mismatch */
#define OAIO_ERR_INTERNAL 66          /* a bug; reported as AGENT_UNAVAILABLE */
#define OAIO_ERR_CLOSED 67            /* the handle or call was already completed / closed */

/* An error detail.
 * OWNERSHIP: `message` is borrowed for the duration of the call that passes it.
 * When the host passes an oaio_error* to a hook for the plugin to fill in, the plugin
 * sets `message` to a view of memory that stays valid until the hook returns (a static
 * string or thread-local storage: `call` runs concurrently for one instance, and a
 * failed `create` has no instance); the host copies it. */
typedef struct oaio_error {
  uint32_t struct_size;
  oaio_status code;
  oaio_str message;
  int32_t retryable;         /* -1 = the code's default, 0 = no, 1 = yes */
  uint32_t retry_after_ms;   /* a hint for the caller / supervisor; 0 = none */
} oaio_error;

/* Log levels. */
#define OAIO_LOG_DEBUG 0
#define OAIO_LOG_INFO 1
#define OAIO_LOG_WARN 2
#define OAIO_LOG_ERROR 3

/* Flows a plugin provides (oaio_plugin_api.flows, oaio_target_desc.flows). */
#define OAIO_FLOW_INVOKE 0x1u     /* serves Invoke targets */
#define OAIO_FLOW_STREAM 0x2u     /* serves StreamInvoke targets */
#define OAIO_FLOW_PUBLISH 0x4u    /* publishes events */
#define OAIO_FLOW_SUBSCRIBE 0x8u  /* consumes events */

/* Optional features (oaio_plugin_api.features). */
#define OAIO_FEATURE_CANCEL 0x1u           /* honours the cancel hook */
#define OAIO_FEATURE_PROGRESS 0x2u         /* reports progress on long calls */
#define OAIO_FEATURE_DYNAMIC_TARGETS 0x4u  /* registers/unregisters targets while running */
/* The call hook never blocks: it answers at once or hands the call to the plugin's own
 * thread or loop. The host may then run it on the thread that delivered the request
 * (in-process: the caller's) instead of a bus worker, saving a thread hand-off per
 * call; the target's concurrency limit still applies. A call hook that blocks with
 * this set delays every message queued behind it. A cancel of a call that arrives
 * while its call hook is still running reaches the cancel hook once the call hook has
 * returned (and never for a call completed by then). Hosts before it ignore the bit. */
#define OAIO_FEATURE_NONBLOCKING_CALL 0x8u

/* Bridge states a plugin reports (host_api.report_state). */
#define OAIO_STATE_RUNNING 0   /* healthy */
#define OAIO_STATE_DEGRADED 1  /* serving partly or reconnecting; detail says why */
#define OAIO_STATE_FAILED 2    /* cannot recover by itself; the supervisor restarts it */

/* ---------------------------------------------------------------------------------
 * Opaque handles (owned by the host)
 */

/* The host context of one bridge instance. Valid from create() until destroy() returns. */
typedef struct oaio_host oaio_host;

/* One inbound call the host hands to the plugin. Valid from the call hook until the
 * plugin completes it (complete / fail) AND any concurrent cancel hook for it has
 * returned; never use it after completing it. A cancelled call is still completed
 * exactly once (the host drops that reply); that is what releases the handle. */
typedef struct oaio_call oaio_call;

/* ---------------------------------------------------------------------------------
 * Describing calls and targets
 */

/* What the plugin learns about an inbound call (host_api.call_info).
 * OWNERSHIP: all views are owned by the host and valid until the call is completed. */
typedef struct oaio_call_info {
  uint32_t struct_size;
  oaio_str target;           /* the full target name the caller used */
  oaio_str payload;          /* raw JSON text; len 0 = no payload */
  oaio_str event_id;         /* the request's id (correlation of all replies) */
  oaio_str session_id;
  oaio_str conversation_id;
  oaio_str tenant_id;
  oaio_str user_id;
  oaio_str channel;
  oaio_str trace_id;
  oaio_str traceparent;      /* W3C trace context of the request, possibly empty */
  oaio_str metadata;         /* raw JSON object text of the request metadata, or empty */
  int32_t is_stream;         /* 1: the caller reads a stream (deltas are delivered) */
  void* target_user_data;    /* oaio_target_desc.user_data of the target */
} oaio_call_info;

/* A target the plugin serves (host_api.register_target).
 * OWNERSHIP: borrowed for the call; the host copies what it keeps. */
typedef struct oaio_target_desc {
  uint32_t struct_size;
  oaio_str name;             /* e.g. "everything.echo"; the manifest may add a prefix */
  uint32_t flows;            /* OAIO_FLOW_INVOKE and/or OAIO_FLOW_STREAM */
  oaio_str description;      /* one line for the catalog; may be empty */
  oaio_str input_schema;     /* JSON Schema of the payload (for the catalog); may be empty */
  void* user_data;           /* handed back in oaio_call_info.target_user_data */
} oaio_target_desc;

/* Options of a call the plugin makes to another target (host_api.invoke/stream).
 * All fields optional. OWNERSHIP: borrowed for the call. */
typedef struct oaio_call_opts {
  uint32_t struct_size;
  uint32_t timeout_ms;       /* 0 = host default */
  oaio_str session_id;
  oaio_str conversation_id;
  oaio_str tenant_id;
  oaio_str user_id;
  oaio_str channel;
  oaio_str metadata;         /* raw JSON object text merged into the request metadata */
  oaio_call* parent;         /* an inbound call whose context the request inherits */
} oaio_call_opts;

/* One reply frame delivered to the plugin (host_api.invoke/stream callbacks).
 * OWNERSHIP: views owned by the host, valid only during the callback. */
typedef struct oaio_frame {
  uint32_t struct_size;
  oaio_str event_type;       /* agent.response.started / .delta / .final / .error, ... */
  oaio_str payload;          /* raw JSON; len 0 = none */
  oaio_str envelope;         /* the whole envelope as JSON, for plugins that want all fields */
  uint64_t seq;
  int32_t is_final;
} oaio_frame;

/* Callback for host_api.invoke/stream. Called for each frame in order; after the
 * terminal frame (is_final), or on a local failure (frame NULL, error set), it is
 * called no more. Return 0 to keep going, non-zero to abandon a stream (it is then
 * called no more either). THREAD: a host thread; must not block. */
typedef int32_t (*oaio_frame_fn)(void* user_data, const oaio_frame* frame, const oaio_error* error);

/* Callback for host_api.subscribe: one event envelope (JSON) per call.
 * THREAD: a host thread; events of one subscription arrive one at a time, in order. */
typedef void (*oaio_event_fn)(void* user_data, oaio_str event_type, oaio_str payload, oaio_str envelope);

/* ---------------------------------------------------------------------------------
 * The host API table: everything a plugin may ask of the host.
 * OWNERSHIP: owned by the host, valid for the life of the process.
 */
typedef struct oaio_host_api {
  uint32_t struct_size;
  uint32_t abi_major;        /* OAIO_PLUGIN_ABI_MAJOR of the host */
  uint32_t abi_minor;        /* OAIO_PLUGIN_ABI_MINOR of the host */

  /* SINCE: 1.0 -------------------------------------------------------------------- */

  /* Logging. `host` may be NULL (e.g. in the entry function). Secrets must never be
   * logged. log_enabled is cheap: check it before formatting. */
  int32_t (*log_enabled)(oaio_host* host, int32_t level);
  void (*log)(oaio_host* host, int32_t level, oaio_str message);

  /* The bridge's name from its manifest (e.g. "everything"). Valid while `host` is. */
  oaio_str (*bridge_name)(oaio_host* host);

  /* Targets. Callable from create() on. Registering an existing name replaces it. */
  oaio_status (*register_target)(oaio_host* host, const oaio_target_desc* target);
  oaio_status (*unregister_target)(oaio_host* host, oaio_str name);

  /* Inbound calls. The caller zeroes `*info` and sets `info->struct_size`; the host
   * fills the fields it knows within that size and leaves struct_size as is. */
  oaio_status (*call_info)(oaio_call* call, oaio_call_info* info);
  /* Completes the call successfully: the final reply with `payload` (raw JSON; len 0 =
   * none). Exactly one of complete/fail ends a call; later ones return OAIO_ERR_CLOSED.
   * A completion after a cancel is accepted and dropped. A payload that is not valid
   * JSON never reaches the caller as such: the caller gets a CODEC_FAILURE error. For a
   * caller reading a stream, complete then returns OAIO_ERR_CODEC; for an Invoke
   * caller the bus finds it while encoding the reply, after complete returned OK. */
  oaio_status (*complete)(oaio_call* call, oaio_str payload);
  /* Completes the call with an error reply. */
  oaio_status (*fail)(oaio_call* call, const oaio_error* error);
  /* Stream frames, before complete/fail. For a caller that is not streaming
   * (info.is_stream == 0) they are accepted and not delivered. */
  oaio_status (*stream_started)(oaio_call* call, oaio_str meta);
  oaio_status (*stream_delta)(oaio_call* call, oaio_str payload);
  /* Progress of a long call: a delta {"progress":p,"total":t,"message":m} for stream
   * callers (total < 0 = unknown; message may be empty). */
  oaio_status (*progress)(oaio_call* call, double progress, double total, oaio_str message);

  /* Events. publish() sends `payload` (raw JSON) as event `event_type`. */
  oaio_status (*publish)(oaio_host* host, oaio_str event_type, oaio_str payload, const oaio_call_opts* opts);
  /* Subscribes; `queue` empty = every replica gets every event. `*subscription` gets
   * an id for unsubscribe. `fn` is called until unsubscribe returns (and not after). */
  oaio_status (*subscribe)(oaio_host* host, oaio_str event_type, oaio_str queue, oaio_event_fn fn,
                           void* user_data, uint64_t* subscription);
  oaio_status (*unsubscribe)(oaio_host* host, uint64_t subscription);

  /* Calls to other targets on the bus. `fn` gets the frames (one for invoke: the reply,
   * whatever its type, delivered with is_final set). An error known before this function
   * returns (a bad target name, nothing could be sent, an immediate NO_HANDLER) is
   * returned instead, and then `fn` is never called. `*call_id` (may be NULL)
   * identifies the call for cancel_call. */
  oaio_status (*invoke)(oaio_host* host, oaio_str target, oaio_str payload, const oaio_call_opts* opts,
                        oaio_frame_fn fn, void* user_data, uint64_t* call_id);
  oaio_status (*stream)(oaio_host* host, oaio_str target, oaio_str payload, const oaio_call_opts* opts,
                        oaio_frame_fn fn, void* user_data, uint64_t* call_id);
  /* Abandons an outgoing call; idempotent; `fn` is then called once with an error. */
  oaio_status (*cancel_call)(oaio_host* host, uint64_t call_id);

  /* State of the bridge, for the supervisor and /readyz. `retry_after_ms` is a hint
   * for the supervisor when the state is FAILED (0 = its own back-off). */
  void (*report_state)(oaio_host* host, int32_t state, oaio_str detail, uint32_t retry_after_ms);

  /* Metrics: define once (name like "mcp_tool_calls_total", kind 0 = counter,
   * 1 = gauge, 2 = histogram in seconds), then record. `labels` is a JSON object of
   * string values or empty. */
  oaio_status (*metric_define)(oaio_host* host, oaio_str name, int32_t kind, oaio_str help, uint32_t* metric);
  void (*metric_record)(oaio_host* host, uint32_t metric, double value, oaio_str labels);

  /* A directory the bridge may keep state in across restarts (e.g. a sync token),
   * created by the host. Valid while `host` is. */
  oaio_str (*state_dir)(oaio_host* host);

  /* SINCE: 1.1 -------------------------------------------------------------------- */

  /* Dead-letters an envelope the plugin could not handle for good (e.g. an event it
   * received through subscribe and failed to deliver upstream after its retries):
   * publishes it whole (event_id, payload, metadata kept) to the bus's dead-letter
   * subject P.dlq.<event_type> (WIRE.md §9), stamped with acp.dlq.original_event_type
   * and acp.dlq.last_error = `last_error` (may be empty). `envelope` is the JSON text
   * of an envelope, such as the one an oaio_event_fn receives. INVALID_REQUEST when it
   * is not an envelope; TRANSPORT when it could not be published.
   * Check with OAIO_HAS_FIELD(api, oaio_host_api, dead_letter): a 1.0 host lacks it. */
  oaio_status (*dead_letter)(oaio_host* host, oaio_str envelope, oaio_str last_error);
} oaio_host_api;

/* ---------------------------------------------------------------------------------
 * The plugin API table: what the plugin provides.
 * OWNERSHIP: owned by the plugin; must stay valid for the life of the process (a
 * static const table is the norm). All strings in it are static too.
 */
typedef struct oaio_plugin_api {
  uint32_t struct_size;
  uint32_t abi_major;        /* must be OAIO_PLUGIN_ABI_MAJOR */
  uint32_t abi_minor;        /* the minor the plugin needs; refused by older hosts */

  /* SINCE: 1.0 -------------------------------------------------------------------- */

  /* Describe. */
  oaio_str name;             /* unique among loaded plugins, e.g. "mcp" */
  oaio_str version;          /* the plugin's own version, e.g. "1.2.0" */
  oaio_str description;      /* one line */
  uint32_t flows;            /* OAIO_FLOW_* */
  uint32_t features;         /* OAIO_FEATURE_* */
  oaio_str config_schema;    /* JSON Schema (draft 7 subset) of the bridge config */
  oaio_str manifest_types;   /* comma-separated seed bridge types this plugin accepts
                                (e.g. "mcp_tool"); may be empty */

  /* Creates an instance with a validated config (raw JSON object text). On failure
   * returns non-OK and fills `error`. The instance may register targets here.
   * THREAD: the host's control thread; one lifecycle hook of an instance at a time. */
  oaio_status (*create)(oaio_host* host, oaio_str config, void** instance, oaio_error* error);
  /* Starts serving (connect upstream, start threads). May report DEGRADED and keep
   * trying instead of failing. THREAD: control thread. */
  oaio_status (*start)(void* instance, oaio_error* error);
  /* Stop taking new work; finish what is in flight within `deadline_ms`. May be NULL.
   * THREAD: control thread. */
  oaio_status (*drain)(void* instance, uint32_t deadline_ms);
  /* Stops: close upstream connections, join threads, fail calls still open. After it
   * returns the plugin makes no more host calls for this instance. THREAD: control. */
  void (*stop)(void* instance);
  /* Frees the instance. THREAD: control thread, after stop. */
  void (*destroy)(void* instance);

  /* An inbound call for one of the instance's targets. The plugin completes it later,
   * from any thread, through the host API (complete/fail, with stream frames first).
   * Returning non-OK (after filling `error`) fails the call at once without any
   * completion. THREAD: a host worker; must not block for long. */
  oaio_status (*call)(void* instance, oaio_call* call, oaio_error* error);
  /* The caller went away or timed out. Idempotent; may race with the plugin's own
   * completion (the handle stays valid until this returns). May be NULL. */
  void (*cancel)(void* instance, oaio_call* call);
} oaio_plugin_api;

/* The one symbol a plugin exports.
 * Called once per process when the library is loaded, before anything else. Returns
 * the plugin's table, or NULL after explaining why with host_api->log (e.g. the host's
 * minor is too old for a feature the plugin cannot do without).
 * OWNERSHIP: host_api stays valid for the life of the process; the returned table must
 * too. THREAD: the host's control thread. */
typedef const oaio_plugin_api* (*oaio_plugin_entry_fn)(const oaio_host_api* host_api, uint32_t host_abi_minor);
#define OAIO_PLUGIN_ENTRY_SYMBOL "oaio_plugin_entry_v1"

#ifdef __cplusplus
}
#endif

#endif /* OAIO_PLUGIN_H_ */

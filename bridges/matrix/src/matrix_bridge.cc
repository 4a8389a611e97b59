// matrix: the Matrix bridge plugin. One instance per manifest bridge:
//   - a sync thread long-polls /sync (filtered to the configured rooms and
//     m.room.message), auto-joins invites, publishes each accepted message as
//     `matrix.message.received`, relays it to the room's agent (Relay), and persists
//     the `since` token after each processed batch (SyncTokenStore, in state_dir);
//   - `matrix.message.send` events are consumed in a queue group and posted (Outbound);
//   - Matrix writes run on Posters (reply_workers for answers, one for outbound),
//     never on host threads.
// States: DEGRADED while the homeserver is unreachable (retrying with backoff), FAILED
// with a clear detail for a rejected token or a room that cannot be joined.
// THREAD: lifecycle hooks on the host's control thread; see the classes for the rest.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "config.h"
#include "matrix_client.h"
#include "oaio/plugin.hpp"
#include "outbound.h"
#include "poster.h"
#include "relay.h"
#include "sync_parser.h"
#include "sync_token_store.h"
#include "text_rules.h"

namespace oaio::matrix {
namespace {

using Json = nlohmann::json;
using oaio::plugin::Bridge;
using oaio::plugin::Call;
using oaio::plugin::Failure;
using oaio::plugin::Host;
using oaio::plugin::Info;
using oaio::plugin::Status;

constexpr char kReceivedEventType[] = "matrix.message.received";

// Why the sync loop gave up: a problem only the operator can fix.
struct Fatal {
  std::string detail;
};

class MatrixBridge : public Bridge {
 public:
  static Info info() {
    Info i;
    i.name = "matrix";
    i.version = "1.0.0";
    i.description = "Matrix rooms <-> agents: relays room messages to agents and posts their replies";
    i.flows = OAIO_FLOW_PUBLISH | OAIO_FLOW_SUBSCRIBE;
    i.config_schema = kConfigSchema;
    i.manifest_types = "matrix_event";
    return i;
  }

  MatrixBridge(Host& host, std::string_view config_text) : Bridge(host) {
    if (std::string e = parse_config(config_text, &config_); !e.empty())
      throw Failure(OAIO_ERR_INVALID_REQUEST, "matrix: config: " + e);
    if (config_.outbound_queue.empty()) config_.outbound_queue = "matrix-outbound." + std::string(host.bridge_name());
    token_ = std::make_shared<TokenBox>(config_.access_token);
    RetryPolicy rp;
    rp.max_attempts = config_.max_attempts;
    rp.max_backoff_ms = config_.max_backoff_ms;
    std::vector<Poster*> reply_posters;
    for (std::uint32_t i = 0; i < config_.reply_workers; ++i) {
      reply_posters_.push_back(std::make_unique<Poster>(config_.homeserver_url, token_, rp));
      reply_posters.push_back(reply_posters_.back().get());
    }
    outbound_poster_ = std::make_unique<Poster>(config_.homeserver_url, token_, rp);
    sync_client_ = std::make_unique<MatrixClient>(config_.homeserver_url, config_.access_token, rp);
    relay_ = std::make_unique<Relay>(host, config_, std::move(reply_posters));
    outbound_ = std::make_unique<Outbound>(host, config_, *outbound_poster_);
    store_ = std::make_unique<SyncTokenStore>(std::string(host.state_dir()));
  }

  ~MatrixBridge() override { stop(); }

  Status start() override {
    for (auto& p : reply_posters_) p->start();
    outbound_poster_->start();
    if (config_.outbound && !subscribed_) {
      oaio_status s = host().subscribe(kSendEventType, config_.outbound_queue,
                                       [this](std::string_view, std::string_view payload, std::string_view env) {
                                         outbound_->on_event(payload, env);
                                       });
      if (s != OAIO_OK) return Status(s, "matrix: cannot subscribe to matrix.message.send");
      subscribed_ = true;
    }
    if (!sync_thread_.joinable()) sync_thread_ = std::thread([this] { sync_main(); });
    return Status();
  }

  Status drain(std::uint32_t deadline_ms) override {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
    stop_sync();  // no new messages; the batch in progress finishes and is persisted
    auto left = [&] {
      auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      return d.count() > 0 ? d : std::chrono::milliseconds(0);
    };
    bool ok = relay_->wait_idle(left());
    for (auto& p : reply_posters_) ok = ok && p->wait_idle(left());
    ok = ok && outbound_poster_->wait_idle(left());
    if (ok) return Status();
    return Status(OAIO_ERR_AGENT_TIMEOUT,
                  "matrix: " + std::to_string(relay_->in_flight()) + " answers still in flight at the drain deadline");
  }

  void stop() override {
    stop_sync();
    for (auto& p : reply_posters_) p->stop();
    outbound_poster_->stop();
    // Unsubscribe and cancel agent calls still open now, while the Relay and Outbound
    // their callbacks point to are alive (the helper would do it after stop() only).
    host().close();
  }

  Status call(Call call) override {
    call.fail(OAIO_ERR_NO_HANDLER, "matrix: this bridge serves no targets");
    return Status();
  }

 private:
  void stop_sync() {
    stopping_.store(true);
    sync_client_->abort();
    if (sync_thread_.joinable()) sync_thread_.join();
  }

  // The sync thread: log in / verify, join rooms, then long-poll until stopped.
  void sync_main() {
    try {
      if (!prepare()) return;
      sync_loop();
    } catch (const Fatal& f) {
      host().error("matrix: " + f.detail);
      host().report_state(OAIO_STATE_FAILED, f.detail, 30000);
    } catch (const std::exception& e) {
      host().error(std::string("matrix: sync thread failed: ") + e.what());
      host().report_state(OAIO_STATE_FAILED, std::string("sync thread failed: ") + e.what(), 5000);
    }
  }

  // Runs `fn` until it returns a result that is not a transport/5xx/429 problem,
  // reporting DEGRADED meanwhile. Returns nullopt-like false when stopping.
  bool until_reachable(const char* what, const std::function<ApiResult()>& fn, ApiResult* out) {
    std::uint64_t backoff = 250;
    while (!stopping_.load()) {
      *out = fn();
      if (out->aborted || stopping_.load()) return false;
      if (!out->transient()) {
        if (degraded_) {
          degraded_ = false;
          host().report_state(OAIO_STATE_RUNNING, "");
        }
        return true;
      }
      set_degraded(std::string("homeserver unreachable during ") + what + ": " + out->error);
      std::uint64_t wait = backoff;
      if (out->status == 429 && out->body.is_object() && out->body.value("retry_after_ms", -1L) >= 0)
        wait = static_cast<std::uint64_t>(out->body.value("retry_after_ms", 0L));
      if (!sync_client_->sleep_ms(wait)) return false;
      backoff = std::min<std::uint64_t>(backoff * 2, config_.max_backoff_ms);
    }
    return false;
  }

  void set_degraded(const std::string& detail) {
    if (!degraded_ || detail != degraded_detail_) {
      host().warn("matrix: " + detail);
      host().report_state(OAIO_STATE_DEGRADED, detail);
    }
    degraded_ = true;
    degraded_detail_ = detail;
  }

  bool prepare() {
    ApiResult r;
    if (config_.access_token.empty()) {
      std::string token;
      if (!until_reachable("login", [&] {
            return sync_client_->login_password(config_.user_id, config_.password, config_.device_id, &token);
          }, &r))
        return false;
      if (!r.ok()) throw Fatal{"password login as " + config_.user_id + " refused: " + r.errcode + " " + r.error};
      token_->set(token);
    }
    if (!until_reachable("whoami", [&] { return sync_client_->whoami(); }, &r)) return false;
    if (!r.ok()) {
      if (r.errcode == "M_UNKNOWN_TOKEN" || r.status == 401)
        throw Fatal{"the homeserver rejected the access token (" + (r.errcode.empty() ? "HTTP 401" : r.errcode) +
                    "); fix access_token"};
      throw Fatal{"whoami failed: " + r.errcode + " " + r.error};
    }
    std::string who = r.body.is_object() ? r.body.value("user_id", std::string()) : std::string();
    if (!config_.user_id.empty() && !who.empty() && who != config_.user_id)
      host().warn("matrix: user_id is " + config_.user_id + " but the token belongs to " + who + "; using " + who);
    user_id_ = who.empty() ? config_.user_id : who;
    relay_->set_bot_user_id(user_id_);
    for (const auto& room : config_.room_ids) {
      if (!until_reachable("join", [&] { return sync_client_->join(room); }, &r)) return false;
      if (!r.ok())
        throw Fatal{"cannot join room " + room + ": " + (r.errcode.empty() ? "" : r.errcode + ": ") + r.error +
                    " (unknown room, or the bot is not invited)"};
    }
    host().info("matrix: logged in as " + user_id_ + "; syncing " +
                (config_.all_rooms ? std::string("all joined rooms") : std::to_string(config_.room_ids.size()) + " rooms"));
    return true;
  }

  void sync_loop() {
    std::string since = store_->load();
    bool initial = since.empty();
    std::string filter = make_sync_filter(config_.all_rooms ? std::vector<std::string>() : config_.room_ids,
                                          initial && !config_.replay_history ? 1 : 50);
    std::string steady_filter = make_sync_filter(
        config_.all_rooms ? std::vector<std::string>() : config_.room_ids, 100);
    while (!stopping_.load()) {
      ApiResult r;
      std::uint32_t timeout = initial ? 0 : config_.sync_timeout_s * 1000;
      const std::string& f = initial ? filter : steady_filter;
      if (!until_reachable("sync", [&] { return sync_client_->sync(since, f, timeout); }, &r)) return;
      if (!r.ok()) {
        if (r.errcode == "M_UNKNOWN_TOKEN" || r.status == 401)
          throw Fatal{"the homeserver rejected the access token (" + r.errcode + ")"};
        set_degraded("sync failed: " + r.errcode + " " + r.error);
        if (!sync_client_->sleep_ms(config_.max_backoff_ms)) return;
        continue;
      }
      SyncBatch batch;
      std::string body = r.body.dump();
      if (std::string e = parse_sync_response(body, &batch); !e.empty()) {
        set_degraded("bad sync response: " + e);
        if (!sync_client_->sleep_ms(1000)) return;
        continue;
      }
      process(batch, initial && !config_.replay_history);
      initial = false;
      since = batch.next_batch;
      if (std::string e = store_->save(since); !e.empty()) host().warn("matrix: cannot persist the sync token: " + e);
    }
  }

  void process(const SyncBatch& batch, bool skip_messages) {
    for (const auto& [room, n] : batch.joined_member_counts) member_counts_[room] = n;
    for (const auto& room : batch.invites) {
      if (!config_.auto_join || !config_.room_allowed(room)) continue;
      ApiResult r = sync_client_->join(room);
      if (r.ok()) host().info("matrix: joined " + room + " on invite");
      else host().warn("matrix: cannot join " + room + " on invite: " + r.errcode + " " + r.error);
    }
    // History of a room the bot just joined (the timeline before its own join event)
    // is skipped like the history of a first start, unless replay is configured.
    std::map<std::string, std::size_t> history;  // room -> messages before the bot's join
    if (!config_.replay_history)
      for (const auto& j : batch.joins)
        if (j.user_id == user_id_) history[j.room_id] = j.messages_before;
    std::map<std::string, std::size_t> position;  // room -> messages of it seen so far
    for (const auto& m : batch.messages) {
      std::size_t pos = position[m.room_id]++;
      if (!seen_.insert(m.event_id)) continue;  // dedupe (a retried batch, a replayed event)
      if (skip_messages || m.sender == user_id_ || !config_.room_allowed(m.room_id)) continue;
      auto h = history.find(m.room_id);
      if (h != history.end() && pos < h->second) continue;
      accept(m);
    }
  }

  void accept(const RoomMessage& m) {
    Json payload = {{"text", m.body},
                    {"html", m.formatted_body.empty() ? Json() : Json(m.formatted_body)},
                    {"room_id", m.room_id},
                    {"sender", m.sender},
                    {"event_id", m.event_id},
                    {"origin_server_ts", m.origin_server_ts},
                    {"msgtype", m.msgtype}};
    if (!m.thread_root.empty()) payload["thread_root"] = m.thread_root;
    const std::string& pfx = config_.metadata_prefix;
    Json meta = {{pfx + "room_id", m.room_id},
                 {pfx + "sender", m.sender},
                 {pfx + "event_id", m.event_id},
                 {pfx + "origin_server_ts", m.origin_server_ts},
                 {pfx + "msgtype", m.msgtype}};
    std::string session = "matrix:" + m.room_id;
    if (config_.session_strategy == SessionStrategy::kRoomSender) session += ":" + m.sender;
    std::string payload_s = payload.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::string meta_s = meta.dump(-1, ' ', false, Json::error_handler_t::replace);
    oaio::plugin::CallOptions o;
    o.session_id = session;
    o.conversation_id = m.room_id;
    o.user_id = m.sender;
    o.channel = "matrix";
    o.metadata = meta_s;
    if (config_.publish_events) {
      oaio_status s = host().publish(kReceivedEventType, payload_s, o);
      if (s != OAIO_OK) host().warn("matrix: publishing " + m.event_id + " failed (code " + std::to_string(s) + ")");
    }
    const RoomRoute& route = config_.route_for(m.room_id);
    if (route.target.empty() || m.is_edit) return;
    if (m.msgtype != "m.text" && m.msgtype != "m.emote") return;  // notices are bots talking
    if (needs_mention(route, m.room_id) && !mentions_bot(m, user_id_)) return;
    relay_->start(m, route, payload_s, o);
  }

  bool needs_mention(const RoomRoute& route, const std::string& room) const {
    if (route.require_mention == MentionRule::kAlways) return true;
    if (route.require_mention == MentionRule::kNever) return false;
    auto it = member_counts_.find(room);
    return it == member_counts_.end() || it->second > 2;  // unknown size: treat as a group
  }

  Config config_;
  std::shared_ptr<TokenBox> token_;
  std::vector<std::unique_ptr<Poster>> reply_posters_;  // answers, sharded by question
  std::unique_ptr<Poster> outbound_poster_;
  std::unique_ptr<MatrixClient> sync_client_;  // sync thread only (abort from stop)
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<Outbound> outbound_;
  std::unique_ptr<SyncTokenStore> store_;
  std::thread sync_thread_;
  std::atomic<bool> stopping_{false};
  bool subscribed_ = false;  // control thread
  // Sync thread only:
  std::string user_id_;
  bool degraded_ = false;
  std::string degraded_detail_;
  RecentIds seen_{8192};
  std::map<std::string, std::int64_t> member_counts_;
};

}  // namespace
}  // namespace oaio::matrix

OAIO_PLUGIN_ENTRY(oaio::matrix::MatrixBridge)

#include "relay.h"

#include <optional>

#include "edit_throttle.h"
#include "reply_text.h"
#include "text_rules.h"

namespace oaio::matrix {

using Json = nlohmann::json;
using oaio::plugin::Frame;
using oaio::plugin::Status;

namespace {

const char* status_name(oaio_status code) {
  switch (code) {
    case OAIO_ERR_AGENT_TIMEOUT: return "AGENT_TIMEOUT";
    case OAIO_ERR_AGENT_UNAVAILABLE: return "AGENT_UNAVAILABLE";
    case OAIO_ERR_BACKPRESSURE: return "BACKPRESSURE_DROP";
    case OAIO_ERR_TRANSPORT: return "TRANSPORT_FAILURE";
    case OAIO_ERR_CODEC: return "CODEC_FAILURE";
    case OAIO_ERR_AUTH: return "AUTH_FAILURE";
    case OAIO_ERR_INVALID_REQUEST: return "INVALID_REQUEST";
    case OAIO_ERR_NO_HANDLER: return "NO_HANDLER";
    case OAIO_ERR_CANCELLED: return "CANCELLED";
    default: return "INTERNAL";
  }
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

// An answer that cannot be posted because the homeserver is away is tried again every
// kAnswerRetryDelay for up to kAnswerRetryLimit (each try already retries with backoff).
constexpr std::chrono::seconds kAnswerRetryDelay{2};
constexpr std::chrono::minutes kAnswerRetryLimit{10};

// One relayed question. Fields guarded by mu; the Poster worker does all Matrix writes.
struct Relay::Job {
  RoomMessage question;
  bool stream = false;
  std::mutex mu;
  std::string text;            // the answer so far (stream) or the final answer
  bool done = false;           // the terminal frame (or a local error) arrived
  bool finished = false;       // the final message/edit was posted (or given up)
  bool update_queued = false;  // an update task is in the Poster's queue
  std::string reply_event_id;  // the posted answer's event id, once posted
  std::string last_posted;     // text of the last send/edit
  int edits = 0;
  std::optional<Poster::Clock::time_point> failing_since;  // first failed post of a run of failures
  EditThrottle throttle{std::chrono::milliseconds(500)};
};

Relay::Relay(oaio::plugin::Host& host, const Config& config, std::vector<Poster*> posters)
    : host_(host), config_(config), posters_(std::move(posters)) {}

Poster& Relay::poster_for(const Job& job) const {
  std::size_t h = std::hash<std::string>()(job.question.event_id);
  return *posters_[h % posters_.size()];
}

void Relay::start(const RoomMessage& msg, const RoomRoute& route, const std::string& payload,
                  const oaio::plugin::CallOptions& opts) {
  auto job = std::make_shared<Job>();
  job->question = msg;
  job->stream = route.mode == RelayMode::kStream;
  job->throttle = EditThrottle(std::chrono::milliseconds(config_.edit_interval_ms));
  in_flight_.fetch_add(1);
  if (config_.typing && !bot_user_id_.empty()) {
    std::string room = msg.room_id, user = bot_user_id_;
    std::uint32_t timeout = config_.agent_timeout_ms > 0 ? config_.agent_timeout_ms : 30000;
    poster_for(*job).post([room, user, timeout](MatrixClient& c) { c.typing(room, user, true, timeout); });
  }
  oaio::plugin::CallOptions o = opts;
  o.timeout_ms = config_.agent_timeout_ms;
  auto fn = [this, job](const Frame* f, const Status* e) {
    on_frame(job, f, e);
    return true;
  };
  oaio_status s = job->stream ? host_.stream(route.target, payload, fn, o) : host_.invoke(route.target, payload, fn, o);
  if (s != OAIO_OK) {
    {
      std::lock_guard<std::mutex> l(job->mu);
      job->text = error_text(status_name(s), "target '" + route.target + "' could not be called");
      job->done = true;
    }
    schedule_update(job, Poster::Clock::now());
  }
}

void Relay::on_frame(const std::shared_ptr<Job>& job, const Frame* frame, const Status* error) {
  auto now = Poster::Clock::now();
  {
    std::lock_guard<std::mutex> l(job->mu);
    if (job->done) return;
    if (frame == nullptr) {
      job->text = error_text(error != nullptr ? status_name(error->code()) : "INTERNAL",
                             error != nullptr ? error->message() : std::string());
      job->done = true;
    } else if (ends_with(frame->event_type, ".error")) {
      Json p = Json::parse(frame->payload, nullptr, false);
      std::string code = p.is_object() ? p.value("code", std::string()) : std::string();
      std::string message = p.is_object() ? p.value("message", std::string()) : std::string(frame->payload);
      job->text = error_text(code, message);
      job->done = true;
    } else if (frame->is_final) {
      std::string t = final_text(frame->payload);
      if (!t.empty() || !job->stream) job->text = t;
      if (job->text.empty()) job->text = "(empty answer)";
      job->done = true;
    } else if (ends_with(frame->event_type, ".delta")) {
      job->text += delta_text(frame->payload);
    } else {
      return;  // started, progress and the like show nothing
    }
    if (job->update_queued) return;
    job->update_queued = true;
    if (!job->done && !job->reply_event_id.empty()) now = job->throttle.next_allowed(now);
  }
  poster_for(*job).post([this, job](MatrixClient& c) { update(job, c); }, now);
}

void Relay::schedule_update(const std::shared_ptr<Job>& job, Poster::Clock::time_point due) {
  {
    std::lock_guard<std::mutex> l(job->mu);
    if (job->update_queued) return;
    job->update_queued = true;
  }
  poster_for(*job).post([this, job](MatrixClient& c) { update(job, c); }, due);
}

Json Relay::reply_content(const Job& job, const std::string& text) const {
  Json c = text_content(text, "", config_.outbound_msgtype);
  const RoomMessage& q = job.question;
  if (config_.reply_style == ReplyStyle::kThread) {
    std::string root = q.thread_root.empty() ? q.event_id : q.thread_root;
    c["m.relates_to"] = {{"rel_type", "m.thread"},
                         {"event_id", root},
                         {"is_falling_back", true},
                         {"m.in_reply_to", {{"event_id", q.event_id}}}};
  } else {
    c["m.relates_to"] = {{"m.in_reply_to", {{"event_id", q.event_id}}}};
  }
  return c;
}

// On the Poster worker: post the first message, an edit, or the final edit.
void Relay::update(const std::shared_ptr<Job>& job, MatrixClient& client) {
  std::string text, reply_id;
  bool done;
  int edit_no;
  {
    std::lock_guard<std::mutex> l(job->mu);
    job->update_queued = false;
    if (job->finished) return;
    auto now = Poster::Clock::now();
    if (!job->done && !job->reply_event_id.empty() && !job->throttle.may_send(now)) {
      job->update_queued = true;  // too early: try again when the throttle allows
      poster_for(*job).post([this, job](MatrixClient& c) { update(job, c); }, job->throttle.next_allowed(now));
      return;
    }
    text = job->text;
    reply_id = job->reply_event_id;
    done = job->done;
    edit_no = ++job->edits;
    if (!done && (text.empty() || text == job->last_posted)) return;
  }
  const std::string& qid = job->question.event_id;
  const std::string& room = job->question.room_id;
  ApiResult r;
  if (reply_id.empty()) {
    r = client.send_message(room, txn_id("reply", qid), reply_content(*job, text));
  } else if (text != job->last_posted) {
    Json c = text_content("* " + text, "", config_.outbound_msgtype);
    c["m.new_content"] = text_content(text, "", config_.outbound_msgtype);
    c["m.relates_to"] = {{"rel_type", "m.replace"}, {"event_id", reply_id}};
    r = client.send_message(room, txn_id(done ? "final" : "edit", qid + "#" + std::to_string(edit_no)), c);
  } else {
    r.status = 200;  // the final text is already shown
  }
  {
    std::lock_guard<std::mutex> l(job->mu);
    job->throttle.sent(Poster::Clock::now());
    if (r.ok()) {
      job->last_posted = text;
      job->failing_since.reset();
      if (reply_id.empty() && r.body.is_object()) job->reply_event_id = r.body.value("event_id", std::string());
    } else if (r.transient()) {
      // The homeserver is away (restarting, overloaded) for longer than one write's
      // retries. The question's sync position is already saved, so dropping the answer
      // here would lose it for good: keep it and try again (the reply's transaction id
      // makes a repeat harmless), for up to kAnswerRetryLimit.
      const auto now = Poster::Clock::now();
      if (!job->failing_since) job->failing_since = now;
      if (now - *job->failing_since < kAnswerRetryLimit) {
        if (!job->update_queued) {
          job->update_queued = true;
          poster_for(*job).post([this, job](MatrixClient& c) { update(job, c); }, now + kAnswerRetryDelay);
        }
        return;
      }
      host_.warn("matrix: gave up posting the answer to " + qid + " in " + room + ": " + r.error);
    } else if (!r.aborted) {
      host_.warn("matrix: posting the answer to " + qid + " in " + room + " failed: " + r.error);
    }
    if (!done) return;
    // If the final arrived while this update ran, the queued update posts it.
    if (job->update_queued) return;
    if (job->text != job->last_posted && r.ok()) {
      job->update_queued = true;
      poster_for(*job).post([this, job](MatrixClient& c) { update(job, c); });
      return;
    }
    job->finished = true;
  }
  finish(job, client);
}

void Relay::finish(const std::shared_ptr<Job>& job, MatrixClient& client) {
  if (config_.typing && !bot_user_id_.empty()) client.typing(job->question.room_id, bot_user_id_, false, 0);
  {
    std::lock_guard<std::mutex> l(idle_mu_);
    in_flight_.fetch_sub(1);
  }
  idle_cv_.notify_all();
}

bool Relay::wait_idle(std::chrono::milliseconds deadline) {
  std::unique_lock<std::mutex> l(idle_mu_);
  return idle_cv_.wait_for(l, deadline, [this] { return in_flight_.load() == 0; });
}

}  // namespace oaio::matrix

// StreamWriterImpl: the server side of one stream (WIRE.md §5 server, §11 [E2]/[E3],
// §12 "Writer"): seq numbering, started/terminal rules, automatic terminals, the failed
// state with its reserved seq, caller cancel, heartbeats and concurrent writers. The
// PublishFn is a recording fake that can be told to fail.
#include "stream_writer_impl.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reply_builder.h"

namespace oaio::detail {
namespace {

using nlohmann::json;

constexpr char kAgent[] = "agent-x";
constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Records every publish attempt; fails those for which `fail_if` returns true.
class Recorder {
 public:
  struct Attempt {
    Envelope frame;
    std::string bytes;  // encoded envelope; empty for failed attempts
    bool ok = false;
  };

  StreamWriterImpl::PublishFn fn() {
    return [this](const Envelope& f) { return publish(f); };
  }

  // Fails the next `n` publish attempts with `status`.
  void fail_next(int n, Status status = Status::transport("nats: connection closed")) {
    std::lock_guard lock(mu_);
    fail_count_ = n;
    fail_status_ = std::move(status);
  }

  std::vector<Envelope> published() const {
    std::lock_guard lock(mu_);
    std::vector<Envelope> out;
    for (const auto& a : attempts_) {
      if (a.ok) out.push_back(a.frame);
    }
    return out;
  }
  std::vector<std::string> bytes() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& a : attempts_) {
      if (a.ok) out.push_back(a.bytes);
    }
    return out;
  }
  std::vector<Attempt> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::size_t count() const { return published().size(); }

 private:
  Status publish(const Envelope& f) {
    std::lock_guard lock(mu_);
    Attempt a;
    a.frame = f;
    if (fail_count_ > 0) {
      --fail_count_;
      attempts_.push_back(std::move(a));
      return fail_status_;
    }
    Status st = encode_envelope(f, &a.bytes);
    EXPECT_TRUE(st.ok()) << "frame does not encode: " << st.to_string();
    a.ok = st.ok();
    attempts_.push_back(std::move(a));
    return st;
  }

  mutable std::mutex mu_;
  std::vector<Attempt> attempts_;
  int fail_count_ = 0;
  Status fail_status_;
};

Envelope make_request() {
  Envelope r = make_envelope(event_type::kMessageReceived, R"({"q":"hi"})");
  r.frame_type = "request";
  r.from = "client-1";
  r.to = kAgent;
  r.reply_to = "_INBOX.abc123";
  r.session_id = "sess-1";
  r.conversation_id = "conv-1";
  r.tenant_id = "tenant_a";
  r.user_id = "user-1";
  r.channel = "matrix";
  r.trace_id = "trace-1";
  r.span_id = "span-1";
  r.traceparent = kTraceparent;
  r.metadata = {{"acp.cancel", "true"}, {"acp.heartbeat_ms", "1000"}, {"biz.key", "\"v\""}};
  return r;
}

// "0:delta 1:final!" : seq, the event type without "agent.response.", '!' for is_final.
std::string render(const std::vector<Envelope>& frames) {
  std::string out;
  for (const auto& f : frames) {
    if (!out.empty()) out += ' ';
    std::string type = f.event_type;
    if (type.rfind("agent.response.", 0) == 0) type = type.substr(15);
    out += std::to_string(f.seq) + ":" + type;
    if (f.is_final) out += '!';
  }
  return out;
}

json parse(const std::string& bytes) { return json::parse(bytes); }

class StreamWriterTest : public ::testing::Test {
 protected:
  Envelope request_ = make_request();
  Recorder rec_;
  StreamWriterImpl w_{request_, kAgent, rec_.fn()};
};

void expect_invalid(const Status& st, std::string_view part) {
  EXPECT_EQ(st.code(), ErrorCode::kInvalidRequest) << st.to_string();
  EXPECT_NE(st.message().find(part), std::string::npos) << st.message();
}

TEST_F(StreamWriterTest, SeqStartsAtZeroWithoutGapsInEmitOrder) {
  ASSERT_TRUE(w_.started(R"({"model":"m"})").ok());
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  ASSERT_TRUE(w_.delta(R"({"delta":"b"})").ok());
  ASSERT_TRUE(w_.delta(R"({"delta":"c"})").ok());
  EXPECT_FALSE(w_.closed());
  ASSERT_TRUE(w_.final(R"({"result":{"ok":true}})").ok());
  EXPECT_EQ(render(rec_.published()), "0:started 1:delta 2:delta 3:delta 4:final!");
  EXPECT_EQ(w_.frames_sent(), 5u);
  EXPECT_TRUE(w_.closed());
  auto frames = rec_.published();
  EXPECT_EQ(frames[0].frame_type, "response.started");
  EXPECT_EQ(frames[1].frame_type, "response.delta");
  EXPECT_EQ(frames[4].frame_type, "response.final");
  EXPECT_EQ(frames[0].payload, R"({"meta":{"model":"m"}})");
  EXPECT_EQ(frames[2].payload, R"({"delta":"b"})");
  EXPECT_EQ(frames[4].payload, R"({"result":{"ok":true}})");
}

TEST_F(StreamWriterTest, DeltaFirstStreamStartsAtZero) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  ASSERT_TRUE(w_.final({}).ok());
  EXPECT_EQ(render(rec_.published()), "0:delta 1:final!");
}

TEST_F(StreamWriterTest, SeqZeroIsEncodedWithoutSeqKey) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  ASSERT_TRUE(w_.delta(R"({"delta":"b"})").ok());
  ASSERT_TRUE(w_.final({}).ok());
  auto bytes = rec_.bytes();
  ASSERT_EQ(bytes.size(), 3u);
  EXPECT_EQ(bytes[0].find("\"seq\""), std::string::npos) << bytes[0];
  EXPECT_NE(bytes[1].find("\"seq\":1,"), std::string::npos) << bytes[1];
  EXPECT_NE(bytes[2].find("\"seq\":2,"), std::string::npos) << bytes[2];
  EXPECT_EQ(parse(bytes[1])["seq"], 1);
  EXPECT_EQ(bytes[0].find("\"is_final\""), std::string::npos) << bytes[0];
  EXPECT_EQ(bytes[1].find("\"is_final\""), std::string::npos) << bytes[1];
  EXPECT_EQ(parse(bytes[2])["is_final"], true);
}

TEST_F(StreamWriterTest, StartedWithoutMetaSendsEmptyMeta) {
  ASSERT_TRUE(w_.started({}).ok());
  EXPECT_EQ(rec_.published().at(0).payload, R"({"meta":{}})");
}

TEST_F(StreamWriterTest, StartedAtMostOnce) {
  ASSERT_TRUE(w_.started({}).ok());
  expect_invalid(w_.started({}), "started");
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  expect_invalid(w_.started({}), "started");
  EXPECT_EQ(render(rec_.published()), "0:started 1:delta");
}

TEST_F(StreamWriterTest, StartedOnlyAsFirstFrame) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  expect_invalid(w_.started({}), "first frame");
  EXPECT_EQ(render(rec_.published()), "0:delta");
  EXPECT_FALSE(w_.closed());
}

TEST_F(StreamWriterTest, SendCannotBypassTheStartedRules) {
  // WIRE.md §2.5: at most one started frame per correlation, whatever API emits it.
  ASSERT_TRUE(w_.started({}).ok());
  Envelope again;
  again.event_type = std::string(event_type::kResponseStarted);
  again.payload = R"({"meta":{}})";
  expect_invalid(w_.send(again), "started");
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  EXPECT_EQ(render(rec_.published()), "0:started 1:delta");
}

TEST_F(StreamWriterTest, SentStartedCountsAsStarted) {
  Envelope s;
  s.event_type = std::string(event_type::kResponseStarted);
  s.payload = R"({"meta":{}})";
  ASSERT_TRUE(w_.send(s).ok());
  expect_invalid(w_.started({}), "started");
  EXPECT_EQ(render(rec_.published()), "0:started");
}

TEST_F(StreamWriterTest, ExactlyOneTerminalAfterFinal) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  ASSERT_TRUE(w_.final({}).ok());
  expect_invalid(w_.delta(R"({"delta":"b"})"), "already ended");
  expect_invalid(w_.started({}), "already ended");
  expect_invalid(w_.final({}), "already ended");
  expect_invalid(w_.error(Status::unavailable("late")), "already ended");
  Envelope e;
  e.event_type = std::string(event_type::kResponseError);
  e.payload = encode_error_payload(Status::unavailable("late"));
  expect_invalid(w_.send(e), "already ended");
  w_.finish(Status::unavailable("handler failed afterwards"));
  w_.finish(Status());
  w_.cancel_by_caller();
  EXPECT_EQ(render(rec_.published()), "0:delta 1:final!");
  EXPECT_EQ(rec_.attempts().size(), 2u);
  EXPECT_EQ(w_.frames_sent(), 2u);
}

TEST_F(StreamWriterTest, ExactlyOneTerminalAfterError) {
  ASSERT_TRUE(w_.error(Status::invalid("bad input")).ok());
  expect_invalid(w_.final({}), "already ended");
  expect_invalid(w_.error(Status::unavailable("again")), "already ended");
  expect_invalid(w_.delta(R"({"delta":"b"})"), "already ended");
  w_.finish(Status());
  EXPECT_EQ(render(rec_.published()), "0:error!");
}

TEST_F(StreamWriterTest, TerminalViaSendEndsTheStream) {
  Envelope f;
  f.event_type = std::string(event_type::kResponseFinal);
  f.payload = R"({"result":1})";
  ASSERT_TRUE(w_.send(f).ok());
  EXPECT_TRUE(w_.closed());
  expect_invalid(w_.final({}), "already ended");
  w_.finish(Status());
  auto frames = rec_.published();
  EXPECT_EQ(render(frames), "0:final!");
  EXPECT_EQ(frames[0].frame_type, "response.final");
}

TEST_F(StreamWriterTest, SendFillsTheShellAndOwnsNoSeq) {
  Envelope d;
  d.event_type = std::string(event_type::kResponseDelta);
  d.frame_type = "bogus";
  d.seq = 42;
  d.reply_to = "_INBOX.elsewhere";
  d.payload = R"({"delta":"x"})";
  d.metadata = {{"own", "1"}, {"acp.retry.attempt", "2"}};
  ASSERT_TRUE(w_.send(d).ok());
  Envelope empty_type;
  expect_invalid(w_.send(empty_type), "event_type");
  ASSERT_TRUE(w_.delta(R"({"delta":"y"})").ok());
  auto frames = rec_.published();
  EXPECT_EQ(render(frames), "0:delta 1:delta");
  EXPECT_EQ(frames[0].frame_type, "response.delta");
  EXPECT_EQ(frames[0].reply_to, "");
  EXPECT_EQ(frames[0].correlation_id, request_.event_id);
  EXPECT_EQ(frames[0].to, "client-1");
  EXPECT_EQ(frames[0].from, kAgent);
  Metadata want = {{"biz.key", "\"v\""}, {"own", "1"}};
  EXPECT_EQ(frames[0].metadata, want);
}

TEST_F(StreamWriterTest, FinishOkWithoutTerminalSendsFinalWithoutPayload) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  w_.finish(Status());
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:delta 1:final!");
  EXPECT_EQ(frames[1].frame_type, "response.final");
  EXPECT_FALSE(frames[1].has_payload());
  const std::string& bytes = rec_.bytes()[1];
  EXPECT_EQ(bytes.find("\"payload\""), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("\"is_final\":true"), std::string::npos) << bytes;
  EXPECT_TRUE(w_.closed());
  w_.finish(Status());  // idempotent
  EXPECT_EQ(rec_.count(), 2u);
}

TEST_F(StreamWriterTest, FinishOkOnAnEmptyStreamSendsFinalAtSeqZero) {
  w_.finish(Status());
  EXPECT_EQ(render(rec_.published()), "0:final!");
  EXPECT_EQ(rec_.bytes()[0].find("\"seq\""), std::string::npos);
}

TEST_F(StreamWriterTest, FinishWithErrorSendsErrorPayload) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  w_.finish(Status(ErrorCode::kAgentTimeout, "nested call timed out"));
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:delta 1:error!");
  EXPECT_EQ(frames[1].frame_type, "response.error");
  EXPECT_EQ(parse(frames[1].payload),
            json::parse(R"({"code":"AGENT_TIMEOUT","message":"nested call timed out","retryable":true})"));
}

TEST_F(StreamWriterTest, FinishWithTypedErrorKeepsCodeAndRetryable) {
  w_.finish(Status(ErrorCode::kInvalidRequest, "missing field", /*retryable=*/true));
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:error!");
  EXPECT_EQ(parse(frames[0].payload),
            json::parse(R"({"code":"INVALID_REQUEST","message":"missing field","retryable":true})"));
}

TEST_F(StreamWriterTest, ExplicitErrorSendsErrorPayload) {
  ASSERT_TRUE(w_.error(Status::unavailable("db down")).ok());
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:error!");
  EXPECT_EQ(parse(frames[0].payload),
            json::parse(R"({"code":"AGENT_UNAVAILABLE","message":"db down","retryable":false})"));
}

TEST_F(StreamWriterTest, FailedTerminalPublishReservesSeqForTheError) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  rec_.fail_next(1);
  Status st = w_.final(R"({"result":1})");
  EXPECT_EQ(st.code(), ErrorCode::kTransportFailure);
  EXPECT_EQ(st.message(), "nats: connection closed");
  EXPECT_TRUE(w_.closed());
  // Only an error frame may follow; nothing else is published.
  expect_invalid(w_.delta(R"({"delta":"b"})"), "");
  expect_invalid(w_.final({}), "only an error");
  expect_invalid(w_.started({}), "");
  Envelope d;
  d.event_type = std::string(event_type::kResponseDelta);
  d.payload = "{}";
  expect_invalid(w_.send(d), "only an error");
  EXPECT_EQ(rec_.attempts().size(), 2u);
  // The error reuses seq 1: the client sees no gap.
  ASSERT_TRUE(w_.error(Status::unavailable("could not send the result")).ok());
  EXPECT_EQ(render(rec_.published()), "0:delta 1:error!");
  expect_invalid(w_.error(Status::unavailable("again")), "already ended");
  w_.finish(Status::unavailable("ignored"));
  EXPECT_EQ(render(rec_.published()), "0:delta 1:error!");
}

TEST_F(StreamWriterTest, ErrorViaSendInFailedStateReusesTheSeq) {
  rec_.fail_next(1);
  EXPECT_FALSE(w_.final({}).ok());
  Envelope e;
  e.event_type = std::string(event_type::kResponseError);
  e.payload = encode_error_payload(Status::unavailable("x"));
  ASSERT_TRUE(w_.send(e).ok());
  EXPECT_EQ(render(rec_.published()), "0:error!");
}

TEST_F(StreamWriterTest, FinishInFailedStateUsesTheHandlerError) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  rec_.fail_next(1);
  EXPECT_FALSE(w_.final({}).ok());
  w_.finish(Status::unavailable("handler boom"));
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:delta 1:error!");
  EXPECT_EQ(parse(frames[1].payload),
            json::parse(R"({"code":"AGENT_UNAVAILABLE","message":"handler boom","retryable":false})"));
}

TEST_F(StreamWriterTest, FinishInFailedStateFallsBackToTheLastPublishError) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  rec_.fail_next(1, Status::transport("nats: slow consumer"));
  EXPECT_FALSE(w_.final({}).ok());
  w_.finish(Status());
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:delta 1:error!");
  Status decoded = decode_error_payload(frames[1].payload);
  EXPECT_EQ(decoded.message(), "nats: slow consumer");
  EXPECT_FALSE(decoded.ok());
}

TEST_F(StreamWriterTest, FinishInFailedStateFallsBackToFixedText) {
  rec_.fail_next(1, Status(ErrorCode::kTransportFailure, ""));
  EXPECT_FALSE(w_.final({}).ok());
  w_.finish(Status());
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:error!");
  EXPECT_EQ(decode_error_payload(frames[0].payload).message(), "stream: terminal publish failed");
}

TEST_F(StreamWriterTest, FailedNonTerminalPublishMovesToFailedWithThatSeqReserved) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  rec_.fail_next(1);
  EXPECT_EQ(w_.delta(R"({"delta":"b"})").code(), ErrorCode::kTransportFailure);
  EXPECT_TRUE(w_.closed());
  EXPECT_FALSE(w_.delta(R"({"delta":"c"})").ok());
  EXPECT_FALSE(w_.final({}).ok());
  EXPECT_EQ(rec_.attempts().size(), 2u);
  EXPECT_EQ(w_.heartbeat(std::chrono::milliseconds(1), /*force=*/true), std::nullopt);
  w_.finish(Status());
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:delta 1:error!");
  EXPECT_EQ(decode_error_payload(frames[1].payload).message(), "nats: connection closed");
  auto attempts = rec_.attempts();
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[1].frame.seq, 1u);
  EXPECT_EQ(attempts[1].frame.event_type, event_type::kResponseDelta);
  EXPECT_EQ(w_.frames_sent(), 2u);
}

TEST_F(StreamWriterTest, RepeatedErrorPublishFailuresKeepReusingTheReservedSeq) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  rec_.fail_next(3);
  EXPECT_FALSE(w_.final({}).ok());
  EXPECT_FALSE(w_.error(Status::unavailable("first try")).ok());
  w_.finish(Status::unavailable("handler error"));  // fails too: only logged
  EXPECT_TRUE(w_.closed());
  ASSERT_TRUE(w_.error(Status::unavailable("last try")).ok());
  std::string seqs;
  for (const auto& a : rec_.attempts()) seqs += std::to_string(a.frame.seq) + (a.ok ? "+ " : "- ");
  EXPECT_EQ(seqs, "0+ 1- 1- 1- 1+ ");
  EXPECT_EQ(render(rec_.published()), "0:delta 1:error!");
}

TEST_F(StreamWriterTest, InvalidStartedMetaFailsWithoutConsumingTheStart) {
  EXPECT_EQ(w_.started("{oops").code(), ErrorCode::kCodecFailure);
  EXPECT_FALSE(w_.closed());
  Status st = w_.started(R"({"model":"m"})");
  EXPECT_TRUE(st.ok()) << "a started frame that was never sent must not count: " << st.to_string();
  EXPECT_EQ(render(rec_.published()), "0:started");
}

TEST_F(StreamWriterTest, InvalidJsonPayloadFailsWithoutConsumingASeq) {
  Status st = w_.delta("{not json");
  EXPECT_EQ(st.code(), ErrorCode::kCodecFailure);
  EXPECT_NE(st.message().find("JSON"), std::string::npos) << st.message();
  EXPECT_FALSE(w_.closed());
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  EXPECT_EQ(w_.final("[1,").code(), ErrorCode::kCodecFailure);
  EXPECT_FALSE(w_.closed());
  ASSERT_TRUE(w_.final(R"({"result":2})").ok());
  EXPECT_EQ(render(rec_.published()), "0:delta 1:final!");
  EXPECT_EQ(rec_.attempts().size(), 2u);
}

TEST_F(StreamWriterTest, EveryFrameIsAReplyShell) {
  ASSERT_TRUE(w_.started({}).ok());
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  ASSERT_TRUE(w_.final({}).ok());
  auto frames = rec_.published();
  ASSERT_EQ(frames.size(), 3u);
  std::set<std::string> ids;
  for (const auto& f : frames) {
    SCOPED_TRACE(f.event_type);
    EXPECT_EQ(f.spec_version, "acp/1.0");
    EXPECT_EQ(f.schema_version, 1);
    EXPECT_FALSE(f.event_id.empty());
    EXPECT_NE(f.event_id, request_.event_id);
    ids.insert(f.event_id);
    EXPECT_FALSE(f.occurred_at.empty());
    EXPECT_EQ(f.correlation_id, request_.event_id);
    EXPECT_EQ(f.to, "client-1");
    EXPECT_EQ(f.from, kAgent);
    EXPECT_EQ(f.reply_to, "");
    EXPECT_EQ(f.session_id, "sess-1");
    EXPECT_EQ(f.conversation_id, "conv-1");
    EXPECT_EQ(f.tenant_id, "tenant_a");
    EXPECT_EQ(f.user_id, "user-1");
    EXPECT_EQ(f.channel, "matrix");
    EXPECT_EQ(f.trace_id, "trace-1");
    EXPECT_EQ(f.span_id, "span-1");
    EXPECT_EQ(f.traceparent, kTraceparent);
    EXPECT_EQ(f.metadata, (Metadata{{"biz.key", "\"v\""}}));
  }
  EXPECT_EQ(ids.size(), 3u) << "every frame needs a fresh event_id";
  for (const auto& b : rec_.bytes()) {
    EXPECT_EQ(b.find("acp."), std::string::npos) << b;
    EXPECT_EQ(b.find("reply_to"), std::string::npos) << b;
  }
}

TEST_F(StreamWriterTest, MetadataIsOmittedWhenOnlyReservedKeysRemain) {
  Envelope req = make_request();
  req.metadata = {{"acp.cancel", "true"}};
  Recorder rec;
  StreamWriterImpl w(req, kAgent, rec.fn());
  ASSERT_TRUE(w.delta(R"({"delta":"a"})").ok());
  EXPECT_EQ(rec.bytes().at(0).find("\"metadata\""), std::string::npos) << rec.bytes().at(0);
}

TEST_F(StreamWriterTest, CancelByCallerPublishesTheCancelTerminalOnTheNextSeq) {
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  w_.cancel_by_caller();
  EXPECT_TRUE(w_.closed());
  auto frames = rec_.published();
  ASSERT_EQ(render(frames), "0:delta 1:error!");
  EXPECT_EQ(frames[1].event_type, event_type::kResponseError);
  EXPECT_EQ(frames[1].frame_type, "response.error");
  EXPECT_EQ(frames[1].correlation_id, request_.event_id);
  EXPECT_EQ(parse(frames[1].payload),
            json::parse(R"({"code":"INVALID_REQUEST","message":"stream cancelled by caller","retryable":false,)"
                        R"("cause":{"reason":"cancelled"}})"));
  // Later writes fail locally and publish nothing.
  expect_invalid(w_.delta(R"({"delta":"b"})"), "cancelled");
  EXPECT_FALSE(w_.final({}).ok());
  EXPECT_FALSE(w_.error(Status::unavailable("x")).ok());
  EXPECT_FALSE(w_.started({}).ok());
  w_.finish(Status());
  w_.finish(Status::unavailable("handler saw the cancel"));
  w_.cancel_by_caller();
  EXPECT_EQ(w_.heartbeat(std::chrono::milliseconds(1), true), std::nullopt);
  EXPECT_EQ(render(rec_.published()), "0:delta 1:error!");
  EXPECT_EQ(rec_.attempts().size(), 2u);
}

TEST_F(StreamWriterTest, CancelOnAFreshStreamUsesSeqZero) {
  w_.cancel_by_caller();
  EXPECT_EQ(render(rec_.published()), "0:error!");
}

TEST_F(StreamWriterTest, CancelAfterTerminalDoesNothing) {
  ASSERT_TRUE(w_.final({}).ok());
  w_.cancel_by_caller();
  EXPECT_EQ(render(rec_.published()), "0:final!");
  ASSERT_EQ(rec_.attempts().size(), 1u);
}

TEST_F(StreamWriterTest, ForcedHeartbeatIsABareShell) {
  auto next = w_.heartbeat(std::chrono::milliseconds(500), /*force=*/true);
  ASSERT_TRUE(next.has_value());
  auto now = std::chrono::steady_clock::now();
  EXPECT_GT(*next, now);
  EXPECT_LE(*next, now + std::chrono::milliseconds(500));
  auto bytes = rec_.bytes();
  ASSERT_EQ(bytes.size(), 1u);
  json hb = parse(bytes[0]);
  EXPECT_EQ(hb["event_type"], "agent.response.heartbeat");
  for (const char* key : {"frame_type", "seq", "is_final", "payload", "metadata", "reply_to"}) {
    EXPECT_FALSE(hb.contains(key)) << key << " in " << bytes[0];
  }
  EXPECT_EQ(hb["correlation_id"], request_.event_id);
  EXPECT_EQ(hb["to"], "client-1");
  EXPECT_EQ(hb["from"], kAgent);
  EXPECT_EQ(hb["traceparent"], kTraceparent);
  EXPECT_EQ(hb["session_id"], "sess-1");
  EXPECT_EQ(hb["tenant_id"], "tenant_a");
  EXPECT_EQ(w_.frames_sent(), 0u);
}

TEST_F(StreamWriterTest, HeartbeatsDoNotAdvanceTheSeq) {
  ASSERT_TRUE(w_.heartbeat(std::chrono::milliseconds(500), true).has_value());
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  ASSERT_TRUE(w_.heartbeat(std::chrono::milliseconds(500), true).has_value());
  ASSERT_TRUE(w_.heartbeat(std::chrono::milliseconds(500), true).has_value());
  ASSERT_TRUE(w_.delta(R"({"delta":"b"})").ok());
  ASSERT_TRUE(w_.final({}).ok());
  EXPECT_EQ(render(rec_.published()), "0:heartbeat 0:delta 0:heartbeat 0:heartbeat 1:delta 2:final!");
  EXPECT_EQ(w_.frames_sent(), 3u);
}

TEST_F(StreamWriterTest, UnforcedHeartbeatWithinTheIntervalSendsNothing) {
  auto next = w_.heartbeat(std::chrono::hours(1), /*force=*/false);
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, std::chrono::steady_clock::now() + std::chrono::minutes(59));
  ASSERT_TRUE(w_.delta(R"({"delta":"a"})").ok());
  EXPECT_TRUE(w_.heartbeat(std::chrono::hours(1), false).has_value());
  EXPECT_EQ(render(rec_.published()), "0:delta");
}

TEST_F(StreamWriterTest, UnforcedHeartbeatAfterTheIntervalSends) {
  ASSERT_TRUE(w_.heartbeat(std::chrono::milliseconds(0), /*force=*/false).has_value());
  EXPECT_EQ(render(rec_.published()), "0:heartbeat");
}

TEST_F(StreamWriterTest, HeartbeatReturnsNulloptAfterATerminal) {
  ASSERT_TRUE(w_.final({}).ok());
  EXPECT_EQ(w_.heartbeat(std::chrono::milliseconds(1), true), std::nullopt);
  EXPECT_EQ(w_.heartbeat(std::chrono::milliseconds(0), false), std::nullopt);
  EXPECT_EQ(render(rec_.published()), "0:final!");
}

TEST_F(StreamWriterTest, HeartbeatReturnsNulloptAfterAFailedTerminal) {
  rec_.fail_next(1);
  EXPECT_FALSE(w_.final({}).ok());
  EXPECT_EQ(w_.heartbeat(std::chrono::milliseconds(1), true), std::nullopt);
  EXPECT_EQ(rec_.attempts().size(), 1u);
}

TEST(StreamWriterConcurrencyTest, ConcurrentDeltasGetEverySeqOnceInPublishOrder) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  Envelope request = make_request();
  Recorder rec;
  StreamWriterImpl w(request, kAgent, rec.fn());
  std::atomic<bool> go{false};
  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        if (!w.delta(R"({"t":)" + std::to_string(t) + R"(,"i":)" + std::to_string(i) + "}").ok()) ++failures;
      }
    });
  }
  // Heartbeats racing the writers must never take a seq.
  std::thread beater([&] {
    while (!go.load()) std::this_thread::yield();
    for (int n = 0; n < 2000 && !writers_done.load(); ++n) (void)w.heartbeat(std::chrono::milliseconds(0), true);
  });
  go = true;
  for (auto& t : threads) t.join();
  writers_done = true;
  beater.join();
  w.finish(Status());
  EXPECT_EQ(failures.load(), 0);

  constexpr std::uint64_t kTotal = kThreads * kPerThread;
  std::vector<Envelope> frames;
  for (const auto& f : rec.published()) {
    if (f.event_type != event_type::kResponseHeartbeat) frames.push_back(f);
  }
  ASSERT_EQ(frames.size(), kTotal + 1);
  std::vector<int> last_i(kThreads, -1);
  for (std::uint64_t n = 0; n < kTotal; ++n) {
    ASSERT_EQ(frames[n].seq, n) << "frames must be published in seq order without gaps";
    json p = json::parse(frames[n].payload);
    int t = p["t"], i = p["i"];
    EXPECT_EQ(i, last_i[t] + 1) << "one thread's deltas must keep their order";
    last_i[t] = i;
  }
  EXPECT_EQ(frames[kTotal].seq, kTotal);
  EXPECT_TRUE(frames[kTotal].is_final);
  EXPECT_EQ(w.frames_sent(), kTotal + 1);
}

}  // namespace
}  // namespace oaio::detail

// ReorderBuffer: the client-side ordering of stream frames (WIRE.md §5 client step 2,
// §12 "Reorder buffer"): out-of-order delivery, duplicates, late frames, the gap and
// pending limits, the expected frame when full, uint64 arithmetic, stop at is_final.
#include "reorder_buffer.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace oaio::detail {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

Envelope frame(std::uint64_t seq, bool is_final = false, std::string_view type = event_type::kResponseDelta) {
  Envelope e;
  e.event_type = std::string(type);
  e.seq = seq;
  e.is_final = is_final;
  e.payload = "{\"n\":" + std::to_string(seq) + "}";
  return e;
}

// "0,1,2!" : the seqs of the released frames, '!' marking is_final.
std::string render(const std::vector<Envelope>& frames) {
  std::string out;
  for (const auto& f : frames) {
    if (!out.empty()) out += ',';
    out += std::to_string(f.seq);
    if (f.is_final) out += '!';
  }
  return out;
}

// Pushes `seq`s in order; returns the released frames rendered, failing the test on a non-OK push.
std::string push_all(ReorderBuffer& buf, const std::vector<std::uint64_t>& seqs) {
  std::vector<Envelope> ready;
  for (auto s : seqs) {
    Status st = buf.push(frame(s), &ready);
    EXPECT_TRUE(st.ok()) << "seq " << s << ": " << st.to_string();
  }
  return render(ready);
}

TEST(ReorderBufferTest, InOrderFramesAreReleasedImmediately) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  for (std::uint64_t s = 0; s < 3; ++s) {
    ASSERT_TRUE(buf.push(frame(s), &ready).ok());
    EXPECT_EQ(ready.size(), s + 1);
  }
  EXPECT_EQ(render(ready), "0,1,2");
  EXPECT_EQ(buf.expected(), 3u);
  EXPECT_EQ(buf.pending(), 0u);
  EXPECT_FALSE(buf.finished());
}

TEST(ReorderBufferTest, OutOfOrderFramesAreReleasedInSeqOrder) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  ASSERT_TRUE(buf.push(frame(2), &ready).ok());
  EXPECT_EQ(render(ready), "");
  EXPECT_EQ(buf.pending(), 1u);
  ASSERT_TRUE(buf.push(frame(0), &ready).ok());
  EXPECT_EQ(render(ready), "0");
  EXPECT_EQ(buf.expected(), 1u);
  ASSERT_TRUE(buf.push(frame(1), &ready).ok());
  EXPECT_EQ(render(ready), "0,1,2");
  EXPECT_EQ(buf.expected(), 3u);
  EXPECT_EQ(buf.pending(), 0u);
}

TEST(ReorderBufferTest, ReverseOrderIsReleasedAllAtOnce) {
  ReorderBuffer buf;
  EXPECT_EQ(push_all(buf, {5, 4, 3, 2, 1}), "");
  EXPECT_EQ(buf.pending(), 5u);
  EXPECT_EQ(push_all(buf, {0}), "0,1,2,3,4,5");
  EXPECT_EQ(buf.pending(), 0u);
}

TEST(ReorderBufferTest, ReleasedFramesKeepTheirContent) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  Envelope one = frame(1);
  one.payload = R"({"delta":"second"})";
  one.correlation_id = "corr-1";
  ASSERT_TRUE(buf.push(one, &ready).ok());
  ASSERT_TRUE(buf.push(frame(0), &ready).ok());
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].payload, R"({"delta":"second"})");
  EXPECT_EQ(ready[1].correlation_id, "corr-1");
  EXPECT_EQ(ready[0].payload, R"({"n":0})");
}

TEST(ReorderBufferTest, DuplicatesOfDeliveredFramesAreDroppedSilently) {
  ReorderBuffer buf;
  EXPECT_EQ(push_all(buf, {0, 1, 0, 1, 2, 1}), "0,1,2");
  EXPECT_EQ(buf.expected(), 3u);
  EXPECT_EQ(buf.pending(), 0u);
}

TEST(ReorderBufferTest, LateFramesBelowExpectedAreDropped) {
  ReorderBuffer buf;
  EXPECT_EQ(push_all(buf, {0, 1, 2, 3}), "0,1,2,3");
  std::vector<Envelope> ready;
  Status st = buf.push(frame(1), &ready);
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_TRUE(ready.empty());
  EXPECT_EQ(buf.pending(), 0u);
  EXPECT_EQ(buf.expected(), 4u);
}

TEST(ReorderBufferTest, DuplicateOfAPendingFrameIsDroppedAndTheFirstCopyWins) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  Envelope first = frame(2);
  first.payload = R"({"copy":"first"})";
  Envelope second = frame(2);
  second.payload = R"({"copy":"second"})";
  ASSERT_TRUE(buf.push(first, &ready).ok());
  ASSERT_TRUE(buf.push(second, &ready).ok());
  EXPECT_EQ(buf.pending(), 1u);
  ASSERT_TRUE(buf.push(frame(0), &ready).ok());
  ASSERT_TRUE(buf.push(frame(1), &ready).ok());
  EXPECT_EQ(render(ready), "0,1,2");
  EXPECT_EQ(ready[2].payload, R"({"copy":"first"})");
}

TEST(ReorderBufferTest, GapOf1023IsAcceptedWithDefaultLimits) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  Status st = buf.push(frame(1023), &ready);
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(buf.pending(), 1u);
  EXPECT_TRUE(ready.empty());
}

TEST(ReorderBufferTest, GapOf1024IsBackpressureDropWithDefaultLimits) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  Status st = buf.push(frame(1024), &ready);
  EXPECT_EQ(st.code(), ErrorCode::kBackpressureDrop);
  EXPECT_TRUE(st.retryable());
  EXPECT_NE(st.message().find("1024"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("max gap"), std::string::npos) << st.message();
  EXPECT_TRUE(ready.empty());
  EXPECT_EQ(buf.pending(), 0u) << "a refused frame must not be stored";
}

TEST(ReorderBufferTest, GapIsMeasuredFromTheExpectedSeq) {
  ReorderBuffer buf;
  EXPECT_EQ(push_all(buf, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), "0,1,2,3,4,5,6,7,8,9");
  ASSERT_EQ(buf.expected(), 10u);
  std::vector<Envelope> ready;
  EXPECT_TRUE(buf.push(frame(10 + 1023), &ready).ok());
  Status st = buf.push(frame(10 + 1024), &ready);
  EXPECT_EQ(st.code(), ErrorCode::kBackpressureDrop);
  EXPECT_NE(st.message().find("1034"), std::string::npos) << st.message();
  EXPECT_EQ(buf.pending(), 1u);
}

TEST(ReorderBufferTest, CustomGapLimit) {
  ReorderBuffer buf(/*max_pending=*/0, /*max_gap=*/4);
  std::vector<Envelope> ready;
  EXPECT_TRUE(buf.push(frame(3), &ready).ok());
  Status st = buf.push(frame(4), &ready);
  EXPECT_EQ(st.code(), ErrorCode::kBackpressureDrop);
  EXPECT_NE(st.message().find("max gap 4"), std::string::npos) << st.message();
}

TEST(ReorderBufferTest, DefaultPendingCapIs256) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  for (std::uint64_t s = 1; s <= 256; ++s) {
    Status st = buf.push(frame(s), &ready);
    ASSERT_TRUE(st.ok()) << "seq " << s << ": " << st.to_string();
  }
  EXPECT_EQ(buf.pending(), 256u);
  Status st = buf.push(frame(257), &ready);
  EXPECT_EQ(st.code(), ErrorCode::kBackpressureDrop);
  EXPECT_TRUE(st.retryable());
  EXPECT_NE(st.message().find("full"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("256"), std::string::npos) << st.message();
  EXPECT_EQ(buf.pending(), 256u);
  EXPECT_TRUE(ready.empty());
}

TEST(ReorderBufferTest, ExpectedFrameIsAcceptedWhenTheBufferIsFull) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  for (std::uint64_t s = 1; s <= 256; ++s) ASSERT_TRUE(buf.push(frame(s), &ready).ok());
  ASSERT_EQ(buf.pending(), 256u);
  Status st = buf.push(frame(0), &ready);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(ready.size(), 257u);
  for (std::uint64_t s = 0; s <= 256; ++s) EXPECT_EQ(ready[s].seq, s);
  EXPECT_EQ(buf.expected(), 257u);
  EXPECT_EQ(buf.pending(), 0u);
}

TEST(ReorderBufferTest, CustomSmallPendingCap) {
  ReorderBuffer buf(/*max_pending=*/3, /*max_gap=*/0);
  std::vector<Envelope> ready;
  EXPECT_EQ(push_all(buf, {2, 3, 4}), "");
  ASSERT_EQ(buf.pending(), 3u);
  Status st = buf.push(frame(5), &ready);
  EXPECT_EQ(st.code(), ErrorCode::kBackpressureDrop);
  EXPECT_NE(st.message().find("3 frames pending"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("waiting for seq 0"), std::string::npos) << st.message();
  // A duplicate of a pending frame is still dropped silently, not reported as overflow.
  EXPECT_TRUE(buf.push(frame(3), &ready).ok());
  // The refused push changed nothing: the missing frames still complete the stream.
  EXPECT_EQ(push_all(buf, {0}), "0");
  ASSERT_EQ(buf.pending(), 3u);
  EXPECT_EQ(push_all(buf, {1}), "1,2,3,4");
  EXPECT_EQ(buf.expected(), 5u);
  // Room again after draining.
  EXPECT_EQ(push_all(buf, {6, 7, 8}), "");
}

TEST(ReorderBufferTest, ZeroLimitsSelectTheDefaults) {
  ReorderBuffer gap(0, 0);
  std::vector<Envelope> ready;
  EXPECT_TRUE(gap.push(frame(ReorderBuffer::kDefaultMaxGap - 1), &ready).ok());
  EXPECT_EQ(gap.push(frame(ReorderBuffer::kDefaultMaxGap), &ready).code(), ErrorCode::kBackpressureDrop);

  ReorderBuffer cap(0, 0);
  for (std::uint64_t s = 1; s <= ReorderBuffer::kDefaultMaxPending; ++s) ASSERT_TRUE(cap.push(frame(s), &ready).ok());
  EXPECT_EQ(cap.push(frame(ReorderBuffer::kDefaultMaxPending + 1), &ready).code(), ErrorCode::kBackpressureDrop);
  EXPECT_EQ(ReorderBuffer::kDefaultMaxPending, 256u);
  EXPECT_EQ(ReorderBuffer::kDefaultMaxGap, 1024u);
}

TEST(ReorderBufferTest, MaximumSeqIsBackpressureNotAccepted) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  Status st = buf.push(frame(kMax), &ready);
  EXPECT_EQ(st.code(), ErrorCode::kBackpressureDrop);
  EXPECT_NE(st.message().find(std::to_string(kMax)), std::string::npos) << st.message();
  EXPECT_EQ(buf.pending(), 0u);
  EXPECT_EQ(buf.push(frame(kMax - 1), &ready).code(), ErrorCode::kBackpressureDrop);
  EXPECT_EQ(buf.push(frame(kMax - 1023), &ready).code(), ErrorCode::kBackpressureDrop);
  // The stream is still usable by in-order frames.
  EXPECT_EQ(push_all(buf, {0, 1}), "0,1");
}

TEST(ReorderBufferTest, GapCheckDoesNotOverflowWithAHugeGapLimit) {
  // With max_gap near the uint64 maximum, a check written as `seq >= expected + max_gap`
  // would wrap around and refuse every frame once expected > 0.
  ReorderBuffer buf(/*max_pending=*/0, /*max_gap=*/std::numeric_limits<std::size_t>::max());
  std::vector<Envelope> ready;
  ASSERT_TRUE(buf.push(frame(0), &ready).ok());
  ASSERT_EQ(buf.expected(), 1u);
  Status st = buf.push(frame(5), &ready);
  EXPECT_TRUE(st.ok()) << st.to_string();
  st = buf.push(frame(kMax), &ready);  // gap kMax - 1 < max_gap
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(buf.pending(), 2u);
  EXPECT_EQ(render(ready), "0");
}

TEST(ReorderBufferTest, StopsAtIsFinalAndIgnoresLaterFrames) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  ASSERT_TRUE(buf.push(frame(0), &ready).ok());
  ASSERT_TRUE(buf.push(frame(1, /*is_final=*/true, event_type::kResponseFinal), &ready).ok());
  EXPECT_TRUE(buf.finished());
  EXPECT_EQ(render(ready), "0,1!");
  // Frames after the end are ignored, even ones that would otherwise overflow.
  EXPECT_TRUE(buf.push(frame(2), &ready).ok());
  EXPECT_TRUE(buf.push(frame(kMax), &ready).ok());
  EXPECT_TRUE(buf.push(frame(1, true), &ready).ok());
  EXPECT_EQ(render(ready), "0,1!");
  EXPECT_EQ(buf.pending(), 0u);
  EXPECT_TRUE(buf.finished());
}

TEST(ReorderBufferTest, FramesPendingBeyondTheFinalAreDiscarded) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  ASSERT_TRUE(buf.push(frame(3), &ready).ok());
  ASSERT_TRUE(buf.push(frame(4), &ready).ok());
  ASSERT_TRUE(buf.push(frame(2, /*is_final=*/true, event_type::kResponseFinal), &ready).ok());
  ASSERT_TRUE(buf.push(frame(1), &ready).ok());
  EXPECT_EQ(buf.pending(), 4u);
  EXPECT_FALSE(buf.finished());
  ASSERT_TRUE(buf.push(frame(0), &ready).ok());
  EXPECT_EQ(render(ready), "0,1,2!");
  EXPECT_TRUE(buf.finished());
  EXPECT_EQ(buf.pending(), 0u);
  EXPECT_EQ(buf.expected(), 3u);
}

TEST(ReorderBufferTest, ErrorFramesAreReleasedLikeOthers) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  Envelope err = frame(1, /*is_final=*/true, event_type::kResponseError);
  err.payload = R"({"code":"AGENT_UNAVAILABLE","message":"boom","retryable":false})";
  ASSERT_TRUE(buf.push(err, &ready).ok());
  EXPECT_TRUE(ready.empty());
  ASSERT_TRUE(buf.push(frame(0), &ready).ok());
  ASSERT_EQ(render(ready), "0,1!");
  EXPECT_EQ(ready[1].event_type, event_type::kResponseError);
  EXPECT_EQ(ready[1].payload, err.payload);
  EXPECT_TRUE(buf.finished());
}

TEST(ReorderBufferTest, EndsOnIsFinalNotOnEventType) {
  // WIRE.md §2.4: a stream ends at is_final, never on event_type alone.
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  ASSERT_TRUE(buf.push(frame(0, /*is_final=*/false, event_type::kResponseFinal), &ready).ok());
  ASSERT_TRUE(buf.push(frame(1, /*is_final=*/false, event_type::kResponseError), &ready).ok());
  EXPECT_FALSE(buf.finished());
  ASSERT_TRUE(buf.push(frame(2, /*is_final=*/true, "custom.event"), &ready).ok());
  EXPECT_TRUE(buf.finished());
  EXPECT_EQ(render(ready), "0,1,2!");
}

TEST(ReorderBufferTest, FinalAtSeqZero) {
  ReorderBuffer buf;
  std::vector<Envelope> ready;
  ASSERT_TRUE(buf.push(frame(0, true, event_type::kResponseFinal), &ready).ok());
  EXPECT_TRUE(buf.finished());
  EXPECT_EQ(render(ready), "0!");
  EXPECT_EQ(buf.expected(), 1u);
}

}  // namespace
}  // namespace oaio::detail

// occurred_at formatting and parsing (WIRE.md §1.4): Go's exact bytes out, lenient in.
#include <chrono>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "oaio/envelope.h"

namespace oaio {
namespace {

using std::chrono::nanoseconds;

// 2026-05-02T10:00:00Z as Unix seconds.
constexpr std::int64_t kBase = 1777716000;

SysNanos at(std::int64_t secs, std::int64_t nanos = 0) {
  return SysNanos(nanoseconds(secs * 1'000'000'000 + nanos));
}

std::string normalise(std::string_view text) {
  auto t = parse_timestamp(text);
  return t ? format_timestamp(*t) : "<invalid>";
}

TEST(TimestampTest, FormatsLikeGo) {
  // The four cases of WIRE.md §1.4: no fraction, 3, 7 and 9 digits.
  EXPECT_EQ(format_timestamp(at(kBase)), "2026-05-02T10:00:00Z");
  EXPECT_EQ(format_timestamp(at(kBase, 123'000'000)), "2026-05-02T10:00:00.123Z");
  EXPECT_EQ(format_timestamp(at(kBase, 123'456'700)), "2026-05-02T10:00:00.1234567Z");
  EXPECT_EQ(format_timestamp(at(kBase, 1)), "2026-05-02T10:00:00.000000001Z");
  EXPECT_EQ(format_timestamp(at(kBase, 999'999'999)), "2026-05-02T10:00:00.999999999Z");
  EXPECT_EQ(format_timestamp(at(kBase, 500'000'000)), "2026-05-02T10:00:00.5Z");
}

TEST(TimestampTest, FormatsCalendarEdges) {
  EXPECT_EQ(format_timestamp(at(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(at(-1, 500'000'000)), "1969-12-31T23:59:59.5Z");
  EXPECT_EQ(format_timestamp(at(951782400)), "2000-02-29T00:00:00Z");  // leap day, 400-year rule
  EXPECT_EQ(format_timestamp(at(1709251199)), "2024-02-29T23:59:59Z");
  EXPECT_EQ(format_timestamp(at(4102444799)), "2099-12-31T23:59:59Z");
}

// Each thread reuses the calendar text of the last second it formatted: going back and
// forth across seconds, days and 1970 must never show a stale one.
TEST(TimestampTest, FormatsAlternatingSecondsAndDaysExactly) {
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(format_timestamp(at(kBase, 5)), "2026-05-02T10:00:00.000000005Z");
    EXPECT_EQ(format_timestamp(at(kBase + 1)), "2026-05-02T10:00:01Z");
    EXPECT_EQ(format_timestamp(at(kBase, 6)), "2026-05-02T10:00:00.000000006Z");
    EXPECT_EQ(format_timestamp(at(kBase + 50400 - 1, 1)), "2026-05-02T23:59:59.000000001Z");
    EXPECT_EQ(format_timestamp(at(kBase + 50400)), "2026-05-03T00:00:00Z");
    EXPECT_EQ(format_timestamp(at(-1)), "1969-12-31T23:59:59Z");
    EXPECT_EQ(format_timestamp(at(0, 1)), "1970-01-01T00:00:00.000000001Z");
  }
}

TEST(TimestampTest, ParsesWhatPeersSend) {
  EXPECT_EQ(normalise("2026-05-02T10:00:00Z"), "2026-05-02T10:00:00Z");
  EXPECT_EQ(normalise("2026-05-02T10:00:00.123456Z"), "2026-05-02T10:00:00.123456Z");  // Python: 6 digits
  EXPECT_EQ(normalise("2026-05-02T10:00:00.120000Z"), "2026-05-02T10:00:00.12Z");      // zeros trimmed
  EXPECT_EQ(normalise("2026-05-02T10:00:00.000Z"), "2026-05-02T10:00:00Z");            // no bare '.'
  EXPECT_EQ(normalise("2026-05-02T10:00:00.1234567891234Z"), "2026-05-02T10:00:00.123456789Z");  // truncated
  EXPECT_EQ(normalise("2026-05-02T12:00:00+02:00"), "2026-05-02T10:00:00Z");
  EXPECT_EQ(normalise("2026-05-02T10:00:00.5+00:00"), "2026-05-02T10:00:00.5Z");
  EXPECT_EQ(normalise("2026-05-02T04:30:00.123456-05:30"), "2026-05-02T10:00:00.123456Z");
  EXPECT_EQ(normalise("2026-05-01T23:30:00-10:30"), "2026-05-02T10:00:00Z");  // crosses the date line
  EXPECT_EQ(normalise("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00Z");
  EXPECT_EQ(normalise("1960-01-01T00:00:00Z"), "1960-01-01T00:00:00Z");
}

TEST(TimestampTest, RejectsMalformedOrOutOfRange) {
  const char* bad[] = {
      "", "2026-05-02", "2026-05-02T10:00:00", "2026-05-02 10:00:00Z", "2026-05-02t10:00:00Z",
      "2026-05-02T10:00:00z", "2026-05-02T10:00:00.Z", "2026-05-02T10:00:00+0200", "2026-05-02T10:00:00+02",
      "2026-05-02T10:00Z", "26-05-02T10:00:00Z", "2026-5-02T10:00:00Z", "2026-05-02T10:00:00Zjunk",
      " 2026-05-02T10:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z", "2026-05-00T00:00:00Z", "2026-05-02T24:00:00Z", "2026-05-02T10:60:00Z",
      "2026-05-02T10:00:60Z", "2026-05-02T10:00:00+24:00", "2026-05-02T10:00:00+02:60", "1900-02-29T00:00:00Z",
      // Valid RFC 3339, but outside int64 nanoseconds (1677..2262): unknown, not wrapped around.
      "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"};
  for (const char* text : bad) EXPECT_FALSE(parse_timestamp(text).has_value()) << text;
}

TEST(TimestampTest, RoundTripsRandomInstants) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> dist(-5'000'000'000'000'000'000, 9'000'000'000'000'000'000);
  for (int i = 0; i < 20000; ++i) {
    const SysNanos t{nanoseconds(dist(rng))};
    const std::string text = format_timestamp(t);
    auto back = parse_timestamp(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, t) << text;
  }
}

TEST(TimestampTest, NowIsCurrentAndCanonical) {
  const auto before = std::chrono::system_clock::now();
  const std::string text = now_timestamp();
  const auto after = std::chrono::system_clock::now();
  auto t = parse_timestamp(text);
  ASSERT_TRUE(t.has_value()) << text;
  EXPECT_LE(before, *t);
  EXPECT_GE(after, *t);
  EXPECT_EQ(format_timestamp(*t), text);
  EXPECT_EQ(text.back(), 'Z');
}

}  // namespace
}  // namespace oaio

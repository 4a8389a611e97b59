// new_event_id: RFC 9562 UUIDv7 shape, time prefix, and monotonic, unique ids across
// threads (WIRE.md §1.3).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "oaio/envelope.h"

namespace oaio {
namespace {

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// The 48-bit millisecond timestamp in the first 12 hex digits.
std::uint64_t id_ms(const std::string& id) {
  return std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
}

TEST(EventIdTest, MatchesTheUuidV7Pattern) {
  const std::regex v7("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 2000; ++i) {
    const std::string id = new_event_id();
    ASSERT_TRUE(std::regex_match(id, v7)) << id;
  }
}

TEST(EventIdTest, CarriesTheCurrentTimeInMilliseconds) {
  const std::uint64_t before = unix_ms();
  const std::string id = new_event_id();
  const std::uint64_t after = unix_ms();
  EXPECT_GE(id_ms(id), before) << id;
  // +1: an id may borrow one millisecond from the future when a counter overflows.
  EXPECT_LE(id_ms(id), after + 1) << id;
}

TEST(EventIdTest, RandomBitsDiffer) {
  // Two ids in the same millisecond must not share their random tail.
  const std::string a = new_event_id();
  const std::string b = new_event_id();
  EXPECT_NE(a.substr(24), b.substr(24));
}

TEST(EventIdTest, MonotonicPerThreadAndUniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25'000;  // 100k ids in all
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      ids[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(new_event_id());
    });
  }
  for (auto& th : threads) th.join();

  std::set<std::string> all;
  for (const auto& seq : ids) {
    // Fixed-width lowercase hex sorts like the 128-bit number it encodes.
    for (std::size_t i = 1; i < seq.size(); ++i) ASSERT_LT(seq[i - 1], seq[i]) << "at " << i;
    all.insert(seq.begin(), seq.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(EventIdTest, SingleThreadIsStrictlyIncreasingWithinOneMillisecond) {
  std::vector<std::string> ids(5000);
  for (auto& id : ids) id = new_event_id();
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  // Many of these share a millisecond, so the counter path is exercised.
  std::set<std::uint64_t> ms;
  for (const auto& id : ids) ms.insert(id_ms(id));
  EXPECT_LT(ms.size(), ids.size());
}

TEST(EventIdTest, ForkedChildDoesNotRepeatTheParent) {
  (void)new_event_id();  // fill the parent's random pool before forking
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string id = new_event_id();
    ssize_t n = ::write(fds[1], id.data(), id.size());
    ::_exit(n == 36 ? 0 : 1);
  }
  const std::string parent_id = new_event_id();
  char buf[36];
  ASSERT_EQ(::read(fds[0], buf, sizeof buf), 36);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  const std::string child_id(buf, sizeof buf);
  EXPECT_NE(child_id.substr(24), parent_id.substr(24)) << child_id << " vs " << parent_id;
}

}  // namespace
}  // namespace oaio

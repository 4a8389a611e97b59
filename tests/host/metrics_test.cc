// MetricsRegistry: the Prometheus text of counters, gauges and the host's lock-free
// histograms, as GET /metrics serves it.
#include "metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace oaio::host {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, HistogramRendersCumulativeBucketsCountAndSum) {
  MetricsRegistry m;
  ASSERT_TRUE(m.define("oaio_test_seconds", MetricKind::kHistogram, "a test histogram"));
  MetricSeries s = m.series("oaio_test_seconds", {{"target", "echo"}, {"bridge", "b"}});
  s.record(0.0001);  // on a bound: counted in that bucket (le)
  s.record(0.3);
  s.record(100);     // above every bound: only +Inf
  std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("# HELP oaio_test_seconds a test histogram"));
  EXPECT_THAT(text, HasSubstr("# TYPE oaio_test_seconds histogram"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{bridge="b",target="echo",le="5e-05"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{bridge="b",target="echo",le="0.0001"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{bridge="b",target="echo",le="0.25"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{bridge="b",target="echo",le="0.5"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{bridge="b",target="echo",le="30"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{bridge="b",target="echo",le="+Inf"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_count{bridge="b",target="echo"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_sum{bridge="b",target="echo"} 100.3001)"));
  // The same labels give the same series.
  m.series("oaio_test_seconds", {{"bridge", "b"}, {"target", "echo"}}).record(1);
  EXPECT_THAT(m.render(), HasSubstr(R"(oaio_test_seconds_count{bridge="b",target="echo"} 4)"));
}

TEST(MetricsTest, ConcurrentObservationsAreAllCounted) {
  MetricsRegistry m;
  ASSERT_TRUE(m.define("oaio_test_seconds", MetricKind::kHistogram, "h"));
  ASSERT_TRUE(m.define("oaio_test_total", MetricKind::kCounter, "c"));
  MetricSeries h = m.series("oaio_test_seconds", {{"target", "t"}});
  MetricSeries c = m.series("oaio_test_total", {{"target", "t"}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        h.record(0.001);
        c.record(1);
      }
    });
  }
  std::string during = m.render();  // rendering while recording is safe
  for (auto& t : threads) t.join();
  std::string text = m.render();
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_count{target="t"} 80000)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{target="t",le="0.001"} 80000)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_seconds_bucket{target="t",le="0.0005"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_test_total{target="t"} 80000)"));
  EXPECT_THAT(during, HasSubstr("oaio_test_seconds_count"));
}

TEST(MetricsTest, KindsAndNamesAreChecked) {
  MetricsRegistry m;
  EXPECT_FALSE(m.define("bad name", MetricKind::kCounter, ""));
  ASSERT_TRUE(m.define("oaio_x", MetricKind::kCounter, ""));
  EXPECT_TRUE(m.define("oaio_x", MetricKind::kCounter, ""));     // same again: fine
  EXPECT_FALSE(m.define("oaio_x", MetricKind::kHistogram, ""));  // another kind: refused
  m.series("oaio_undefined", {}).record(1);                       // records nothing, no crash
  EXPECT_THAT(m.render(), ::testing::Not(HasSubstr("oaio_undefined")));
}

}  // namespace
}  // namespace oaio::host

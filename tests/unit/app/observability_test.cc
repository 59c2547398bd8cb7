// The pieces behind the admin page, /metrics and the logs: the space-saving top-k, cache
// outcome classes, access-log lines, the request observer under concurrency, the error log's
// JSON lines, the masked running config and the history rates.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "admin/history.h"
#include "edge/app/access_log.h"
#include "edge/app/config_json.h"
#include "edge/app/logging.h"
#include "edge/app/metrics.h"
#include "edge/app/space_saving.h"
#include "edge/app/traffic_observer.h"

namespace strata::edge::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Poco::JSON::Object::Ptr parseJson(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

// ---- SpaceSaving ---------------------------------------------------------------------------

TEST(SpaceSavingTest, ExactWhileUnderCapacity) {
  SpaceSaving s(8);
  for (int i = 0; i < 5; ++i) s.add("a");
  s.add("b", 3);
  s.add("c");
  auto top = s.top(10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].key, "a");
  EXPECT_EQ(top[0].count, 5u);
  EXPECT_EQ(top[1].key, "b");
  EXPECT_EQ(top[1].count, 3u);
  EXPECT_EQ(top[2].error, 0u);
  EXPECT_EQ(s.total(), 9u);
}

TEST(SpaceSavingTest, FindsHeavyHittersInASkewedStreamWithBoundedMemory) {
  // 200,000 requests over 20,000 keys, Zipf-like; 64 slots.
  SpaceSaving s(64);
  std::map<std::string, std::uint64_t> truth;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 200000; ++i) {
    const int rank = static_cast<int>(std::pow(20000.0, u(rng)));  // Heavier at low ranks.
    const std::string key = "/k" + std::to_string(rank);
    s.add(key);
    ++truth[key];
  }
  EXPECT_LE(s.size(), 64u);
  const std::uint64_t bound = s.total() / s.capacity();
  for (const auto& item : s.top(64)) {
    EXPECT_GE(item.count, truth[item.key]) << item.key;  // Never undercounts.
    EXPECT_LE(item.count - item.error, truth[item.key]) << item.key;
    EXPECT_LE(item.error, bound);
  }
  // Every key heavier than total/capacity is present, and the top 5 are the true top 5.
  std::vector<std::pair<std::uint64_t, std::string>> sorted;
  for (const auto& [k, n] : truth) sorted.push_back({n, k});
  std::sort(sorted.rbegin(), sorted.rend());
  auto top = s.top(64);
  for (const auto& [n, k] : sorted) {
    if (n <= bound) break;
    EXPECT_TRUE(std::any_of(top.begin(), top.end(), [&](const auto& t) { return t.key == k; }))
        << k << " with " << n;
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(top[i].key, sorted[i].second);
}

TEST(SpaceSavingTest, WeightedAndTruncatedKeys) {
  SpaceSaving s(2, 4);
  s.add("abcdefgh", 100);
  s.add("abcdXYZ", 1);  // Same first 4 bytes: the same key.
  s.add("zz", 5);
  s.add("yy", 7);  // Replaces "zz" (the lightest) and inherits its 5 as error.
  auto top = s.top(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, "abcd");
  EXPECT_EQ(top[0].count, 101u);
  EXPECT_EQ(top[1].key, "yy");
  EXPECT_EQ(top[1].count, 12u);
  EXPECT_EQ(top[1].error, 5u);
}

// ---- Cache outcome classes and access-log lines --------------------------------------------

TEST(CacheStatusClassTest, LastEntryDecides) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "none"},
      {"edge; hit; ttl=30", "hit"},
      {"edge; hit; ttl=-3; detail=stale", "stale"},
      {"edge; fwd=uri-miss; fwd-status=200; stored", "miss"},
      {"edge; fwd=vary-miss; fwd-status=200", "miss"},
      {"edge; fwd=uri-miss; fwd-status=200; stored; collapsed", "coalesced"},
      {"edge; fwd=stale; fwd-status=304", "revalidated"},
      {"edge; fwd=stale; fwd-status=200; stored", "miss"},
      {"edge; fwd=bypass; fwd-status=200", "bypass"},
      {"edge; fwd=request; fwd-status=200", "bypass"},
      {"shield; hit; ttl=10, edge; fwd=uri-miss; fwd-status=200", "miss"},
      {"shield; fwd=uri-miss, edge; hit; ttl=5", "hit"},
      {"edge; detail=hitting", "none"},
  };
  for (const auto& [value, expected] : cases) {
    EXPECT_EQ(cacheStatusClass(value), expected) << value;
  }
}

pipeline::RequestRecord sampleRecord() {
  pipeline::RequestRecord r;
  r.method = "GET";
  r.target = "/a?b=\"c\"";
  r.host = "example.com";
  r.version = "HTTP/1.1";
  r.clientAddress = "10.0.0.7";
  r.userAgent = "agent \"x\"\x01";
  r.cacheStatus = "edge; hit; ttl=5";
  r.status = 200;
  r.bytes = 1234;
  r.durationMicros = 1500;
  return r;
}

TEST(AccessLogTest, CombinedFormat) {
  // 2026-01-02T03:04:05Z
  const std::string line =
      formatAccessLine(AccessLogFormat::kCombined, sampleRecord(), 1767323045'000000);
  EXPECT_EQ(line,
            "10.0.0.7 - - [02/Jan/2026:03:04:05 +0000] \"GET /a?b=\\\"c\\\" HTTP/1.1\" 200 1234 "
            "\"-\" \"agent \\\"x\\\"\\x01\" \"edge; hit; ttl=5\"");
}

TEST(AccessLogTest, JsonLinesParseAndKeepEveryField) {
  auto r = sampleRecord();
  r.target = "/\xff\xfe<script>\xc3\xa9";  // Invalid UTF-8, markup, then a valid "é".
  const std::string line = formatAccessLine(AccessLogFormat::kJson, r, 1767323045'123456);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto o = parseJson(line);
  EXPECT_EQ(o->getValue<std::string>("time"), "2026-01-02T03:04:05.123456Z");
  EXPECT_EQ(o->getValue<std::string>("client"), "10.0.0.7");
  EXPECT_EQ(o->getValue<std::string>("target"), "/\\xff\\xfe<script>\xc3\xa9");
  EXPECT_EQ(o->getValue<std::string>("user_agent"), "agent \"x\"\x01");
  EXPECT_EQ(o->getValue<int>("status"), 200);
  EXPECT_EQ(o->getValue<int>("bytes"), 1234);
  EXPECT_DOUBLE_EQ(o->getValue<double>("duration_ms"), 1.5);
  EXPECT_EQ(o->getValue<std::string>("cache"), "hit");
  EXPECT_EQ(o->getValue<std::string>("referer"), "");
}

TEST(AccessLogTest, FormatNames) {
  EXPECT_EQ(parseAccessLogFormat("combined"), AccessLogFormat::kCombined);
  EXPECT_EQ(parseAccessLogFormat("json"), AccessLogFormat::kJson);
  EXPECT_FALSE(parseAccessLogFormat("JSON"));
}

// ---- TrafficObserver -----------------------------------------------------------------------

const prometheus::MetricFamily& familyNamed(const std::vector<prometheus::MetricFamily>& all,
                                            const std::string& name) {
  for (const auto& f : all) {
    if (f.name == name) return f;
  }
  ADD_FAILURE() << "no family " << name;
  static prometheus::MetricFamily none;
  return none;
}

double valueFor(const prometheus::MetricFamily& f, const std::string& label,
                const std::string& value) {
  for (const auto& m : f.metric) {
    for (const auto& l : m.label) {
      if (l.name == label && l.value == value) return m.counter.value;
    }
  }
  return -1;
}

TEST(TrafficObserverTest, CountsExactlyAcrossThreadsAndRanksUrls) {
  TrafficObserver observer({});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&observer, t] {
      pipeline::RequestRecord r;
      r.host = "h";
      r.status = 200;
      for (int i = 0; i < kPerThread; ++i) {
        r.target = i % 2 ? "/hot" : "/t" + std::to_string(t) + "-" + std::to_string(i % 10);
        r.cacheStatus = i % 4 == 0 ? "n; fwd=uri-miss; fwd-status=200" : "n; hit; ttl=1";
        r.bytes = r.target == "/hot" ? 10 : 1000;
        r.durationMicros = i % 3 == 0 ? 200 : 3000;
        observer.observe(r);
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto families = observer.metricFamilies();
  const auto& requests = familyNamed(families, "strata_requests_total");
  EXPECT_EQ(valueFor(requests, "cache_status", "hit"), kThreads * kPerThread * 3 / 4);
  EXPECT_EQ(valueFor(requests, "cache_status", "miss"), kThreads * kPerThread / 4);
  EXPECT_EQ(valueFor(familyNamed(families, "strata_responses_total"), "code", "200"),
            kThreads * kPerThread);
  const auto& duration = familyNamed(families, "strata_request_duration_seconds");
  std::uint64_t count = 0;
  for (const auto& m : duration.metric) {
    count += m.histogram.sample_count;
    EXPECT_EQ(m.histogram.bucket.back().cumulative_count, m.histogram.sample_count);
    EXPECT_TRUE(std::isinf(m.histogram.bucket.back().upper_bound));
  }
  EXPECT_EQ(count, static_cast<std::uint64_t>(kThreads * kPerThread));

  auto top = observer.top(3);
  ASSERT_FALSE(top.byRequests.empty());
  EXPECT_EQ(top.byRequests[0].url, "h/hot");
  EXPECT_EQ(top.byRequests[0].value, static_cast<std::uint64_t>(kThreads * kPerThread / 2));
  EXPECT_EQ(top.byRequests[0].error, 0u);
  EXPECT_NE(top.byBytes[0].url, "h/hot");  // Many small responses lose to fewer large ones.
  auto json = parseJson(observer.topJson(2));
  EXPECT_EQ(json->getArray("by_requests")->size(), 2u);
  EXPECT_EQ(json->getArray("by_requests")->getObject(0)->getValue<std::string>("url"), "h/hot");
}

TEST(TrafficObserverTest, TopJsonEscapesWhatTrafficSends) {
  TrafficObserver observer({});
  pipeline::RequestRecord r;
  r.host = "h\"";
  r.target = "/<script>\x01\xff";
  r.bytes = 5;
  observer.observe(r);
  auto json = parseJson(observer.topJson(5));
  EXPECT_EQ(json->getArray("by_bytes")->getObject(0)->getValue<std::string>("url"),
            "h\"/<script>\x01\\xff");
}

// ---- Metrics from the backend contract -----------------------------------------------------

TEST(MetricsTest, BackendFamiliesFollowTheSharedContract) {
  const std::string body = R"({"pools":[{"name":"primary","policy":"round_robin","healthy":1,
    "backends":[{"name":"b1","url":"http://127.0.0.1:8081","weight":9,"state":"draining",
    "healthy":true,"in_flight":2,"requests":123,"errors":4,"failures_consecutive":0,
    "latency_ms":1.5,"connections_reused":100,"connections_opened":2}]}]})";
  const auto text = serializeMetrics(backendMetricFamilies(body));
  EXPECT_THAT(text, HasSubstr("strata_backend_up{pool=\"primary\",backend=\"b1\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr("strata_backend_state{pool=\"primary\",backend=\"b1\",state=\"draining\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("strata_backend_state{pool=\"primary\",backend=\"b1\",state=\"up\"} 0"));
  EXPECT_THAT(text,
              HasSubstr("strata_backend_requests_total{pool=\"primary\",backend=\"b1\"} 123"));
  EXPECT_THAT(text,
              HasSubstr("strata_backend_latency_seconds{pool=\"primary\",backend=\"b1\"} 0.0015"));
  EXPECT_THAT(text, HasSubstr("strata_pool_healthy_backends{pool=\"primary\"} 1"));
  EXPECT_TRUE(backendMetricFamilies("").empty());
  EXPECT_TRUE(backendMetricFamilies("{not json").empty());
}

// ---- Error log lines -----------------------------------------------------------------------

TEST(JsonLinesFormatterTest, KeyValuePairsBecomeFields) {
  Poco::Message m("strata.node", "event=purge_failed actor=ci error=\"disk \\\"full\\\"\" level=x",
                  Poco::Message::PRIO_ERROR);
  std::string text;
  JsonLinesFormatter().format(m, text);
  auto o = parseJson(text);
  EXPECT_EQ(o->getValue<std::string>("level"), "error");  // Not replaced by the message's pair.
  EXPECT_EQ(o->getValue<std::string>("logger"), "strata.node");
  EXPECT_EQ(o->getValue<std::string>("event"), "purge_failed");
  EXPECT_EQ(o->getValue<std::string>("actor"), "ci");
  EXPECT_EQ(o->getValue<std::string>("error"), "disk \"full\"");
  EXPECT_THAT(o->getValue<std::string>("message"), HasSubstr("event=purge_failed"));
}

// ---- Running config ------------------------------------------------------------------------

TEST(ConfigJsonTest, SecretsAreHidden) {
  Config c;
  c.adminTokens = {{"ops", "super-secret-token"}};
  Pool pool;
  pool.name = "p";
  pool.backends.push_back({"b", "http://user:hunter2@origin.internal:8080/", 1});
  c.pools.push_back(pool);
  c.staleIfUnreachableMs = 300000;
  const std::string json = configJson(c, {"ops", "env"});
  EXPECT_THAT(json, Not(HasSubstr("super-secret-token")));
  EXPECT_THAT(json, Not(HasSubstr("hunter2")));
  auto o = parseJson(json);
  auto tokens = o->getObject("admin")->getArray("tokens");
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ(tokens->getObject(1)->getValue<std::string>("name"), "env");
  EXPECT_EQ(tokens->getObject(0)->getValue<std::string>("token"), "***");
  EXPECT_EQ(o->getArray("pools")
                ->getObject(0)
                ->getArray("backends")
                ->getObject(0)
                ->getValue<std::string>("url"),
            "http://user:***@origin.internal:8080/");
  EXPECT_EQ(o->getObject("cache")->getValue<std::string>("stale_if_unreachable"), "5m");
  EXPECT_EQ(maskUrlPassword("http://host:80/a@b"), "http://host:80/a@b");
  EXPECT_EQ(maskUrlPassword("http://user@host/"), "http://user@host/");
}

// ---- History -------------------------------------------------------------------------------

TEST(HistoryTest, RatesBetweenConsecutiveSamples) {
  admin::History h(3);
  h.record({1000, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  h.record({2000, 10, 6, 8, 5000, 2, 1, 3, 100, 200});
  h.record({4000, 10, 6, 8, 5000, 2, 1, 3, 100, 200});
  auto o = parseJson(h.json());
  auto points = o->getArray("points");
  ASSERT_EQ(points->size(), 2u);
  auto p = points->getObject(0);
  EXPECT_DOUBLE_EQ(p->getValue<double>("requests_per_s"), 10);
  EXPECT_DOUBLE_EQ(p->getValue<double>("hit_ratio"), 0.75);
  EXPECT_DOUBLE_EQ(p->getValue<double>("bytes_per_s"), 5000);
  EXPECT_EQ(p->getValue<int>("disk_bytes"), 200);
  EXPECT_TRUE(points->getObject(1)->isNull("hit_ratio"));  // No lookups in that interval.
  for (int i = 0; i < 10; ++i) h.record({5000 + i * 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(parseJson(h.json())->getArray("points")->size(), 3u);  // Bounded.
}

}  // namespace
}  // namespace strata::edge::app

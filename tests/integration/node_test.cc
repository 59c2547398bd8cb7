// The real node, in process, on port 0, in front of a scripted origin over real sockets.

#include "edge/app/node.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "edge/pipeline/stats.h"
#include "node_fixture.h"
#include "test_support.h"

namespace strata::testing {
namespace {

using edge::app::Config;
using edge::app::Node;

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override { node_ = startNode(configFor(origin_.url(), dir_.path())); }
  Response get(const std::string& uri, std::vector<std::pair<std::string, std::string>> h = {}) {
    return request(node_->proxyPort(), "GET", uri, std::move(h));
  }

  ScriptedOrigin origin_;
  TempDir dir_;
  std::unique_ptr<Node> node_;
};

TEST_F(NodeTest, MissThenHitWithAgeAndCacheStatus) {
  origin_.on("/page", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "hello"));
  Response first = get("/page");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "hello");
  EXPECT_EQ(first.header("Cache-Status"), "test-node; fwd=uri-miss; fwd-status=200; stored");
  Response second = get("/page");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "hello");
  EXPECT_EQ(second.header("Cache-Status").rfind("test-node; hit; ttl=", 0), 0u)
      << second.header("Cache-Status") << " / " << first.header("Cache-Status");
  EXPECT_FALSE(second.header("Age").empty());
  EXPECT_EQ(origin_.count("/page"), 1);
  EXPECT_EQ(node_->stats().hits.load(), 1u);
}

TEST_F(NodeTest, QueryStringsAreDistinctKeys) {
  origin_.on("/q", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "q"));
  get("/q?a=1");
  get("/q?a=2");
  get("/q?a=1");
  EXPECT_EQ(origin_.count("/q"), 2);
}

TEST_F(NodeTest, UncacheableResponsesAreNotStored) {
  origin_.on("/nostore",
             ScriptedOrigin::fixed(200, {{"Cache-Control", "no-store, max-age=60"}}, "x"));
  origin_.on("/private",
             ScriptedOrigin::fixed(200, {{"Cache-Control", "private, max-age=60"}}, "x"));
  origin_.on("/plain", ScriptedOrigin::fixed(200, {}, "x"));
  origin_.on("/expired", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=0"}}, "x"));
  for (const char* path : {"/nostore", "/private", "/plain", "/expired"}) {
    Response a = get(path);
    Response b = get(path);
    EXPECT_EQ(a.status, 200) << path;
    EXPECT_EQ(b.header("Cache-Status").find("; hit"), std::string::npos) << path;
    EXPECT_EQ(a.header("Cache-Status").find("stored"), std::string::npos)
        << path << " " << a.header("Cache-Status");
    EXPECT_EQ(origin_.count(path), 2) << path;
  }
}

TEST_F(NodeTest, ExpiresHeaderMakesAResponseCacheable) {
  origin_.on("/expires", ScriptedOrigin::fixed(200, {{"Expires", "Thu, 01 Jan 2099 00:00:00 GMT"}},
                                               "until 2099"));
  get("/expires");
  Response hit = get("/expires");
  EXPECT_NE(hit.header("Cache-Status").find("; hit"), std::string::npos);
  EXPECT_EQ(origin_.count("/expires"), 1);
}

TEST_F(NodeTest, UnsafeMethodsBypassTheCache) {
  origin_.on("/form", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "posted"));
  Response a = request(node_->proxyPort(), "POST", "/form", {}, "a=1");
  Response b = request(node_->proxyPort(), "POST", "/form", {}, "a=1");
  EXPECT_EQ(a.header("Cache-Status"), "test-node; fwd=bypass; fwd-status=200");
  EXPECT_EQ(b.body, "posted");
  EXPECT_EQ(origin_.count("/form"), 2);
}

TEST_F(NodeTest, ForwardingStripsHopByHopAndAddsViaAndForwardedFor) {
  origin_.on("/fwd", ScriptedOrigin::fixed(200,
                                           {{"Cache-Control", "max-age=60"},
                                            {"Connection", "X-Origin-Hop"},
                                            {"X-Origin-Hop", "secret"}},
                                           "ok"));
  // A raw request: HTTP client libraries rewrite Connection themselves.
  std::string answer = rawExchange(node_->proxyPort(),
                                   "GET /fwd HTTP/1.1\r\n"
                                   "Host: www.example.test\r\n"
                                   "Connection: close, X-Client-Hop\r\n"
                                   "X-Client-Hop: 1\r\n"
                                   "Keep-Alive: timeout=5\r\n"
                                   "TE: trailers\r\n"
                                   "X-Forwarded-For: 10.9.8.7\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_EQ(answer.find("X-Origin-Hop"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Via: 1.1 test-node"), std::string::npos) << answer;
  auto seen = origin_.requests();
  ASSERT_EQ(seen.size(), 1u);
  const auto& h = seen[0].headers;
  EXPECT_FALSE(h.has("X-Client-Hop"));
  EXPECT_FALSE(h.has("Keep-Alive"));
  EXPECT_FALSE(h.has("TE"));
  EXPECT_EQ(h.get("Host").value_or(""), "www.example.test");
  EXPECT_EQ(h.get("Via").value_or(""), "1.1 test-node");
  EXPECT_EQ(h.get("X-Forwarded-For").value_or(""), "10.9.8.7, 127.0.0.1");
  EXPECT_EQ(h.get("X-Forwarded-Proto").value_or(""), "http");
  // The stored copy has no hop-by-hop fields either.
  Response hit = request(node_->proxyPort(), "GET", "/fwd", {{"Host", "www.example.test"}});
  EXPECT_NE(hit.header("Cache-Status").find("; hit"), std::string::npos);
  EXPECT_FALSE(hit.headers.has("X-Origin-Hop"));
}

TEST_F(NodeTest, RequestBodiesStreamToTheOrigin) {
  origin_.on("/upload", [](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::uint64_t bytes = 0;
    std::uint64_t sum = 0;
    char buffer[8192];
    while (req.stream().read(buffer, sizeof buffer) || req.stream().gcount() > 0) {
      for (std::streamsize i = 0; i < req.stream().gcount(); ++i) {
        sum += static_cast<unsigned char>(buffer[i]);
      }
      bytes += static_cast<std::uint64_t>(req.stream().gcount());
    }
    std::string body = std::to_string(bytes) + " " + std::to_string(sum);
    res.setContentLength64(static_cast<std::int64_t>(body.size()));
    res.send() << body;
  });
  std::string payload = pattern(3 << 20);
  std::uint64_t sum = 0;
  for (char c : payload) sum += static_cast<unsigned char>(c);
  Response r = request(node_->proxyPort(), "PUT", "/upload", {}, payload);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::to_string(payload.size()) + " " + std::to_string(sum));
}

TEST_F(NodeTest, LargeBodiesAreStoredInChunksAndServedWhole) {
  const std::string body = pattern(5 << 20);
  origin_.on("/big", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, body));
  Response first = get("/big");
  ASSERT_EQ(first.body.size(), body.size());
  EXPECT_TRUE(first.body == body);
  Response second = get("/big");
  EXPECT_NE(second.header("Cache-Status").find("; hit"), std::string::npos);
  EXPECT_EQ(second.header("Content-Length"), std::to_string(body.size()));
  EXPECT_TRUE(second.body == body);
  EXPECT_EQ(origin_.count("/big"), 1);
}

TEST_F(NodeTest, VaryServesAStoredVariantOnlyToMatchingRequests) {
  origin_.on("/v", [](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::string body = "lang=" + req.get("Accept-Language", "none");
    res.add("Cache-Control", "max-age=60");
    res.add("Vary", "Accept-Language");
    res.setContentLength64(static_cast<std::int64_t>(body.size()));
    res.send() << body;
  });
  EXPECT_EQ(get("/v", {{"Accept-Language", "fr"}}).body, "lang=fr");
  Response hit = get("/v", {{"Accept-Language", "fr"}});
  EXPECT_EQ(hit.body, "lang=fr");
  EXPECT_NE(hit.header("Cache-Status").find("; hit"), std::string::npos);
  Response other = get("/v", {{"Accept-Language", "en"}});
  EXPECT_EQ(other.body, "lang=en");
  EXPECT_NE(other.header("Cache-Status").find("fwd=vary-miss"), std::string::npos);
  EXPECT_EQ(get("/v").body, "lang=none");
  EXPECT_EQ(origin_.count("/v"), 3);
}

TEST_F(NodeTest, VaryStarIsNeverStored) {
  origin_.on("/star",
             ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}, {"Vary", "*"}}, "star"));
  get("/star");
  get("/star");
  EXPECT_EQ(origin_.count("/star"), 2);
}

TEST_F(NodeTest, HeadIsAnsweredFromAStoredGet) {
  origin_.on("/h", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "twelve bytes"));
  get("/h");
  Response head = request(node_->proxyPort(), "HEAD", "/h");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("Content-Length"), "12");
  EXPECT_NE(head.header("Cache-Status").find("; hit"), std::string::npos);
  EXPECT_EQ(origin_.count("/h"), 1);
}

TEST_F(NodeTest, OriginResetMidBodyIsNotStored) {
  std::atomic<int> calls{0};
  origin_.on("/reset",
             [&calls](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
               res.add("Cache-Control", "max-age=60");
               res.setContentLength64(1 << 20);
               std::ostream& out = res.send();
               if (calls.fetch_add(1) == 0) {
                 out << std::string(100000, 'x') << std::flush;
                 static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket().shutdown();
                 return;
               }
               out << std::string(1 << 20, 'y');
             });
  Response cut = get("/reset");
  EXPECT_FALSE(cut.complete);
  Response whole = get("/reset");
  EXPECT_TRUE(whole.complete);
  EXPECT_EQ(whole.body, std::string(1 << 20, 'y'));
  EXPECT_EQ(whole.header("Cache-Status").find("; hit"), std::string::npos);
  EXPECT_EQ(origin_.count("/reset"), 2);
}

TEST_F(NodeTest, UnreachableOriginGivesA502ThatIsNotCached) {
  TempDir dir;
  auto node = startNode(configFor("http://127.0.0.1:1", dir.path()));
  Response r = request(node->proxyPort(), "GET", "/");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  EXPECT_EQ(r.body.find("127.0.0.1"), std::string::npos) << "error pages do not name backends";
}

TEST_F(NodeTest, ViaLoopIsRefusedWith508) {
  Response r = get("/loop", {{"Via", "1.1 other, 1.1 test-node"}});
  EXPECT_EQ(r.status, 508);
  EXPECT_EQ(origin_.count("/loop"), 0);
}

TEST_F(NodeTest, CachedObjectsSurviveARestart) {
  origin_.on("/persist", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "kept"));
  const std::string big = pattern(3 << 20);
  origin_.on("/persist-big", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, big));
  const std::vector<std::pair<std::string, std::string>> host = {{"Host", "cdn.example.test"}};
  get("/persist", host);
  get("/persist-big", host);
  node_->stop();
  node_.reset();
  node_ = startNode(configFor(origin_.url(), dir_.path()));
  Response r = get("/persist", host);
  EXPECT_EQ(r.body, "kept");
  EXPECT_NE(r.header("Cache-Status").find("; hit"), std::string::npos);
  Response b = get("/persist-big", host);
  EXPECT_TRUE(b.body == big);
  EXPECT_NE(b.header("Cache-Status").find("; hit"), std::string::npos);
  EXPECT_EQ(origin_.count("/persist"), 1);
  EXPECT_EQ(origin_.count("/persist-big"), 1);
}

TEST_F(NodeTest, AdminHealthAndAuthenticatedStats) {
  const auto admin = node_->adminPort();
  Response health = request(admin, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(request(admin, "GET", "/api/stats").status, 401);
  EXPECT_EQ(request(admin, "GET", "/api/stats", {{"Authorization", "Bearer wrong"}}).status, 403);
  origin_.on("/s", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "s"));
  get("/s");
  get("/s");
  Response stats = request(admin, "GET", "/api/stats", {{"Authorization", "Bearer secret-token"}});
  EXPECT_EQ(stats.status, 200);
  EXPECT_NE(stats.body.find("\"hits\":1"), std::string::npos) << stats.body;
  EXPECT_NE(stats.body.find("\"memory\""), std::string::npos) << stats.body;
  EXPECT_NE(stats.body.find("\"disk\""), std::string::npos) << stats.body;
}

TEST(AccessLogTest, OneCombinedLinePerRequestWithTheCacheOutcome) {
  ScriptedOrigin origin;
  origin.on("/logged", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "12345"));
  TempDir dir;
  Config c = configFor(origin.url(), dir.path() + "/cache");
  c.accessLog = dir.path() + "/access.log";
  auto node = startNode(c);
  request(node->proxyPort(), "GET", "/logged", {{"User-Agent", "tester \"q\""}});
  request(node->proxyPort(), "GET", "/logged");
  node->stop();
  std::ifstream file(c.accessLog);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("127.0.0.1 - - [", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("\"GET /logged HTTP/1.1\" 200 5 \"-\" \"tester \\\"q\\\"\" "
                          "\"test-node; fwd=uri-miss; fwd-status=200; stored\""),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("\"test-node; hit; ttl="), std::string::npos) << lines[1];
}

TEST(AccessLogTest, JsonLinesWhenConfigured) {
  ScriptedOrigin origin;
  origin.on("/j", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "abc"));
  TempDir dir;
  Config c = configFor(origin.url(), dir.path() + "/cache");
  c.accessLog = dir.path() + "/access.log";
  c.accessLogFormat = "json";
  auto node = startNode(c);
  request(node->proxyPort(), "GET", "/j?q=1", {{"Referer", "http://r.example/"}});
  request(node->proxyPort(), "GET", "/j?q=1");
  node->stop();
  std::ifstream file(c.accessLog);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  // A line is written after its response left, so the second request's line may come first.
  if (lines[0].find("r.example") == std::string::npos) std::swap(lines[0], lines[1]);
  auto first = Poco::JSON::Parser().parse(lines[0]).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(first->getValue<std::string>("target"), "/j?q=1");
  EXPECT_EQ(first->getValue<std::string>("method"), "GET");
  EXPECT_EQ(first->getValue<int>("status"), 200);
  EXPECT_EQ(first->getValue<int>("bytes"), 3);
  EXPECT_EQ(first->getValue<std::string>("referer"), "http://r.example/");
  EXPECT_EQ(first->getValue<std::string>("cache"), "miss");
  EXPECT_GE(first->getValue<double>("duration_ms"), 0.0);
  auto second = Poco::JSON::Parser().parse(lines[1]).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(second->getValue<std::string>("cache"), "hit");
}

TEST(AccessLogTest, UnwritableAccessLogIsAStartupError) {
  TempDir dir;
  Config c = configFor("http://127.0.0.1:9", dir.path() + "/cache");
  c.accessLog = dir.path() + "/no/such/dir/access.log";
  std::string error;
  EXPECT_EQ(Node::create(c, &error), nullptr);
  EXPECT_NE(error.find("access log"), std::string::npos) << error;
}

TEST_F(NodeTest, MetricsNeedNoTokenAndCountOutcomes) {
  origin_.on("/m", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "12345"));
  get("/m");
  get("/m");
  // An exchange is counted right after its last byte left: the client may scrape first.
  Response metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    metrics = request(node_->adminPort(), "GET", "/metrics");
  } while (metrics.body.find("strata_responses_total{code=\"200\"} 2\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line : {
           "strata_requests_total{cache_status=\"hit\"} 1\n",
           "strata_requests_total{cache_status=\"miss\"} 1\n",
           "strata_responses_total{code=\"200\"} 2\n",
           "strata_response_body_bytes_total{cache_status=\"hit\"} 5\n",
           "strata_request_duration_seconds_count{cache_status=\"hit\"} 1\n",
           "strata_request_duration_seconds_bucket{cache_status=\"hit\",le=\"+Inf\"} 1\n",
           "strata_origin_fetches_total 1\n",
           "strata_cache_tier_entries{tier=\"memory\"} 1\n",
           "strata_cache_tier_entries{tier=\"disk\"} 1\n",
           "# TYPE strata_cache_tier_bytes gauge\n",
           "strata_purges_total{mode=\"hard\"} 0\n",
       }) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << "\n" << metrics.body;
  }
}

// cache.memory bounds the disk tier's index too: with 1 MiB the disk keeps at most 1,024 entries
// (the floor), however much disk is free, and the oldest go first.
TEST(NodeMemoryTest, SmallObjectsOnALargeDiskStayWithinTheMemoryBudget) {
  ScriptedOrigin origin;
  origin.on("/s", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "small"));
  TempDir dir;
  Config c = configFor(origin.url(), dir.path());
  c.memoryBytes = 1 << 20;
  c.maxMemoryObjectBytes = 64 << 10;
  auto node = startNode(c);
  ASSERT_TRUE(node);
  for (int i = 0; i < 1200; ++i) {
    ASSERT_EQ(request(node->proxyPort(), "GET", "/s?i=" + std::to_string(i)).status, 200);
  }
  const std::string expected = "strata_cache_tier_entries{tier=\"disk\"} 1024\n";
  Response metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    metrics = request(node->adminPort(), "GET", "/metrics");
  } while (metrics.body.find(expected) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_NE(metrics.body.find(expected), std::string::npos) << metrics.body;
  EXPECT_EQ(origin.count("/s"), 1200);
  // The newest is still a hit, the oldest was evicted from both tiers.
  EXPECT_TRUE(has(request(node->proxyPort(), "GET", "/s?i=1199"), "hit"));
  EXPECT_FALSE(has(request(node->proxyPort(), "GET", "/s?i=0"), "hit"));
}

TEST_F(NodeTest, AdminApiTopConfigAndHistory) {
  origin_.on("/t", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "tt"));
  for (int i = 0; i < 3; ++i) get("/t");
  get("/t?other");
  const std::uint16_t admin = node_->adminPort();
  const std::string bearer = "Bearer " + node_->firstAdminToken();
  for (const char* path : {"/api/top", "/api/config", "/api/history"}) {
    EXPECT_EQ(request(admin, "GET", path).status, 401) << path;
    EXPECT_EQ(request(admin, "GET", path, {{"Authorization", "Bearer wrong"}}).status, 403) << path;
    EXPECT_EQ(request(admin, "POST", path, {{"Authorization", bearer}}).status, 405) << path;
  }
  Response top = request(admin, "GET", "/api/top?n=1", {{"Authorization", bearer}});
  ASSERT_EQ(top.status, 200);
  auto topJson = Poco::JSON::Parser().parse(top.body).extract<Poco::JSON::Object::Ptr>();
  auto byRequests = topJson->getArray("by_requests");
  ASSERT_EQ(byRequests->size(), 1u);
  EXPECT_EQ(byRequests->getObject(0)->getValue<std::string>("url"),
            "127.0.0.1:" + std::to_string(node_->proxyPort()) + "/t");
  EXPECT_EQ(byRequests->getObject(0)->getValue<int>("requests"), 3);

  Response config = request(admin, "GET", "/api/config", {{"Authorization", bearer}});
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.body.find(node_->firstAdminToken()), std::string::npos);
  auto configJson = Poco::JSON::Parser().parse(config.body).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(configJson->getObject("node")->getValue<std::string>("name"), "test-node");
  EXPECT_EQ(configJson->getObject("admin")->getArray("tokens")->getObject(0)->getValue<std::string>(
                "token"),
            "***");

  // The sampler records at start and then every second: two samples make the first point.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  Poco::JSON::Array::Ptr points;
  while (std::chrono::steady_clock::now() < deadline) {
    Response history = request(admin, "GET", "/api/history", {{"Authorization", bearer}});
    ASSERT_EQ(history.status, 200);
    points = Poco::JSON::Parser()
                 .parse(history.body)
                 .extract<Poco::JSON::Object::Ptr>()
                 ->getArray("points");
    if (points->size() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(points->size(), 0u);
  EXPECT_TRUE(points->getObject(0)->has("requests_per_s"));
}

TEST_F(NodeTest, AdminPageAssetsAndSecurityHeaders) {
  const std::uint16_t admin = node_->adminPort();
  Response page = request(admin, "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"/assets/app.js\" defer></script>"), std::string::npos);
  EXPECT_NE(page.header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("Content-Security-Policy").find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
  Response js = request(admin, "GET", "/assets/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("sessionStorage"), std::string::npos);
  EXPECT_EQ(request(admin, "GET", "/assets/app.css").status, 200);
  EXPECT_EQ(request(admin, "GET", "/favicon.svg").header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(request(admin, "GET", "/assets/nope.js").status, 404);
  Response head = request(admin, "HEAD", "/assets/app.js");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(js.body.size()));
}

TEST(DemoOriginTest, DefaultDemoPagesCacheAsAdvertised) {
  TempDir dir;
  Config c = configFor("demo:", dir.path());
  auto node = startNode(c);
  Response a = request(node->proxyPort(), "GET", "/");
  Response b = request(node->proxyPort(), "GET", "/");
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.header("Cache-Status").find("fwd=uri-miss"), std::string::npos);
  EXPECT_NE(a.header("Cache-Status").find("stored"), std::string::npos);
  EXPECT_NE(b.header("Cache-Status").find("; hit"), std::string::npos);
  EXPECT_FALSE(b.header("Age").empty());
  Response n1 = request(node->proxyPort(), "GET", "/nostore");
  Response n2 = request(node->proxyPort(), "GET", "/nostore");
  EXPECT_EQ(n2.header("Cache-Status").find("; hit"), std::string::npos);
  Response large = request(node->proxyPort(), "GET", "/large?size=1000000");
  EXPECT_EQ(large.body.size(), 1000000u);
  Response vary = request(node->proxyPort(), "GET", "/vary", {{"Accept-Language", "fr"}});
  EXPECT_EQ(vary.body, "bonjour\n");
}

}  // namespace
}  // namespace strata::testing

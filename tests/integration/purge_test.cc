// Purging through the real node: every kind, hard and soft, through the admin API and the PURGE
// method; Vary variants and objects only on disk; bad input; durability across SIGKILL.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "edge/http/http_date.h"
#include "node_fixture.h"
#include "test_support.h"

namespace strata::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

const Headers kHost = {{"Host", "shop.test"}};

Response purge(std::uint16_t adminPort, const std::string& body,
               const std::string& token = "secret-token") {
  Headers h = {{"Content-Type", "application/json"}};
  if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
  return request(adminPort, "POST", "/api/purge", h, body);
}

class PurgeTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void start() {
    auto config = configFor(origin_.url(), dir_.path());
    config.routes = {{"shop.test", "/", {"origin"}}};
    node_ = startNode(config, &clock_);
  }
  Response get(const std::string& uri, Headers extra = {}) {
    Headers h = kHost;
    h.insert(h.end(), extra.begin(), extra.end());
    return request(node_->proxyPort(), "GET", uri, h);
  }
  // Stores `uri` and checks that it is a hit.
  void store(const std::string& uri, Headers extra = {}) {
    get(uri, extra);
    ASSERT_TRUE(has(get(uri, extra), "; hit")) << uri;
  }
  void serve(const std::string& path, Headers headers) {
    headers.push_back({"Cache-Control", "max-age=600"});
    origin_.on(path, ScriptedOrigin::fixed(200, headers, "body of " + path));
  }
  // Purges are compared with fetch times in whole seconds: move the clock on so that refetches
  // after a purge are newer than it.
  void afterPurge() { clock_.advance(2); }

  ScriptedOrigin origin_;
  TempDir dir_;
  TestClock clock_;
  std::unique_ptr<edge::app::Node> node_;
};

TEST_F(PurgeTest, AUrlPurgeRemovesEveryVariant) {
  origin_.on("/v", [](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::string body = "lang=" + req.get("Accept-Language", "none");
    res.add("Cache-Control", "max-age=600");
    res.add("Vary", "Accept-Language");
    res.setContentLength64(static_cast<std::int64_t>(body.size()));
    res.send() << body;
  });
  store("/v", {{"Accept-Language", "fr"}});
  store("/v", {{"Accept-Language", "de"}});
  Response answer = purge(node_->adminPort(), R"({"urls": ["http://shop.test/v"]})");
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("\"id\""), std::string::npos);
  EXPECT_NE(answer.body.find("\"purged\""), std::string::npos);
  EXPECT_FALSE(has(get("/v", {{"Accept-Language", "fr"}}), "; hit"));
  EXPECT_FALSE(has(get("/v", {{"Accept-Language", "de"}}), "; hit"));
  EXPECT_EQ(origin_.count("/v"), 4);
}

TEST_F(PurgeTest, PrefixTagAndAllPurges) {
  serve("/docs/a", {});
  serve("/docs/b", {});
  serve("/blog/x", {{"Surrogate-Key", "post-1 author-7"}});
  serve("/blog/y", {{"Cache-Tag", "post-2, author-7"}});
  serve("/keep", {});
  for (const char* uri : {"/docs/a", "/docs/b", "/blog/x", "/blog/y", "/keep"}) store(uri);
  // Tag headers are this node's business, not the client's.
  Response tagged = get("/blog/x");
  EXPECT_FALSE(tagged.headers.has("Surrogate-Key"));
  EXPECT_FALSE(get("/blog/y").headers.has("Cache-Tag"));

  EXPECT_EQ(purge(node_->adminPort(), R"({"prefixes": ["http://shop.test/docs/"]})").status, 200);
  EXPECT_FALSE(has(get("/docs/a"), "; hit"));
  EXPECT_FALSE(has(get("/docs/b"), "; hit"));
  EXPECT_TRUE(has(get("/keep"), "; hit"));

  EXPECT_EQ(purge(node_->adminPort(), R"({"tags": ["author-7"]})").status, 200);
  EXPECT_FALSE(has(get("/blog/x"), "; hit"));
  EXPECT_FALSE(has(get("/blog/y"), "; hit"));
  EXPECT_TRUE(has(get("/keep"), "; hit"));

  EXPECT_EQ(purge(node_->adminPort(), R"({"all": true})").status, 200);
  EXPECT_FALSE(has(get("/keep"), "; hit"));
  afterPurge();
  store("/keep");  // New fetches after the purge are cached again.
}

TEST_F(PurgeTest, SoftPurgeRevalidatesOrServesStaleWhileRefreshing) {
  std::atomic<int> notModified{0};
  origin_.on("/soft", [&](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    res.set("Date", edge::http::formatHttpDate(clock_.now()));
    res.add("Cache-Control", "max-age=600");
    res.add("ETag", "\"s1\"");
    if (req.get("If-None-Match", "") == "\"s1\"") {
      ++notModified;
      res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
      res.send();
      return;
    }
    res.setContentLength(4);
    res.send() << "soft";
  });
  store("/soft");
  EXPECT_EQ(
      purge(node_->adminPort(), R"({"urls": ["http://shop.test/soft"], "soft": true})").status,
      200);
  Response revalidated = get("/soft");
  EXPECT_EQ(revalidated.body, "soft");
  EXPECT_TRUE(has(revalidated, "fwd-status=304")) << revalidated.header("Cache-Status");
  EXPECT_EQ(notModified.load(), 1);

  serve("/swr", {{"Cache-Control", "stale-while-revalidate=60"}});
  store("/swr");
  EXPECT_EQ(
      purge(node_->adminPort(), R"({"tags": [], "urls": ["http://shop.test/swr"], "soft": true})")
          .status,
      200);
  Response stale = get("/swr");
  EXPECT_TRUE(has(stale, "; hit")) << stale.header("Cache-Status");
  EXPECT_TRUE(has(stale, "detail=stale"));
  for (int i = 0; i < 200 && origin_.count("/swr") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // Bounded wait for the refresh.
  }
  EXPECT_EQ(origin_.count("/swr"), 2);
}

// An origin resource with an ETag that counts the 304s it answers.
struct Revalidatable {
  std::atomic<int> notModified{0};
  ScriptedOrigin::Handler handler(TestClock& clock, std::string tags) {
    return [this, &clock, tags](Poco::Net::HTTPServerRequest& req,
                                Poco::Net::HTTPServerResponse& res) {
      res.set("Date", edge::http::formatHttpDate(clock.now()));
      res.add("Cache-Control", "max-age=600");
      res.add("ETag", "\"e\"");
      if (!tags.empty()) res.add("Surrogate-Key", tags);
      if (req.get("If-None-Match", "") == "\"e\"") {
        ++notModified;
        res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
        res.send();
        return;
      }
      res.setContentLength(4);
      res.send() << "body";
    };
  }
};

TEST_F(PurgeTest, SoftPurgesOfEveryKindMakeTheNextRequestRevalidate) {
  Revalidatable prefixed, tagged, other;
  origin_.on("/sp/a", prefixed.handler(clock_, ""));
  origin_.on("/st", tagged.handler(clock_, "soft-tag"));
  origin_.on("/so", other.handler(clock_, ""));
  for (const char* uri : {"/sp/a", "/st", "/so"}) store(uri);
  const auto revalidates = [&](const char* uri, Revalidatable& r, int expected) {
    Response answer = get(uri);
    EXPECT_EQ(answer.body, "body") << uri;
    EXPECT_TRUE(has(answer, "fwd-status=304")) << uri << ": " << answer.header("Cache-Status");
    EXPECT_EQ(r.notModified.load(), expected) << uri;
  };
  ASSERT_EQ(
      purge(node_->adminPort(), R"({"prefixes": ["http://shop.test/sp/"], "soft": true})").status,
      200);
  revalidates("/sp/a", prefixed, 1);
  EXPECT_TRUE(has(get("/so"), "; hit"));  // Outside the prefix.
  ASSERT_EQ(purge(node_->adminPort(), R"({"tags": ["soft-tag"], "soft": true})").status, 200);
  revalidates("/st", tagged, 1);
  afterPurge();
  ASSERT_EQ(purge(node_->adminPort(), R"({"all": true, "soft": true})").status, 200);
  revalidates("/so", other, 1);
  revalidates("/sp/a", prefixed, 2);
  // A soft PURGE on the proxy listener.
  afterPurge();
  Response soft = request(node_->proxyPort(), "PURGE", "/st",
                          {{"Host", "shop.test"}, {"Strata-Purge", "soft"}});
  EXPECT_EQ(soft.status, 200) << soft.body;
  revalidates("/st", tagged, 2);  // Covered by both the purge-all and this PURGE: one refresh.
}

// Runs the real stratactl against this node; returns its exit code and output.
int stratactl(const std::string& args, std::uint16_t adminPort, std::string* output) {
  const std::string command = "STRATA_ADMIN_URL=http://127.0.0.1:" + std::to_string(adminPort) +
                              " STRATA_ADMIN_TOKEN=secret-token " + STRATA_DEFAULT_BIN_DIR +
                              "/stratactl " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output->append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(PurgeTest, StratactlPurgesARealNode) {
  serve("/c1", {{"Surrogate-Key", "ci-release"}});
  serve("/c2", {});
  serve("/cp/x", {});
  for (const char* uri : {"/c1", "/c2", "/cp/x"}) store(uri);
  std::string out;
  EXPECT_EQ(stratactl("purge --tag ci-release", node_->adminPort(), &out), 0) << out;
  EXPECT_NE(out.find("purged"), std::string::npos) << out;
  EXPECT_FALSE(has(get("/c1"), "; hit"));
  out.clear();
  EXPECT_EQ(stratactl("purge http://shop.test/c2 --prefix http://shop.test/cp/", node_->adminPort(),
                      &out),
            0)
      << out;
  EXPECT_FALSE(has(get("/c2"), "; hit"));
  EXPECT_FALSE(has(get("/cp/x"), "; hit"));
  out.clear();
  EXPECT_EQ(stratactl("purge http://elsewhere.test/", node_->adminPort(), &out), 1) << out;
  EXPECT_NE(out.find("elsewhere.test"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(stratactl("--json purges", node_->adminPort(), &out), 0) << out;
  EXPECT_NE(out.find("ci-release"), std::string::npos) << out;
}

TEST_F(PurgeTest, ObjectsOnlyOnDiskArePurgedToo) {
  serve("/disk", {{"Surrogate-Key", "on-disk"}});
  store("/disk");
  node_->stop();
  node_.reset();
  start();  // The memory tier is empty now: the object is only on disk.
  EXPECT_EQ(purge(node_->adminPort(), R"({"tags": ["on-disk"]})").status, 200);
  EXPECT_FALSE(has(get("/disk"), "; hit"));
}

TEST_F(PurgeTest, PurgedEntriesAreReclaimedInTheBackground) {
  serve("/r1", {{"Surrogate-Key", "reclaim"}});
  serve("/r2", {{"Surrogate-Key", "reclaim"}});
  serve("/r3", {});
  for (const char* uri : {"/r1", "/r2", "/r3"}) store(uri);
  EXPECT_EQ(purge(node_->adminPort(), R"({"tags": ["reclaim"]})").status, 200);
  EXPECT_EQ(node_->reclaimExpired(), 2u);  // The two tagged entries, not /r3.
  EXPECT_TRUE(has(get("/r3"), "; hit"));
}

TEST_F(PurgeTest, ThePurgeMethodWorksFromLoopback) {
  serve("/m", {});
  store("/m");
  Response answer = request(node_->proxyPort(), "PURGE", "/m", kHost);
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_FALSE(has(get("/m"), "; hit"));
  EXPECT_EQ(origin_.count("/m"), 2);  // PURGE itself never reached the origin.
}

TEST(PurgeAllowTest, PurgeFromAnAddressNotAllowedIsRefused) {
  ScriptedOrigin origin;
  origin.on("/x", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "x"));
  TempDir dir;
  auto config = configFor(origin.url(), dir.path());
  config.purgeAllow = {"10.0.0.0/8"};  // Loopback is not in it.
  auto node = startNode(config);
  request(node->proxyPort(), "GET", "/x", kHost);
  Response refused = request(node->proxyPort(), "PURGE", "/x", kHost);
  EXPECT_EQ(refused.status, 403);
  EXPECT_TRUE(has(request(node->proxyPort(), "GET", "/x", kHost), "; hit"));
}

TEST_F(PurgeTest, BadInputIsRefusedWithAReason) {
  const auto admin = node_->adminPort();
  EXPECT_EQ(purge(admin, R"({"all": true})", "").status, 401);
  EXPECT_EQ(purge(admin, R"({"all": true})", "wrong").status, 403);
  struct Case {
    const char* body;
    int status;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {R"({"urls": [)", 400, "JSON"},
      {R"({"urls": ["http://shop.test/"], "colour": 1})", 400, "colour"},
      {R"({"urls": [], "tags": []})", 400, "nothing"},
      {R"({"urls": "http://shop.test/"})", 400, "urls"},
      {R"({"urls": ["http://elsewhere.test/a"]})", 400, "elsewhere.test"},
      {R"({"all": true, "tags": ["x"]})", 400, "ambiguous"},
  };
  for (const auto& c : cases) {
    Response r = purge(admin, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(c.reason), std::string::npos) << c.body << " -> " << r.body;
  }
  std::string huge = R"({"tags": [)";
  while (huge.size() < (2u << 20)) huge += "\"aaaaaaaaaaaaaaaa\",";
  huge += "\"a\"]}";
  EXPECT_EQ(purge(admin, huge).status, 413);
  std::string many = R"({"tags": [)";
  for (int i = 0; i < 1001; ++i) many += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  many += "]}";
  EXPECT_EQ(purge(admin, many).status, 400);
  // Every refused purge left the cache alone and nothing in the audit trail.
  Response audit = request(admin, "GET", "/api/purges", {{"Authorization", "Bearer secret-token"}});
  EXPECT_EQ(audit.status, 200);
  EXPECT_EQ(audit.body.find("\"id\""), std::string::npos) << audit.body;
}

TEST_F(PurgeTest, PurgesAreAudited) {
  EXPECT_EQ(purge(node_->adminPort(), R"({"tags": ["audit-me"]})").status, 200);
  Response audit =
      request(node_->adminPort(), "GET", "/api/purges", {{"Authorization", "Bearer secret-token"}});
  EXPECT_NE(audit.body.find("audit-me"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find("\"actor\":\"test\""), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find("127.0.0.1"), std::string::npos) << audit.body;
}

// --- Durability: SIGKILL right after the 200, then a restart ------------------------------

std::vector<std::string> durableArgs(const std::string& origin, const std::string& cache) {
  return {"--config",       sourceDir() + "/config/strata.yaml",
          "--origin",       origin,
          "--listen",       "127.0.0.1:0",
          "--admin-listen", "127.0.0.1:0",
          "--cache-dir",    cache};
}

TEST(PurgeDurabilityTest, NothingPurgedIsServedAfterSigkillAndRestart) {
  ScriptedOrigin origin;
  for (const char* path : {"/u", "/p/x", "/t", "/keep"}) {
    Headers h = {{"Cache-Control", "max-age=600"}};
    if (std::string(path) == "/t") h.push_back({"Surrogate-Key", "tagged"});
    origin.on(path, ScriptedOrigin::fixed(200, h, "body"));
  }
  TempDir cache;
  setenv("STRATA_ADMIN_TOKEN", "durable-token", 1);
  auto hitAfterRestart = [&](const std::vector<std::string>& paths, bool purgeFirst,
                             const std::string& purgeBody) {
    StrataProcess node(durableArgs(origin.url(), cache.path()));
    EXPECT_TRUE(node.started()) << node.output();
    std::vector<bool> hits;
    for (const auto& p : paths) {
      hits.push_back(has(request(node.proxyPort(), "GET", p, kHost), "; hit"));
    }
    if (purgeFirst) {
      Response r = purge(node.adminPort(), purgeBody, "durable-token");
      EXPECT_EQ(r.status, 200) << r.body;
      kill(node.pid(), SIGKILL);  // No clean shutdown: only what was synced survives.
    }
    return hits;
  };
  // Store everything, then purge URL, prefix and tag and die at once.
  for (const char* p : {"/u", "/p/x", "/t", "/keep"}) {
    StrataProcess warm(durableArgs(origin.url(), cache.path()));
    ASSERT_TRUE(warm.started());
    request(warm.proxyPort(), "GET", p, kHost);
    EXPECT_EQ(warm.terminate(), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // Fetch times are in seconds.
  hitAfterRestart({}, true,
                  R"({"urls": ["http://shop.test/u"], "prefixes": ["http://shop.test/p/"],)"
                  R"( "tags": ["tagged"]})");
  auto after = hitAfterRestart({"/u", "/p/x", "/t", "/keep"}, false, "");
  EXPECT_EQ(after, (std::vector<bool>{false, false, false, true}));
  // Purge everything, die at once, restart: nothing from before is served.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  hitAfterRestart({}, true, R"({"all": true})");
  auto all = hitAfterRestart({"/keep"}, false, "");
  EXPECT_EQ(all, (std::vector<bool>{false}));
  unsetenv("STRATA_ADMIN_TOKEN");
}

}  // namespace
}  // namespace strata::testing

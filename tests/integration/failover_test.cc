// Origin failover, health, drain, weights, connection reuse, TLS to origins and shielding, with
// the real node in process on port 0 in front of real backends on port 0.

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "edge/pipeline/stats.h"
#include "node_fixture.h"
#include "origin_support.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;

edge::app::Config baseConfig(const std::string& cacheDir, const std::string& name = "edge") {
  edge::app::Config c = configFor("http://127.0.0.1:1", cacheDir);
  c.nodeName = name;
  c.pools.clear();
  c.routes.clear();
  return c;
}

edge::app::Pool pool(const std::string& name, const std::vector<TestBackend*>& backends,
                     std::vector<int> weights = {}) {
  edge::app::Pool p;
  p.name = name;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    p.backends.push_back(
        {backends[i]->name(), backends[i]->url(), i < weights.size() ? weights[i] : 1});
  }
  p.readTimeoutMs = 10000;
  return p;
}

Poco::JSON::Object::Ptr backendsOf(const edge::app::Node& node) {
  AdminAnswer answer = adminCall(node.adminPort(), "GET", "/api/backends");
  if (answer.status != 200) return nullptr;
  Poco::JSON::Parser parser;
  return parser.parse(answer.body).extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr findBackend(const Poco::JSON::Object::Ptr& root, const std::string& pool,
                                    const std::string& backend) {
  if (!root) return nullptr;
  auto pools = root->getArray("pools");
  for (std::size_t i = 0; pools && i < pools->size(); ++i) {
    auto p = pools->getObject(static_cast<unsigned>(i));
    if (p->getValue<std::string>("name") != pool) continue;
    auto backends = p->getArray("backends");
    for (std::size_t j = 0; j < backends->size(); ++j) {
      auto b = backends->getObject(static_cast<unsigned>(j));
      if (b->getValue<std::string>("name") == backend) return b;
    }
  }
  return nullptr;
}

// Every Cache-Status field line, joined as one list.
std::string cacheStatusOf(const Response& r) {
  std::string out;
  for (auto v : r.headers.getAll("Cache-Status")) {
    out += (out.empty() ? "" : ", ") + std::string(v);
  }
  return out;
}

// Polls `condition` every 10 ms until it holds or `limit` passes.
template <typename F>
bool eventually(F condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// --------------------------------------------------------------------------------------------

// GETs over cached and uncached URLs on 16 kept-alive connections. Every backend of the
// primary pool is killed after 4,000 and restarted 4,000 requests after it is gone: no client
// request fails, the secondary pool takes the traffic, and once the primary passes its rise
// count it is used again. Phases are counted from when each step is complete (a stopping backend
// finishes the requests it has first), so a slow machine stretches the run, not the outcome.
TEST(FailoverTest, KillingThePrimaryPoolFailsNoRequestAndTrafficComesBack) {
  TempDir dir;
  TestBackend p1("p1");
  TestBackend p2("p2");
  TestBackend s1("s1");
  edge::app::Config config = baseConfig(dir.path());
  edge::app::Pool primary = pool("primary", {&p1, &p2});
  primary.healthCheck = {true, "/healthz", 200, 50, 500, 2, 2};
  config.pools.push_back(primary);
  config.pools.push_back(pool("secondary", {&s1}));
  config.routes.push_back({"", "/", {"primary", "secondary"}});
  auto node = startNode(config);
  ASSERT_TRUE(node);

  constexpr int kClients = 16;
  constexpr int kPhase = 4000;       // Requests before the kill, during the outage, after it.
  constexpr int kMaxTotal = 200000;  // Bound on the whole run.
  std::atomic<int> issued{0};
  std::atomic<int> failed{0};
  std::atomic<bool> done{false};
  std::mutex errorsMutex;
  std::vector<std::string> errors;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      KeepAliveClient client(node->proxyPort());
      while (!done.load()) {
        const int n = issued.fetch_add(1);
        if (n >= kMaxTotal) break;
        const std::string uri = (n % 2 ? "/cached/" : "/uncached/") + std::to_string(n % 500);
        auto r = client.get(uri);
        if (r.status != 200) {
          failed.fetch_add(1);
          std::lock_guard lock(errorsMutex);
          if (errors.size() < 5) {
            errors.push_back(uri + " -> " + std::to_string(r.status) + " " + r.error + r.body);
          }
        }
      }
    });
  }
  const auto finish = [&] {
    done = true;
    for (auto& t : clients) t.join();
  };
  const auto reach = [&](int count) {
    return eventually([&] { return issued.load() >= count; }, std::chrono::seconds(60));
  };
  if (!reach(kPhase)) {
    finish();
    FAIL() << "no traffic before the kill";
  }
  const int issuedAtKill = issued.load();
  {
    std::thread killP1([&] { p1.stop(); });  // Both at once, as a crashed pool would go.
    p2.stop();
    killP1.join();
  }
  const int issuedAfterKill = issued.load();
  const int secondaryAtKill = s1.requests();
  const bool outageRan = reach(issuedAfterKill + kPhase);
  const int secondaryDuringOutage = s1.requests() - secondaryAtKill;
  const int primaryBeforeRestart = p1.requests() + p2.requests();
  p1.start();
  p2.start();
  const auto restarted = Clock::now();
  const int issuedAtRestart = issued.load();
  const bool back = eventually(
      [&] {
        auto root = backendsOf(*node);
        auto b1 = findBackend(root, "primary", "p1");
        auto b2 = findBackend(root, "primary", "p2");
        return b1 && b2 && b1->getValue<bool>("healthy") && b2->getValue<bool>("healthy");
      },
      std::chrono::seconds(15));
  const int secondaryAtRecovery = s1.requests();
  const auto recoveryMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted).count();
  const int issuedAtRecovery = issued.load();
  const bool afterRan = reach(issuedAtRecovery + kPhase);
  finish();

  std::cout << "failover: issued at kill " << issuedAtKill << ".." << issuedAfterKill << " restart "
            << issuedAtRestart << " recovered " << issuedAtRecovery << " after " << recoveryMs
            << "ms failed=" << failed.load() << " secondary_during_outage=" << secondaryDuringOutage
            << " secondary_after_recovery=" << s1.requests() - secondaryAtRecovery
            << " primary_after_recovery=" << p1.requests() + p2.requests() - primaryBeforeRestart
            << "\n";
  EXPECT_TRUE(outageRan && afterRan) << "the clients stalled";
  EXPECT_TRUE(back) << "the primary pool did not come back";
  EXPECT_EQ(failed.load(), 0) << (errors.empty() ? "" : errors.front());
  EXPECT_GT(secondaryDuringOutage, 0);
  EXPECT_GT(p1.requests() + p2.requests(), primaryBeforeRestart);
  // Once the primary is healthy again, only requests already on their way reach the secondary.
  EXPECT_LE(s1.requests() - secondaryAtRecovery, kClients);
  auto root = backendsOf(*node);
  auto b1 = findBackend(root, "primary", "p1");
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->getValue<std::string>("state"), "up");
  EXPECT_GT(b1->getValue<int>("errors"), 0);
}

// A drained backend gets no new requests while its in-flight slow request completes; enabling
// it brings traffic back. Unknown names answer 404.
TEST(FailoverTest, ADrainedBackendFinishesItsSlowRequestAndGetsNoNewOnes) {
  TempDir dir;
  TestBackend a("a");
  TestBackend b("b");
  edge::app::Config config = baseConfig(dir.path());
  config.pools.push_back(pool("web", {&a, &b}));
  config.routes.push_back({"", "/", {"web"}});
  auto node = startNode(config);
  ASSERT_TRUE(node);

  Response slow;
  std::thread slowClient([&] { slow = request(node->proxyPort(), "GET", "/slow"); });
  ASSERT_TRUE(eventually([&] { return a.slowInFlight() + b.slowInFlight() == 1; }));
  TestBackend& busy = a.slowInFlight() == 1 ? a : b;
  TestBackend& other = &busy == &a ? b : a;

  AdminAnswer drained =
      adminCall(node->adminPort(), "POST", "/api/backends/web/" + busy.name() + "/drain");
  EXPECT_EQ(drained.status, 200) << drained.body;
  EXPECT_NE(drained.body.find("\"state\":\"draining\""), std::string::npos) << drained.body;
  auto entry = findBackend(backendsOf(*node), "web", busy.name());
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->getValue<std::string>("state"), "draining");
  EXPECT_EQ(entry->getValue<int>("in_flight"), 1);

  const int busyBefore = busy.requests();
  KeepAliveClient client(node->proxyPort());
  for (int i = 0; i < 50; ++i) ASSERT_EQ(client.get("/uncached/" + std::to_string(i)).status, 200);
  EXPECT_EQ(busy.requests(), busyBefore);
  EXPECT_GE(other.requests(), 50);

  busy.releaseSlow();
  slowClient.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, busy.name());
  EXPECT_EQ(findBackend(backendsOf(*node), "web", busy.name())->getValue<int>("in_flight"), 0);

  AdminAnswer enabled =
      adminCall(node->adminPort(), "POST", "/api/backends/web/" + busy.name() + "/enable");
  EXPECT_EQ(enabled.status, 200);
  EXPECT_NE(enabled.body.find("\"state\":\"up\""), std::string::npos) << enabled.body;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(client.get("/uncached/x" + std::to_string(i)).status, 200);
  EXPECT_GE(busy.requests(), busyBefore + 9);

  EXPECT_EQ(adminCall(node->adminPort(), "POST", "/api/backends/web/nope/drain").status, 404);
  EXPECT_EQ(adminCall(node->adminPort(), "POST", "/api/backends/nope/a/drain").status, 404);
  EXPECT_EQ(adminCall(node->adminPort(), "POST", "/api/backends/web/a/reboot").status, 404);
  EXPECT_EQ(adminCall(node->adminPort(), "GET", "/api/backends/web/a/drain").status, 405);
  EXPECT_EQ(adminCall(node->adminPort(), "GET", "/api/backends", "wrong").status, 403);
}

// stratactl drives the same API: drain, list, enable.
TEST(FailoverTest, StratactlDrainsListsAndEnablesBackends) {
  TempDir dir;
  TestBackend a("a");
  edge::app::Config config = baseConfig(dir.path());
  config.pools.push_back(pool("web", {&a}));
  config.routes.push_back({"", "/", {"web"}});
  auto node = startNode(config);
  ASSERT_TRUE(node);
  auto ctl = [&](const std::string& args, int* code) {
    const std::string command =
        "STRATA_ADMIN_URL=http://127.0.0.1:" + std::to_string(node->adminPort()) +
        " STRATA_ADMIN_TOKEN=secret-token " STRATA_DEFAULT_BIN_DIR "/stratactl " + args + " 2>&1";
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    const int status = pclose(pipe);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  };
  int code = -1;
  std::string out = ctl("backend drain web/a", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("web/a draining"), std::string::npos) << out;
  out = ctl("backends", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("a " + a.url() + " draining weight=1"), std::string::npos) << out;
  out = ctl("--json backends", &code);
  EXPECT_NE(out.find("\"connections_reused\""), std::string::npos) << out;
  out = ctl("backend enable web/a", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("web/a up"), std::string::npos) << out;
  out = ctl("backend drain web/zzz", &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("404"), std::string::npos) << out;
  out = ctl("backend drain web", &code);
  EXPECT_EQ(code, 2) << out;
}

// Weights 9:1 send the canary 10% ± 2% of 10,000 requests, and under this steady load at least
// 99% of origin requests reuse a kept-alive connection.
TEST(FailoverTest, CanaryGetsItsWeightAndConnectionsAreReused) {
  TempDir dir;
  TestBackend stable("stable");
  TestBackend canary("canary");
  edge::app::Config config = baseConfig(dir.path());
  config.pools.push_back(pool("web", {&stable, &canary}, {9, 1}));
  config.routes.push_back({"", "/", {"web"}});
  auto node = startNode(config);
  ASSERT_TRUE(node);

  constexpr int kTotal = 10000;
  constexpr int kClients = 8;
  std::atomic<int> issued{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      KeepAliveClient client(node->proxyPort());
      for (int n = issued.fetch_add(1); n < kTotal; n = issued.fetch_add(1)) {
        if (client.get("/uncached/" + std::to_string(n)).status != 200) failed.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  const double share = static_cast<double>(canary.requests()) / kTotal;
  auto root = backendsOf(*node);
  std::uint64_t reused = 0;
  std::uint64_t opened = 0;
  for (const char* name : {"stable", "canary"}) {
    auto b = findBackend(root, "web", name);
    ASSERT_TRUE(b);
    reused += b->getValue<std::uint64_t>("connections_reused");
    opened += b->getValue<std::uint64_t>("connections_opened");
  }
  const double reuse = static_cast<double>(reused) / static_cast<double>(reused + opened);
  Poco::JSON::Parser parser;
  auto stats = parser.parse(node->statsJson()).extract<Poco::JSON::Object::Ptr>();
  std::cout << "canary share=" << share << " (" << canary.requests() << "/" << kTotal
            << ") reuse ratio=" << reuse << " (" << reused << " reused, " << opened << " opened)\n";
  EXPECT_EQ(stable.requests() + canary.requests(), kTotal);
  EXPECT_GE(share, 0.08);
  EXPECT_LE(share, 0.12);
  EXPECT_GE(reuse, 0.99);
  EXPECT_GE(stats->getValue<double>("origin_connection_reuse_ratio"), 0.99);
  EXPECT_EQ(findBackend(root, "web", "canary")->getValue<int>("weight"), 1);
}

// --------------------------------------------------------------------------------------------
// TLS to origins.

class CapturingChannel : public Poco::Channel {
 public:
  void log(const Poco::Message& message) override {
    std::lock_guard lock(mutex_);
    text_ += message.getText() + "\n";
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  std::mutex mutex_;
  std::string text_;
};

TEST(TlsOriginTest, VerifiesAgainstTheConfiguredCaAndFailsClearlyWithoutIt) {
  TempDir dir;
  TestPki pki = makeTestPki(dir.path());
  ASSERT_TRUE(pki.ok) << "openssl could not make the test certificates";
  TestBackend secure("secure", &pki);
  edge::app::Config config = baseConfig(dir.path() + "/cache");
  edge::app::Pool trusted = pool("trusted", {&secure});
  trusted.tlsCaFile = pki.caFile;
  edge::app::Pool untrusted = pool("untrusted", {&secure});  // System CAs: not ours.
  edge::app::Pool insecure = pool("insecure", {&secure});
  insecure.tlsVerify = false;
  edge::app::Pool wrongName = pool("wrong-name", {&secure});
  wrongName.tlsCaFile = pki.caFile;
  wrongName.tlsSni = "other.example";  // The certificate names 127.0.0.1 and localhost only.
  for (auto* p : {&trusted, &untrusted, &insecure, &wrongName}) config.pools.push_back(*p);
  config.routes.push_back({"trusted.test", "/", {"trusted"}});
  config.routes.push_back({"untrusted.test", "/", {"untrusted"}});
  config.routes.push_back({"insecure.test", "/", {"insecure"}});
  config.routes.push_back({"wrong-name.test", "/", {"wrong-name"}});
  config.routes.push_back({"", "/", {"trusted"}});

  Poco::AutoPtr<CapturingChannel> capture(new CapturingChannel);
  Poco::Logger& pipelineLog = Poco::Logger::get("strata.pipeline");
  Poco::AutoPtr<Poco::Channel> previous(pipelineLog.getChannel(), true);
  pipelineLog.setChannel(capture);
  auto node = startNode(config);
  ASSERT_TRUE(node);

  KeepAliveClient client(node->proxyPort());
  auto good = client.get("/uncached/1", "trusted.test");
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.body, "secure");
  auto again = client.get("/uncached/2", "trusted.test");
  EXPECT_EQ(again.status, 200);
  auto optOut = client.get("/uncached/3", "insecure.test");
  EXPECT_EQ(optOut.status, 200) << optOut.body;

  const int before = secure.requests();
  auto bad = client.get("/uncached/4", "untrusted.test");
  EXPECT_EQ(bad.status, 502) << bad.body;
  auto badName = client.get("/uncached/5", "wrong-name.test");
  EXPECT_EQ(badName.status, 502) << badName.body;
  EXPECT_EQ(secure.requests(), before);  // Nothing reached the origin unverified.
  node->stop();
  pipelineLog.setChannel(previous);
  const std::string log = capture->text();
  std::cout << log;
  EXPECT_NE(log.find("event=origin_error"), std::string::npos) << log;
  EXPECT_NE(log.find("certificate verify failed"), std::string::npos) << log;
  EXPECT_NE(log.find("set tls.ca_file"), std::string::npos) << log;
}

// --------------------------------------------------------------------------------------------
// Shielding: an edge in front of two shields (hashed by cache key) in front of the origin.

TEST(ShieldTest, TenEdgeMissesMakeOneOriginRequestAndBothHopsReportCacheStatus) {
  TempDir dir;
  ScriptedOrigin origin;
  origin.on("/obj", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "object"));
  auto shieldConfig = [&](const std::string& name) {
    edge::app::Config c = configFor(origin.url(), dir.path() + "/" + name);
    c.nodeName = name;
    return c;
  };
  auto shield1 = startNode(shieldConfig("shield-1"));
  auto shield2 = startNode(shieldConfig("shield-2"));
  ASSERT_TRUE(shield1 && shield2);
  edge::app::Config edgeConfig = baseConfig(dir.path() + "/edge", "edge");
  edge::app::Pool shields;
  shields.name = "shields";
  shields.loadBalancing = "hash";
  shields.backends.push_back(
      {"shield-1", "http://127.0.0.1:" + std::to_string(shield1->proxyPort()), 1});
  shields.backends.push_back(
      {"shield-2", "http://127.0.0.1:" + std::to_string(shield2->proxyPort()), 1});
  edgeConfig.pools.push_back(shields);
  edgeConfig.routes.push_back({"", "/", {"shields"}});
  auto edge = startNode(edgeConfig);
  ASSERT_TRUE(edge);

  Response last;
  for (int i = 0; i < 10; ++i) {
    last = request(edge->proxyPort(), "GET", "/obj", {{"Host", "shop.test"}});
    ASSERT_EQ(last.status, 200);
    ASSERT_EQ(last.body, "object");
    EXPECT_NE(cacheStatusOf(last).find("edge; fwd="), std::string::npos)  // An edge miss.
        << cacheStatusOf(last);
    Response purge =
        request(edge->adminPort(), "POST", "/api/purge",
                {{"Authorization", "Bearer secret-token"}, {"Content-Type", "application/json"}},
                R"({"all": true})");
    ASSERT_EQ(purge.status, 200) << purge.body;
  }
  EXPECT_EQ(origin.count("/obj"), 1);
  const std::string cacheStatus = cacheStatusOf(last);
  std::cout << "Cache-Status at the edge: " << cacheStatus << "\n";
  EXPECT_NE(cacheStatus.find("shield-"), std::string::npos) << cacheStatus;
  EXPECT_NE(cacheStatus.find("; hit"), std::string::npos) << cacheStatus;
  EXPECT_LT(cacheStatus.find("shield-"), cacheStatus.find("edge;")) << cacheStatus;
  // Each object lives on one shield.
  auto root = backendsOf(*edge);
  const int r1 = findBackend(root, "shields", "shield-1")->getValue<int>("requests");
  const int r2 = findBackend(root, "shields", "shield-2")->getValue<int>("requests");
  EXPECT_EQ(r1 + r2, 10);
  EXPECT_TRUE(r1 == 0 || r2 == 0) << r1 << " " << r2;
}

// Two nodes that are each other's origin: the request comes back carrying the first node's name
// in Via, and the loop is answered 508 instead of circling.
TEST(ShieldTest, AViaLoopBetweenTwoNodesAnswers508) {
  TempDir dir;
  const std::uint16_t portA = freePort();
  edge::app::Config b = configFor("http://127.0.0.1:" + std::to_string(portA), dir.path() + "/b");
  b.nodeName = "node-b";
  auto nodeB = startNode(b);
  ASSERT_TRUE(nodeB);
  edge::app::Config a =
      configFor("http://127.0.0.1:" + std::to_string(nodeB->proxyPort()), dir.path() + "/a");
  a.nodeName = "node-a";
  a.listen = "127.0.0.1:" + std::to_string(portA);
  auto nodeA = startNode(a);
  ASSERT_TRUE(nodeA);
  Response r = request(nodeA->proxyPort(), "GET", "/loop", {{"Host", "shop.test"}});
  EXPECT_EQ(r.status, 508) << r.body;
  EXPECT_GE(nodeA->stats().loops.load(), 1u);
}

}  // namespace
}  // namespace strata::testing

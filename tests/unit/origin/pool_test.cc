// Pools and failover with scripted in-memory origins and an injected clock: retries, drain,
// passive health, last-resort, accounting. No sockets, no sleeps.

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <sstream>

#include "edge/origin/origin_router.h"

namespace strata::edge::origin {
namespace {

class StaticResponse : public OriginResponse {
 public:
  explicit StaticResponse(int status) : status_(status) {}
  int status() const override { return status_; }
  const std::string& reason() const override { return reason_; }
  const http::HeaderList& headers() const override { return headers_; }
  std::int64_t contentLength() const override { return 0; }
  std::int64_t read(char*, std::size_t) override { return 0; }
  const std::string& error() const override { return reason_; }

 private:
  int status_;
  std::string reason_;
  http::HeaderList headers_;
};

// Answers with `status`, or fails with `failure` when that is not kNone. Counts calls and
// records the body each call received.
class FakeOrigin : public Origin {
 public:
  FakeOrigin(std::string name, int status, FetchFailure failure = FetchFailure::kNone)
      : name_(std::move(name)), status_(status), failure_(failure) {}
  const std::string& name() const override { return name_; }
  std::unique_ptr<OriginResponse> fetch(const OriginRequest& request, FetchFailure* failure,
                                        std::string* error) override {
    ++calls;
    if (request.body) {
      std::ostringstream body;
      body << request.body->rdbuf();
      lastBody = body.str();
    }
    if (failure_ != FetchFailure::kNone) {
      *failure = failure_;
      *error = name_ + " failed";
      return nullptr;
    }
    return std::make_unique<StaticResponse>(status_);
  }
  std::atomic<int> calls{0};
  std::string lastBody;

 private:
  std::string name_;
  int status_;
  FetchFailure failure_;
};

struct Fixture {
  std::int64_t now = 1000;
  std::vector<FakeOrigin*> origins;

  std::unique_ptr<OriginPool> pool(const std::string& name,
                                   std::vector<std::pair<int, FetchFailure>> outcomes,
                                   PoolOptions options = {}) {
    std::vector<OriginPool::Member> members;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      auto origin = std::make_unique<FakeOrigin>(name + "-" + std::to_string(i), outcomes[i].first,
                                                 outcomes[i].second);
      origins.push_back(origin.get());
      members.push_back({origin->name(), "http://x", 1, std::move(origin)});
    }
    return std::make_unique<OriginPool>(name, options, std::move(members), [this] { return now; });
  }
};

OriginRequest get(const std::string& target = "/") {
  OriginRequest r;
  r.method = "GET";
  r.target = target;
  r.headers.add("Host", "example.test");
  return r;
}

constexpr auto kOk = FetchFailure::kNone;
constexpr auto kRefused = FetchFailure::kConnect;

TEST(PoolTest, ConnectFailuresFailOverToTheNextBackendThenTheNextPool) {
  Fixture f;
  auto primary = f.pool("primary", {{0, kRefused}, {0, kRefused}});
  auto secondary = f.pool("secondary", {{200, kOk}});
  FetchFailure failure;
  std::string error;
  auto r = fetchThrough({primary.get(), secondary.get()}, get(), &failure, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->status(), 200);
  EXPECT_EQ(f.origins[0]->calls, 1);
  EXPECT_EQ(f.origins[1]->calls, 1);
  EXPECT_EQ(f.origins[2]->calls, 1);
  auto snap = primary->snapshot();
  EXPECT_EQ(snap.backends[0].errors, 1u);
  EXPECT_EQ(snap.backends[0].inFlight, 0);
  EXPECT_EQ(secondary->snapshot().backends[0].inFlight, 1);  // Until the response is gone.
  r.reset();
  EXPECT_EQ(secondary->snapshot().backends[0].inFlight, 0);
}

TEST(PoolTest, BadGatewayAnswersAreRetriedAndTheLastOneIsReturnedIfNothingIsBetter) {
  Fixture f;
  auto p = f.pool("p", {{503, kOk}, {502, kOk}});
  FetchFailure failure;
  std::string error;
  auto r = p->fetch(get(), &failure, &error);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->status() == 502 || r->status() == 503);
  EXPECT_EQ(f.origins[0]->calls + f.origins[1]->calls, 2);  // Each backend once.
  // A plain 500 is the application's answer, not a sick backend: not retried.
  Fixture g;
  auto q = g.pool("q", {{500, kOk}, {200, kOk}});
  auto s = q->fetch(get(), &failure, &error);
  ASSERT_TRUE(s);
  EXPECT_EQ(g.origins[0]->calls + g.origins[1]->calls, 1);
}

TEST(PoolTest, NonIdempotentRequestsAreRetriedOnlyWhenNothingWasSent) {
  Fixture f;
  auto p = f.pool("p", {{0, FetchFailure::kReceive}, {200, kOk}});
  OriginRequest post = get();
  post.method = "POST";
  std::istringstream body("payload");
  post.body = &body;
  post.contentLength = 7;
  FetchFailure failure;
  std::string error;
  EXPECT_FALSE(p->fetch(post, &failure, &error));
  EXPECT_EQ(failure, FetchFailure::kReceive);
  EXPECT_EQ(f.origins[0]->calls + f.origins[1]->calls, 1);

  Fixture g;
  auto q = g.pool("q", {{0, kRefused}, {200, kOk}});
  std::istringstream body2("payload");
  post.body = &body2;
  auto r = q->fetch(post, &failure, &error);
  ASSERT_TRUE(r);
  EXPECT_EQ(g.origins[1]->lastBody, "payload");  // The kept body went again, whole.
}

TEST(PoolTest, IdempotentRequestsWithAKeptBodyAreRetriedAfterAReset) {
  Fixture f;
  auto p = f.pool("p", {{0, FetchFailure::kReceive}, {0, FetchFailure::kReceive}});
  auto q = f.pool("q", {{200, kOk}});
  OriginRequest put = get();
  put.method = "PUT";
  std::istringstream body("data");
  put.body = &body;
  put.contentLength = 4;
  FetchFailure failure;
  std::string error;
  auto r = fetchThrough({p.get(), q.get()}, put, &failure, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(f.origins[2]->lastBody, "data");
  // A streamed body (unknown length) cannot be replayed: no retry after a reset.
  Fixture g;
  auto s = g.pool("s", {{0, FetchFailure::kReceive}, {200, kOk}});
  std::istringstream streamed("data");
  put.body = &streamed;
  put.contentLength = -1;
  EXPECT_FALSE(s->fetch(put, &failure, &error));
  EXPECT_EQ(g.origins[0]->calls + g.origins[1]->calls, 1);
}

TEST(PoolTest, TriesBoundTheAttemptsPerPool) {
  Fixture f;
  PoolOptions options;
  options.retries.tries = 2;
  options.passive.failures = 0;
  auto p = f.pool("p", {{0, kRefused}, {0, kRefused}, {0, kRefused}, {0, kRefused}}, options);
  FetchFailure failure;
  std::string error;
  EXPECT_FALSE(p->fetch(get(), &failure, &error));
  int calls = 0;
  for (auto* o : f.origins) calls += o->calls;
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(error.empty());
}

TEST(PoolTest, ADrainedBackendGetsNoNewRequests) {
  Fixture f;
  auto p = f.pool("p", {{200, kOk}, {200, kOk}});
  p->setDraining(0, true);
  FetchFailure failure;
  std::string error;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p->fetch(get(), &failure, &error));
  EXPECT_EQ(f.origins[0]->calls, 0);
  EXPECT_EQ(f.origins[1]->calls, 20);
  EXPECT_EQ(p->snapshot().backends[0].state, "draining");
  p->setDraining(0, false);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p->fetch(get(), &failure, &error));
  EXPECT_EQ(f.origins[0]->calls, 10);
  EXPECT_EQ(p->snapshot().backends[0].state, "up");
  // Drain wins even over the last-resort pass.
  p->setDraining(0, true);
  p->setDraining(1, true);
  EXPECT_FALSE(p->fetch(get(), &failure, &error));
  EXPECT_NE(error.find("draining"), std::string::npos) << error;
}

TEST(PoolTest, PassiveFailuresTakeABackendOutUntilTheCoolDownEnds) {
  Fixture f;
  PoolOptions options;
  options.passive = {2, 5000};
  auto p = f.pool("p", {{0, kRefused}, {200, kOk}}, options);
  FetchFailure failure;
  std::string error;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p->fetch(get(), &failure, &error));
  EXPECT_EQ(f.origins[0]->calls, 2);  // Then cooled down.
  auto snap = p->snapshot();
  EXPECT_EQ(snap.backends[0].state, "down");
  EXPECT_EQ(snap.healthy, 1);
  f.now += 5000;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(p->fetch(get(), &failure, &error));
  EXPECT_GT(f.origins[0]->calls, 2);  // Tried again after the cool-down.
}

TEST(PoolTest, WhenNoBackendIsHealthyTheyAreTriedAnyway) {
  Fixture f;
  PoolOptions options;
  options.healthCheck.enabled = true;
  options.healthCheck.fall = 1;
  auto p = f.pool("p", {{200, kOk}}, options);
  p->recordProbe(0, false);
  EXPECT_FALSE(p->healthy(0));
  FetchFailure failure;
  std::string error;
  auto r = p->fetch(get(), &failure, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->status(), 200);
}

TEST(PoolTest, AnUnhealthyPrimaryPoolIsSkippedAndUsedAgainAfterItsRiseCount) {
  Fixture f;
  PoolOptions options;
  options.healthCheck = {true, "/", 200, 1000, 500, 2, 1};
  auto primary = f.pool("primary", {{200, kOk}}, options);
  auto secondary = f.pool("secondary", {{200, kOk}});
  FetchFailure failure;
  std::string error;
  primary->recordProbe(0, false);
  ASSERT_TRUE(fetchThrough({primary.get(), secondary.get()}, get(), &failure, &error));
  EXPECT_EQ(f.origins[0]->calls, 0);
  EXPECT_EQ(f.origins[1]->calls, 1);
  primary->recordProbe(0, true);
  ASSERT_TRUE(fetchThrough({primary.get(), secondary.get()}, get(), &failure, &error));
  EXPECT_EQ(f.origins[1]->calls, 2);  // One good probe of two.
  primary->recordProbe(0, true);
  ASSERT_TRUE(fetchThrough({primary.get(), secondary.get()}, get(), &failure, &error));
  EXPECT_EQ(f.origins[0]->calls, 1);
}

TEST(PoolTest, HashPoolsSendAKeyToOneBackend) {
  Fixture f;
  PoolOptions options;
  options.policy = BalancePolicy::kHash;
  auto p = f.pool("shields", {{200, kOk}, {200, kOk}, {200, kOk}}, options);
  FetchFailure failure;
  std::string error;
  OriginRequest r = get();
  r.hashKey = "http://example.test/one";
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(p->fetch(r, &failure, &error));
  int used = 0;
  for (auto* o : f.origins) used += o->calls > 0 ? 1 : 0;
  EXPECT_EQ(used, 1);
}

TEST(RouterTest, DrainAndEnableByNameAndUnknownNamesAreErrors) {
  Fixture f;
  std::vector<std::unique_ptr<OriginPool>> pools;
  pools.push_back(f.pool("p", {{200, kOk}}));
  OriginRouter router(std::move(pools), {});
  std::string error;
  EXPECT_TRUE(router.setDraining("p", "p-0", true, &error));
  EXPECT_EQ(router.snapshot()[0].backends[0].state, "draining");
  EXPECT_FALSE(router.setDraining("p", "nope", true, &error));
  EXPECT_NE(error.find("nope"), std::string::npos);
  EXPECT_FALSE(router.setDraining("q", "p-0", true, &error));
  EXPECT_NE(error.find("unknown pool"), std::string::npos);
}

}  // namespace
}  // namespace strata::edge::origin

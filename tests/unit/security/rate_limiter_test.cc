// Token buckets with an injected clock: burst, refill, Retry-After, and a bounded table.

#include "edge/security/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace strata::edge::security {
namespace {

TEST(TokenBucketTest, TakesTheBurstThenRefusesWithRetryAfterRoundedUp) {
  struct Case {
    const char* name;
    RateLimit limit;
    std::int64_t retryAfter;  // After the burst is spent at t=0.
  };
  const std::vector<Case> cases = {
      {"1/s burst 3", {1, 3}, 1},
      {"2/s burst 1: half a second rounds up to 1", {2, 1}, 1},
      {"1/min burst 2: 60s", {1.0 / 60, 2}, 60},
      {"1/h burst 1: 3600s", {1.0 / 3600, 1}, 3600},
      {"0.4/s: 2.5s rounds up to 3", {0.4, 1}, 3},
  };
  for (const auto& c : cases) {
    BucketState state{c.limit.burst, 0};
    for (int i = 0; i < static_cast<int>(c.limit.burst); ++i) {
      EXPECT_TRUE(takeToken(state, c.limit, 0).allowed) << c.name << " #" << i;
    }
    const RateDecision refused = takeToken(state, c.limit, 0);
    EXPECT_FALSE(refused.allowed) << c.name;
    EXPECT_EQ(refused.retryAfterSeconds, c.retryAfter) << c.name;
    // Retry-After is honest: waiting that long is enough.
    EXPECT_TRUE(takeToken(state, c.limit, refused.retryAfterSeconds * 1000).allowed) << c.name;
  }
}

TEST(TokenBucketTest, RefillsWithTimeUpToTheBurstAndIgnoresAClockGoingBack) {
  const RateLimit limit{10, 5};  // 10/s, burst 5.
  BucketState state{5, 1000};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(takeToken(state, limit, 1000).allowed);
  EXPECT_FALSE(takeToken(state, limit, 1000).allowed);
  EXPECT_FALSE(takeToken(state, limit, 1099).allowed);  // 0.99 tokens.
  EXPECT_TRUE(takeToken(state, limit, 1100).allowed);   // 1 token after 100ms.
  EXPECT_FALSE(takeToken(state, limit, 500).allowed);   // Backwards: nothing gained.
  // A long pause fills the bucket to the burst, not beyond.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(takeToken(state, limit, 100000).allowed) << i;
  EXPECT_FALSE(takeToken(state, limit, 100000).allowed);
}

TEST(RateLimiterTest, KeepsOneBucketPerClientAndRecoversWhenTheClockAdvances) {
  std::int64_t now = 0;
  RateLimiter limiter({1, 2}, 100, [&now] { return now; });
  EXPECT_TRUE(limiter.take("192.0.2.1").allowed);
  EXPECT_TRUE(limiter.take("192.0.2.1").allowed);
  const RateDecision third = limiter.take("192.0.2.1");
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.retryAfterSeconds, 1);
  // IPv4-mapped IPv6 is the same client.
  EXPECT_FALSE(limiter.take("::ffff:192.0.2.1").allowed);
  // Another client has its own bucket.
  EXPECT_TRUE(limiter.take("192.0.2.2").allowed);
  now += 1000;
  EXPECT_TRUE(limiter.take("192.0.2.1").allowed);
  EXPECT_FALSE(limiter.take("192.0.2.1").allowed);
  EXPECT_EQ(limiter.size(), 2u);
}

TEST(RateLimiterTest, TheTableNeverGrowsBeyondItsCapacity) {
  std::int64_t now = 0;
  RateLimiter limiter({1, 1}, 64, [&now] { return now; });
  for (int i = 0; i < 100000; ++i) {
    const std::string address = "10." + std::to_string(i >> 16) + "." +
                                std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
    EXPECT_TRUE(limiter.take(address).allowed);
    ASSERT_LE(limiter.size(), 64u);
  }
  EXPECT_EQ(limiter.size(), 64u);
}

TEST(RateLimiterTest, EvictsTheLeastRecentlySeenClient) {
  std::int64_t now = 0;
  RateLimiter limiter({1, 1}, 1, [&now] { return now; });  // One bucket.
  EXPECT_TRUE(limiter.take("192.0.2.1").allowed);
  EXPECT_FALSE(limiter.take("192.0.2.1").allowed);
  EXPECT_TRUE(limiter.take("192.0.2.2").allowed);  // Evicts .1.
  EXPECT_EQ(limiter.size(), 1u);
  EXPECT_TRUE(limiter.take("192.0.2.1").allowed);  // Forgotten: a fresh, full bucket.
}

TEST(RateLimiterTest, ConcurrentClientsNeverGetMoreThanTheBurst) {
  std::int64_t now = 0;
  RateLimiter limiter({1, 50}, 1024, [&now] { return now; });
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.take("198.51.100.1").allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 50);
}

}  // namespace
}  // namespace strata::edge::security

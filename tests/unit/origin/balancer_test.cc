// Load-balancing policies, pure: no sockets, no clock.

#include "edge/origin/balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace strata::edge::origin {
namespace {

std::vector<Candidate> candidates(const std::vector<int>& weights) {
  std::vector<Candidate> out;
  for (int w : weights) out.push_back({w, 0, true});
  return out;
}

TEST(BalancerTest, SmoothWeightedRoundRobinGivesTheCanaryExactlyItsShare) {
  Balancer b(BalancePolicy::kRoundRobin, {"stable", "canary"}, {9, 1});
  auto c = candidates({9, 1});
  int canary = 0;
  for (int i = 0; i < 10000; ++i) {
    auto pick = b.pick(c, "");
    ASSERT_TRUE(pick);
    if (*pick == 1) ++canary;
  }
  EXPECT_EQ(canary, 1000);
}

TEST(BalancerTest, SmoothRoundRobinInterleavesRatherThanBursts) {
  // nginx's example: weights 5,1,1 give a a b a c a a, never five a's in a row.
  Balancer b(BalancePolicy::kRoundRobin, {"a", "b", "c"}, {5, 1, 1});
  auto c = candidates({5, 1, 1});
  std::string order;
  for (int i = 0; i < 7; ++i) order += static_cast<char>('a' + *b.pick(c, ""));
  EXPECT_EQ(order, "aabacaa");
}

TEST(BalancerTest, IneligibleAndZeroWeightBackendsAreSkipped) {
  for (auto policy :
       {BalancePolicy::kRoundRobin, BalancePolicy::kLeastConn, BalancePolicy::kHash}) {
    Balancer b(policy, {"a", "b", "c"}, {1, 0, 1});
    auto c = candidates({1, 0, 1});
    c[0].eligible = false;
    for (int i = 0; i < 50; ++i) {
      auto pick = b.pick(c, "key" + std::to_string(i));
      ASSERT_TRUE(pick) << toString(policy);
      EXPECT_EQ(*pick, 2u) << toString(policy);
    }
    c[2].eligible = false;
    EXPECT_FALSE(b.pick(c, "k")) << toString(policy);
  }
}

TEST(BalancerTest, LeastConnectionsPrefersTheLeastLoadedPerWeight) {
  Balancer b(BalancePolicy::kLeastConn, {"a", "b", "c"}, {1, 1, 2});
  std::vector<Candidate> c = {{1, 5, true}, {1, 3, true}, {2, 5, true}};
  EXPECT_EQ(*b.pick(c, ""), 2u);  // 5/2 < 3/1 < 5/1.
  c[2].inFlight = 7;
  EXPECT_EQ(*b.pick(c, ""), 1u);
  // Ties rotate, so equal backends share the load.
  std::vector<Candidate> even = {{1, 0, true}, {1, 0, true}, {1, 0, true}};
  std::map<std::size_t, int> seen;
  for (int i = 0; i < 30; ++i) ++seen[*b.pick(even, "")];
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], 10);
}

TEST(BalancerTest, ConsistentHashIsStableAndSpreadsKeys) {
  const std::vector<std::string> names = {"s1", "s2", "s3", "s4"};
  Balancer b(BalancePolicy::kHash, names, {1, 1, 1, 1});
  Balancer again(BalancePolicy::kHash, names, {1, 1, 1, 1});
  auto c = candidates({1, 1, 1, 1});
  std::map<std::size_t, int> load;
  for (int i = 0; i < 20000; ++i) {
    const std::string key = "http://example.test/object/" + std::to_string(i);
    auto p = b.pick(c, key);
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, *again.pick(c, key));  // Same key, same home, in any process.
    ++load[*p];
  }
  for (const auto& [backend, n] : load) {
    EXPECT_GT(n, 20000 / 4 * 0.75) << backend;
    EXPECT_LT(n, 20000 / 4 * 1.25) << backend;
  }
}

// Removing one of four backends (from the config, or marking it down) moves only the keys that
// lived on it: about a quarter, certainly no more than a third.
TEST(BalancerTest, RemovingOneOfFourBackendsRemapsAboutAQuarterOfKeys) {
  Balancer four(BalancePolicy::kHash, {"s1", "s2", "s3", "s4"}, {1, 1, 1, 1});
  Balancer three(BalancePolicy::kHash, {"s1", "s2", "s4"}, {1, 1, 1});
  const std::vector<std::string> threeNames = {"s1", "s2", "s4"};
  const std::vector<std::string> fourNames = {"s1", "s2", "s3", "s4"};
  auto all = candidates({1, 1, 1, 1});
  auto withoutS3 = all;
  withoutS3[2].eligible = false;
  auto c3 = candidates({1, 1, 1});
  const int keys = 20000;
  int movedRebuilt = 0;
  int movedMarkedDown = 0;
  for (int i = 0; i < keys; ++i) {
    const std::string key = "/k/" + std::to_string(i);
    const std::string before = fourNames[*four.pick(all, key)];
    if (threeNames[*three.pick(c3, key)] != before) ++movedRebuilt;
    if (fourNames[*four.pick(withoutS3, key)] != before) ++movedMarkedDown;
  }
  const double rebuilt = static_cast<double>(movedRebuilt) / keys;
  const double markedDown = static_cast<double>(movedMarkedDown) / keys;
  std::cout << "remapped after removing 1 of 4: rebuilt ring " << rebuilt << ", marked down "
            << markedDown << "\n";
  EXPECT_LE(rebuilt, 1.0 / 3);
  EXPECT_LE(markedDown, 1.0 / 3);
  EXPECT_GE(rebuilt, 0.15);                  // The removed backend's keys did move.
  EXPECT_EQ(movedMarkedDown, movedRebuilt);  // Same ring points, same answer.
}

TEST(BalancerTest, PolicyNamesRoundTrip) {
  for (auto policy :
       {BalancePolicy::kRoundRobin, BalancePolicy::kLeastConn, BalancePolicy::kHash}) {
    EXPECT_EQ(parseBalancePolicy(toString(policy)), policy);
  }
  EXPECT_FALSE(parseBalancePolicy("random"));
}

}  // namespace
}  // namespace strata::edge::origin

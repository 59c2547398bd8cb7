#include "edge/policy/range.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace strata::edge::policy {
namespace {

using Pairs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

struct RangeCase {
  const char* rfc;
  std::string value;
  std::uint64_t size;
  RangeOutcome outcome;
  Pairs ranges;
};

class EvaluateRangeTest : public ::testing::TestWithParam<RangeCase> {};

TEST_P(EvaluateRangeTest, Evaluates) {
  const auto& c = GetParam();
  const RangeResult r = evaluateRange(c.value, c.size);
  EXPECT_STREQ(toString(r.outcome), toString(c.outcome)) << c.rfc << ": " << c.value;
  Pairs got;
  for (const ByteRange& b : r.ranges) got.emplace_back(b.first, b.last);
  EXPECT_EQ(got, c.ranges) << c.rfc << ": " << c.value;
  for (const ByteRange& b : r.ranges) {
    EXPECT_LE(b.first, b.last) << c.rfc;
    EXPECT_LT(b.last, c.size) << c.rfc;
  }
}

constexpr auto kFull = RangeOutcome::kFull;
constexpr auto kPartial = RangeOutcome::kPartial;
constexpr auto k416 = RangeOutcome::kUnsatisfiable;
constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

std::string manyRanges(int n, int stride) {
  std::string s = "bytes=";
  for (int i = 0; i < n; ++i) {
    if (i) s += ",";
    s += std::to_string(i * stride) + "-" + std::to_string(i * stride);
  }
  return s;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9110, EvaluateRangeTest, ::testing::Values(
  RangeCase{"RFC 9110 §14.2 no Range value", "", 100, kFull, {}},
  RangeCase{"RFC 9110 §14.1.2 first-last", "bytes=0-499", 10000, kPartial, {{0, 499}}},
  RangeCase{"RFC 9110 §14.1.2 second 500 bytes", "bytes=500-999", 10000, kPartial, {{500, 999}}},
  RangeCase{"RFC 9110 §14.1.2 open-ended a-", "bytes=9500-", 10000, kPartial, {{9500, 9999}}},
  RangeCase{"RFC 9110 §14.1.2 suffix -n", "bytes=-500", 10000, kPartial, {{9500, 9999}}},
  RangeCase{"RFC 9110 §14.1.2 first and last bytes", "bytes=0-0,-1", 10000, kPartial,
            {{0, 0}, {9999, 9999}}},
  RangeCase{"RFC 9110 §14.1.1 last-pos clamped to size-1", "bytes=0-99999", 100, kPartial,
            {{0, 99}}},
  RangeCase{"RFC 9110 §14.1.1 suffix longer than representation", "bytes=-500", 100, kPartial,
            {{0, 99}}},
  RangeCase{"RFC 9110 §14.1 unit is case-insensitive", "BYTES=1-2", 10, kPartial, {{1, 2}}},
  RangeCase{"RFC 9110 §5.6.1 OWS around list members", "bytes= 1-2 ,\t4-5 ", 10, kPartial,
            {{1, 2}, {4, 5}}},
  RangeCase{"RFC 9110 §5.6.1 empty list members ignored", "bytes=,1-2,,", 10, kPartial,
            {{1, 2}}},
  RangeCase{"RFC 9110 §14.1.1 unsatisfiable member dropped", "bytes=1-2,50-60", 10, kPartial,
            {{1, 2}}},
  RangeCase{"RFC 9110 §14.1.1 first-pos == size unsatisfiable", "bytes=10-", 10, k416, {}},
  RangeCase{"RFC 9110 §14.1.1 all unsatisfiable: 416", "bytes=20-30,40-", 10, k416, {}},
  RangeCase{"RFC 9110 §14.1.1 zero suffix unsatisfiable", "bytes=-0", 10, k416, {}},
  RangeCase{"RFC 9110 §14.1.1 zero-length representation: 416", "bytes=0-", 0, k416, {}},
  RangeCase{"RFC 9110 §14.1.1 zero-length representation suffix: 416", "bytes=-5", 0, k416, {}},
  RangeCase{"RFC 9110 §14.1.1 huge first-pos is unsatisfiable",
            "bytes=99999999999999999999999-", 10, k416, {}},
  RangeCase{"RFC 9110 §14.1.1 huge last-pos clamped", "bytes=0-99999999999999999999999", 10,
            kPartial, {{0, 9}}},
  RangeCase{"RFC 9110 §14.1.1 single byte at the end", "bytes=9-9", 10, kPartial, {{9, 9}}},
  // Invalid syntax: ignore the field (§14.2).
  RangeCase{"RFC 9110 §14.1.1 last < first is invalid", "bytes=5-4", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 one invalid member invalidates the set", "bytes=0-1,5-4", 10,
            kFull, {}},
  RangeCase{"RFC 9110 §14.2 other unit ignored", "items=0-5", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.2 missing =", "bytes 0-5", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 no range-spec", "bytes=", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 only commas", "bytes=,,", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 missing dash", "bytes=5", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 lone dash", "bytes=-", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 negative numbers", "bytes=--5", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 space inside a range", "bytes=1 -2", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 plus sign", "bytes=+1-2", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 hex digits", "bytes=0x1-2", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 second dash", "bytes=1-2-3", 10, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 invalid even with empty representation", "bytes=x", 0, kFull, {}},
  RangeCase{"RFC 9110 §14.2 unit must be exactly bytes", "bytesx=0-1", 10, kFull, {}},
  // Abuse resistance (§14.2, §15.3.7.2).
  RangeCase{"RFC 9110 §14.2 ascending disjoint ranges kept", "bytes=0-1,3-4,6-7", 10, kPartial,
            {{0, 1}, {3, 4}, {6, 7}}},
  RangeCase{"RFC 9110 §14.2 ascending adjacent ranges kept as given", "bytes=0-1,2-3", 10,
            kPartial, {{0, 1}, {2, 3}}},
  RangeCase{"RFC 9110 §15.3.7.2 overlapping ranges merged", "bytes=0-5,3-8", 10, kPartial,
            {{0, 8}}},
  RangeCase{"RFC 9110 §15.3.7.2 out-of-order ranges sorted", "bytes=6-7,0-1", 10, kPartial,
            {{0, 1}, {6, 7}}},
  RangeCase{"RFC 9110 §15.3.7.2 out-of-order adjacent ranges merged", "bytes=2-3,0-1", 10,
            kPartial, {{0, 3}}},
  RangeCase{"RFC 9110 §14.2 repeated whole-representation ranges merged",
            "bytes=0-,0-,0-,-10", 10, kPartial, {{0, 9}}},
  RangeCase{"RFC 9110 §14.2 exactly 16 disjoint ranges kept", manyRanges(16, 2), 100, kPartial,
            {{0, 0}, {2, 2}, {4, 4}, {6, 6}, {8, 8}, {10, 10}, {12, 12}, {14, 14}, {16, 16},
             {18, 18}, {20, 20}, {22, 22}, {24, 24}, {26, 26}, {28, 28}, {30, 30}}},
  RangeCase{"RFC 9110 §14.2 17 disjoint ranges: serve full", manyRanges(17, 2), 100, kFull, {}},
  RangeCase{"RFC 9110 §14.2 many adjacent ranges merge into one", manyRanges(100, 1), 1000,
            kPartial, {{0, 99}}},
  RangeCase{"RFC 9110 §14.2 thousands of disjoint ranges: serve full", manyRanges(5000, 3),
            kU64Max, kFull, {}},
  RangeCase{"RFC 9110 §14.1.1 size 2^64-1 open-ended", "bytes=5-", kU64Max, kPartial,
            {{5, kU64Max - 1}}}));
// clang-format on

struct ContentRangeCase {
  const char* rfc;
  ByteRange range;
  std::uint64_t size;
  std::string expected;
};

class ContentRangeTest : public ::testing::TestWithParam<ContentRangeCase> {};

TEST_P(ContentRangeTest, Formats) {
  const auto& c = GetParam();
  EXPECT_EQ(contentRangeValue(c.range, c.size), c.expected) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9110, ContentRangeTest, ::testing::Values(
  ContentRangeCase{"RFC 9110 §14.4 first bytes", {0, 499}, 1234, "bytes 0-499/1234"},
  ContentRangeCase{"RFC 9110 §14.4 single last byte", {1233, 1233}, 1234, "bytes 1233-1233/1234"},
  ContentRangeCase{"RFC 9110 §14.4 large values", {0, kU64Max - 1}, kU64Max,
                   "bytes 0-18446744073709551614/18446744073709551615"}));
// clang-format on

TEST(UnsatisfiedContentRangeTest, Formats) {  // RFC 9110 §14.4, §15.5.17
  EXPECT_EQ(unsatisfiedContentRange(1234), "bytes */1234");
  EXPECT_EQ(unsatisfiedContentRange(0), "bytes */0");
}

TEST(RangeNamesTest, EveryOutcomePrints) {  // ARCHITECTURE lesson 2
  EXPECT_STREQ(toString(RangeOutcome::kFull), "full");
  EXPECT_STREQ(toString(RangeOutcome::kPartial), "partial");
  EXPECT_STREQ(toString(RangeOutcome::kUnsatisfiable), "unsatisfiable");
}

TEST(EvaluateRangeTest, NeverReadsPastInput) {  // RFC 9110 §14.2 (fuzz-style smoke)
  const std::string alphabet = "bytes=0123456789-, \t\xff";
  std::uint32_t seed = 12345;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int len = static_cast<int>(seed % 24);
    for (int j = 0; j < len; ++j) {
      seed = seed * 1103515245u + 12345u;
      s.push_back(alphabet[(seed >> 16) % alphabet.size()]);
    }
    seed = seed * 1103515245u + 12345u;
    const RangeResult r = evaluateRange(s, seed % 50);
    for (const ByteRange& b : r.ranges) {
      EXPECT_LE(b.first, b.last);
      EXPECT_LT(b.last, seed % 50);
    }
  }
}

}  // namespace
}  // namespace strata::edge::policy

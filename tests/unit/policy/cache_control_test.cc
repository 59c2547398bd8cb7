#include "edge/policy/cache_control.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strata::edge::policy {
namespace {

using Fields = std::vector<std::string>;
constexpr std::int64_t kCap = 2147483648;

// Each row: an input and the full expected parse (fields not listed keep their defaults).
struct CcCase {
  const char* rfc;
  std::string input;
  CacheControl expected;
};

CacheControl cc(void (*fill)(CacheControl&)) {
  CacheControl c;
  fill(c);
  return c;
}

void expectEqual(const CacheControl& a, const CacheControl& e, const std::string& where) {
  EXPECT_EQ(a.noStore, e.noStore) << where << " noStore";
  EXPECT_EQ(a.noCache, e.noCache) << where << " noCache";
  EXPECT_EQ(a.noCacheFields, e.noCacheFields) << where << " noCacheFields";
  EXPECT_EQ(a.isPrivate, e.isPrivate) << where << " isPrivate";
  EXPECT_EQ(a.privateFields, e.privateFields) << where << " privateFields";
  EXPECT_EQ(a.isPublic, e.isPublic) << where << " isPublic";
  EXPECT_EQ(a.mustRevalidate, e.mustRevalidate) << where << " mustRevalidate";
  EXPECT_EQ(a.proxyRevalidate, e.proxyRevalidate) << where << " proxyRevalidate";
  EXPECT_EQ(a.mustUnderstand, e.mustUnderstand) << where << " mustUnderstand";
  EXPECT_EQ(a.noTransform, e.noTransform) << where << " noTransform";
  EXPECT_EQ(a.immutable, e.immutable) << where << " immutable";
  EXPECT_EQ(a.onlyIfCached, e.onlyIfCached) << where << " onlyIfCached";
  EXPECT_EQ(a.maxAge, e.maxAge) << where << " maxAge";
  EXPECT_EQ(a.sMaxAge, e.sMaxAge) << where << " sMaxAge";
  EXPECT_EQ(a.staleWhileRevalidate, e.staleWhileRevalidate) << where << " staleWhileRevalidate";
  EXPECT_EQ(a.staleIfError, e.staleIfError) << where << " staleIfError";
  EXPECT_EQ(a.maxStale, e.maxStale) << where << " maxStale";
  EXPECT_EQ(a.maxStaleSeconds, e.maxStaleSeconds) << where << " maxStaleSeconds";
  EXPECT_EQ(a.minFresh, e.minFresh) << where << " minFresh";
  EXPECT_EQ(a.conflictingFreshness, e.conflictingFreshness) << where << " conflictingFreshness";
}

class ParseCacheControlTest : public ::testing::TestWithParam<CcCase> {};

TEST_P(ParseCacheControlTest, Parses) {
  const auto& c = GetParam();
  expectEqual(parseCacheControl(c.input), c.expected, std::string(c.rfc) + ": '" + c.input + "'");
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, ParseCacheControlTest, ::testing::Values(
  CcCase{"RFC 9111 §5.2 empty", "", CacheControl{}},
  CcCase{"RFC 9110 §5.6.1 only empty elements", " , ,, ", CacheControl{}},
  CcCase{"RFC 9111 §5.2.2.1 max-age", "max-age=60", cc([](CacheControl& c) { c.maxAge = 60; })},
  CcCase{"RFC 9111 §5.2.2.1 max-age=0", "max-age=0", cc([](CacheControl& c) { c.maxAge = 0; })},
  CcCase{"RFC 9111 §5.2 quoted delta-seconds accepted", "max-age=\"60\"",
         cc([](CacheControl& c) { c.maxAge = 60; })},
  CcCase{"RFC 9111 §5.2.2.10 s-maxage", "s-maxage=30, max-age=60",
         cc([](CacheControl& c) { c.sMaxAge = 30; c.maxAge = 60; })},
  CcCase{"RFC 9111 §5.2 names are case-insensitive", "MAX-AGE=5, Public, No-Store",
         cc([](CacheControl& c) { c.maxAge = 5; c.isPublic = true; c.noStore = true; })},
  CcCase{"RFC 9110 §5.6.1 OWS and empty elements", "  ,public ,\t, max-age=7  ,,",
         cc([](CacheControl& c) { c.isPublic = true; c.maxAge = 7; })},
  CcCase{"RFC 9111 §5.2 lenient BWS around =", "max-age = 9",
         cc([](CacheControl& c) { c.maxAge = 9; })},
  CcCase{"RFC 9111 §5.2.2 every boolean response directive",
         "no-store, no-cache, private, public, must-revalidate, proxy-revalidate, "
         "must-understand, no-transform, immutable",
         cc([](CacheControl& c) {
           c.noStore = c.noCache = c.isPrivate = c.isPublic = c.mustRevalidate = true;
           c.proxyRevalidate = c.mustUnderstand = c.noTransform = c.immutable = true;
         })},
  CcCase{"RFC 9111 §5.2.1 request directives",
         "only-if-cached, min-fresh=5, max-stale=10",
         cc([](CacheControl& c) {
           c.onlyIfCached = true; c.minFresh = 5; c.maxStale = true; c.maxStaleSeconds = 10;
         })},
  CcCase{"RFC 9111 §5.2.1.2 max-stale without value", "max-stale",
         cc([](CacheControl& c) { c.maxStale = true; })},
  CcCase{"RFC 9111 §5.2.1.2 max-stale invalid value ignored", "max-stale=abc", CacheControl{}},
  CcCase{"RFC 5861 §3/§4 stale-while-revalidate, stale-if-error",
         "stale-while-revalidate=30, stale-if-error=600",
         cc([](CacheControl& c) { c.staleWhileRevalidate = 30; c.staleIfError = 600; })},
  CcCase{"RFC 5861 first occurrence wins", "stale-if-error=1, stale-if-error=2",
         cc([](CacheControl& c) { c.staleIfError = 1; })},
  CcCase{"RFC 9111 §5.2.1.3 invalid min-fresh ignored", "min-fresh=-1", CacheControl{}},
  // Qualified no-cache / private (field names lower-cased, commas inside quotes).
  CcCase{"RFC 9111 §5.2.2.4 no-cache with quoted field list",
         "no-cache=\"Set-Cookie, X-Foo\", max-age=5",
         cc([](CacheControl& c) { c.noCacheFields = {"set-cookie", "x-foo"}; c.maxAge = 5; })},
  CcCase{"RFC 9111 §5.2.2.7 private with quoted field list and commas",
         "private=\"set-cookie,,  Authorization \", public",
         cc([](CacheControl& c) {
           c.privateFields = {"set-cookie", "authorization"}; c.isPublic = true;
         })},
  CcCase{"RFC 9111 §5.2 private token form", "private=Set-Cookie",
         cc([](CacheControl& c) { c.privateFields = {"set-cookie"}; })},
  CcCase{"RFC 9111 §5.2.2.7 empty private list treated as unqualified", "private=\"\"",
         cc([](CacheControl& c) { c.isPrivate = true; })},
  CcCase{"RFC 9111 §5.2.2.7 qualified and unqualified private", "private=\"a\", private",
         cc([](CacheControl& c) { c.isPrivate = true; c.privateFields = {"a"}; })},
  CcCase{"RFC 9111 §5.2.2.4 unterminated quote is conservative", "no-cache=\"a, max-age=5",
         cc([](CacheControl& c) { c.noCache = true; })},
  // Quoted strings: escapes, commas and "=" inside quotes do not leak out as directives.
  CcCase{"RFC 9110 §5.6.4 quoted comma is not a separator", "foo=\"a, no-store\", max-age=3",
         cc([](CacheControl& c) { c.maxAge = 3; })},
  CcCase{"RFC 9110 §5.6.4 quoted-pair escapes", "foo=\"a\\\", no-store\", public",
         cc([](CacheControl& c) { c.isPublic = true; })},
  CcCase{"RFC 9110 §5.6.4 backslash at end of input", "foo=\"abc\\", CacheControl{}},
  CcCase{"RFC 9111 §5.2.3 unknown directives ignored", "foo, bar=baz, max-age=1, x=\"y\"",
         cc([](CacheControl& c) { c.maxAge = 1; })},
  CcCase{"RFC 9111 §5.2 junk element skipped", "@@@, \"quoted\", =5, public",
         cc([](CacheControl& c) { c.isPublic = true; })},
  // Duplicates and invalid freshness values (RFC 9111 §4.2.1, §1.2.2).
  CcCase{"RFC 9111 §4.2.1 duplicate max-age, same value", "max-age=5, max-age=5",
         cc([](CacheControl& c) { c.maxAge = 5; })},
  CcCase{"RFC 9111 §4.2.1 duplicate max-age, different values", "max-age=5, max-age=10",
         cc([](CacheControl& c) { c.maxAge = 5; c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §4.2.1 duplicate s-maxage, different values", "s-maxage=1, S-MAXAGE=2",
         cc([](CacheControl& c) { c.sMaxAge = 1; c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §4.2.1 same value quoted and unquoted", "max-age=5, max-age=\"5\"",
         cc([](CacheControl& c) { c.maxAge = 5; })},
  CcCase{"RFC 9111 §1.2.2 negative max-age is invalid", "max-age=-1",
         cc([](CacheControl& c) { c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §1.2.2 non-digit max-age", "max-age=abc",
         cc([](CacheControl& c) { c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §1.2.2 decimal max-age", "max-age=1.5",
         cc([](CacheControl& c) { c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §1.2.2 max-age without value", "max-age",
         cc([](CacheControl& c) { c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §1.2.2 max-age empty value", "max-age=, public",
         cc([](CacheControl& c) { c.conflictingFreshness = true; c.isPublic = true; })},
  CcCase{"RFC 9111 §1.2.2 max-age trailing junk", "max-age=5 6",
         cc([](CacheControl& c) { c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §1.2.2 invalid s-maxage", "s-maxage=\"\"",
         cc([](CacheControl& c) { c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §4.2.1 valid then invalid", "max-age=5, max-age=x",
         cc([](CacheControl& c) { c.maxAge = 5; c.conflictingFreshness = true; })},
  CcCase{"RFC 9111 §1.2.2 2^31 - 1 kept", "max-age=2147483647",
         cc([](CacheControl& c) { c.maxAge = 2147483647; })},
  CcCase{"RFC 9111 §1.2.2 2^31 kept", "max-age=2147483648",
         cc([](CacheControl& c) { c.maxAge = kCap; })},
  CcCase{"RFC 9111 §1.2.2 huge capped at 2^31", "max-age=99999999999999999999999999999",
         cc([](CacheControl& c) { c.maxAge = kCap; })},
  CcCase{"RFC 9111 §1.2.2 leading zeros", "s-maxage=0007",
         cc([](CacheControl& c) { c.sMaxAge = 7; })},
  CcCase{"RFC 9111 §4.2.1 two huge values both cap to 2^31 (not a conflict)",
         "max-age=3000000000, max-age=4000000000",
         cc([](CacheControl& c) { c.maxAge = kCap; })}));
// clang-format on

// RFC 9111 §5.2: the parser is fuzzed; it must terminate without reading out of bounds on any
// input. (Run under ASan to check bounds.) Here: every prefix of tricky inputs, and all bytes.
TEST(CacheControlRobustnessTest, SurvivesEveryPrefixOfTrickyInputs) {
  const std::vector<std::string> inputs = {"max-age=\"5\\\"\", private=\"a,b\\",
                                           "no-cache=\"\\",
                                           "=,=,\"\"\"\"",
                                           "a=\"b\\\"c\", d",
                                           std::string("max-age=1\0,no-store", 19),
                                           "\xff\xfe\x80, public"};
  for (const auto& in : inputs) {
    for (std::size_t n = 0; n <= in.size(); ++n) {
      (void)parseCacheControl(std::string_view(in.data(), n));
    }
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  (void)parseCacheControl(all);
  EXPECT_TRUE(parseCacheControl(std::string("max-age=1\0,no-store", 19)).noStore);
}

}  // namespace
}  // namespace strata::edge::policy

#include "edge/policy/cache_decision.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace strata::edge::policy {
namespace {

using http::HeaderList;

HeaderList h(std::initializer_list<HeaderList::Field> fields) {
  return HeaderList(std::vector<HeaderList::Field>(fields));
}

constexpr std::int64_t kT = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
const std::string kDate = "Sun, 06 Nov 1994 08:49:37 GMT";
const std::string kThousandEarlier = "Sun, 06 Nov 1994 08:32:57 GMT";  // kT - 1000

// Stored response with Date = kT, received at kT; `cc` Cache-Control; optional validator.
HeaderList stored(const std::string& cc, bool etag = false) {
  HeaderList headers = h({{"Date", kDate}});
  if (!cc.empty()) headers.add("Cache-Control", cc);
  if (etag) headers.add("ETag", "\"v1\"");
  return headers;
}

struct LookupCase {
  const char* rfc;
  HeaderList request;
  HeaderList storedHeaders;
  std::int64_t elapsed;  // now - kT
  Lookup expected;
  bool forcedByRequest;
  int storedStatus = 200;
  std::int64_t graceSeconds = 0;
};

class DecideLookupTest : public ::testing::TestWithParam<LookupCase> {};

TEST_P(DecideLookupTest, Decides) {
  const auto& c = GetParam();
  LookupOptions options;
  options.graceSeconds = c.graceSeconds;
  const LookupDecision d =
      decideLookup(c.request, c.storedStatus, c.storedHeaders, kT, kT, kT + c.elapsed, options);
  EXPECT_STREQ(toString(d.outcome), toString(c.expected)) << c.rfc;
  EXPECT_EQ(d.forcedByRequest, c.forcedByRequest) << c.rfc;
  EXPECT_EQ(d.ttl, d.lifetime - d.age) << c.rfc;
}

const HeaderList kNoReq = h({});
using L = Lookup;

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, DecideLookupTest, ::testing::Values(
  // Freshness (RFC 9111 §4.2).
  LookupCase{"RFC 9111 §4.2 fresh: age < lifetime", kNoReq, stored("max-age=60"), 10, L::kFresh,
             false},
  LookupCase{"RFC 9111 §4.2 stale at age == lifetime, with validator", kNoReq,
             stored("max-age=60", true), 60, L::kRevalidate, false},
  LookupCase{"RFC 9111 §4.2 stale without validator: refetch", kNoReq, stored("max-age=60"), 61,
             L::kUnusable, false},
  LookupCase{"RFC 9111 §4.2.2 heuristic freshness counts",
             h({}), h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 50, L::kFresh,
             false},
  LookupCase{"RFC 9111 §4.2.2 heuristic lifetime expired: revalidate with Last-Modified",
             h({}), h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 100, L::kRevalidate,
             false},
  LookupCase{"RFC 9111 §4.2.2 heuristics not for 302", h({}),
             h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 5, L::kRevalidate, false,
             302},
  LookupCase{"RFC 9111 §4.2.3 Age header counts toward age", kNoReq,
             h({{"Date", kDate}, {"Age", "55"}, {"Cache-Control", "max-age=60"}}), 10,
             L::kUnusable, false},
  LookupCase{"RFC 9213 §2.2 targeted lifetime used",
             kNoReq, h({{"Date", kDate}, {"Cache-Control", "max-age=1"},
                        {"CDN-Cache-Control", "max-age=100"}}), 50, L::kFresh, false},
  LookupCase{"RFC 9213 §2.2 targeted must-revalidate applies", h({{"Cache-Control", "max-stale"}}),
             h({{"Date", kDate}, {"CDN-Cache-Control", "max-age=1, must-revalidate"}}), 50,
             L::kUnusable, false},
  // Request directives (RFC 9111 §5.2.1).
  LookupCase{"RFC 9111 §5.2.1.4 request no-cache forces revalidation",
             h({{"Cache-Control", "no-cache"}}), stored("max-age=60", true), 1, L::kRevalidate,
             true},
  LookupCase{"RFC 9111 §5.2.1.4 request no-cache without validators: refetch",
             h({{"Cache-Control", "no-cache"}}), stored("max-age=60"), 1, L::kUnusable, true},
  LookupCase{"RFC 9111 §5.4 Pragma: no-cache without Cache-Control",
             h({{"Pragma", "no-cache"}}), stored("max-age=60", true), 1, L::kRevalidate, true},
  LookupCase{"RFC 9111 §5.4 Pragma: no-cache in a list, any case",
             h({{"Pragma", "x=1, No-Cache"}}), stored("max-age=60", true), 1, L::kRevalidate,
             true},
  LookupCase{"RFC 9111 §5.4 Pragma ignored when Cache-Control present",
             h({{"Pragma", "no-cache"}, {"Cache-Control", "max-stale=5"}}),
             stored("max-age=60", true), 1, L::kFresh, false},
  LookupCase{"RFC 9111 §5.4 other Pragma values ignored", h({{"Pragma", "foo"}}),
             stored("max-age=60", true), 1, L::kFresh, false},
  LookupCase{"RFC 9111 §5.2.1.1 request max-age=0 forces revalidation",
             h({{"Cache-Control", "max-age=0"}}), stored("max-age=60", true), 1, L::kRevalidate,
             true},
  LookupCase{"RFC 9111 §5.2.1.1 request max-age=0 with age 0 is satisfied",
             h({{"Cache-Control", "max-age=0"}}), stored("max-age=60", true), 0, L::kFresh, false},
  LookupCase{"RFC 9111 §5.2.1.1 request max-age=0 without validators: refetch",
             h({{"Cache-Control", "max-age=0"}}), stored("max-age=60"), 1, L::kUnusable, true},
  LookupCase{"RFC 9111 §5.2.1.1 age equal to request max-age is acceptable",
             h({{"Cache-Control", "max-age=10"}}), stored("max-age=60"), 10, L::kFresh, false},
  LookupCase{"RFC 9111 §5.2.1.1 max-stale does not relax request max-age",
             h({{"Cache-Control", "max-age=10, max-stale"}}), stored("max-age=5", true), 20,
             L::kRevalidate, true},
  LookupCase{"RFC 9111 §5.2.1.3 min-fresh satisfied", h({{"Cache-Control", "min-fresh=20"}}),
             stored("max-age=60"), 40, L::kFresh, false},
  LookupCase{"RFC 9111 §5.2.1.3 min-fresh not satisfied", h({{"Cache-Control", "min-fresh=20"}}),
             stored("max-age=60", true), 41, L::kRevalidate, true},
  LookupCase{"RFC 9111 §5.2.1.2 max-stale without value: any staleness",
             h({{"Cache-Control", "max-stale"}}), stored("max-age=60"), 100000, L::kStaleAllowed,
             false},
  LookupCase{"RFC 9111 §5.2.1.2 max-stale=N within N", h({{"Cache-Control", "max-stale=30"}}),
             stored("max-age=60"), 90, L::kStaleAllowed, false},
  LookupCase{"RFC 9111 §5.2.1.2 max-stale=N beyond N", h({{"Cache-Control", "max-stale=30"}}),
             stored("max-age=60", true), 91, L::kRevalidate, false},
  LookupCase{"RFC 9111 §5.2.1.2 invalid max-stale value ignored",
             h({{"Cache-Control", "max-stale=abc"}}), stored("max-age=60", true), 61,
             L::kRevalidate, false},
  // Response directives (RFC 9111 §5.2.2).
  LookupCase{"RFC 9111 §5.2.2.4 response no-cache: always revalidate", kNoReq,
             stored("no-cache, max-age=60", true), 1, L::kRevalidate, false},
  LookupCase{"RFC 9111 §5.2.2.4 response no-cache without validators: refetch", kNoReq,
             stored("no-cache, max-age=60"), 1, L::kUnusable, false},
  LookupCase{"RFC 9111 §5.2.2.4 qualified no-cache does not force revalidation", kNoReq,
             stored("no-cache=\"set-cookie\", max-age=60"), 1, L::kFresh, false},
  LookupCase{"RFC 9111 §5.2.2.2 must-revalidate beats max-stale",
             h({{"Cache-Control", "max-stale"}}), stored("max-age=60, must-revalidate", true), 61,
             L::kRevalidate, false},
  LookupCase{"RFC 9111 §5.2.2.8 proxy-revalidate beats max-stale",
             h({{"Cache-Control", "max-stale"}}), stored("max-age=60, proxy-revalidate"), 61,
             L::kUnusable, false},
  LookupCase{"RFC 9111 §5.2.2.10 s-maxage beats max-stale", h({{"Cache-Control", "max-stale"}}),
             stored("s-maxage=60", true), 61, L::kRevalidate, false},
  LookupCase{"RFC 9111 §5.2.2.2 must-revalidate does not affect fresh responses", kNoReq,
             stored("max-age=60, must-revalidate"), 59, L::kFresh, false},
  LookupCase{"RFC 9111 §4.2.1 conflicting max-age: stale", kNoReq,
             stored("max-age=60, max-age=70", true), 1, L::kRevalidate, false},
  // stale-while-revalidate (RFC 5861 §3).
  LookupCase{"RFC 5861 §3 stale-while-revalidate within window", kNoReq,
             stored("max-age=60, stale-while-revalidate=30"), 89, L::kStaleWhileRevalidate,
             false},
  LookupCase{"RFC 5861 §3 stale-while-revalidate window ends at lifetime + N", kNoReq,
             stored("max-age=60, stale-while-revalidate=30", true), 90, L::kRevalidate, false},
  LookupCase{"RFC 5861 §3 + RFC 9111 §4.2.4 must-revalidate forbids stale-while-revalidate",
             kNoReq, stored("max-age=60, stale-while-revalidate=30, must-revalidate", true), 61,
             L::kRevalidate, false},
  LookupCase{"RFC 5861 §3 + RFC 9111 §5.2.2.10 s-maxage forbids stale-while-revalidate",
             kNoReq, stored("s-maxage=60, stale-while-revalidate=30"), 61, L::kUnusable, false},
  LookupCase{"RFC 5861 §3 + RFC 9111 §5.2.1.4 request no-cache beats stale-while-revalidate",
             h({{"Cache-Control", "no-cache"}}), stored("max-age=60, stale-while-revalidate=30"),
             61, L::kUnusable, true},
  LookupCase{"RFC 5861 §3 max-stale takes precedence over stale-while-revalidate",
             h({{"Cache-Control", "max-stale"}}), stored("max-age=60, stale-while-revalidate=30"),
             61, L::kStaleAllowed, false},
  // Malformed input.
  LookupCase{"RFC 9111 §5.2 junk request Cache-Control is ignored",
             h({{"Cache-Control", "\"\"\"=,,,;;"}}), stored("max-age=60"), 1, L::kFresh, false},
  LookupCase{"RFC 9111 §4.2.3 clock before response time: age 0", kNoReq, stored("max-age=60"),
             -1000, L::kFresh, false},
  LookupCase{"RFC 9111 §3 unknown stored status: no heuristics", kNoReq,
             h({{"Last-Modified", kThousandEarlier}}), 1, L::kRevalidate, false, 0}));
// clang-format on

TEST(DecideLookupTest, ReportsAgeLifetimeTtl) {  // RFC 9111 §4.2.1, §4.2.3
  const LookupDecision d = decideLookup(h({}), 200, stored("max-age=60", true), kT, kT, kT + 70);
  EXPECT_EQ(d.age, 70);
  EXPECT_EQ(d.lifetime, 60);
  EXPECT_EQ(d.ttl, -10);
  EXPECT_TRUE(d.hasValidators);
}

TEST(DecideLookupTest, ExtremeTimesSaturate) {  // RFC 9111 §4.2.3
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const LookupDecision d =
      decideLookup(h({{"Cache-Control", "max-stale=5"}}), 200,
                   stored("max-age=60, stale-while-revalidate=2147483648"), kMin, kMax, kMax);
  EXPECT_GE(d.age, 0);
  EXPECT_LE(d.ttl, 60);
}

// ---------------------------------------------------------------------------------------------
struct StaleOnErrorCase {
  const char* rfc;
  HeaderList request;
  HeaderList storedHeaders;
  std::int64_t age;
  std::int64_t lifetime;
  std::int64_t grace;
  bool expected;
};

class CanServeStaleOnErrorTest : public ::testing::TestWithParam<StaleOnErrorCase> {};

TEST_P(CanServeStaleOnErrorTest, Decides) {
  const auto& c = GetParam();
  LookupOptions options;
  options.graceSeconds = c.grace;
  EXPECT_EQ(canServeStaleOnError(c.request, c.storedHeaders, c.age, c.lifetime, options),
            c.expected)
      << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc5861, CanServeStaleOnErrorTest, ::testing::Values(
  StaleOnErrorCase{"RFC 9111 §4.2 still fresh", kNoReq, stored("max-age=60"), 10, 60, 0, true},
  StaleOnErrorCase{"RFC 5861 §4 no stale-if-error, no grace", kNoReq, stored("max-age=60"), 61,
                   60, 0, false},
  StaleOnErrorCase{"RFC 5861 §4 stale exactly at lifetime, no grace", kNoReq,
                   stored("max-age=60"), 60, 60, 0, false},
  StaleOnErrorCase{"RFC 5861 §4 response stale-if-error within window", kNoReq,
                   stored("max-age=60, stale-if-error=100"), 160, 60, 0, true},
  StaleOnErrorCase{"RFC 5861 §4 response stale-if-error beyond window", kNoReq,
                   stored("max-age=60, stale-if-error=100"), 161, 60, 0, false},
  StaleOnErrorCase{"RFC 5861 §4 request stale-if-error within window",
                   h({{"Cache-Control", "stale-if-error=50"}}), stored("max-age=60"), 110, 60, 0,
                   true},
  StaleOnErrorCase{"RFC 5861 §4 request stale-if-error beyond window",
                   h({{"Cache-Control", "stale-if-error=50"}}), stored("max-age=60"), 111, 60, 0,
                   false},
  StaleOnErrorCase{"RFC 5861 §4 request window larger than response window",
                   h({{"Cache-Control", "stale-if-error=500"}}),
                   stored("max-age=60, stale-if-error=10"), 300, 60, 0, true},
  StaleOnErrorCase{"RFC 5861 §4 operator grace when the response gives none", kNoReq,
                   stored("max-age=60"), 360, 60, 300, true},
  StaleOnErrorCase{"RFC 5861 §4 operator grace exceeded", kNoReq, stored("max-age=60"), 361, 60,
                   300, false},
  StaleOnErrorCase{"RFC 5861 §4 response stale-if-error overrides operator grace", kNoReq,
                   stored("max-age=60, stale-if-error=10"), 200, 60, 300, false},
  StaleOnErrorCase{"RFC 9111 §4.2.4 must-revalidate forbids stale-if-error", kNoReq,
                   stored("max-age=60, must-revalidate, stale-if-error=100"), 70, 60, 300, false},
  StaleOnErrorCase{"RFC 9111 §4.2.4 proxy-revalidate forbids grace", kNoReq,
                   stored("max-age=60, proxy-revalidate"), 70, 60, 300, false},
  StaleOnErrorCase{"RFC 9111 §4.2.4 s-maxage forbids request stale-if-error",
                   h({{"Cache-Control", "stale-if-error=100"}}), stored("s-maxage=60"), 70, 60, 0,
                   false},
  StaleOnErrorCase{"RFC 9111 §4.2.4 no-cache forbids stale-if-error", kNoReq,
                   stored("no-cache, stale-if-error=100"), 70, 60, 300, false},
  StaleOnErrorCase{"RFC 9213 §2.2 targeted stale-if-error",
                   kNoReq, h({{"CDN-Cache-Control", "max-age=60, stale-if-error=100"}}), 150, 60,
                   0, true},
  StaleOnErrorCase{"RFC 5861 §4 negative grace is no grace", kNoReq, stored("max-age=60"), 61,
                   60, -5, false}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct FwdCase {
  const char* rfc;
  Lookup outcome;
  bool forced;
  ForwardReason expected;
};

class ForwardReasonTest : public ::testing::TestWithParam<FwdCase> {};

TEST_P(ForwardReasonTest, Maps) {
  const auto& c = GetParam();
  LookupDecision d;
  d.outcome = c.outcome;
  d.forcedByRequest = c.forced;
  EXPECT_STREQ(toString(forwardReason(d)), toString(c.expected)) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9211, ForwardReasonTest, ::testing::Values(
  FwdCase{"RFC 9211 §2.1 fresh is a hit", L::kFresh, false, ForwardReason::kNone},
  FwdCase{"RFC 9211 §2.1 max-stale serves a hit", L::kStaleAllowed, false, ForwardReason::kNone},
  FwdCase{"RFC 9211 §2.1 stale-while-revalidate serves a hit", L::kStaleWhileRevalidate, false,
          ForwardReason::kNone},
  FwdCase{"RFC 9211 §2.2 stale revalidation is fwd=stale", L::kRevalidate, false,
          ForwardReason::kStale},
  FwdCase{"RFC 9211 §2.2 stale without validators is fwd=stale", L::kUnusable, false,
          ForwardReason::kStale},
  FwdCase{"RFC 9211 §2.2 request no-cache/max-age=0 is fwd=request", L::kRevalidate, true,
          ForwardReason::kRequest},
  FwdCase{"RFC 9211 §2.2 request-forced refetch is fwd=request", L::kUnusable, true,
          ForwardReason::kRequest}));
// clang-format on

TEST(ForwardReasonTest, EndToEndRequestMaxAgeZero) {  // RFC 9211 §2.2, RFC 9111 §5.2.1.1
  const LookupDecision d = decideLookup(h({{"Cache-Control", "max-age=0"}}), 200,
                                        stored("max-age=60", true), kT, kT, kT + 5);
  EXPECT_EQ(forwardReason(d), ForwardReason::kRequest);
}

TEST(LookupNamesTest, EveryOutcomePrints) {  // ARCHITECTURE lesson 2
  EXPECT_STREQ(toString(Lookup::kFresh), "fresh");
  EXPECT_STREQ(toString(Lookup::kStaleAllowed), "stale-allowed");
  EXPECT_STREQ(toString(Lookup::kStaleWhileRevalidate), "stale-while-revalidate");
  EXPECT_STREQ(toString(Lookup::kRevalidate), "revalidate");
  EXPECT_STREQ(toString(Lookup::kUnusable), "unusable");
}

}  // namespace
}  // namespace strata::edge::policy

namespace strata::edge::policy {
namespace {

struct ReusableCase {
  const char* rfc;
  std::vector<std::pair<std::string, std::string>> headers;
  std::int64_t age;  // Seconds since the response was received.
  std::int64_t grace;
  bool never;
};

TEST(NeverReusableTest, OnlyEntriesBeyondEveryServingWindowAreDead) {
  const std::int64_t t = 1'700'000'000;
  const std::vector<ReusableCase> cases = {
      {"§4.2 fresh is kept", {{"Cache-Control", "max-age=100"}}, 50, 0, false},
      {"§4.2 stale without validators is dead", {{"Cache-Control", "max-age=100"}}, 101, 0, true},
      {"§4.3.1 stale with ETag is kept",
       {{"Cache-Control", "max-age=100"}, {"ETag", "\"x\""}},
       10'000,
       0,
       false},
      {"§4.3.1 stale with Last-Modified is kept",
       {{"Cache-Control", "max-age=100"}, {"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}},
       10'000,
       0,
       false},
      {"RFC 5861 §3 within stale-while-revalidate",
       {{"Cache-Control", "max-age=100, stale-while-revalidate=60"}},
       150,
       0,
       false},
      {"RFC 5861 §3 beyond stale-while-revalidate",
       {{"Cache-Control", "max-age=100, stale-while-revalidate=60"}},
       170,
       0,
       true},
      {"RFC 5861 §4 within stale-if-error",
       {{"Cache-Control", "max-age=100, stale-if-error=600"}},
       500,
       0,
       false},
      {"§4.2.4 within the operator's grace", {{"Cache-Control", "max-age=100"}}, 150, 300, false},
  };
  for (const auto& c : cases) {
    http::HeaderList headers(c.headers);
    LookupOptions options;
    options.graceSeconds = c.grace;
    EXPECT_EQ(neverReusable(200, headers, t, t, t + c.age, options, 0), c.never) << c.rfc;
  }
}

}  // namespace
}  // namespace strata::edge::policy

#include "edge/policy/cacheability.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "edge/policy/cache_control.h"

namespace strata::edge::policy {
namespace {

using http::HeaderList;

HeaderList h(std::initializer_list<HeaderList::Field> fields) {
  return HeaderList(std::vector<HeaderList::Field>(fields));
}

// ---------------------------------------------------------------------------------------------
struct RequestCase {
  const char* rfc;
  std::string method;
  HeaderList headers;
  RequestDisposition expected;
};

class ClassifyRequestTest : public ::testing::TestWithParam<RequestCase> {};

TEST_P(ClassifyRequestTest, Classifies) {
  const auto& c = GetParam();
  EXPECT_STREQ(toString(classifyRequest(c.method, c.headers)), toString(c.expected))
      << c.rfc << ": " << c.method;
}

constexpr auto kLookup = RequestDisposition::kLookup;
constexpr auto kBypass = RequestDisposition::kBypass;

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, ClassifyRequestTest, ::testing::Values(
  RequestCase{"RFC 9111 §2 GET", "GET", h({}), kLookup},
  RequestCase{"RFC 9111 §2 HEAD", "HEAD", h({}), kLookup},
  RequestCase{"RFC 9111 §2 POST", "POST", h({}), kBypass},
  RequestCase{"RFC 9111 §2 PUT", "PUT", h({}), kBypass},
  RequestCase{"RFC 9111 §2 DELETE", "DELETE", h({}), kBypass},
  RequestCase{"RFC 9111 §2 OPTIONS", "OPTIONS", h({}), kBypass},
  RequestCase{"RFC 9110 §9.1 methods are case-sensitive: get", "get", h({}), kBypass},
  RequestCase{"RFC 9110 §9.1 methods are case-sensitive: Head", "Head", h({}), kBypass},
  RequestCase{"RFC 9111 §2 empty method", "", h({}), kBypass},
  RequestCase{"RFC 9111 §5.2.1.5 request no-store", "GET", h({{"Cache-Control", "no-store"}}),
              kBypass},
  RequestCase{"RFC 9111 §5.2.1.5 request NO-STORE on second line", "HEAD",
              h({{"Cache-Control", "max-age=0"}, {"cache-control", "NO-STORE"}}), kBypass},
  RequestCase{"RFC 9111 §5.2.1.4 request no-cache still looks up (revalidation)", "GET",
              h({{"Cache-Control", "no-cache"}}), kLookup},
  RequestCase{"RFC 9111 §5.2 quoted no-store is not a directive", "GET",
              h({{"Cache-Control", "foo=\"no-store\""}}), kLookup}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct StoreCase {
  const char* rfc;
  std::string method;
  HeaderList request;
  int status;
  HeaderList response;
  StoreDecision expected;
};

class DecideStoreTest : public ::testing::TestWithParam<StoreCase> {};

TEST_P(DecideStoreTest, Decides) {
  const auto& c = GetParam();
  EXPECT_STREQ(toString(decideStore(c.method, c.request, c.status, c.response)),
               toString(c.expected))
      << c.rfc;
}

using SD = StoreDecision;
const HeaderList kFresh = h({{"Cache-Control", "max-age=60"}});
const HeaderList kNone = h({});
const HeaderList kAuth = h({{"Authorization", "Bearer x"}});

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, DecideStoreTest, ::testing::Values(
  StoreCase{"RFC 9111 §3 GET 200 max-age", "GET", kNone, 200, kFresh, SD::kStore},
  // Methods.
  StoreCase{"RFC 9111 §3 HEAD not stored", "HEAD", kNone, 200, kFresh, SD::kMethodNotCacheable},
  StoreCase{"RFC 9111 §3 POST not stored", "POST", kNone, 200, kFresh, SD::kMethodNotCacheable},
  StoreCase{"RFC 9110 §9.1 lower-case get not stored", "get", kNone, 200, kFresh,
            SD::kMethodNotCacheable},
  // Status classes (RFC 9111 §3; RFC 9110 §15).
  StoreCase{"RFC 9111 §3 1xx is not final", "GET", kNone, 100, kFresh, SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §3 103 is not final", "GET", kNone, 103, kFresh, SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §3.3 206 not stored in this version", "GET", kNone, 206, kFresh,
            SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §4.3.4 304 is not stored", "GET", kNone, 304, kFresh,
            SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §3 unknown final 2xx with explicit freshness", "GET", kNone, 299, kFresh,
            SD::kStore},
  StoreCase{"RFC 9111 §3 unknown final 5xx with explicit freshness", "GET", kNone, 599, kFresh,
            SD::kStore},
  StoreCase{"RFC 9111 §3 unknown status without freshness", "GET", kNone, 299, kNone,
            SD::kNoExplicitFreshness},
  StoreCase{"RFC 9111 §3 out-of-range status", "GET", kNone, 0, kFresh, SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §3 out-of-range status 1000", "GET", kNone, 1000, kFresh,
            SD::kStatusNotCacheable},
  StoreCase{"RFC 9110 §15.3.4 203", "GET", kNone, 203, kFresh, SD::kStore},
  StoreCase{"RFC 9110 §15.3.5 204", "GET", kNone, 204, kFresh, SD::kStore},
  StoreCase{"RFC 9110 §15.4.2 301", "GET", kNone, 301, kFresh, SD::kStore},
  StoreCase{"RFC 9110 §15.4.3 302 with explicit freshness", "GET", kNone, 302, kFresh,
            SD::kStore},
  StoreCase{"RFC 9110 §15.4.3 302 without explicit freshness", "GET", kNone, 302, kNone,
            SD::kNoExplicitFreshness},
  StoreCase{"RFC 9110 §15.4.8 307 with explicit freshness", "GET", kNone, 307, kFresh,
            SD::kStore},
  StoreCase{"RFC 9110 §15.4.9 308", "GET", kNone, 308, kFresh, SD::kStore},
  StoreCase{"RFC 9110 §15.5.1 400 with explicit freshness", "GET", kNone, 400, kFresh,
            SD::kStore},
  StoreCase{"RFC 9110 §15.5.4 403 without explicit freshness", "GET", kNone, 403, kNone,
            SD::kNoExplicitFreshness},
  StoreCase{"RFC 9110 §15.5.5 404", "GET", kNone, 404, kFresh, SD::kStore},
  StoreCase{"RFC 9110 §15.5.11 410", "GET", kNone, 410, kFresh, SD::kStore},
  StoreCase{"RFC 9110 §15.6.1 500 with explicit freshness", "GET", kNone, 500, kFresh,
            SD::kStore},
  StoreCase{"RFC 9110 §15.6.2 501", "GET", kNone, 501, kFresh, SD::kStore},
  StoreCase{"RFC 9110 §15.6.3 502 without explicit freshness", "GET", kNone, 502, kNone,
            SD::kNoExplicitFreshness},
  StoreCase{"RFC 9110 §15.6.4 503 without explicit freshness", "GET", kNone, 503, kNone,
            SD::kNoExplicitFreshness},
  StoreCase{"RFC 9110 §15.6.5 504 with explicit freshness", "GET", kNone, 504, kFresh,
            SD::kStore},
  // Explicit freshness (RFC 9111 §3, §4.2.1).
  StoreCase{"RFC 9111 §4.2.1 200 without explicit freshness", "GET", kNone, 200, kNone,
            SD::kNoExplicitFreshness},
  StoreCase{"RFC 9111 §4.2.2 public alone without Last-Modified or validator", "GET", kNone,
            200, h({{"Cache-Control", "public"}}), SD::kNoExplicitFreshness},
  StoreCase{"RFC 9111 §4.2.2 Last-Modified gives heuristic freshness", "GET", kNone, 200,
            h({{"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}}), SD::kStore},
  StoreCase{"RFC 9111 §5.2.2.10 s-maxage", "GET", kNone, 200, h({{"Cache-Control", "s-maxage=5"}}),
            SD::kStore},
  StoreCase{"RFC 9111 §5.3 Expires", "GET", kNone, 200,
            h({{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}}), SD::kStore},
  StoreCase{"RFC 9111 §5.3 invalid Expires counts (stale, storable)", "GET", kNone, 200,
            h({{"Expires", "0"}}), SD::kStore},
  StoreCase{"RFC 9111 §4.2.1 conflicting max-age counts (stale, storable)", "GET", kNone, 200,
            h({{"Cache-Control", "max-age=1, max-age=2"}}), SD::kStore},
  // no-store and must-understand.
  StoreCase{"RFC 9111 §5.2.2.5 response no-store", "GET", kNone, 200,
            h({{"Cache-Control", "no-store, max-age=60"}}), SD::kNoStore},
  StoreCase{"RFC 9111 §5.2.2.5 response NO-STORE on another line", "GET", kNone, 200,
            h({{"Cache-Control", "max-age=60"}, {"Cache-Control", "NO-STORE"}}), SD::kNoStore},
  StoreCase{"RFC 9111 §5.2.1.5 request no-store", "GET", h({{"Cache-Control", "no-store"}}), 200,
            kFresh, SD::kNoStore},
  StoreCase{"RFC 9111 §5.2.2.3 must-understand + no-store, understood status", "GET", kNone,
            200, h({{"Cache-Control", "must-understand, no-store, max-age=60"}}), SD::kStore},
  StoreCase{"RFC 9111 §5.2.2.3 must-understand + no-store, understood 404", "GET", kNone, 404,
            h({{"Cache-Control", "no-store, must-understand, max-age=60"}}), SD::kStore},
  StoreCase{"RFC 9111 §5.2.2.3 must-understand + no-store, status not understood", "GET", kNone,
            299, h({{"Cache-Control", "must-understand, no-store, max-age=60"}}),
            SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §5.2.2.3 must-understand + no-store, 206 not understood", "GET", kNone,
            206, h({{"Cache-Control", "must-understand, no-store, max-age=60"}}),
            SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §5.2.2.3 must-understand does not override request no-store", "GET",
            h({{"Cache-Control", "no-store"}}), 200,
            h({{"Cache-Control", "must-understand, no-store, max-age=60"}}), SD::kNoStore},
  StoreCase{"RFC 9111 §5.2.2.3 must-understand still needs freshness", "GET", kNone, 200,
            h({{"Cache-Control", "must-understand, no-store"}}), SD::kNoExplicitFreshness},
  // private.
  StoreCase{"RFC 9111 §5.2.2.7 unqualified private", "GET", kNone, 200,
            h({{"Cache-Control", "private, max-age=60"}}), SD::kPrivate},
  StoreCase{"RFC 9111 §5.2.2.7 PRIVATE upper-case", "GET", kNone, 200,
            h({{"Cache-Control", "max-age=60, PRIVATE"}}), SD::kPrivate},
  StoreCase{"RFC 9111 §5.2.2.7 private with field names may be stored (fields stripped)",
            "GET", kNone, 200, h({{"Cache-Control", "private=\"Set-Cookie\", max-age=60"}}),
            SD::kStore},
  StoreCase{"RFC 9111 §5.2.2.7 private with several field names", "GET", kNone, 200,
            h({{"Cache-Control", "private=\"set-cookie, x-user\", s-maxage=60"}}), SD::kStore},
  StoreCase{"RFC 9111 §5.2.2.7 private with empty list is unqualified", "GET", kNone, 200,
            h({{"Cache-Control", "private=\"\", max-age=60"}}), SD::kPrivate},
  // Authorization (RFC 9111 §3.5).
  StoreCase{"RFC 9111 §3.5 Authorization without permission", "GET", kAuth, 200, kFresh,
            SD::kAuthorization},
  StoreCase{"RFC 9111 §3.5 Authorization (lower-case name) without permission", "GET",
            h({{"authorization", "Basic eA=="}}), 200, kFresh, SD::kAuthorization},
  StoreCase{"RFC 9111 §3.5 Authorization + public", "GET", kAuth, 200,
            h({{"Cache-Control", "public, max-age=60"}}), SD::kStore},
  StoreCase{"RFC 9111 §3.5 Authorization + s-maxage", "GET", kAuth, 200,
            h({{"Cache-Control", "s-maxage=60"}}), SD::kStore},
  StoreCase{"RFC 9111 §3.5 Authorization + must-revalidate", "GET", kAuth, 200,
            h({{"Cache-Control", "must-revalidate, max-age=60"}}), SD::kStore},
  StoreCase{"RFC 9111 §3.5 Authorization + proxy-revalidate is not enough", "GET", kAuth, 200,
            h({{"Cache-Control", "proxy-revalidate, max-age=60"}}), SD::kAuthorization},
  StoreCase{"RFC 9111 §3.5 Authorization + Expires only is not enough", "GET", kAuth, 200,
            h({{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}}), SD::kAuthorization},
  StoreCase{"RFC 9111 §3.5 Authorization + public but private wins", "GET", kAuth, 200,
            h({{"Cache-Control", "public, private, max-age=60"}}), SD::kPrivate},
  // Vary (RFC 9111 §4.1).
  StoreCase{"RFC 9111 §4.1 Vary: *", "GET", kNone, 200,
            h({{"Cache-Control", "max-age=60"}, {"Vary", "*"}}), SD::kVaryStar},
  StoreCase{"RFC 9111 §4.1 Vary list containing *", "GET", kNone, 200,
            h({{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding, * "}}), SD::kVaryStar},
  StoreCase{"RFC 9111 §4.1 Vary * on a second line", "GET", kNone, 200,
            h({{"Cache-Control", "max-age=60"}, {"Vary", "Accept"}, {"vary", "*"}}),
            SD::kVaryStar},
  StoreCase{"RFC 9111 §4.1 ordinary Vary is storable", "GET", kNone, 200,
            h({{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding"}}), SD::kStore},
  // Heuristics and validators (RFC 9111 §3, §4.2.2, §4.3).
  StoreCase{"RFC 9111 §4.2.2 invalid Last-Modified is neither heuristic nor validator", "GET",
            kNone, 200, h({{"Last-Modified", "soon"}}), SD::kNoExplicitFreshness},
  StoreCase{"RFC 9111 §4.3.1 ETag alone: lifetime 0 but revalidatable", "GET", kNone, 200,
            h({{"ETag", "\"v1\""}}), SD::kStore},
  StoreCase{"RFC 9111 §4.3.1 weak ETag alone is a validator", "GET", kNone, 404,
            h({{"ETag", "W/\"v1\""}}), SD::kStore},
  StoreCase{"RFC 9110 §8.8.3 malformed ETag is not a validator", "GET", kNone, 200,
            h({{"ETag", "v1"}}), SD::kNoExplicitFreshness},
  StoreCase{"RFC 9111 §5.2.2.4 no-cache with validator is stored for revalidation", "GET",
            kNone, 200, h({{"Cache-Control", "no-cache"}, {"ETag", "\"v1\""}}), SD::kStore},
  StoreCase{"RFC 9111 §5.2.2.4 no-cache without validator or freshness", "GET", kNone, 200,
            h({{"Cache-Control", "no-cache"}}), SD::kNoExplicitFreshness},
  StoreCase{"RFC 9111 §3 validator on a status that is not heuristically cacheable", "GET",
            kNone, 302, h({{"ETag", "\"v1\""}}), SD::kNoExplicitFreshness},
  StoreCase{"RFC 9111 §3 public makes a 302 with a validator storable", "GET", kNone, 302,
            h({{"Cache-Control", "public"}, {"ETag", "\"v1\""}}), SD::kStore},
  StoreCase{"RFC 9111 §4.2.2 public + Last-Modified on 500 (heuristic)", "GET", kNone, 500,
            h({{"Cache-Control", "public"}, {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}}),
            SD::kStore},
  StoreCase{"RFC 9111 §3 206 never stored even with validators", "GET", kNone, 206,
            h({{"ETag", "\"v1\""}, {"Cache-Control", "max-age=60"}}), SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §3 304 never stored even with validators", "GET", kNone, 304,
            h({{"ETag", "\"v1\""}}), SD::kStatusNotCacheable},
  StoreCase{"RFC 9111 §3 1xx never stored", "GET", kNone, 101, h({{"ETag", "\"v1\""}}),
            SD::kStatusNotCacheable},
  // Targeted fields (RFC 9213 §2.2).
  StoreCase{"RFC 9213 §2.2 CDN-Cache-Control overrides Cache-Control no-store", "GET", kNone,
            200, h({{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}}),
            SD::kStore},
  StoreCase{"RFC 9213 §2.2 CDN-Cache-Control overrides Cache-Control private", "GET", kNone,
            200, h({{"Cache-Control", "private, max-age=60"}, {"CDN-Cache-Control", "max-age=60"}}),
            SD::kStore},
  StoreCase{"RFC 9213 §2.2 CDN-Cache-Control no-store wins over Cache-Control max-age", "GET",
            kNone, 200, h({{"Cache-Control", "max-age=60"}, {"CDN-Cache-Control", "no-store"}}),
            SD::kNoStore},
  StoreCase{"RFC 9213 §2.2 targeted max-age is explicit freshness", "GET", kNone, 403,
            h({{"CDN-Cache-Control", "max-age=60"}}), SD::kStore},
  StoreCase{"RFC 9213 §2.1 invalid targeted field falls back to Cache-Control", "GET", kNone,
            200, h({{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60;"}}),
            SD::kNoStore},
  StoreCase{"RFC 9213 §2.2 + RFC 9111 §3.5 targeted s-maxage permits Authorization", "GET",
            kAuth, 200, h({{"CDN-Cache-Control", "s-maxage=60"}}), SD::kStore}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct HeuristicCase {
  const char* rfc;
  HeaderList headers;
  int status;
  std::int64_t responseTime;
  std::optional<std::int64_t> expected;
};

class HeuristicFreshnessTest : public ::testing::TestWithParam<HeuristicCase> {};

TEST_P(HeuristicFreshnessTest, Computes) {
  const auto& c = GetParam();
  EXPECT_EQ(heuristicFreshness(c.headers, c.status, c.responseTime), c.expected) << c.rfc;
}

constexpr std::int64_t kT = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
const std::string kDate = "Sun, 06 Nov 1994 08:49:37 GMT";
const std::string kTenDaysEarlier = "Thu, 27 Oct 1994 08:49:37 GMT";   // kT - 864000
const std::string kThousandEarlier = "Sun, 06 Nov 1994 08:32:57 GMT";  // kT - 1000

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, HeuristicFreshnessTest, ::testing::Values(
  HeuristicCase{"RFC 9111 §4.2.2 10% of Date - Last-Modified",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 200, kT, 100},
  HeuristicCase{"RFC 9111 §4.2.2 capped at one day",
                h({{"Date", kDate}, {"Last-Modified", kTenDaysEarlier}}), 200, kT, 86400},
  HeuristicCase{"RFC 9111 §4.2.2 missing Date uses response time",
                h({{"Last-Modified", kThousandEarlier}}), 404, kT + 1000, 200},
  HeuristicCase{"RFC 9111 §4.2.2 Last-Modified after Date gives 0",
                h({{"Date", kThousandEarlier}, {"Last-Modified", kDate}}), 200, kT, 0},
  HeuristicCase{"RFC 9111 §4.2.2 no Last-Modified", h({{"Date", kDate}}), 200, kT,
                std::nullopt},
  HeuristicCase{"RFC 9111 §4.2.2 invalid Last-Modified", h({{"Last-Modified", "yesterday"}}),
                200, kT, std::nullopt},
  HeuristicCase{"RFC 9110 §15.1 302 is not heuristically cacheable",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 302, kT,
                std::nullopt},
  HeuristicCase{"RFC 9110 §15.1 500 is not heuristically cacheable",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 500, kT,
                std::nullopt},
  HeuristicCase{"RFC 9110 §15.1 206 is not used in this version",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 206, kT,
                std::nullopt},
  HeuristicCase{"RFC 9110 §15.1 501 is heuristically cacheable",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 501, kT, 100},
  HeuristicCase{"RFC 9111 §4.2.2 not with explicit freshness",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier},
                   {"Cache-Control", "max-age=5"}}), 200, kT, std::nullopt},
  // Found by http_fields_fuzz: Date - Last-Modified overflowed (UB) for an extreme response time.
  HeuristicCase{"RFC 9111 §4.2.2 saturates: no Date, extreme response time",
                h({{"Last-Modified", "Mon, 01 Jan 0985 00:00:00 GMT"}}), 200,
                std::numeric_limits<std::int64_t>::max(), 86400}));
// clang-format on

TEST(DecideStoreTargetedTest, OwnTargetedFieldFirst) {  // RFC 9213 §2.2
  const HeaderList response =
      h({{"Strata-Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}});
  EXPECT_EQ(decideStore("GET", kNone, 200, response), SD::kStore);
  EXPECT_EQ(decideStore("GET", kNone, 200, response,
                        TargetedFields{{"Strata-Cache-Control", "CDN-Cache-Control"}}),
            SD::kNoStore);
}

// ---------------------------------------------------------------------------------------------
struct StripCase {
  const char* rfc;
  std::string cacheControl;
  std::vector<std::string> expected;
};

class FieldsToStripTest : public ::testing::TestWithParam<StripCase> {};

TEST_P(FieldsToStripTest, Lists) {
  const auto& c = GetParam();
  EXPECT_EQ(fieldsToStrip(parseCacheControl(c.cacheControl)), c.expected) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, FieldsToStripTest, ::testing::Values(
  StripCase{"RFC 9111 §5.2.2.7 nothing to strip", "max-age=60, public", {}},
  StripCase{"RFC 9111 §5.2.2.7 private=\"…\"", "private=\"Set-Cookie\"", {"set-cookie"}},
  StripCase{"RFC 9111 §5.2.2.4 no-cache=\"…\"", "no-cache=\"X-A, x-b\"", {"x-a", "x-b"}},
  StripCase{"RFC 9111 §5.2.2.4 §5.2.2.7 both, de-duplicated",
            "private=\"set-cookie, x-u\", no-cache=\"X-U, x-v\"", {"set-cookie", "x-u", "x-v"}},
  StripCase{"RFC 9111 §5.2.2.7 unqualified private lists nothing", "private", {}},
  StripCase{"RFC 9111 §5.2.2.4 unqualified no-cache lists nothing", "no-cache", {}}));
// clang-format on

TEST(StatusTablesTest, HeuristicallyCacheableStatusesAreUnderstood) {  // RFC 9110 §15.1
  for (int s = 0; s < 1000; ++s) {
    if (isHeuristicallyCacheableStatus(s)) {
      EXPECT_TRUE(isUnderstoodStatus(s)) << s;
    }
  }
  const std::vector<int> heuristic = {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501};
  for (const int s : heuristic) EXPECT_TRUE(isHeuristicallyCacheableStatus(s)) << s;
  for (const int s : {100, 101, 103, 206, 302, 304, 307, 400, 403, 500, 502, 503, 504}) {
    EXPECT_FALSE(isHeuristicallyCacheableStatus(s)) << s;
  }
}

TEST(EnumNamesTest, EveryOutcomePrints) {  // ARCHITECTURE lesson 2
  EXPECT_STREQ(toString(RequestDisposition::kLookup), "lookup");
  EXPECT_STREQ(toString(RequestDisposition::kBypass), "bypass");
  EXPECT_STREQ(toString(StoreDecision::kStore), "store");
  EXPECT_STREQ(toString(StoreDecision::kMethodNotCacheable), "method-not-cacheable");
  EXPECT_STREQ(toString(StoreDecision::kStatusNotCacheable), "status-not-cacheable");
  EXPECT_STREQ(toString(StoreDecision::kNoStore), "no-store");
  EXPECT_STREQ(toString(StoreDecision::kPrivate), "private");
  EXPECT_STREQ(toString(StoreDecision::kAuthorization), "authorization");
  EXPECT_STREQ(toString(StoreDecision::kNoExplicitFreshness), "no-explicit-freshness");
  EXPECT_STREQ(toString(StoreDecision::kVaryStar), "vary-star");
}

}  // namespace
}  // namespace strata::edge::policy

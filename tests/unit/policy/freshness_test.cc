#include "edge/policy/freshness.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "edge/http/http_date.h"

namespace strata::edge::policy {
namespace {

using http::HeaderList;

constexpr std::int64_t kT = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
const std::string kDate = "Sun, 06 Nov 1994 08:49:37 GMT";
const std::string kDatePlus100 = "Sun, 06 Nov 1994 08:51:17 GMT";  // kT + 100
const std::string kDateMinus50 = "Sun, 06 Nov 1994 08:48:47 GMT";  // kT - 50

struct LifetimeCase {
  const char* rfc;
  HeaderList headers;
  std::int64_t responseTime;
  std::optional<std::int64_t> expected;
};

class ExplicitFreshnessLifetimeTest : public ::testing::TestWithParam<LifetimeCase> {};

TEST_P(ExplicitFreshnessLifetimeTest, Computes) {
  const auto& c = GetParam();
  EXPECT_EQ(explicitFreshnessLifetime(c.headers, c.responseTime), c.expected) << c.rfc;
}

HeaderList h(std::initializer_list<HeaderList::Field> fields) {
  return HeaderList(std::vector<HeaderList::Field>(fields));
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, ExplicitFreshnessLifetimeTest, ::testing::Values(
  LifetimeCase{"RFC 9111 §4.2.1 no explicit freshness", h({{"Date", kDate}}), kT, std::nullopt},
  LifetimeCase{"RFC 9111 §4.2.1 no-cache alone is not freshness",
               h({{"Cache-Control", "no-cache, public"}}), kT, std::nullopt},
  LifetimeCase{"RFC 9111 §5.2.2.1 max-age", h({{"Cache-Control", "max-age=60"}}), kT, 60},
  LifetimeCase{"RFC 9111 §5.2.2.10 s-maxage beats max-age (shared cache)",
               h({{"Cache-Control", "max-age=60, s-maxage=30"}}), kT, 30},
  LifetimeCase{"RFC 9111 §4.2.1 max-age beats Expires",
               h({{"Cache-Control", "max-age=60"}, {"Date", kDate}, {"Expires", kDatePlus100}}),
               kT, 60},
  LifetimeCase{"RFC 9111 §4.2.1 s-maxage beats Expires",
               h({{"Cache-Control", "s-maxage=5"}, {"Expires", kDatePlus100}}), kT, 5},
  LifetimeCase{"RFC 9111 §4.2.1 directives across field lines",
               h({{"Cache-Control", "public"}, {"cache-control", "max-age=9"}}), kT, 9},
  LifetimeCase{"RFC 9111 §4.2.1 Expires minus Date",
               h({{"Date", kDate}, {"Expires", kDatePlus100}}), kT + 7, 100},
  LifetimeCase{"RFC 9111 §4.2.1 Expires minus response time when Date is missing",
               h({{"Expires", kDatePlus100}}), kT + 40, 60},
  LifetimeCase{"RFC 9111 §4.2.1 Expires minus response time when Date is invalid",
               h({{"Date", "yesterday"}, {"Expires", kDatePlus100}}), kT + 40, 60},
  LifetimeCase{"RFC 9111 §5.3 Expires in the past", h({{"Date", kDate}, {"Expires", kDateMinus50}}),
               kT, 0},
  LifetimeCase{"RFC 9111 §5.3 Expires equal to Date", h({{"Date", kDate}, {"Expires", kDate}}),
               kT, 0},
  LifetimeCase{"RFC 9111 §5.3 invalid Expires \"0\" means expired",
               h({{"Date", kDate}, {"Expires", "0"}}), kT, 0},
  LifetimeCase{"RFC 9111 §5.3 invalid Expires (empty)", h({{"Expires", ""}}), kT, 0},
  LifetimeCase{"RFC 9111 §5.3 Expires in RFC 850 form",
               h({{"Date", kDate}, {"Expires", "Sunday, 06-Nov-94 08:51:17 GMT"}}), kT, 100},
  LifetimeCase{"RFC 9111 §4.2.1 conflicting Expires lines",
               h({{"Date", kDate}, {"Expires", kDatePlus100}, {"Expires", kDateMinus50}}), kT, 0},
  LifetimeCase{"RFC 9111 §4.2.1 repeated identical Expires lines",
               h({{"Date", kDate}, {"Expires", kDatePlus100}, {"Expires", kDatePlus100}}), kT,
               100},
  LifetimeCase{"RFC 9111 §4.2.1 conflicting max-age is stale",
               h({{"Cache-Control", "max-age=60, max-age=120"}}), kT, 0},
  LifetimeCase{"RFC 9111 §4.2.1 conflicting max-age across lines is stale",
               h({{"Cache-Control", "max-age=60"}, {"Cache-Control", "max-age=120"}}), kT, 0},
  LifetimeCase{"RFC 9111 §4.2.1 invalid max-age is stale even with Expires",
               h({{"Cache-Control", "max-age=abc"}, {"Date", kDate}, {"Expires", kDatePlus100}}),
               kT, 0},
  LifetimeCase{"RFC 9111 §4.2.1 invalid s-maxage is stale even with valid max-age",
               h({{"Cache-Control", "s-maxage=-5, max-age=60"}}), kT, 0},
  LifetimeCase{"RFC 9111 §1.2.2 huge max-age capped",
               h({{"Cache-Control", "max-age=123456789012345678901234567890"}}), kT,
               2147483648}));
// clang-format on

struct AgeCase {
  const char* rfc;
  HeaderList headers;
  std::optional<std::int64_t> expected;
};

class ParseAgeTest : public ::testing::TestWithParam<AgeCase> {};

TEST_P(ParseAgeTest, Parses) {
  const auto& c = GetParam();
  EXPECT_EQ(parseAge(c.headers), c.expected) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, ParseAgeTest, ::testing::Values(
  AgeCase{"RFC 9111 §5.1 absent", h({}), std::nullopt},
  AgeCase{"RFC 9111 §5.1 simple", h({{"Age", "42"}}), 42},
  AgeCase{"RFC 9111 §5.1 zero", h({{"Age", "0"}}), 0},
  AgeCase{"RFC 9111 §5.1 name case-insensitive, OWS trimmed", h({{"AGE", " 7 "}}), 7},
  AgeCase{"RFC 9111 §5.1 negative is invalid", h({{"Age", "-1"}}), std::nullopt},
  AgeCase{"RFC 9111 §5.1 non-digits invalid", h({{"Age", "abc"}}), std::nullopt},
  AgeCase{"RFC 9111 §5.1 decimal invalid", h({{"Age", "1.5"}}), std::nullopt},
  AgeCase{"RFC 9111 §5.1 plus sign invalid", h({{"Age", "+3"}}), std::nullopt},
  AgeCase{"RFC 9111 §5.1 empty invalid", h({{"Age", ""}}), std::nullopt},
  AgeCase{"RFC 9111 §1.2.2 2^31 - 1", h({{"Age", "2147483647"}}), 2147483647},
  AgeCase{"RFC 9111 §1.2.2 huge capped at 2^31", h({{"Age", "99999999999999999999999"}}),
          2147483648},
  AgeCase{"RFC 9111 §4.2.1 multiple lines: first used", h({{"Age", "5"}, {"Age", "10"}}), 5},
  AgeCase{"RFC 9111 §4.2.1 list in one line: first used", h({{"Age", "5, 10"}}), 5},
  AgeCase{"RFC 9111 §5.1 first value invalid: ignored",
          h({{"Age", "x"}, {"Age", "10"}}), std::nullopt},
  AgeCase{"RFC 9111 §5.1 first list value invalid: ignored", h({{"Age", "-3, 10"}}),
          std::nullopt}));
// clang-format on

struct CurrentAgeCase {
  const char* rfc;
  HeaderList headers;
  std::int64_t requestTime;
  std::int64_t responseTime;
  std::int64_t now;
  std::int64_t expected;
};

class CurrentAgeTest : public ::testing::TestWithParam<CurrentAgeCase> {};

TEST_P(CurrentAgeTest, Computes) {
  const auto& c = GetParam();
  EXPECT_EQ(currentAge(c.headers, c.requestTime, c.responseTime, c.now), c.expected) << c.rfc;
}

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, CurrentAgeTest, ::testing::Values(
  CurrentAgeCase{"RFC 9111 §4.2.3 fresh from origin, no Age", h({{"Date", kDate}}),
                 kT, kT, kT, 0},
  CurrentAgeCase{"RFC 9111 §4.2.3 resident_time = now - response_time", h({{"Date", kDate}}),
                 kT, kT, kT + 30, 30},
  CurrentAgeCase{"RFC 9111 §4.2.3 apparent_age = response_time - date_value",
                 h({{"Date", kDate}}), kT + 10, kT + 10, kT + 10, 10},
  CurrentAgeCase{"RFC 9111 §4.2.3 apparent_age never negative (Date in future)",
                 h({{"Date", kDatePlus100}}), kT, kT, kT, 0},
  CurrentAgeCase{"RFC 9111 §4.2.3 corrected_age_value = age_value + response_delay",
                 h({{"Date", kDate}, {"Age", "20"}}), kT, kT + 3, kT + 3, 23},
  CurrentAgeCase{"RFC 9111 §4.2.3 max(apparent_age, corrected_age_value)",
                 h({{"Date", kDateMinus50}, {"Age", "20"}}), kT, kT + 3, kT + 10, 60},
  CurrentAgeCase{"RFC 9111 §4.2.3 Age wins over apparent age",
                 h({{"Date", kDate}, {"Age", "100"}}), kT, kT + 2, kT + 5, 105},
  CurrentAgeCase{"RFC 9111 §4.2.3 missing Date uses response_time",
                 h({{"Age", "5"}}), kT, kT, kT + 1, 6},
  CurrentAgeCase{"RFC 9111 §4.2.3 invalid Date uses response_time (only response_delay)",
                 h({{"Date", "bogus"}}), kT - 4, kT, kT, 4},
  CurrentAgeCase{"RFC 9111 §5.1 invalid Age is ignored", h({{"Date", kDate}, {"Age", "-9"}}),
                 kT, kT, kT + 1, 1},
  CurrentAgeCase{"RFC 9111 §1.2.2 huge Age capped", h({{"Age", "999999999999999"}}),
                 kT, kT, kT, 2147483648},
  CurrentAgeCase{"RFC 9111 §4.2.3 never negative (clock went backwards)",
                 h({{"Date", kDate}}), kT, kT, kT - 1000, 0},
  CurrentAgeCase{"RFC 9111 §4.2.3 saturates instead of overflowing", h({{"Age", "5"}}),
                 -kMax, kMax, kMax, kMax}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct FreshnessCase {
  const char* rfc;
  HeaderList headers;
  int status;
  std::int64_t responseTime;
  std::int64_t lifetime;
  bool heuristic;
};

class FreshnessLifetimeTest : public ::testing::TestWithParam<FreshnessCase> {};

TEST_P(FreshnessLifetimeTest, Computes) {
  const auto& c = GetParam();
  const Freshness f = freshnessLifetime(c.headers, c.status, c.responseTime, TargetedFields{});
  EXPECT_EQ(f.lifetime, c.lifetime) << c.rfc;
  EXPECT_EQ(f.heuristic, c.heuristic) << c.rfc;
}

const std::string kThousandEarlier = "Sun, 06 Nov 1994 08:32:57 GMT";  // kT - 1000
const std::string kTenDaysEarlier = "Thu, 27 Oct 1994 08:49:37 GMT";   // kT - 864000

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, FreshnessLifetimeTest, ::testing::Values(
  FreshnessCase{"RFC 9111 §4.2.1 no freshness information at all", h({}), 200, kT, 0, false},
  FreshnessCase{"RFC 9213 §2.2 targeted max-age beats Cache-Control",
                h({{"Cache-Control", "max-age=5"}, {"CDN-Cache-Control", "max-age=50"}}), 200,
                kT, 50, false},
  FreshnessCase{"RFC 9213 §2.2 targeted s-maxage beats targeted max-age",
                h({{"CDN-Cache-Control", "max-age=50, s-maxage=20"}}), 200, kT, 20, false},
  FreshnessCase{"RFC 9213 §2.2 targeted field makes Expires ignored",
                h({{"CDN-Cache-Control", "public"}, {"Date", kDate}, {"Expires", kDatePlus100}}),
                200, kT, 0, false},
  FreshnessCase{"RFC 9213 §2.2 targeted field without lifetime allows heuristics",
                h({{"CDN-Cache-Control", "public"}, {"Cache-Control", "max-age=9"},
                   {"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 200, kT, 100, true},
  FreshnessCase{"RFC 9213 §2.1 invalid targeted field ignored",
                h({{"CDN-Cache-Control", "MAX-AGE=50"}, {"Cache-Control", "max-age=5"}}), 200,
                kT, 5, false},
  FreshnessCase{"RFC 9111 §5.2.2.10 s-maxage", h({{"Cache-Control", "s-maxage=3, max-age=9"}}),
                200, kT, 3, false},
  FreshnessCase{"RFC 9111 §5.2.2.1 max-age", h({{"Cache-Control", "max-age=9"}}), 500, kT, 9,
                false},
  FreshnessCase{"RFC 9111 §4.2.1 Expires minus Date",
                h({{"Date", kDate}, {"Expires", kDatePlus100}}), 200, kT, 100, false},
  FreshnessCase{"RFC 9111 §4.2.1 conflicting max-age is stale",
                h({{"Cache-Control", "max-age=1, max-age=2"}, {"Last-Modified", kThousandEarlier}}),
                200, kT, 0, false},
  FreshnessCase{"RFC 9111 §4.2.2 heuristic 10% of Date - Last-Modified",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 200, kT, 100, true},
  FreshnessCase{"RFC 9111 §4.2.2 heuristic capped at one day",
                h({{"Date", kDate}, {"Last-Modified", kTenDaysEarlier}}), 404, kT, 86400, true},
  FreshnessCase{"RFC 9111 §4.2.2 never heuristic with explicit freshness (Expires past)",
                h({{"Date", kDate}, {"Expires", kDateMinus50}, {"Last-Modified", kTenDaysEarlier}}),
                200, kT, 0, false},
  FreshnessCase{"RFC 9111 §4.2.2 status not heuristically cacheable",
                h({{"Date", kDate}, {"Last-Modified", kThousandEarlier}}), 302, kT, 0, false},
  FreshnessCase{"RFC 9111 §4.2.2 public allows heuristics on any status",
                h({{"Cache-Control", "public"}, {"Date", kDate},
                   {"Last-Modified", kThousandEarlier}}), 302, kT, 100, true},
  FreshnessCase{"RFC 9111 §4.2.2 no Last-Modified: no heuristic",
                h({{"Cache-Control", "public"}, {"Date", kDate}}), 200, kT, 0, false},
  FreshnessCase{"RFC 9111 §4.2.2 invalid Last-Modified: no heuristic",
                h({{"Last-Modified", "last tuesday"}}), 200, kT, 0, false},
  FreshnessCase{"RFC 9111 §4.2.2 Last-Modified after Date: heuristic 0",
                h({{"Date", kDateMinus50}, {"Last-Modified", kDate}}), 200, kT, 0, true},
  FreshnessCase{"RFC 9111 §4.2.2 missing Date uses response time",
                h({{"Last-Modified", kThousandEarlier}}), 200, kT + 1000, 200, true}));
// clang-format on

struct HeuristicParamCase {
  const char* rfc;
  double fraction;
  std::int64_t cap;
  std::int64_t expected;
};

class HeuristicParametersTest : public ::testing::TestWithParam<HeuristicParamCase> {};

TEST_P(HeuristicParametersTest, Applies) {
  const auto& c = GetParam();
  const HeaderList headers = h({{"Date", kDate}, {"Last-Modified", kTenDaysEarlier}});
  const Freshness f = freshnessLifetime(headers, 200, kT, TargetedFields{}, c.fraction, c.cap);
  EXPECT_EQ(f.lifetime, c.expected) << c.rfc;
  EXPECT_TRUE(f.heuristic) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, HeuristicParametersTest, ::testing::Values(
  HeuristicParamCase{"RFC 9111 §4.2.2 default fraction and cap", 0.1, 86400, 86400},
  HeuristicParamCase{"RFC 9111 §4.2.2 custom fraction under the cap", 0.05, 86400 * 7, 43200},
  HeuristicParamCase{"RFC 9111 §4.2.2 custom cap", 0.1, 3600, 3600},
  HeuristicParamCase{"RFC 9111 §4.2.2 zero fraction", 0.0, 86400, 0},
  HeuristicParamCase{"RFC 9111 §4.2.2 negative fraction clamps to 0", -1.0, 86400, 0},
  HeuristicParamCase{"RFC 9111 §4.2.2 NaN fraction clamps to 0",
                     std::numeric_limits<double>::quiet_NaN(), 86400, 0},
  HeuristicParamCase{"RFC 9111 §4.2.2 fraction above 1 clamps to 1", 5.0, 100000000, 864000},
  HeuristicParamCase{"RFC 9111 §4.2.2 negative cap counts as 0", 0.1, -5, 0}));
// clang-format on

TEST(ExplicitFreshnessLifetimeTargetedTest, OverloadHonoursTargetedFields) {  // RFC 9213 §2.2
  const HeaderList headers =
      h({{"Cache-Control", "max-age=5"}, {"Strata-Cache-Control", "max-age=70"}});
  EXPECT_EQ(explicitFreshnessLifetime(headers, kT), 5);
  EXPECT_EQ(explicitFreshnessLifetime(headers, kT, TargetedFields{}), 5);
  EXPECT_EQ(explicitFreshnessLifetime(headers, kT, TargetedFields{{"Strata-Cache-Control"}}), 70);
}

}  // namespace
}  // namespace strata::edge::policy

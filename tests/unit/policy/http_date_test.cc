#include "edge/http/http_date.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace strata::edge::http {
namespace {

// 2025-06-15T12:00:00Z, the clock for RFC 850 two-digit years.
constexpr std::int64_t kNow = 1749988800;
constexpr std::int64_t k1994 = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

struct ParseCase {
  const char* rfc;
  std::string text;
  std::optional<std::int64_t> expected;
};

class ParseHttpDateTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseHttpDateTest, Parses) {
  const auto& c = GetParam();
  EXPECT_EQ(parseHttpDate(c.text, kNow), c.expected) << c.rfc << ": '" << c.text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9110, ParseHttpDateTest,
    ::testing::Values(
        // The three formats of RFC 9110 §5.6.7 for the same instant.
        ParseCase{"RFC 9110 §5.6.7 IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", k1994},
        ParseCase{"RFC 9110 §5.6.7 rfc850-date", "Sunday, 06-Nov-94 08:49:37 GMT", k1994},
        ParseCase{"RFC 9110 §5.6.7 asctime-date", "Sun Nov  6 08:49:37 1994", k1994},
        ParseCase{"RFC 9110 §5.6.7 asctime two-digit day", "Thu Nov 16 08:49:37 1994",
                  k1994 + 10 * 86400},
        ParseCase{"RFC 9110 §5.6.7 epoch", "Thu, 01 Jan 1970 00:00:00 GMT", 0},
        ParseCase{"RFC 9110 §5.6.7 before epoch", "Wed, 31 Dec 1969 23:59:59 GMT", -1},
        ParseCase{"RFC 9110 §5.6.7 leap day", "Thu, 29 Feb 2024 00:00:00 GMT", 1709164800},
        ParseCase{"RFC 9110 §5.6.7 leap day 2000", "Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
        ParseCase{"RFC 9110 §5.6.7 end of 2038", "Fri, 31 Dec 2038 23:59:59 GMT", 2177452799},
        ParseCase{"RFC 9110 §5.6.7 year 9999", "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
        ParseCase{"RFC 9110 §5.6.7 surrounding OWS tolerated", "  Sun, 06 Nov 1994 08:49:37 GMT\t",
                  k1994},
        // RFC 9110 §5.6.7: two-digit years more than 50 years ahead are in the past century.
        ParseCase{"RFC 9110 §5.6.7 rfc850 year 25 -> 2025", "Sunday, 15-Jun-25 12:00:00 GMT", kNow},
        ParseCase{"RFC 9110 §5.6.7 rfc850 year 75 (< 50y ahead) -> 2075",
                  "Saturday, 15-Jun-75 12:00:00 GMT", kNow + 18262 * 86400},
        ParseCase{"RFC 9110 §5.6.7 rfc850 year 75 (> 50y ahead) -> 1975",
                  "Sunday, 15-Jun-75 12:00:01 GMT", 172065601},
        ParseCase{"RFC 9110 §5.6.7 rfc850 year 76 -> 1976", "Thursday, 01-Jan-76 00:00:00 GMT",
                  189302400},
        ParseCase{"RFC 9110 §5.6.7 rfc850 year 00 -> 2000", "Saturday, 01-Jan-00 00:00:00 GMT",
                  946684800},
        // Invalid inputs.
        ParseCase{"RFC 9111 §5.3 Expires: 0 is not a date", "0", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 empty", "", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 day 32", "Sun, 32 Nov 1994 08:49:37 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 day 00", "Sun, 00 Nov 1994 08:49:37 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 31 Nov", "Sun, 31 Nov 1994 08:49:37 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 29 Feb non-leap", "Sun, 29 Feb 2023 08:49:37 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 29 Feb 1900", "Thu, 29 Feb 1900 00:00:00 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 bad month", "Sun, 06 Foo 1994 08:49:37 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 names in the wrong case are accepted (lenient recipient)",
                  "SUN, 06 nov 1994 08:49:37 gmt", k1994},
        ParseCase{"RFC 9110 §5.6.7 bad day-name", "Xyz, 06 Nov 1994 08:49:37 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 minute 60", "Sun, 06 Nov 1994 08:60:37 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 second 60", "Sun, 06 Nov 1994 08:49:60 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 not GMT", "Sun, 06 Nov 1994 08:49:37 UTC", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 missing GMT", "Sun, 06 Nov 1994 08:49:37", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 trailing junk", "Sun, 06 Nov 1994 08:49:37 GMTx", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 one-digit day in IMF", "Sun, 6 Nov 1994 08:49:37 GMT",
                  std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 two-digit year in IMF", "Sun, 06 Nov 94 08:49:37 GMT",
                  std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 short day-name in rfc850", "Sun, 06-Nov-94 08:49:37 GMT",
                  std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 rfc850 29 Feb 97 invalid in any century",
                  "Saturday, 29-Feb-97 00:00:00 GMT", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 asctime bad day padding", "Sun Nov 6 08:49:37 1994",
                  std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 truncated", "Sun, 06 Nov 19", std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 non-digit in time", "Sun, 06 Nov 1994 08:4a:37 GMT",
                  std::nullopt},
        ParseCase{"RFC 9110 §5.6.7 negative number", "-1", std::nullopt}));

struct FormatCase {
  const char* rfc;
  std::int64_t seconds;
  std::string expected;
};

class FormatHttpDateTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatHttpDateTest, FormatsImfFixdateAndRoundTrips) {
  const auto& c = GetParam();
  EXPECT_EQ(formatHttpDate(c.seconds), c.expected) << c.rfc;
  EXPECT_EQ(parseHttpDate(c.expected, kNow), c.seconds) << c.rfc << " round trip";
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9110, FormatHttpDateTest,
    ::testing::Values(
        FormatCase{"RFC 9110 §5.6.7 example", k1994, "Sun, 06 Nov 1994 08:49:37 GMT"},
        FormatCase{"RFC 9110 §5.6.7 epoch", 0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        FormatCase{"RFC 9110 §5.6.7 before epoch", -1, "Wed, 31 Dec 1969 23:59:59 GMT"},
        FormatCase{"RFC 9110 §5.6.7 leap day", 1709164800, "Thu, 29 Feb 2024 00:00:00 GMT"},
        FormatCase{"RFC 9110 §5.6.7 after 2038", 2177452799, "Fri, 31 Dec 2038 23:59:59 GMT"},
        FormatCase{"RFC 9110 §5.6.7 year 9999", 253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"}));

TEST(HttpDateTest, RoundTripsEveryDayForFourHundredYears) {  // RFC 9110 §5.6.7
  for (std::int64_t day = -40000; day < 146097 - 40000; day += 1) {
    const std::int64_t t = day * 86400 + 3723;
    const std::string text = formatHttpDate(t);
    ASSERT_EQ(parseHttpDate(text, kNow), t) << text;
  }
}

TEST(HttpDateTest, ExtremeInputsDoNotOverflow) {  // RFC 9110 §5.6.7 (robustness)
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_FALSE(formatHttpDate(kMin).empty());
  EXPECT_FALSE(formatHttpDate(kMax).empty());
  // The clock is clamped to years 0000..9999 for the two-digit-year rule.
  EXPECT_TRUE(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", kMin).has_value());
  EXPECT_TRUE(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", kMax).has_value());
}

TEST(HttpDateTest, SystemClockOverloadParsesFixdate) {  // RFC 9110 §5.6.7
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), k1994);
  EXPECT_EQ(parseHttpDate("garbage"), std::nullopt);
}

}  // namespace
}  // namespace strata::edge::http

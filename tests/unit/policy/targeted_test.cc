#include "edge/policy/targeted.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "edge/policy/freshness.h"

namespace strata::edge::policy {
namespace {

using http::HeaderList;

HeaderList h(std::initializer_list<HeaderList::Field> fields) {
  return HeaderList(std::vector<HeaderList::Field>(fields));
}

// ---------------------------------------------------------------------------------------------
struct SfCase {
  const char* rfc;
  std::string value;
  bool valid;
};

class SfDictionaryTest : public ::testing::TestWithParam<SfCase> {};

TEST_P(SfDictionaryTest, Validates) {
  const auto& c = GetParam();
  EXPECT_EQ(isValidSfDictionary(c.value), c.valid) << c.rfc << ": [" << c.value << "]";
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc8941, SfDictionaryTest, ::testing::Values(
  SfCase{"RFC 8941 §3.2 bare key is boolean true", "no-store", true},
  SfCase{"RFC 8941 §3.3.1 integer value", "max-age=60", true},
  SfCase{"RFC 8941 §3.2 several members with OWS", "max-age=60 ,\tpublic, s-maxage=5", true},
  SfCase{"RFC 8941 §4.2 leading and trailing SP discarded", "  max-age=1  ", true},
  SfCase{"RFC 8941 §3.3.3 string value", "private=\"set-cookie\"", true},
  SfCase{"RFC 8941 §3.3.4 token value", "foo=bar/baz:1", true},
  SfCase{"RFC 8941 §3.3.6 boolean value", "no-store=?0, public=?1", true},
  SfCase{"RFC 8941 §3.3.2 decimal value", "x=1.5", true},
  SfCase{"RFC 8941 §3.3.5 byte sequence", "x=:aGVsbG8=:", true},
  SfCase{"RFC 8941 §3.1.2 parameters accepted", "max-age=60;a=1;b, public", true},
  SfCase{"RFC 8941 §3.1.1 inner list accepted", "x=(1 \"a\" tok), y", true},
  SfCase{"RFC 8941 §3.3.1 negative integer is valid sf", "max-age=-1", true},
  SfCase{"RFC 8941 §3.2 key may start with *", "*x=1", true},
  SfCase{"RFC 9213 §2.1 empty field is ignored", "", false},
  SfCase{"RFC 9213 §2.1 only spaces is empty", "   ", false},
  SfCase{"RFC 8941 §3.2 upper-case key invalid", "Max-Age=60", false},
  SfCase{"RFC 8941 §3.2 key starting with digit invalid", "1x=1", false},
  SfCase{"RFC 8941 §4.2.2 trailing comma invalid", "max-age=60,", false},
  SfCase{"RFC 8941 §4.2.2 leading comma invalid", ",max-age=60", false},
  SfCase{"RFC 8941 §4.2.2 empty member invalid", "a, , b", false},
  SfCase{"RFC 8941 §4.2.2 junk after member", "max-age=60 x", false},
  SfCase{"RFC 8941 §4.2.3.1 missing value after =", "max-age=", false},
  SfCase{"RFC 8941 §4.2.4 16-digit integer invalid", "max-age=1234567890123456", false},
  SfCase{"RFC 8941 §4.2.4 decimal with 4 fraction digits", "x=1.2345", false},
  SfCase{"RFC 8941 §4.2.4 decimal without fraction digits", "x=1.", false},
  SfCase{"RFC 8941 §4.2.5 unterminated string", "private=\"a", false},
  SfCase{"RFC 8941 §4.2.5 bad escape in string", "private=\"a\\n\"", false},
  SfCase{"RFC 8941 §4.2.5 control char in string", std::string("x=\"a\x01\""), false},
  SfCase{"RFC 8941 §4.2.8 bad boolean", "x=?2", false},
  SfCase{"RFC 8941 §4.2.7 unterminated byte sequence", "x=:abc", false},
  SfCase{"RFC 8941 §4.2.1.2 unterminated inner list", "x=(1 2", false},
  SfCase{"RFC 8941 §3.2 quoted-string with single quote is not sf", "x='a'", false},
  SfCase{"RFC 8941 §4.2.3.2 bad parameter key", "x=1;A=2", false},
  SfCase{"RFC 8941 §4.2 high-bit byte invalid", std::string("max-age=60, \xff"), false},
  SfCase{"RFC 8941 §4.2 NUL byte invalid", std::string("max-age=6\0", 10), false}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct EffectiveCase {
  const char* rfc;
  HeaderList headers;
  TargetedFields fields;
  bool targeted;
  std::optional<std::int64_t> maxAge;
  bool noStore;
  bool isPrivate;
};

class EffectiveCacheControlTest : public ::testing::TestWithParam<EffectiveCase> {};

TEST_P(EffectiveCacheControlTest, Selects) {
  const auto& c = GetParam();
  bool targeted = !c.targeted;
  const CacheControl cc = effectiveCacheControl(c.headers, c.fields, &targeted);
  EXPECT_EQ(targeted, c.targeted) << c.rfc;
  EXPECT_EQ(cc.maxAge, c.maxAge) << c.rfc;
  EXPECT_EQ(cc.noStore, c.noStore) << c.rfc;
  EXPECT_EQ(cc.isPrivate, c.isPrivate) << c.rfc;
}

const TargetedFields kCdn{};
const TargetedFields kOwn{{"Strata-Cache-Control", "CDN-Cache-Control"}};
const TargetedFields kNoTargets{{}};

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9213, EffectiveCacheControlTest, ::testing::Values(
  EffectiveCase{"RFC 9213 §2.2 no targeted field: Cache-Control",
                h({{"Cache-Control", "max-age=5, private"}}), kCdn, false, 5, false, true},
  EffectiveCase{"RFC 9213 §2.2 targeted field replaces Cache-Control entirely",
                h({{"Cache-Control", "no-store, private"}, {"CDN-Cache-Control", "max-age=600"}}),
                kCdn, true, 600, false, false},
  EffectiveCase{"RFC 9213 §2.2 field name is case-insensitive",
                h({{"cdn-cache-control", "max-age=7"}}), kCdn, true, 7, false, false},
  EffectiveCase{"RFC 9213 §2.2 first listed field wins",
                h({{"CDN-Cache-Control", "max-age=1"}, {"Strata-Cache-Control", "max-age=2"}}),
                kOwn, true, 2, false, false},
  EffectiveCase{"RFC 9213 §2.2 invalid first field falls through to the next",
                h({{"Strata-Cache-Control", "Max-Age=2"}, {"CDN-Cache-Control", "max-age=1"}}),
                kOwn, true, 1, false, false},
  EffectiveCase{"RFC 9213 §2.1 invalid targeted field ignored: Cache-Control used",
                h({{"Cache-Control", "max-age=5"}, {"CDN-Cache-Control", "max-age=60,"}}),
                kCdn, false, 5, false, false},
  EffectiveCase{"RFC 9213 §2.1 empty targeted field ignored",
                h({{"Cache-Control", "max-age=5"}, {"CDN-Cache-Control", ""}}), kCdn, false, 5,
                false, false},
  EffectiveCase{"RFC 9213 §2.1 no-store in targeted field",
                h({{"Cache-Control", "max-age=5"}, {"CDN-Cache-Control", "no-store"}}), kCdn,
                true, std::nullopt, true, false},
  EffectiveCase{"RFC 9213 §2.1 boolean false member is absent",
                h({{"CDN-Cache-Control", "no-store=?0, max-age=3"}}), kCdn, true, 3, false,
                false},
  EffectiveCase{"RFC 9213 §2.1 boolean true member is the directive",
                h({{"CDN-Cache-Control", "private=?1"}}), kCdn, true, std::nullopt, false, true},
  EffectiveCase{"RFC 9213 §2.1 unknown-only dictionary still replaces Cache-Control",
                h({{"Cache-Control", "max-age=5"}, {"CDN-Cache-Control", "foo"}}), kCdn, true,
                std::nullopt, false, false},
  EffectiveCase{"RFC 9213 §2.1 several field lines combined",
                h({{"CDN-Cache-Control", "public"}, {"CDN-Cache-Control", "max-age=9"}}), kCdn,
                true, 9, false, false},
  EffectiveCase{"RFC 8941 §4.2.2 duplicate key: last wins",
                h({{"CDN-Cache-Control", "max-age=1, max-age=2"}}), kCdn, true, 2, false, false},
  EffectiveCase{"RFC 8941 §3.1.2 parameters ignored",
                h({{"CDN-Cache-Control", "max-age=4;foo=bar"}}), kCdn, true, 4, false, false},
  EffectiveCase{"RFC 9213 §2.2 empty target list: Cache-Control",
                h({{"CDN-Cache-Control", "max-age=4"}, {"Cache-Control", "max-age=1"}}),
                kNoTargets, false, 1, false, false}));
// clang-format on

TEST(EffectiveCacheControlTest, NullTargetedPointerIsAllowed) {  // RFC 9213 §2.2
  const CacheControl cc = effectiveCacheControl(h({{"CDN-Cache-Control", "max-age=3"}}));
  EXPECT_EQ(cc.maxAge, 3);
}

TEST(EffectiveCacheControlTest, SMaxAgeInTargetedFieldIsHonoured) {  // RFC 9213 §2.1
  const CacheControl cc = effectiveCacheControl(h({{"CDN-Cache-Control", "s-maxage=8"}}));
  EXPECT_EQ(cc.sMaxAge, 8);
}

TEST(EffectiveCacheControlTest, WrongTypedDirectivesInTargetedFieldsAreIgnored) {  // RFC 9213 §2.1
  const CacheControl negative = effectiveCacheControl(h({{"CDN-Cache-Control", "max-age=-1"}}));
  EXPECT_FALSE(negative.maxAge.has_value());
  bool targeted = false;
  const CacheControl quoted = effectiveCacheControl(
      h({{"CDN-Cache-Control", "max-age=\"10000\""}, {"Cache-Control", "no-store"}}),
      TargetedFields{}, &targeted);
  EXPECT_FALSE(quoted.maxAge.has_value());
  EXPECT_TRUE(targeted);  // Still a valid dictionary: it replaces Cache-Control.
  const CacheControl mixed =
      effectiveCacheControl(h({{"CDN-Cache-Control", "max-age=\"5\", s-maxage=60"}}));
  EXPECT_EQ(mixed.sMaxAge, 60);
}

}  // namespace
}  // namespace strata::edge::policy

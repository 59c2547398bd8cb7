#include "edge/policy/conditional.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::edge::policy {
namespace {

using http::HeaderList;

HeaderList h(std::initializer_list<HeaderList::Field> fields) {
  return HeaderList(std::vector<HeaderList::Field>(fields));
}

const std::string kDate = "Sun, 06 Nov 1994 08:49:37 GMT";         // T
const std::string kEarlier = "Sun, 06 Nov 1994 08:32:57 GMT";      // T - 1000
const std::string kLater = "Sun, 06 Nov 1994 08:51:17 GMT";        // T + 100
const std::string kEarlier850 = "Sunday, 06-Nov-94 08:32:57 GMT";  // T - 1000, RFC 850 form

// ---------------------------------------------------------------------------------------------
struct TagCase {
  const char* rfc;
  std::string text;
  bool valid;
  bool weak;
  std::string opaque;
};

class ParseEntityTagTest : public ::testing::TestWithParam<TagCase> {};

TEST_P(ParseEntityTagTest, Parses) {
  const auto& c = GetParam();
  const auto tag = parseEntityTag(c.text);
  ASSERT_EQ(tag.has_value(), c.valid) << c.rfc;
  if (tag) {
    EXPECT_EQ(tag->weak, c.weak) << c.rfc;
    EXPECT_EQ(tag->opaque, c.opaque) << c.rfc;
  }
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9110, ParseEntityTagTest, ::testing::Values(
  TagCase{"RFC 9110 §8.8.3 strong", "\"xyzzy\"", true, false, "xyzzy"},
  TagCase{"RFC 9110 §8.8.3 weak", "W/\"xyzzy\"", true, true, "xyzzy"},
  TagCase{"RFC 9110 §8.8.3 empty opaque-tag", "\"\"", true, false, ""},
  TagCase{"RFC 9110 §8.8.3 OWS around", "  \"a\"\t", true, false, "a"},
  TagCase{"RFC 9110 §8.8.3 comma is an etagc", "\"a,b\"", true, false, "a,b"},
  TagCase{"RFC 9110 §8.8.3 obs-text allowed", std::string("\"\xc3\xa9\""), true, false,
          std::string("\xc3\xa9")},
  TagCase{"RFC 9110 §8.8.3 unquoted", "xyzzy", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 lower-case w/ is not weak", "w/\"x\"", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 unterminated", "\"abc", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 space inside", "\"a b\"", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 trailing junk", "\"a\"b", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 W/ alone", "W/", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 empty", "", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 lone quote", "\"", false, false, ""},
  TagCase{"RFC 9110 §8.8.3 control char inside", std::string("\"a\x01\""), false, false, ""}));
// clang-format on

TEST(ParseEntityTagListTest, Lists) {  // RFC 9110 §13.1.1, §13.1.2
  EXPECT_TRUE(parseEntityTagList("*").any);
  EXPECT_TRUE(parseEntityTagList(" * ").any);
  const EntityTagList list = parseEntityTagList("\"a\", W/\"b\" ,junk, \"c,d\", \"e");
  ASSERT_EQ(list.tags.size(), 3u);
  EXPECT_EQ(list.tags[0].opaque, "a");
  EXPECT_TRUE(list.tags[1].weak);
  EXPECT_EQ(list.tags[2].opaque, "c,d");
  EXPECT_FALSE(list.any);
  EXPECT_TRUE(parseEntityTagList("").tags.empty());
  EXPECT_TRUE(parseEntityTagList(",,,").tags.empty());
  EXPECT_FALSE(parseEntityTagList("*, \"a\"").any);  // "*" is only valid alone.
  EXPECT_EQ(parseEntityTagList("*, \"a\"").tags.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
struct CompareCase {
  const char* rfc;
  std::string a;
  std::string b;
  bool strong;
  bool weak;
};

class CompareTest : public ::testing::TestWithParam<CompareCase> {};

TEST_P(CompareTest, Compares) {
  const auto& c = GetParam();
  const auto a = parseEntityTag(c.a);
  const auto b = parseEntityTag(c.b);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(strongMatch(*a, *b), c.strong) << c.rfc;
  EXPECT_EQ(weakMatch(*a, *b), c.weak) << c.rfc;
}

// The table of RFC 9110 §8.8.3.2.
// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9110, CompareTest, ::testing::Values(
  CompareCase{"RFC 9110 §8.8.3.2 W/\"1\" W/\"1\"", "W/\"1\"", "W/\"1\"", false, true},
  CompareCase{"RFC 9110 §8.8.3.2 W/\"1\" W/\"2\"", "W/\"1\"", "W/\"2\"", false, false},
  CompareCase{"RFC 9110 §8.8.3.2 W/\"1\" \"1\"", "W/\"1\"", "\"1\"", false, true},
  CompareCase{"RFC 9110 §8.8.3.2 \"1\" \"1\"", "\"1\"", "\"1\"", true, true},
  CompareCase{"RFC 9110 §8.8.3.2 opaque-tags are case-sensitive", "\"a\"", "\"A\"", false,
              false}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct PreconditionCase {
  const char* rfc;
  std::string method;
  HeaderList request;
  int status;
  HeaderList storedHeaders;
  Precondition expected;
};

class EvaluatePreconditionsTest : public ::testing::TestWithParam<PreconditionCase> {};

TEST_P(EvaluatePreconditionsTest, Evaluates) {
  const auto& c = GetParam();
  EXPECT_STREQ(toString(evaluatePreconditions(c.method, c.request, c.status, c.storedHeaders)),
               toString(c.expected))
      << c.rfc;
}

const HeaderList kStored = h({{"Date", kDate}, {"ETag", "\"v1\""}, {"Last-Modified", kEarlier}});
const HeaderList kWeakStored = h({{"Date", kDate}, {"ETag", "W/\"v1\""}});
const HeaderList kNoValidators = h({{"Date", kDate}});
using P = Precondition;

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9110, EvaluatePreconditionsTest, ::testing::Values(
  PreconditionCase{"RFC 9110 §13.2.2 no preconditions", "GET", h({}), 200, kStored, P::kNone},
  // If-None-Match (§13.1.2).
  PreconditionCase{"RFC 9110 §13.1.2 If-None-Match matches: 304 for GET", "GET",
                   h({{"If-None-Match", "\"v1\""}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.2 If-None-Match matches: 304 for HEAD", "HEAD",
                   h({{"If-None-Match", "\"v1\""}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.2 If-None-Match matches: 412 for other methods", "DELETE",
                   h({{"If-None-Match", "\"v1\""}}), 200, kStored, P::kFailed},
  PreconditionCase{"RFC 9110 §13.1.2 weak comparison: W/ request vs strong stored", "GET",
                   h({{"If-None-Match", "W/\"v1\""}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.2 weak comparison: strong request vs weak stored", "GET",
                   h({{"If-None-Match", "\"v1\""}}), 200, kWeakStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.2 no match", "GET", h({{"If-None-Match", "\"v2\""}}), 200,
                   kStored, P::kNone},
  PreconditionCase{"RFC 9110 §13.1.2 match in a list", "GET",
                   h({{"If-None-Match", "\"v0\", \"v1\""}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.2 match across field lines", "GET",
                   h({{"If-None-Match", "\"v0\""}, {"If-None-Match", "\"v1\""}}), 200, kStored,
                   P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.2 * matches any current representation", "GET",
                   h({{"If-None-Match", "*"}}), 200, kNoValidators, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.2 * on PUT fails", "PUT", h({{"If-None-Match", "*"}}), 200,
                   kStored, P::kFailed},
  PreconditionCase{"RFC 9110 §13.1.2 stored without ETag never matches a tag", "GET",
                   h({{"If-None-Match", "\"v1\""}}), 200, kNoValidators, P::kNone},
  PreconditionCase{"RFC 9110 §13.1.2 malformed members ignored, valid one matches", "GET",
                   h({{"If-None-Match", "v1, \"v1\""}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.2.2 If-None-Match present: If-Modified-Since ignored", "GET",
                   h({{"If-None-Match", "\"v2\""}, {"If-Modified-Since", kDate}}), 200, kStored,
                   P::kNone},
  PreconditionCase{"RFC 9110 §13.2.2 unparseable If-None-Match treated as absent", "GET",
                   h({{"If-None-Match", "garbage"}, {"If-Modified-Since", kDate}}), 200, kStored,
                   P::kNotModified},
  // If-Modified-Since (§13.1.3).
  PreconditionCase{"RFC 9110 §13.1.3 not modified since", "GET",
                   h({{"If-Modified-Since", kDate}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.3 equal date is not modified", "GET",
                   h({{"If-Modified-Since", kEarlier}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.3 modified since", "GET",
                   h({{"If-Modified-Since", "Sun, 06 Nov 1994 08:00:00 GMT"}}), 200, kStored,
                   P::kNone},
  PreconditionCase{"RFC 9110 §13.1.3 RFC 850 date accepted", "GET",
                   h({{"If-Modified-Since", kEarlier850}}), 200, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §13.1.3 invalid date ignored", "GET",
                   h({{"If-Modified-Since", "yesterday"}}), 200, kStored, P::kNone},
  PreconditionCase{"RFC 9110 §13.1.3 two field lines ignored", "GET",
                   h({{"If-Modified-Since", kDate}, {"If-Modified-Since", kDate}}), 200, kStored,
                   P::kNone},
  PreconditionCase{"RFC 9110 §13.1.3 only GET/HEAD", "POST", h({{"If-Modified-Since", kDate}}),
                   200, kStored, P::kNone},
  PreconditionCase{"RFC 9111 §4.3.2 Date used when no Last-Modified", "GET",
                   h({{"If-Modified-Since", kDate}}), 200, kNoValidators, P::kNotModified},
  PreconditionCase{"RFC 9111 §4.3.2 Date after If-Modified-Since: modified", "GET",
                   h({{"If-Modified-Since", kEarlier}}), 200, kNoValidators, P::kNone},
  PreconditionCase{"RFC 9111 §4.3.2 neither Last-Modified nor Date: not evaluated", "GET",
                   h({{"If-Modified-Since", kDate}}), 200, h({}), P::kNone},
  // If-Match (§13.1.1).
  PreconditionCase{"RFC 9110 §13.1.1 If-Match strong match passes", "GET",
                   h({{"If-Match", "\"v1\""}}), 200, kStored, P::kNone},
  PreconditionCase{"RFC 9110 §13.1.1 If-Match mismatch fails", "GET",
                   h({{"If-Match", "\"v2\""}}), 200, kStored, P::kFailed},
  PreconditionCase{"RFC 9110 §13.1.1 If-Match uses strong comparison (weak request)", "GET",
                   h({{"If-Match", "W/\"v1\""}}), 200, kStored, P::kFailed},
  PreconditionCase{"RFC 9110 §13.1.1 If-Match uses strong comparison (weak stored)", "GET",
                   h({{"If-Match", "\"v1\""}}), 200, kWeakStored, P::kFailed},
  PreconditionCase{"RFC 9110 §13.1.1 If-Match * with a representation", "GET",
                   h({{"If-Match", "*"}}), 200, kNoValidators, P::kNone},
  PreconditionCase{"RFC 9110 §13.1.1 If-Match without stored ETag fails", "GET",
                   h({{"If-Match", "\"v1\""}}), 200, kNoValidators, P::kFailed},
  PreconditionCase{"RFC 9110 §13.2.2 If-Match checked before If-None-Match", "GET",
                   h({{"If-Match", "\"v2\""}, {"If-None-Match", "\"v1\""}}), 200, kStored,
                   P::kFailed},
  PreconditionCase{"RFC 9110 §13.2.2 If-Match passes, then If-None-Match", "GET",
                   h({{"If-Match", "\"v1\""}, {"If-None-Match", "\"v1\""}}), 200, kStored,
                   P::kNotModified},
  PreconditionCase{"RFC 9110 §13.2.2 unparseable If-Match treated as absent", "GET",
                   h({{"If-Match", "nonsense"}}), 200, kStored, P::kNone},
  // If-Unmodified-Since (§13.1.4).
  PreconditionCase{"RFC 9110 §13.1.4 unmodified since: passes", "GET",
                   h({{"If-Unmodified-Since", kDate}}), 200, kStored, P::kNone},
  PreconditionCase{"RFC 9110 §13.1.4 modified since: fails", "GET",
                   h({{"If-Unmodified-Since", "Sun, 06 Nov 1994 08:00:00 GMT"}}), 200, kStored,
                   P::kFailed},
  PreconditionCase{"RFC 9110 §13.1.4 ignored without Last-Modified", "GET",
                   h({{"If-Unmodified-Since", "Sun, 06 Nov 1994 08:00:00 GMT"}}), 200,
                   kNoValidators, P::kNone},
  PreconditionCase{"RFC 9110 §13.1.4 invalid date ignored", "GET",
                   h({{"If-Unmodified-Since", "0"}}), 200, kStored, P::kNone},
  PreconditionCase{"RFC 9110 §13.2.2 If-Unmodified-Since ignored when If-Match present", "GET",
                   h({{"If-Match", "\"v1\""},
                      {"If-Unmodified-Since", "Sun, 06 Nov 1994 08:00:00 GMT"}}), 200, kStored,
                   P::kNone},
  PreconditionCase{"RFC 9110 §13.2.2 If-Unmodified-Since fails before If-None-Match", "GET",
                   h({{"If-Unmodified-Since", "Sun, 06 Nov 1994 08:00:00 GMT"},
                      {"If-None-Match", "\"v1\""}}), 200, kStored, P::kFailed},
  // Status (§13.2.1).
  PreconditionCase{"RFC 9110 §13.2.1 ignored for a stored 404", "GET",
                   h({{"If-None-Match", "\"v1\""}}), 404, kStored, P::kNone},
  PreconditionCase{"RFC 9110 §13.2.1 ignored for a stored 301", "GET",
                   h({{"If-Match", "\"zz\""}}), 301, kStored, P::kNone},
  PreconditionCase{"RFC 9110 §13.2.1 evaluated for a stored 204", "GET",
                   h({{"If-None-Match", "\"v1\""}}), 204, kStored, P::kNotModified},
  PreconditionCase{"RFC 9110 §9.1 method case-sensitive: get is not GET", "get",
                   h({{"If-None-Match", "\"v1\""}}), 200, kStored, P::kFailed}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct IfRangeCase {
  const char* rfc;
  HeaderList request;
  HeaderList storedHeaders;
  bool expected;
};

class IfRangeTest : public ::testing::TestWithParam<IfRangeCase> {};

TEST_P(IfRangeTest, Decides) {
  const auto& c = GetParam();
  EXPECT_EQ(ifRangeAllows(c.request, c.storedHeaders), c.expected) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9110, IfRangeTest, ::testing::Values(
  IfRangeCase{"RFC 9110 §13.1.5 no If-Range", h({}), kStored, true},
  IfRangeCase{"RFC 9110 §13.1.5 strong entity-tag match", h({{"If-Range", "\"v1\""}}), kStored,
              true},
  IfRangeCase{"RFC 9110 §13.1.5 entity-tag mismatch", h({{"If-Range", "\"v2\""}}), kStored,
              false},
  IfRangeCase{"RFC 9110 §13.1.5 weak request tag never matches", h({{"If-Range", "W/\"v1\""}}),
              kStored, false},
  IfRangeCase{"RFC 9110 §13.1.5 weak stored tag never matches", h({{"If-Range", "\"v1\""}}),
              kWeakStored, false},
  IfRangeCase{"RFC 9110 §13.1.5 date equals strong Last-Modified", h({{"If-Range", kEarlier}}),
              kStored, true},
  IfRangeCase{"RFC 9110 §13.1.5 date differs", h({{"If-Range", kDate}}), kStored, false},
  IfRangeCase{"RFC 9110 §8.8.2.2 Last-Modified equal to Date is weak",
              h({{"If-Range", kDate}}), h({{"Date", kDate}, {"Last-Modified", kDate}}), false},
  IfRangeCase{"RFC 9110 §8.8.2.2 Last-Modified without Date is not known strong",
              h({{"If-Range", kEarlier}}), h({{"Last-Modified", kEarlier}}), false},
  IfRangeCase{"RFC 9110 §13.1.5 invalid If-Range", h({{"If-Range", "tomorrow"}}), kStored,
              false},
  IfRangeCase{"RFC 9110 §13.1.5 empty If-Range", h({{"If-Range", ""}}), kStored, false},
  IfRangeCase{"RFC 9110 §13.1.5 list is not an If-Range", h({{"If-Range", "\"v1\", \"v2\""}}),
              kStored, false},
  IfRangeCase{"RFC 9110 §13.1.5 two field lines are invalid",
              h({{"If-Range", "\"v1\""}, {"If-Range", "\"v1\""}}), kStored, false}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct RevalidationCase {
  const char* rfc;
  HeaderList storedHeaders;
  HeaderList expected;
};

class ValidatorsForRevalidationTest : public ::testing::TestWithParam<RevalidationCase> {};

TEST_P(ValidatorsForRevalidationTest, Builds) {
  const auto& c = GetParam();
  EXPECT_EQ(validatorsForRevalidation(c.storedHeaders).fields(), c.expected.fields()) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, ValidatorsForRevalidationTest, ::testing::Values(
  RevalidationCase{"RFC 9111 §4.3.1 ETag and Last-Modified", kStored,
                   h({{"If-None-Match", "\"v1\""}, {"If-Modified-Since", kEarlier}})},
  RevalidationCase{"RFC 9111 §4.3.1 weak ETag is sent as is", kWeakStored,
                   h({{"If-None-Match", "W/\"v1\""}})},
  RevalidationCase{"RFC 9111 §4.3.1 no validators", kNoValidators, h({})},
  RevalidationCase{"RFC 9111 §4.3.1 malformed ETag skipped, next line used",
                   h({{"ETag", "bad"}, {"ETag", " \"ok\" "}}), h({{"If-None-Match", "\"ok\""}})},
  RevalidationCase{"RFC 9111 §4.3.1 invalid Last-Modified not sent",
                   h({{"Last-Modified", "never"}}), h({})},
  RevalidationCase{"RFC 9111 §4.3.1 Last-Modified copied as received",
                   h({{"Last-Modified", kEarlier850}}), h({{"If-Modified-Since", kEarlier850}})}));
// clang-format on

TEST(PreconditionNamesTest, EveryOutcomePrints) {  // ARCHITECTURE lesson 2
  EXPECT_STREQ(toString(Precondition::kNone), "none");
  EXPECT_STREQ(toString(Precondition::kNotModified), "not-modified");
  EXPECT_STREQ(toString(Precondition::kFailed), "failed");
}

}  // namespace
}  // namespace strata::edge::policy

#include "edge/policy/validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::edge::policy {
namespace {

using http::HeaderList;

HeaderList h(std::initializer_list<HeaderList::Field> fields) {
  return HeaderList(std::vector<HeaderList::Field>(fields));
}

const std::string kDate = "Sun, 06 Nov 1994 08:49:37 GMT";
const std::string kLater = "Sun, 06 Nov 1994 08:51:17 GMT";
const std::string kEarlier = "Sun, 06 Nov 1994 08:32:57 GMT";
const std::string kEarlier850 = "Sunday, 06-Nov-94 08:32:57 GMT";  // Same instant as kEarlier.

// ---------------------------------------------------------------------------------------------
struct MergeCase {
  const char* rfc;
  HeaderList stored;
  HeaderList notModified;
  HeaderList expected;
};

class MergeNotModifiedTest : public ::testing::TestWithParam<MergeCase> {};

TEST_P(MergeNotModifiedTest, Merges) {
  const auto& c = GetParam();
  EXPECT_EQ(mergeNotModified(c.stored, c.notModified).fields(), c.expected.fields()) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, MergeNotModifiedTest, ::testing::Values(
  MergeCase{"RFC 9111 §3.2 empty 304 keeps stored fields",
            h({{"Date", kDate}, {"Content-Type", "text/html"}}), h({}),
            h({{"Date", kDate}, {"Content-Type", "text/html"}})},
  MergeCase{"RFC 9111 §3.2 304 fields replace stored values in place",
            h({{"Date", kDate}, {"Cache-Control", "max-age=1"}, {"ETag", "\"a\""}}),
            h({{"date", kLater}, {"Cache-Control", "max-age=60"}}),
            h({{"date", kLater}, {"Cache-Control", "max-age=60"}, {"ETag", "\"a\""}})},
  MergeCase{"RFC 9111 §3.2 all stored lines of a name are replaced by all 304 lines",
            h({{"Link", "a"}, {"X", "1"}, {"Link", "b"}}), h({{"Link", "c"}, {"Link", "d"}}),
            h({{"Link", "c"}, {"Link", "d"}, {"X", "1"}})},
  MergeCase{"RFC 9111 §3.2 new fields are added at the end",
            h({{"Date", kDate}}), h({{"Expires", kLater}, {"X-New", "1"}}),
            h({{"Date", kDate}, {"Expires", kLater}, {"X-New", "1"}})},
  MergeCase{"RFC 9111 §3.2 Content-Length is not updated",
            h({{"Content-Length", "100"}}), h({{"Content-Length", "0"}}),
            h({{"Content-Length", "100"}})},
  MergeCase{"RFC 9111 §3.2 Content-Encoding the stored bytes depend on is not updated",
            h({{"Content-Encoding", "gzip"}}), h({{"Content-Encoding", "br"}}),
            h({{"Content-Encoding", "gzip"}})},
  MergeCase{"RFC 9111 §3.2 Content-Range is not updated",
            h({{"ETag", "\"a\""}}), h({{"Content-Range", "bytes 0-1/2"}}), h({{"ETag", "\"a\""}})},
  MergeCase{"RFC 9111 §3.1 hop-by-hop fields from the 304 are not stored",
            h({{"Date", kDate}}),
            h({{"Connection", "close, X-Hop"}, {"Keep-Alive", "timeout=5"}, {"TE", "trailers"},
               {"Transfer-Encoding", "chunked"}, {"Upgrade", "h2c"}, {"Proxy-Connection", "x"},
               {"X-Hop", "1"}, {"X-Kept", "2"}}),
            h({{"Date", kDate}, {"X-Kept", "2"}})},
  MergeCase{"RFC 9111 §3.1 proxy authentication fields are not stored",
            h({}), h({{"Proxy-Authenticate", "Basic"}, {"Proxy-Authentication-Info", "x"},
                      {"Proxy-Authorization", "y"}}), h({})},
  MergeCase{"RFC 9111 §3.2 stored-only fields are kept",
            h({{"Content-Type", "a/b"}, {"Set-Cookie", "x=1"}}), h({{"ETag", "\"z\""}}),
            h({{"Content-Type", "a/b"}, {"Set-Cookie", "x=1"}, {"ETag", "\"z\""}})},
  MergeCase{"RFC 9111 §3.2 empty 304 value replaces the stored value",
            h({{"X-A", "1"}}), h({{"X-A", ""}}), h({{"X-A", ""}})}));
// clang-format on

TEST(IsExcludedFromUpdateTest, ConnectionListedNames) {  // RFC 9110 §7.6.1
  const HeaderList response = h({{"Connection", " foo ,bar"}});
  EXPECT_TRUE(isExcludedFromUpdate("Foo", response));
  EXPECT_TRUE(isExcludedFromUpdate("bar", response));
  EXPECT_FALSE(isExcludedFromUpdate("baz", response));
  EXPECT_TRUE(isExcludedFromUpdate("content-length", h({})));
  EXPECT_FALSE(isExcludedFromUpdate("Cache-Control", h({})));
}

// ---------------------------------------------------------------------------------------------
struct MatchCase {
  const char* rfc;
  HeaderList notModified;
  HeaderList stored;
  bool expected;
};

class NotModifiedMatchesStoredTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(NotModifiedMatchesStoredTest, Matches) {
  const auto& c = GetParam();
  EXPECT_EQ(notModifiedMatchesStored(c.notModified, c.stored), c.expected) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, NotModifiedMatchesStoredTest, ::testing::Values(
  MatchCase{"RFC 9111 §4.3.4 strong ETag matches", h({{"ETag", "\"a\""}}), h({{"ETag", "\"a\""}}),
            true},
  MatchCase{"RFC 9111 §4.3.4 strong ETag differs", h({{"ETag", "\"b\""}}), h({{"ETag", "\"a\""}}),
            false},
  MatchCase{"RFC 9111 §4.3.4 strong ETag vs weak stored: no strong match",
            h({{"ETag", "\"a\""}}), h({{"ETag", "W/\"a\""}}), false},
  MatchCase{"RFC 9111 §4.3.4 weak ETag matches weakly", h({{"ETag", "W/\"a\""}}),
            h({{"ETag", "\"a\""}}), true},
  MatchCase{"RFC 9111 §4.3.4 weak ETag mismatch does not apply", h({{"ETag", "W/\"b\""}}),
            h({{"ETag", "W/\"a\""}}), false},
  MatchCase{"RFC 9111 §4.3.4 ETag in 304 but none stored", h({{"ETag", "\"a\""}}),
            h({{"Last-Modified", kEarlier}}), false},
  MatchCase{"RFC 9111 §4.3.4 ETag decides even when Last-Modified agrees",
            h({{"ETag", "\"b\""}, {"Last-Modified", kEarlier}}),
            h({{"ETag", "\"a\""}, {"Last-Modified", kEarlier}}), false},
  MatchCase{"RFC 9111 §4.3.4 Last-Modified matches",
            h({{"Last-Modified", kEarlier}, {"Date", kDate}}), h({{"Last-Modified", kEarlier}}),
            true},
  MatchCase{"RFC 9111 §4.3.4 Last-Modified matches across date formats",
            h({{"Last-Modified", kEarlier850}}), h({{"Last-Modified", kEarlier}}), true},
  MatchCase{"RFC 9111 §4.3.4 Last-Modified differs", h({{"Last-Modified", kDate}}),
            h({{"Last-Modified", kEarlier}}), false},
  MatchCase{"RFC 9111 §4.3.4 Last-Modified in 304, none stored", h({{"Last-Modified", kDate}}),
            h({}), false},
  MatchCase{"RFC 9111 §4.3.4 no validators: applies to the only stored response",
            h({{"Date", kDate}}), h({{"ETag", "\"a\""}}), true},
  MatchCase{"RFC 9111 §4.3.4 malformed ETag in 304 counts as no validator",
            h({{"ETag", "oops"}}), h({{"ETag", "\"a\""}}), true},
  MatchCase{"RFC 9111 §4.3.4 invalid Last-Modified in 304 counts as no validator",
            h({{"Last-Modified", "never"}}), h({{"Last-Modified", kEarlier}}), true}));
// clang-format on

// ---------------------------------------------------------------------------------------------
struct HeadCase {
  const char* rfc;
  HeaderList head;
  HeaderList stored;
  bool expected;
};

class HeadResponseFreshensTest : public ::testing::TestWithParam<HeadCase> {};

TEST_P(HeadResponseFreshensTest, Decides) {
  const auto& c = GetParam();
  EXPECT_EQ(headResponseFreshens(c.head, c.stored), c.expected) << c.rfc;
}

const HeaderList kStored =
    h({{"ETag", "\"a\""}, {"Last-Modified", kEarlier}, {"Content-Length", "100"}});

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, HeadResponseFreshensTest, ::testing::Values(
  HeadCase{"RFC 9111 §4.3.5 same ETag", h({{"ETag", "\"a\""}}), kStored, true},
  HeadCase{"RFC 9111 §4.3.5 same ETag and Content-Length",
           h({{"ETag", "\"a\""}, {"Content-Length", "100"}}), kStored, true},
  HeadCase{"RFC 9111 §4.3.5 Content-Length differs",
           h({{"ETag", "\"a\""}, {"Content-Length", "101"}}), kStored, false},
  HeadCase{"RFC 9111 §4.3.5 Content-Length but stored has none",
           h({{"ETag", "\"a\""}, {"Content-Length", "1"}}), h({{"ETag", "\"a\""}}), false},
  HeadCase{"RFC 9111 §4.3.5 ETag differs", h({{"ETag", "\"b\""}}), kStored, false},
  HeadCase{"RFC 9111 §4.3.5 ETag weakness differs", h({{"ETag", "W/\"a\""}}), kStored, false},
  HeadCase{"RFC 9111 §4.3.5 same Last-Modified", h({{"Last-Modified", kEarlier}}), kStored, true},
  HeadCase{"RFC 9111 §4.3.5 Last-Modified differs", h({{"Last-Modified", kDate}}), kStored,
           false},
  HeadCase{"RFC 9111 §4.3.5 ETag matches but Last-Modified differs",
           h({{"ETag", "\"a\""}, {"Last-Modified", kDate}}), kStored, false},
  HeadCase{"RFC 9111 §4.3.5 no validators: consider stale", h({{"Content-Length", "100"}}),
           kStored, false},
  HeadCase{"RFC 9111 §4.3.5 malformed ETag does not match", h({{"ETag", "a"}}), kStored, false},
  HeadCase{"RFC 9111 §4.3.5 ETag but stored has none", h({{"ETag", "\"a\""}}),
           h({{"Last-Modified", kEarlier}}), false}));
// clang-format on

}  // namespace
}  // namespace strata::edge::policy

#include "edge/policy/invalidation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::edge::policy {
namespace {

using http::HeaderList;

HeaderList h(std::initializer_list<HeaderList::Field> fields) {
  return HeaderList(std::vector<HeaderList::Field>(fields));
}

struct SafeCase {
  const char* rfc;
  std::string method;
  bool safe;
};

class IsSafeMethodTest : public ::testing::TestWithParam<SafeCase> {};

TEST_P(IsSafeMethodTest, Classifies) {
  const auto& c = GetParam();
  EXPECT_EQ(isSafeMethod(c.method), c.safe) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9110, IsSafeMethodTest, ::testing::Values(
  SafeCase{"RFC 9110 §9.2.1 GET", "GET", true},
  SafeCase{"RFC 9110 §9.2.1 HEAD", "HEAD", true},
  SafeCase{"RFC 9110 §9.2.1 OPTIONS", "OPTIONS", true},
  SafeCase{"RFC 9110 §9.2.1 TRACE", "TRACE", true},
  SafeCase{"RFC 9110 §9.2.1 POST", "POST", false},
  SafeCase{"RFC 9110 §9.2.1 PUT", "PUT", false},
  SafeCase{"RFC 9110 §9.2.1 DELETE", "DELETE", false},
  SafeCase{"RFC 9110 §9.2.1 PATCH", "PATCH", false},
  SafeCase{"RFC 9110 §9.2.1 unknown method is unsafe", "PURGEX", false},
  SafeCase{"RFC 9110 §9.1 case-sensitive: get", "get", false},
  SafeCase{"RFC 9110 §9.1 empty", "", false}));
// clang-format on

struct InvalidationCase {
  const char* rfc;
  std::string method;
  int status;
  HeaderList response;
  std::vector<std::string> expected;
};

class InvalidationKeysTest : public ::testing::TestWithParam<InvalidationCase> {};

TEST_P(InvalidationKeysTest, Lists) {
  const auto& c = GetParam();
  EXPECT_EQ(invalidationKeys(c.method, c.status, "https", "Example.com", "/a?x=1", c.response),
            c.expected)
      << c.rfc;
}

const std::string kTarget = "https://example.com/a?x=1";

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, InvalidationKeysTest, ::testing::Values(
  InvalidationCase{"RFC 9111 §4.4 POST 200 invalidates the target", "POST", 200, h({}),
                   {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 unknown method is unsafe", "FROB", 204, h({}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 3xx is a non-error status", "DELETE", 303, h({}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 GET never invalidates", "GET", 200,
                   h({{"Location", "/b"}}), {}},
  InvalidationCase{"RFC 9111 §4.4 HEAD never invalidates", "HEAD", 200, h({}), {}},
  InvalidationCase{"RFC 9111 §4.4 error status 404 does not invalidate", "POST", 404, h({}), {}},
  InvalidationCase{"RFC 9111 §4.4 error status 500 does not invalidate", "PUT", 500, h({}), {}},
  InvalidationCase{"RFC 9111 §4.4 1xx does not invalidate", "PUT", 100, h({}), {}},
  InvalidationCase{"RFC 9111 §4.4 absolute-path Location", "POST", 201,
                   h({{"Location", "/items/7"}}), {kTarget, "https://example.com/items/7"}},
  InvalidationCase{"RFC 9111 §4.4 Content-Location too", "PUT", 200,
                   h({{"Location", "/l"}, {"Content-Location", "/c?q"}}),
                   {kTarget, "https://example.com/l", "https://example.com/c?q"}},
  InvalidationCase{"RFC 9111 §4.4 same-origin absolute URI, normalized", "POST", 201,
                   h({{"Location", "HTTPS://EXAMPLE.com:443/z"}}),
                   {kTarget, "https://example.com/z"}},
  InvalidationCase{"RFC 9111 §4.4 absolute URI without path", "POST", 201,
                   h({{"Location", "https://example.com"}}), {kTarget, "https://example.com/"}},
  InvalidationCase{"RFC 9111 §4.4 absolute URI with query and no path", "POST", 201,
                   h({{"Location", "https://example.com?q=1"}}),
                   {kTarget, "https://example.com/?q=1"}},
  InvalidationCase{"RFC 9111 §4.4 userinfo dropped", "POST", 201,
                   h({{"Location", "https://u:p@example.com/u"}}),
                   {kTarget, "https://example.com/u"}},
  InvalidationCase{"RFC 9111 §4.4 other host not invalidated", "POST", 201,
                   h({{"Location", "https://evil.example/a?x=1"}}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 other scheme not invalidated", "POST", 201,
                   h({{"Location", "http://example.com/a"}}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 other port not invalidated", "POST", 201,
                   h({{"Location", "https://example.com:8443/a"}}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 relative path reference ignored", "POST", 201,
                   h({{"Location", "b/c"}}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 network-path reference ignored", "POST", 201,
                   h({{"Location", "//example.com/b"}}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 fragment dropped", "POST", 201,
                   h({{"Location", "/b#frag"}}), {kTarget, "https://example.com/b"}},
  InvalidationCase{"RFC 9111 §4.4 duplicate of the target not repeated", "POST", 200,
                   h({{"Content-Location", "/a?x=1"}}), {kTarget}},
  InvalidationCase{"RFC 3986 §2 junk with spaces ignored", "POST", 201,
                   h({{"Location", "/a b"}}), {kTarget}},
  InvalidationCase{"RFC 3986 §3.1 invalid scheme ignored", "POST", 201,
                   h({{"Location", "1http://example.com/b"}}), {kTarget}},
  InvalidationCase{"RFC 3986 §3.2 empty authority ignored", "POST", 201,
                   h({{"Location", "https:///b"}}), {kTarget}},
  InvalidationCase{"RFC 9111 §4.4 empty Location ignored", "POST", 201,
                   h({{"Location", ""}}), {kTarget}}));
// clang-format on

TEST(InvalidationKeysTest, DefaultPortOnRequestHost) {  // RFC 9110 §4.2.2, RFC 9111 §4.4
  EXPECT_EQ(invalidationKeys("POST", 200, "http", "h.example:80", "/p",
                             h({{"Location", "http://H.example/q"}})),
            (std::vector<std::string>{"http://h.example/p", "http://h.example/q"}));
}

}  // namespace
}  // namespace strata::edge::policy

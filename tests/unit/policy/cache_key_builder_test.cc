#include "edge/policy/cache_key_builder.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::edge::policy {
namespace {

struct KeyCase {
  const char* rfc;
  std::string scheme;
  std::string host;
  std::string target;
  std::string expected;
};

class BuildCacheKeyTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(BuildCacheKeyTest, Builds) {
  const auto& c = GetParam();
  EXPECT_EQ(buildCacheKey(c.scheme, c.host, c.target), c.expected) << c.rfc;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9111, BuildCacheKeyTest, ::testing::Values(
  KeyCase{"RFC 9111 §2 simple", "http", "example.com", "/a?b=c", "http://example.com/a?b=c"},
  KeyCase{"RFC 3986 §6.2.2.1 scheme and host lower-cased", "HTTPS", "Example.COM", "/Path",
          "https://example.com/Path"},
  KeyCase{"RFC 3986 §6.2.3 default http port dropped", "http", "example.com:80", "/",
          "http://example.com/"},
  KeyCase{"RFC 3986 §6.2.3 default https port dropped", "https", "example.com:443", "/",
          "https://example.com/"},
  KeyCase{"RFC 3986 §6.2.3 port 443 kept for http", "http", "example.com:443", "/",
          "http://example.com:443/"},
  KeyCase{"RFC 3986 §6.2.3 port 80 kept for https", "https", "example.com:80", "/",
          "https://example.com:80/"},
  KeyCase{"RFC 3986 §6.2.3 non-default port kept", "http", "example.com:8080", "/x",
          "http://example.com:8080/x"},
  KeyCase{"RFC 3986 §6.2.3 empty port dropped", "http", "example.com:", "/",
          "http://example.com/"},
  KeyCase{"RFC 3986 §6.2.3 upper-case scheme still drops default port", "HTTP",
          "example.com:80", "/", "http://example.com/"},
  KeyCase{"RFC 9110 §4.2.3 empty target becomes /", "http", "example.com", "",
          "http://example.com/"},
  KeyCase{"RFC 9111 §2 target kept byte for byte", "http", "h", "/A%2fb/../c?Q=%20&x#f",
          "http://h/A%2fb/../c?Q=%20&x#f"},
  KeyCase{"RFC 3986 §3.2.2 IPv6 literal without port", "http", "[::1]", "/",
          "http://[::1]/"},
  KeyCase{"RFC 3986 §3.2.2 IPv6 literal with default port", "http", "[::1]:80", "/",
          "http://[::1]/"},
  KeyCase{"RFC 3986 §3.2.2 IPv6 literal with port", "https", "[2001:DB8::1]:8443", "/",
          "https://[2001:db8::1]:8443/"},
  KeyCase{"RFC 3986 §6.2.2.1 empty host", "http", "", "/", "http:///"}));
// clang-format on

}  // namespace
}  // namespace strata::edge::policy

// CIDR parsing and matching, table-driven.

#include "edge/http/cidr.h"

#include <gtest/gtest.h>

namespace strata::edge::http {
namespace {

TEST(CidrTest, ParsesValidRangesAndRejectsInvalidOnes) {
  for (const char* ok :
       {"127.0.0.0/8", "10.0.0.1", "0.0.0.0/0", "::1/128", "::/0", "fe80::/10", "192.168.1.0/24"}) {
    EXPECT_TRUE(parseCidr(ok).has_value()) << ok;
  }
  for (const char* bad : {"", "/8", "127.0.0.0/33", "::1/129", "127.0.0.0/-1", "127.0.0.0/",
                          "127.0.0.0/8x", "localhost", "300.1.1.1", "1.2.3"}) {
    EXPECT_FALSE(parseCidr(bad).has_value()) << bad;
  }
}

TEST(CidrTest, MatchesAddressesInRanges) {
  struct Case {
    const char* address;
    bool inLoopbackOrTen;
  };
  const std::vector<Cidr> ranges = {*parseCidr("127.0.0.0/8"), *parseCidr("::1"),
                                    *parseCidr("10.1.0.0/16")};
  const std::vector<Case> cases = {
      {"127.0.0.1", true},       {"127.255.1.2", true},  {"::ffff:127.0.0.1", true}, {"::1", true},
      {"10.1.200.3", true},      {"10.2.0.1", false},    {"128.0.0.1", false},       {"::2", false},
      {"not-an-address", false}, {"192.168.0.1", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(inAnyCidr(c.address, ranges), c.inLoopbackOrTen) << c.address;
  EXPECT_TRUE(inAnyCidr("203.0.113.9", {*parseCidr("0.0.0.0/0")}));
  EXPECT_FALSE(inAnyCidr("203.0.113.9", {}));
}

}  // namespace
}  // namespace strata::edge::http

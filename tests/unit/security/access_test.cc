// Per-route access lists: deny wins, a non-empty allow list admits only what it covers.

#include "edge/security/access.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::edge::security {
namespace {

std::vector<http::Cidr> ranges(std::initializer_list<const char*> texts) {
  std::vector<http::Cidr> out;
  for (const char* t : texts) out.push_back(*http::parseCidr(t));
  return out;
}

TEST(AccessTest, DenyWinsAndAllowListsExcludeEveryoneElse) {
  struct Case {
    const char* name;
    AccessList list;
    const char* address;
    bool permitted;
  };
  const AccessList none;
  const AccessList denyLoopback{{}, ranges({"127.0.0.0/8", "::1/128"})};
  const AccessList allowTen{ranges({"10.0.0.0/8"}), {}};
  const AccessList allowTenDenySub{ranges({"10.0.0.0/8"}), ranges({"10.1.0.0/16"})};
  const AccessList allowAllDenyOne{ranges({"0.0.0.0/0", "::/0"}), ranges({"192.0.2.7"})};
  const std::vector<Case> cases = {
      {"no lists admit everyone", none, "203.0.113.9", true},
      {"no lists admit even junk", none, "not-an-address", true},
      {"denied v4", denyLoopback, "127.0.0.1", false},
      {"denied v4-mapped v6", denyLoopback, "::ffff:127.0.0.1", false},
      {"denied v6", denyLoopback, "::1", false},
      {"outside deny", denyLoopback, "192.0.2.1", true},
      {"inside allow", allowTen, "10.9.8.7", true},
      {"outside allow", allowTen, "11.0.0.1", false},
      {"v6 outside a v4 allow", allowTen, "2001:db8::1", false},
      {"deny inside allow wins", allowTenDenySub, "10.1.2.3", false},
      {"allow outside the deny", allowTenDenySub, "10.2.2.3", true},
      {"single address denied", allowAllDenyOne, "192.0.2.7", false},
      {"neighbour allowed", allowAllDenyOne, "192.0.2.8", true},
      {"junk is denied when lists exist", allowAllDenyOne, "junk", false},
      {"a range is not an address", allowTen, "10.0.0.0/8", false},
      {"empty address is denied", allowTen, "", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(permits(c.list, c.address), c.permitted) << c.name;
  }
}

}  // namespace
}  // namespace strata::edge::security

// Vary matching (RFC 9111 §4.1), table-driven.

#include "edge/policy/vary.h"

#include <gtest/gtest.h>

namespace strata::edge::policy {
namespace {

using http::HeaderList;

HeaderList H(std::vector<HeaderList::Field> fields) { return HeaderList(std::move(fields)); }

struct VaryCase {
  const char* rfc;
  HeaderList response;
  HeaderList storedRequest;
  HeaderList newRequest;
  bool matches;
};

TEST(VaryTest, SelectingHeadersDecideAMatch) {
  const std::vector<VaryCase> cases = {
      {"§4.1 no Vary: any request matches", H({}), H({{"Accept", "a"}}), H({{"Accept", "b"}}),
       true},
      {"§4.1 same value", H({{"Vary", "Accept-Language"}}), H({{"Accept-Language", "fr"}}),
       H({{"accept-language", "fr"}}), true},
      {"§4.1 different value", H({{"Vary", "Accept-Language"}}), H({{"Accept-Language", "fr"}}),
       H({{"Accept-Language", "en"}}), false},
      {"§4.1 absent vs present", H({{"Vary", "Accept-Language"}}), H({}),
       H({{"Accept-Language", "en"}}), false},
      {"§4.1 absent vs empty", H({{"Vary", "X-A"}}), H({}), H({{"X-A", ""}}), false},
      {"§4.1 both absent", H({{"Vary", "X-A"}}), H({}), H({}), true},
      {"§4.1 whitespace normalized", H({{"Vary", "Accept-Encoding"}}),
       H({{"Accept-Encoding", "gzip,br"}}), H({{"Accept-Encoding", " gzip ,  br "}}), true},
      {"§4.1 field lines combined", H({{"Vary", "Accept"}}), H({{"Accept", "a, b"}}),
       H({{"Accept", "a"}, {"Accept", "b"}}), true},
      {"§4.1 several Vary lines and case", H({{"Vary", "x-a"}, {"vary", "X-B, X-A"}}),
       H({{"X-A", "1"}, {"X-B", "2"}}), H({{"x-b", "2"}, {"x-a", "1"}}), true},
      {"§4.1 second field differs", H({{"Vary", "X-A, X-B"}}), H({{"X-A", "1"}, {"X-B", "2"}}),
       H({{"X-A", "1"}, {"X-B", "3"}}), false},
      {"§4.1 value case is significant", H({{"Vary", "X-A"}}), H({{"X-A", "Fr"}}),
       H({{"X-A", "fr"}}), false},
  };
  for (const auto& c : cases) {
    auto stored = varySignature(c.response, c.storedRequest);
    auto fresh = varySignature(c.response, c.newRequest);
    ASSERT_TRUE(stored && fresh) << c.rfc;
    EXPECT_EQ(*stored == *fresh, c.matches) << c.rfc;
    // A stored entry's fields give the signature the HeaderList does.
    EXPECT_EQ(varySignature(c.response.fields(), c.newRequest), fresh) << c.rfc;
  }
}

TEST(VaryTest, StarNeverMatches) {
  for (const char* vary : {"*", "Accept, *", " * "}) {
    EXPECT_FALSE(varySignature(H({{"Vary", vary}}), H({})).has_value()) << vary;
    EXPECT_FALSE(varySignature(H({{"Vary", vary}}).fields(), H({})).has_value()) << vary;
  }
}

TEST(VaryTest, NoVaryGivesAnEmptySignature) {
  EXPECT_EQ(varySignature(H({}), H({{"Accept", "x"}})), "");
}

}  // namespace
}  // namespace strata::edge::policy

// Proxy forwarding rules (RFC 9110 §7.6), table-driven.

#include "edge/pipeline/forwarding.h"

#include <gtest/gtest.h>

namespace strata::edge::pipeline {
namespace {

using http::HeaderList;

HeaderList H(std::vector<HeaderList::Field> fields) { return HeaderList(std::move(fields)); }

TEST(ForwardingTest, HopByHopFieldsAreRemoved) {
  struct Case {
    const char* rfc;
    HeaderList in;
    std::vector<const char*> gone;
    std::vector<const char*> kept;
  };
  const std::vector<Case> cases = {
      {"§7.6.1 fixed list",
       H({{"Connection", "keep-alive"},
          {"Keep-Alive", "timeout=5"},
          {"Proxy-Connection", "keep-alive"},
          {"TE", "trailers"},
          {"Trailer", "X"},
          {"Transfer-Encoding", "chunked"},
          {"Upgrade", "h2c"},
          {"Accept", "*/*"}}),
       {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
        "Upgrade"},
       {"Accept"}},
      {"§7.6.1 fields named by Connection, any case, several lines",
       H({{"connection", "X-A , x-b"},
          {"Connection", "X-C"},
          {"x-a", "1"},
          {"X-B", "2"},
          {"X-C", "3"},
          {"X-D", "4"}}),
       {"X-A", "X-B", "X-C", "Connection"},
       {"X-D"}},
      {"§7.6.1 empty list elements are ignored",
       H({{"Connection", ", ,X-A,"}, {"X-A", "1"}}),
       {"X-A"},
       {}},
  };
  for (auto c : cases) {
    stripHopByHop(c.in);
    for (auto name : c.gone) EXPECT_FALSE(c.in.has(name)) << c.rfc << " " << name;
    for (auto name : c.kept) EXPECT_TRUE(c.in.has(name)) << c.rfc << " " << name;
  }
}

TEST(ForwardingTest, ViaIsAppendedAndLoopsAreFound) {
  HeaderList h = H({{"Via", "1.0 fred, 1.1 p.example.net"}});
  appendVia(h, "edge-1");
  EXPECT_EQ(h.getAll("Via").size(), 2u);
  EXPECT_TRUE(viaContains(h, "edge-1"));
  EXPECT_TRUE(viaContains(h, "fred"));
  EXPECT_FALSE(viaContains(h, "edge"));
  EXPECT_FALSE(viaContains(h, "1.1"));
  EXPECT_TRUE(viaContains(H({{"Via", "HTTP/1.1 shield-2 (Strata)"}}), "shield-2"));
  EXPECT_FALSE(viaContains(H({{"Via", "shield-2"}}), "shield-2"));
  EXPECT_FALSE(viaContains(H({}), "edge-1"));
}

TEST(ForwardingTest, ForwardedForIsAppended) {
  HeaderList fresh;
  addForwardedFor(fresh, "192.0.2.1", "http");
  EXPECT_EQ(fresh.get("X-Forwarded-For").value_or(""), "192.0.2.1");
  EXPECT_EQ(fresh.get("X-Forwarded-Proto").value_or(""), "http");

  HeaderList chained = H({{"X-Forwarded-For", "203.0.113.9"},
                          {"X-Forwarded-For", "198.51.100.2"},
                          {"X-Forwarded-Proto", "https"}});
  addForwardedFor(chained, "192.0.2.1", "http");
  EXPECT_EQ(chained.getAll("X-Forwarded-For").size(), 1u);
  EXPECT_EQ(chained.get("X-Forwarded-For").value_or(""), "203.0.113.9, 198.51.100.2, 192.0.2.1");
  EXPECT_EQ(chained.get("X-Forwarded-Proto").value_or(""), "http");
}

}  // namespace
}  // namespace strata::edge::pipeline

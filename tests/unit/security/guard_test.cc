// The guard: per-route protections in order, with rewrites and the exact answers.

#include "edge/security/guard.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edge/security/url_signature.h"

namespace strata::edge::security {
namespace {

const std::string kKey = "url-key-0123456789abcdef";

std::string header(const Verdict& v, const std::string& name) {
  for (const auto& [n, value] : v.headers) {
    if (n == name) return value;
  }
  return "";
}

TEST(GuardHelpersTest, HttpsLocationDropsTheHttpPort) {
  struct Case {
    const char* host;
    const char* target;
    int port;
    const char* location;
  };
  const std::vector<Case> cases = {
      {"example.com", "/a?b=1", 443, "https://example.com/a?b=1"},
      {"example.com:8080", "/a", 443, "https://example.com/a"},
      {"example.com:8080", "/a", 8443, "https://example.com:8443/a"},
      {"[2001:db8::1]:8080", "/", 443, "https://[2001:db8::1]/"},
      {"[2001:db8::1]", "/x", 443, "https://[2001:db8::1]/x"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(httpsLocation(c.host, c.target, c.port), c.location) << c.host << c.target;
  }
}

TEST(GuardHelpersTest, HstsValue) {
  EXPECT_EQ(hstsValue(31536000, true, false), "max-age=31536000; includeSubDomains");
  EXPECT_EQ(hstsValue(600, false, false), "max-age=600");
  EXPECT_EQ(hstsValue(63072000, true, true), "max-age=63072000; includeSubDomains; preload");
}

TEST(GuardHelpersTest, RoutingTargetNormalizesThePathOnly) {
  struct Case {
    const char* target;
    const char* routing;
  };
  const std::vector<Case> cases = {
      {"/private/a", "/private/a"},
      {"/%70rivate/a", "/private/a"},
      {"/private%2Fa", "/private/a"},
      {"//private/a", "/private/a"},
      {"/public/../private/a", "/private/a"},
      {"/./private/./a", "/private/a"},
      {"/private/", "/private/"},
      {"/../../private", "/private"},
      {"/a%20b?x=/../y", "/a%20b?x=/../y"},
      {"", "/"},
      {"/private/a?q=%70", "/private/a?q=%70"},
  };
  for (const auto& c : cases) EXPECT_EQ(routingTarget(c.target), c.routing) << c.target;
}

class GuardTest : public ::testing::Test {
 protected:
  GuardTest() {
    GuardOptions options;
    options.signingKeys = {kKey};
    RoutePolicy open;    // 0: nothing.
    RoutePolicy denied;  // 1: loopback denied, https redirect, HSTS.
    denied.access.deny = {*http::parseCidr("127.0.0.0/8")};
    RoutePolicy https;  // 2: redirect to 8443 and HSTS.
    https.httpsRedirect = true;
    https.httpsPort = 8443;
    https.hsts = "max-age=60";
    RoutePolicy limited;  // 3: 1/s burst 2.
    limited.rate = RoutePolicy::Rate::kOwn;
    limited.ownRate = {1, 2};
    RoutePolicy signedRoute;  // 4: signed URLs.
    signedRoute.signedUrls = true;
    RoutePolicy jwtRoute;  // 5: JWT with a verifier-less guard: every token is refused.
    jwtRoute.jwt = true;
    options.routes = {open, denied, https, limited, signedRoute, jwtRoute};
    guard_ = std::make_unique<Guard>(
        std::move(options), nullptr, [this] { return now_; }, [this] { return now_ * 1000; });
  }

  Verdict check(std::size_t route, const std::string& target = "/x",
                const std::string& scheme = "http", const std::string& method = "GET",
                const std::string& client = "127.0.0.1") {
    RequestFacts facts;
    facts.method = method;
    facts.scheme = scheme;
    facts.host = "example.com:8080";
    facts.target = target;
    facts.clientAddress = client;
    return guard_->check(facts, route);
  }

  std::int64_t now_ = 1'700'000'000;
  std::unique_ptr<Guard> guard_;
};

TEST_F(GuardTest, AnswersEachProtectionWithItsStatus) {
  EXPECT_TRUE(check(0).admitted());
  EXPECT_EQ(check(1).status, 403);
  EXPECT_TRUE(check(1, "/x", "http", "GET", "192.0.2.1").admitted());

  const Verdict redirect = check(2, "/a?b=1");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(header(redirect, "Location"), "https://example.com:8443/a?b=1");
  EXPECT_EQ(redirect.hsts, "") << "HSTS is for https responses only";
  EXPECT_EQ(check(2, "/a", "http", "POST").status, 308);
  const Verdict overTls = check(2, "/a", "https");
  EXPECT_TRUE(overTls.admitted());
  EXPECT_EQ(overTls.hsts, "max-age=60");

  EXPECT_TRUE(check(3).admitted());
  EXPECT_TRUE(check(3).admitted());
  const Verdict limited = check(3);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header(limited, "Retry-After"), "1");
  now_ += 1;
  EXPECT_TRUE(check(3).admitted());

  EXPECT_EQ(check(4, "/v").status, 403);
  const Verdict signedOk = check(4, signTarget("/v?x=1", now_ + 5, kKey));
  ASSERT_TRUE(signedOk.admitted());
  EXPECT_EQ(signedOk.target, "/v?x=1");

  const Verdict noToken = check(5);
  EXPECT_EQ(noToken.status, 401);
  EXPECT_EQ(header(noToken, "WWW-Authenticate"), "Bearer realm=\"strata\"");
}

TEST_F(GuardTest, NoRouteMeansNoRoutePolicy) {
  RequestFacts facts;
  facts.method = "GET";
  facts.scheme = "http";
  facts.target = "/";
  facts.clientAddress = "127.0.0.1";
  EXPECT_TRUE(guard_->check(facts, std::nullopt).admitted());
  EXPECT_TRUE(guard_->check(facts, 99).admitted());
}

}  // namespace
}  // namespace strata::edge::security

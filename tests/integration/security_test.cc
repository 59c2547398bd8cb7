// Edge protection through the real node over sockets (issue 9): access lists, rate limits,
// origin hiding, signed URLs, JWT bearer tokens and HTTPS redirects. Every refusal is checked
// not to have reached the origin (its request count) or the cache (the next request's
// Cache-Status).

#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edge/app/node.h"
#include "edge/pipeline/stats.h"
#include "edge/security/url_signature.h"
#include "node_fixture.h"
#include "test_support.h"

namespace strata::testing {
namespace {

using edge::app::Config;
using edge::app::Route;
using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string kUrlKey = "url-key-current-0123456789";
const std::string kOldUrlKey = "url-key-previous-0123456789";
const std::string kJwtSecret = "jwt-secret-0123456789abcdef";

Route route(const std::string& prefix) {
  Route r;
  r.pathPrefix = prefix;
  r.pools = {"origin"};
  return r;
}

std::string jwt(std::int64_t now, const std::string& audience,
                const std::string& secret = kJwtSecret) {
  Poco::JWT::Token token;
  token.setSubject("user-1");
  token.setAudience(audience);
  token.setExpiration(Poco::Timestamp::fromEpochTime(now + 300));
  return Poco::JWT::Signer(secret).sign(token, Poco::JWT::Signer::ALGO_HS256);
}

class SecurityTest : public ::testing::Test {
 protected:
  void start(Config config) { node_ = startNode(config, &clock_); }
  Config base() { return configFor(origin_.url(), dir_.path()); }
  Response get(const std::string& uri, Headers h = {}) {
    return request(node_->proxyPort(), "GET", uri, std::move(h));
  }
  void serveCacheable(const std::string& path) {
    origin_.on(path, ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "body"));
  }

  ScriptedOrigin origin_;
  TempDir dir_;
  TestClock clock_;
  std::unique_ptr<edge::app::Node> node_;
};

TEST_F(SecurityTest, AccessListsRefuseWith403BeforeCacheAndOrigin) {
  Config c = base();
  Route denied = route("/denied/");
  denied.security.deny = {"127.0.0.0/8"};
  Route allowed = route("/allowed/");
  allowed.security.allow = {"127.0.0.0/8"};
  Route others = route("/others/");
  others.security.allow = {"10.0.0.0/8"};  // A non-empty allow list excludes everyone else.
  c.routes = {route("/"), denied, allowed, others};
  start(c);
  for (const char* path : {"/denied/a", "/allowed/a", "/others/a"}) serveCacheable(path);

  Response refused = get("/denied/a");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.header("Cache-Control"), "no-store");
  EXPECT_TRUE(has(refused, "detail=forbidden")) << refused.header("Cache-Status");
  // The path is matched normalized: encodings and dot segments do not slip past the rule.
  EXPECT_EQ(get("/%64enied/a").status, 403);
  EXPECT_EQ(get("//denied/a").status, 403);
  EXPECT_EQ(get("/x/../denied/a").status, 403);
  EXPECT_EQ(get("/others/a").status, 403);
  EXPECT_EQ(origin_.count("/denied/a"), 0);
  EXPECT_EQ(origin_.count("/others/a"), 0);

  Response ok = get("/allowed/a");
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(has(ok, "fwd=uri-miss"));
  EXPECT_EQ(origin_.count("/allowed/a"), 1);
  EXPECT_EQ(node_->stats().refused.load(), 5u);
}

TEST_F(SecurityTest, RateLimitAnswers429WithRetryAfterThenRecovers) {
  Config c = base();
  c.security.rateLimit = edge::app::RateLimitConfig{1.0 / 60, 2};  // 1/m, burst 2.
  Route exempt = route("/exempt/");
  exempt.security.rateLimitOff = true;
  Route own = route("/own/");
  own.security.rateLimit = edge::app::RateLimitConfig{1.0 / 60, 1};
  c.routes = {route("/"), exempt, own};
  start(c);
  serveCacheable("/limited");
  serveCacheable("/exempt/a");
  serveCacheable("/own/a");

  EXPECT_EQ(get("/limited").status, 200);
  EXPECT_EQ(get("/limited").status, 200);
  Response limited = get("/limited");
  EXPECT_EQ(limited.status, 429);
  // One token a minute: the next one is due in a minute (less the real time that passed).
  const int retryAfter = std::stoi(limited.header("Retry-After"));
  EXPECT_GE(retryAfter, 55);
  EXPECT_LE(retryAfter, 60);
  EXPECT_TRUE(has(limited, "detail=rate-limited"));
  EXPECT_EQ(origin_.count("/limited"), 1);  // The miss; the second was a hit.
  // Routes with their own limit or none are not held by the node-wide bucket.
  EXPECT_EQ(get("/exempt/a").status, 200);
  EXPECT_EQ(get("/exempt/a").status, 200);
  EXPECT_EQ(get("/own/a").status, 200);
  EXPECT_EQ(get("/own/a").status, 429);

  clock_.advance(retryAfter);
  Response again = get("/limited");
  EXPECT_EQ(again.status, 200);
  EXPECT_TRUE(has(again, "hit"));
  EXPECT_EQ(get("/limited").status, 429);
}

TEST_F(SecurityTest, OriginIdentifyingHeadersNeverReachClients) {
  Config c = base();
  c.security.hideHeaders = {"X-AspNet-Version", "X-Backend"};
  start(c);
  const Headers identifying = {{"Server", "Apache/2.4.57 (Debian)"},
                               {"X-Powered-By", "PHP/8.2"},
                               {"X-AspNet-Version", "4.0.30319"},
                               {"X-Backend", "db-3.internal"},
                               {"X-Kept", "yes"}};
  Headers cacheable = identifying;
  cacheable.emplace_back("Cache-Control", "max-age=600");
  origin_.on("/cached", ScriptedOrigin::fixed(200, cacheable, "cached"));
  origin_.on("/private", ScriptedOrigin::fixed(200, identifying, "uncacheable"));
  origin_.on("/post", ScriptedOrigin::fixed(201, identifying, "created"));
  auto expectHidden = [](const Response& r, const std::string& what) {
    EXPECT_EQ(r.status / 100, 2) << what;
    for (const char* name : {"Server", "X-Powered-By", "X-AspNet-Version", "X-Backend"}) {
      EXPECT_FALSE(r.headers.has(name)) << what << " leaks " << name << ": " << r.header(name);
    }
    EXPECT_EQ(r.header("X-Kept"), "yes") << what;
  };
  Response miss = get("/cached");
  expectHidden(miss, "miss");
  Response hit = get("/cached");
  EXPECT_TRUE(has(hit, "; hit"));
  expectHidden(hit, "hit");
  Response revalidated = get("/cached", {{"If-None-Match", "\"x\""}});
  expectHidden(revalidated, "hit with a condition");
  expectHidden(get("/private"), "uncacheable pass-through");
  expectHidden(request(node_->proxyPort(), "POST", "/post", {}, "data"), "POST pass-through");
  expectHidden(get("/cached", {{"Authorization", "Basic dTpw"}}), "bypass");
}

TEST_F(SecurityTest, ErrorPagesNeverNameBackendsOnAnyPath) {
  Config c = base();
  c.pools[0].backends = {{"secret-backend-7", "http://127.0.0.1:1", 1}};
  c.pools[0].retryTries = 1;
  start(c);
  const std::vector<std::pair<std::string, Response>> answers = {
      {"GET miss (shared fetch)", get("/a")},
      {"POST (direct forward)", request(node_->proxyPort(), "POST", "/b", {}, "x")},
      {"bypass (direct forward)", get("/c", {{"Cache-Control", "no-store"}})},
      {"only-if-cached", get("/d", {{"Cache-Control", "only-if-cached"}})},
  };
  for (const auto& [what, r] : answers) {
    EXPECT_TRUE(r.status == 502 || r.status == 504) << what << ": " << r.status;
    std::string everything = r.body;
    for (const auto& [name, value] : r.headers.fields()) everything += name + ": " + value + "\n";
    for (const char* secret : {"127.0.0.1", "secret-backend-7", "http://"}) {
      EXPECT_EQ(everything.find(secret), std::string::npos) << what << " shows " << secret << "\n"
                                                            << everything;
    }
  }
}

TEST_F(SecurityTest, SignedUrlsShareOneCacheEntryAndRefuseTheRest) {
  Config c = base();
  c.security.signingKeys = {kUrlKey, kOldUrlKey};
  Route signedRoute = route("/signed/");
  signedRoute.security.signedUrls = true;
  c.routes = {route("/"), signedRoute};
  start(c);
  serveCacheable("/signed/a");
  const std::int64_t now = clock_.now();
  using edge::security::signTarget;

  std::string tampered = signTarget("/signed/a?x=1", now + 60, kUrlKey);
  tampered.replace(tampered.find("x=1"), 3, "x=2");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"unsigned", "/signed/a?x=1"},
      {"expired", signTarget("/signed/a?x=1", now - 10, kUrlKey)},
      {"tampered", tampered},
      {"unknown key", signTarget("/signed/a?x=1", now + 60, "someone-elses-key-123456")},
  };
  for (const auto& [what, target] : refused) {
    Response r = get(target);
    EXPECT_EQ(r.status, 403) << what;
    EXPECT_TRUE(has(r, "detail=signature-")) << what << ": " << r.header("Cache-Status");
  }
  EXPECT_EQ(origin_.count("/signed/a"), 0);

  Response first = get(signTarget("/signed/a?x=1", now + 60, kUrlKey));
  EXPECT_EQ(first.status, 200);
  EXPECT_TRUE(has(first, "fwd=uri-miss")) << "refused requests filled nothing";
  // Another holder, another expiry, signed with the previous key: the same cache entry.
  Response second = get(signTarget("/signed/a?x=1", now + 3600, kOldUrlKey));
  EXPECT_EQ(second.status, 200);
  EXPECT_TRUE(has(second, "; hit")) << second.header("Cache-Status");
  EXPECT_EQ(second.body, "body");
  ASSERT_EQ(origin_.count("/signed/a"), 1);
  EXPECT_EQ(origin_.requests().back().uri, "/signed/a?x=1") << "the origin sees no signature";
  // The cached entry is no way around the signature.
  EXPECT_EQ(get("/signed/a?x=1").status, 403);
}

TEST_F(SecurityTest, JwtRoutesAnswer401And403AndCacheValidatedRequests) {
  Config c = base();
  c.security.jwtKeys = {{kJwtSecret, ""}};
  c.security.jwtAudience = "cdn";
  Route protectedRoute = route("/jwt/");
  protectedRoute.security.jwt = true;
  Route forwarding = route("/fwd/");
  forwarding.security.jwt = true;
  forwarding.security.jwtAudience = "api";
  forwarding.security.jwtForwardAuthorization = true;
  c.routes = {route("/"), protectedRoute, forwarding};
  start(c);
  serveCacheable("/jwt/a");
  serveCacheable("/fwd/a");
  const std::int64_t now = clock_.now();
  auto bearer = [](const std::string& token) {
    return Headers{{"Authorization", "Bearer " + token}};
  };

  Response missing = get("/jwt/a");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.header("WWW-Authenticate"), "Bearer realm=\"strata\"");
  Response forged = get("/jwt/a", bearer(jwt(now, "cdn", "not-the-secret-0123456789")));
  EXPECT_EQ(forged.status, 401);
  EXPECT_NE(forged.header("WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
  Response basic = get("/jwt/a", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(basic.status, 401);
  Response wrongAudience = get("/jwt/a", bearer(jwt(now, "api")));
  EXPECT_EQ(wrongAudience.status, 403);
  EXPECT_EQ(origin_.count("/jwt/a"), 0);

  Response ok = get("/jwt/a", bearer(jwt(now, "cdn")));
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(has(ok, "fwd=uri-miss")) << "refused requests filled nothing";
  ASSERT_EQ(origin_.count("/jwt/a"), 1);
  EXPECT_FALSE(origin_.requests().back().headers.has("Authorization"))
      << "validated tokens stay at the edge";
  Response hit = get("/jwt/a", bearer(jwt(now + 1, "cdn")));
  EXPECT_TRUE(has(hit, "; hit")) << hit.header("Cache-Status");
  // Expiry follows the node's clock.
  clock_.advance(301);
  EXPECT_EQ(get("/jwt/a", bearer(jwt(now, "cdn"))).status, 401);

  // forward_authorization: the origin sees the token, and the response is not shared.
  const auto apiToken = jwt(clock_.now(), "api");
  EXPECT_EQ(get("/fwd/a", bearer(apiToken)).status, 200);
  Response again = get("/fwd/a", bearer(apiToken));
  EXPECT_EQ(again.status, 200);
  EXPECT_FALSE(has(again, "; hit"));
  EXPECT_EQ(origin_.count("/fwd/a"), 2);
  EXPECT_EQ(origin_.requests().back().headers.get("Authorization"), "Bearer " + apiToken);
}

TEST_F(SecurityTest, HttpsRedirectGivesTheExactLocation) {
  Config c = base();
  Route secure = route("/secure/");
  secure.security.httpsRedirect = true;
  secure.security.hsts = edge::app::HstsConfig{31536000, true, false};
  Route otherPort = route("/alt/");
  otherPort.security.httpsRedirect = true;
  otherPort.security.httpsRedirectPort = 8443;
  c.routes = {route("/"), secure, otherPort};
  start(c);
  serveCacheable("/secure/a");
  serveCacheable("/plain");

  Response moved = get("/secure/a?b=1&c=%20", {{"Host", "www.example.com:8080"}});
  EXPECT_EQ(moved.status, 301);
  EXPECT_EQ(moved.header("Location"), "https://www.example.com/secure/a?b=1&c=%20");
  EXPECT_FALSE(moved.headers.has("Strict-Transport-Security")) << "HSTS only over https";
  Response post =
      request(node_->proxyPort(), "POST", "/secure/a", {{"Host", "www.example.com"}}, "x");
  EXPECT_EQ(post.status, 308);
  EXPECT_EQ(post.header("Location"), "https://www.example.com/secure/a");
  Response alt = get("/alt/x", {{"Host", "www.example.com:8080"}});
  EXPECT_EQ(alt.status, 301);
  EXPECT_EQ(alt.header("Location"), "https://www.example.com:8443/alt/x");
  EXPECT_EQ(origin_.count("/secure/a"), 0);
  EXPECT_EQ(origin_.count("/alt/x"), 0);
  Response plain = get("/plain");
  EXPECT_EQ(plain.status, 200);
  EXPECT_FALSE(plain.headers.has("Strict-Transport-Security"));
}

}  // namespace
}  // namespace strata::testing

// HTTP caching semantics through the real node (RFC 9111, 5861, 9211, 9213, RFC 9110 ranges and
// conditionals), in process on port 0 against a scripted origin, with a controllable clock.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "edge/http/http_date.h"
#include "node_fixture.h"
#include "test_support.h"

namespace strata::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

std::int64_t realNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An origin resource with an ETag that answers conditional requests with 304 and counts them.
struct Validated {
  std::atomic<int> full{0};
  std::atomic<int> notModified{0};
  std::string etag = "\"v1\"";
  std::string cacheControl = "max-age=10";
  std::string body = "validated body";
  Headers extra;               // Sent on 200 and 304.
  int errorStatus = 0;         // When set, every request gets this status.
  TestClock* clock = nullptr;  // When set, Date comes from the node's clock.

  ScriptedOrigin::Handler handler() {
    return [this](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
      if (clock) res.set("Date", edge::http::formatHttpDate(clock->now()));
      if (errorStatus) {
        res.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(errorStatus));
        res.setContentLength(5);
        res.send() << "error";
        return;
      }
      res.add("Cache-Control", cacheControl);
      res.add("ETag", etag);
      for (const auto& [n, v] : extra) res.add(n, v);
      if (req.get("If-None-Match", "") == etag) {
        ++notModified;
        res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
        res.send();
        return;
      }
      ++full;
      res.setContentLength64(static_cast<std::int64_t>(body.size()));
      res.send() << body;
    };
  }
};

class SemanticsTest : public ::testing::Test {
 protected:
  void SetUp() override { node_ = startNode(configFor(origin_.url(), dir_.path()), &clock_); }
  Response get(const std::string& uri, Headers h = {}) {
    return request(node_->proxyPort(), "GET", uri, std::move(h));
  }
  void serve(const std::string& path, Headers headers, const std::string& body) {
    origin_.on(path, ScriptedOrigin::fixed(200, std::move(headers), body));
  }

  ScriptedOrigin origin_;
  TempDir dir_;
  TestClock clock_;
  std::unique_ptr<edge::app::Node> node_;
};

// --- RFC 9111 §4.2.1: freshness lifetime -------------------------------------------------

TEST_F(SemanticsTest, SMaxAgeWinsOverMaxAgeForASharedCache) {
  serve("/smax", {{"Cache-Control", "max-age=0, s-maxage=60"}}, "shared");
  get("/smax");
  EXPECT_TRUE(has(get("/smax"), "; hit"));
  EXPECT_EQ(origin_.count("/smax"), 1);
}

TEST_F(SemanticsTest, ResponsesExpireWhenTheirLifetimeEnds) {
  serve("/short", {{"Cache-Control", "max-age=30"}}, "short");
  get("/short");
  clock_.advance(20);
  EXPECT_TRUE(has(get("/short"), "; hit"));
  clock_.advance(15);
  Response stale = get("/short");
  EXPECT_TRUE(has(stale, "fwd=stale")) << stale.header("Cache-Status");
  EXPECT_EQ(origin_.count("/short"), 2);
}

// --- RFC 9111 §4.2.2: heuristic freshness ------------------------------------------------

TEST_F(SemanticsTest, LastModifiedGivesAHeuristicLifetime) {
  serve("/heuristic", {{"Last-Modified", edge::http::formatHttpDate(realNow() - 10 * 86400)}},
        "old");
  get("/heuristic");
  Response hit = get("/heuristic");
  EXPECT_TRUE(has(hit, "; hit")) << hit.header("Cache-Status");
  EXPECT_EQ(origin_.count("/heuristic"), 1);
}

// --- RFC 9111 §4.2.3: age ----------------------------------------------------------------

TEST_F(SemanticsTest, AnUpstreamAgeCountsAgainstTheLifetime) {
  serve("/aged", {{"Cache-Control", "max-age=60"}, {"Age", "50"}}, "aged");
  get("/aged");
  Response hit = get("/aged");
  EXPECT_TRUE(has(hit, "; hit"));
  EXPECT_GE(std::stoi(hit.header("Age")), 50);
  clock_.advance(15);
  EXPECT_TRUE(has(get("/aged"), "fwd=stale"));
}

// --- RFC 9111 §4.3: validation -----------------------------------------------------------

TEST_F(SemanticsTest, StaleEntriesAreRevalidatedAndFreshenedBy304) {
  Validated v;
  v.clock = &clock_;
  v.extra = {{"X-Version", "1"}};
  origin_.on("/v", v.handler());
  EXPECT_EQ(get("/v").body, "validated body");
  clock_.advance(20);
  v.extra = {{"X-Version", "2"}};
  Response revalidated = get("/v");
  EXPECT_EQ(revalidated.status, 200);
  EXPECT_EQ(revalidated.body, "validated body");
  EXPECT_TRUE(has(revalidated, "fwd=stale; fwd-status=304")) << revalidated.header("Cache-Status");
  EXPECT_EQ(revalidated.header("X-Version"), "2");  // §4.3.4: stored fields updated.
  EXPECT_EQ(v.full.load(), 1);
  EXPECT_EQ(v.notModified.load(), 1);
  auto seen = origin_.requests();
  EXPECT_EQ(seen.back().headers.get("If-None-Match").value_or(""), "\"v1\"");
  Response hit = get("/v");
  EXPECT_TRUE(has(hit, "; hit"));
  EXPECT_EQ(hit.header("X-Version"), "2");
}

TEST_F(SemanticsTest, ANewRepresentationReplacesTheStoredOne) {
  Validated v;
  v.clock = &clock_;
  origin_.on("/changed", v.handler());
  get("/changed");
  clock_.advance(20);
  v.etag = "\"v2\"";
  v.body = "new body";
  Response r = get("/changed");
  EXPECT_EQ(r.body, "new body");
  EXPECT_TRUE(has(get("/changed"), "; hit"));
  EXPECT_EQ(get("/changed").body, "new body");
}

TEST_F(SemanticsTest, ClientConditionalsAreAnsweredFromCache) {
  Validated v;
  v.extra = {{"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}};
  origin_.on("/cond", v.handler());
  get("/cond");
  Response notModified = get("/cond", {{"If-None-Match", "W/\"v1\""}});  // Weak comparison.
  EXPECT_EQ(notModified.status, 304);
  EXPECT_TRUE(notModified.body.empty());
  EXPECT_EQ(notModified.header("ETag"), "\"v1\"");
  EXPECT_EQ(get("/cond", {{"If-None-Match", "\"other\""}}).status, 200);
  EXPECT_EQ(get("/cond", {{"If-Modified-Since", "Tue, 02 Jan 2024 00:00:00 GMT"}}).status, 304);
  EXPECT_EQ(get("/cond", {{"If-Modified-Since", "Sun, 31 Dec 2023 00:00:00 GMT"}}).status, 200);
  EXPECT_EQ(get("/cond", {{"If-Match", "\"nope\""}}).status, 412);
  EXPECT_EQ(v.full.load(), 1);
}

TEST_F(SemanticsTest, AConditionalMissStoresTheFullResponseAndAnswers304) {
  Validated v;
  origin_.on("/condmiss", v.handler());
  Response r = get("/condmiss", {{"If-None-Match", "\"v1\""}});
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(v.full.load(), 1);  // The origin was asked for the full response, and it is stored.
  EXPECT_EQ(get("/condmiss").body, "validated body");
  EXPECT_EQ(v.full.load(), 1);
}

// --- RFC 9111 §5.2.1: request directives -------------------------------------------------

TEST_F(SemanticsTest, RequestNoCacheAndMaxAgeZeroForceValidation) {
  Validated v;
  origin_.on("/rq", v.handler());
  get("/rq");
  Response noCache = get("/rq", {{"Cache-Control", "no-cache"}});
  EXPECT_TRUE(has(noCache, "fwd=request; fwd-status=304")) << noCache.header("Cache-Status");
  // RFC 9111 §5.2.1.1 accepts age <= max-age: at age 0 the entry still satisfies max-age=0.
  clock_.advance(1);
  Response maxAge0 = get("/rq", {{"Cache-Control", "max-age=0"}});
  EXPECT_TRUE(has(maxAge0, "fwd=request")) << maxAge0.header("Cache-Status");
  Response pragma = get("/rq", {{"Pragma", "no-cache"}});
  EXPECT_TRUE(has(pragma, "fwd=request")) << pragma.header("Cache-Status");
  EXPECT_EQ(v.notModified.load(), 3);
  EXPECT_TRUE(has(get("/rq", {{"Cache-Control", "max-age=60"}}), "; hit"));
}

TEST_F(SemanticsTest, MinFreshAndMaxStale) {
  serve("/mf", {{"Cache-Control", "max-age=30"}}, "mf");
  get("/mf");
  clock_.advance(20);
  EXPECT_FALSE(has(get("/mf", {{"Cache-Control", "min-fresh=20"}}), "; hit"));
  serve("/ms", {{"Cache-Control", "max-age=10"}}, "ms");
  get("/ms");
  clock_.advance(15);
  Response staleOk = get("/ms", {{"Cache-Control", "max-stale=60"}});
  EXPECT_TRUE(has(staleOk, "; hit")) << staleOk.header("Cache-Status");
  EXPECT_TRUE(has(staleOk, "detail=stale"));
}

TEST_F(SemanticsTest, OnlyIfCachedAnswers504WhenNothingIsStored) {
  Response r = get("/absent", {{"Cache-Control", "only-if-cached"}});
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(origin_.count("/absent"), 0);
  serve("/present", {{"Cache-Control", "max-age=60"}}, "here");
  get("/present");
  EXPECT_EQ(get("/present", {{"Cache-Control", "only-if-cached"}}).body, "here");
}

TEST_F(SemanticsTest, RequestNoStoreBypassesTheCache) {
  serve("/ns", {{"Cache-Control", "max-age=60"}}, "ns");
  Response r = get("/ns", {{"Cache-Control", "no-store"}});
  EXPECT_TRUE(has(r, "fwd=bypass"));
  EXPECT_FALSE(has(get("/ns"), "; hit"));
}

// --- RFC 9111 §3: storing ----------------------------------------------------------------

TEST_F(SemanticsTest, AuthorizationNeedsPublicOrSMaxAge) {
  serve("/auth", {{"Cache-Control", "max-age=60"}}, "secret");
  serve("/auth-public", {{"Cache-Control", "public, max-age=60"}}, "shared");
  const Headers auth = {{"Authorization", "Bearer x"}};
  get("/auth", auth);
  EXPECT_FALSE(has(get("/auth", auth), "; hit"));
  get("/auth-public", auth);
  EXPECT_TRUE(has(get("/auth-public", auth), "; hit"));
}

TEST_F(SemanticsTest, QualifiedPrivateFieldsAreNotStored) {
  serve("/cookie", {{"Cache-Control", "max-age=60, private=\"Set-Cookie\""}, {"Set-Cookie", "s=1"}},
        "page");
  Response first = get("/cookie");
  EXPECT_FALSE(first.headers.has("Set-Cookie"));
  Response hit = get("/cookie");
  EXPECT_TRUE(has(hit, "; hit"));
  EXPECT_FALSE(hit.headers.has("Set-Cookie"));
}

TEST_F(SemanticsTest, ResponseNoCacheIsStoredButAlwaysRevalidated) {
  Validated v;
  v.cacheControl = "no-cache";
  origin_.on("/nc", v.handler());
  get("/nc");
  Response again = get("/nc");
  EXPECT_TRUE(has(again, "fwd-status=304")) << again.header("Cache-Status");
  EXPECT_EQ(again.body, "validated body");
  EXPECT_EQ(v.full.load(), 1);
}

// --- RFC 9111 §4.2.4 and RFC 5861: serving stale -------------------------------------------

TEST_F(SemanticsTest, StaleWhileRevalidateServesStaleAndRefreshesOnce) {
  std::atomic<int> version{1};
  origin_.on("/swr", [&](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& res) {
    res.set("Date", edge::http::formatHttpDate(clock_.now()));
    res.add("Cache-Control", "max-age=10, stale-while-revalidate=60");
    std::string body = "v" + std::to_string(version.load());
    res.setContentLength64(static_cast<std::int64_t>(body.size()));
    res.send() << body;
  });
  EXPECT_EQ(get("/swr").body, "v1");
  clock_.advance(15);
  version = 2;
  Response stale = get("/swr");
  EXPECT_EQ(stale.body, "v1");
  EXPECT_TRUE(has(stale, "; hit")) << stale.header("Cache-Status");
  EXPECT_TRUE(has(stale, "detail=stale"));
  // The background refresh lands; bounded wait for it.
  Response fresh;
  for (int i = 0; i < 200; ++i) {
    fresh = get("/swr");
    if (fresh.body == "v2") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(fresh.body, "v2");
  EXPECT_EQ(origin_.count("/swr"), 2);
}

TEST_F(SemanticsTest, StaleIfErrorServesStaleWhenTheOriginFails) {
  Validated v;
  v.cacheControl = "max-age=10, stale-if-error=300";
  origin_.on("/sie", v.handler());
  get("/sie");
  clock_.advance(20);
  v.errorStatus = 503;
  Response r = get("/sie");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "validated body");
  EXPECT_TRUE(has(r, "detail=stale-if-error")) << r.header("Cache-Status");
}

TEST_F(SemanticsTest, MustRevalidateForbidsServingStaleOnError) {
  Validated v;
  v.cacheControl = "max-age=10, must-revalidate, stale-if-error=300";
  origin_.on("/mr", v.handler());
  get("/mr");
  clock_.advance(20);
  v.errorStatus = 503;
  EXPECT_EQ(get("/mr").status, 503);
}

TEST_F(SemanticsTest, StaleIfErrorCoversAnUnreachableOrigin) {
  TempDir dir;
  ScriptedOrigin origin;
  origin.on("/down", ScriptedOrigin::fixed(
                         200, {{"Cache-Control", "max-age=10, stale-if-error=600"}}, "kept"));
  TestClock clock;
  auto node = startNode(configFor(origin.url(), dir.path()), &clock);
  request(node->proxyPort(), "GET", "/down", {{"Host", "h.test"}});
  node->stop();
  node.reset();
  // Same cache, but the origin is now a closed port.
  auto config = configFor("http://127.0.0.1:1", dir.path());
  node = startNode(config, &clock);
  clock.advance(30);
  Response r = request(node->proxyPort(), "GET", "/down", {{"Host", "h.test"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "kept");
  EXPECT_TRUE(has(r, "stale-if-error")) << r.header("Cache-Status");
}

// --- RFC 9111 §4.1: Vary -----------------------------------------------------------------

TEST_F(SemanticsTest, EachVariantIsStoredSeparately) {
  origin_.on("/lang", [](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::string body = "lang=" + req.get("Accept-Language", "none");
    res.add("Cache-Control", "max-age=60");
    res.add("Vary", "Accept-Language");
    res.setContentLength64(static_cast<std::int64_t>(body.size()));
    res.send() << body;
  });
  get("/lang", {{"Accept-Language", "fr"}});
  get("/lang", {{"Accept-Language", "de"}});
  Response fr = get("/lang", {{"Accept-Language", "fr"}});
  Response de = get("/lang", {{"Accept-Language", "de"}});
  EXPECT_EQ(fr.body, "lang=fr");
  EXPECT_EQ(de.body, "lang=de");
  EXPECT_TRUE(has(fr, "; hit"));
  EXPECT_TRUE(has(de, "; hit"));
  Response en = get("/lang", {{"Accept-Language", "en"}});
  EXPECT_TRUE(has(en, "fwd=vary-miss")) << en.header("Cache-Status");
  EXPECT_EQ(origin_.count("/lang"), 3);
}

// --- RFC 9111 §4.4: invalidation ---------------------------------------------------------

TEST_F(SemanticsTest, SuccessfulUnsafeMethodsInvalidateTargetAndLocation) {
  serve("/item", {{"Cache-Control", "max-age=60"}}, "item");
  serve("/list", {{"Cache-Control", "max-age=60"}}, "list");
  origin_.on("/item/edit", ScriptedOrigin::fixed(303, {{"Location", "/list"}}, ""));
  const Headers host = {{"Host", "shop.test"}};
  get("/item", host);
  get("/list", host);
  EXPECT_TRUE(has(get("/list", host), "; hit"));
  request(node_->proxyPort(), "POST", "/item", host, "x=1");
  EXPECT_FALSE(has(get("/item", host), "; hit"));
  request(node_->proxyPort(), "POST", "/item/edit", host, "x=2");
  EXPECT_FALSE(has(get("/list", host), "; hit"));
}

TEST_F(SemanticsTest, FailedUnsafeMethodsDoNotInvalidate) {
  serve("/keep", {{"Cache-Control", "max-age=60"}}, "keep");
  get("/keep");
  origin_.on("/keep", ScriptedOrigin::fixed(500, {}, "fail"));
  request(node_->proxyPort(), "DELETE", "/keep");
  EXPECT_TRUE(has(get("/keep"), "; hit"));
}

// --- RFC 9110 §14: ranges ----------------------------------------------------------------

TEST_F(SemanticsTest, RangesAreServedFromAStoredResponse) {
  const std::string body = pattern(1000);
  serve("/r", {{"Cache-Control", "max-age=60"}, {"Content-Type", "text/plain"}}, body);
  get("/r");
  Response one = get("/r", {{"Range", "bytes=10-19"}});
  EXPECT_EQ(one.status, 206);
  EXPECT_EQ(one.header("Content-Range"), "bytes 10-19/1000");
  EXPECT_EQ(one.body, body.substr(10, 10));
  Response suffix = get("/r", {{"Range", "bytes=-5"}});
  EXPECT_EQ(suffix.body, body.substr(995));
  Response multi = get("/r", {{"Range", "bytes=0-1, 500-501"}});
  EXPECT_EQ(multi.status, 206);
  EXPECT_EQ(multi.header("Content-Type").rfind("multipart/byteranges; boundary=", 0), 0u);
  EXPECT_NE(multi.body.find("Content-Range: bytes 500-501/1000"), std::string::npos);
  Response bad = get("/r", {{"Range", "bytes=5000-"}});
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(bad.header("Content-Range"), "bytes */1000");
  EXPECT_EQ(get("/r", {{"Range", "bytes=0-1"}, {"If-Range", "\"stale-tag\""}}).status, 200);
  EXPECT_EQ(origin_.count("/r"), 1);
}

TEST_F(SemanticsTest, ARangeMissFetchesTheWholeObjectOnce) {
  const std::string body = pattern(600000);
  serve("/rm", {{"Cache-Control", "max-age=60"}}, body);
  Response part = get("/rm", {{"Range", "bytes=300000-300009"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, body.substr(300000, 10));
  auto seen = origin_.requests();
  EXPECT_FALSE(seen.back().headers.has("Range"));
  Response whole = get("/rm");
  EXPECT_TRUE(has(whole, "; hit"));
  EXPECT_TRUE(whole.body == body);
  // A range over three stored chunks (256 KiB each), sent from memory in one vectored write.
  Response span = get("/rm", {{"Range", "bytes=262000-524300"}});
  EXPECT_EQ(span.status, 206);
  EXPECT_TRUE(span.body == body.substr(262000, 524300 - 262000 + 1));
  EXPECT_EQ(origin_.count("/rm"), 1);
}

// --- RFC 9213: targeted cache-control ----------------------------------------------------

TEST_F(SemanticsTest, CdnCacheControlTakesPrecedenceForThisCache) {
  serve("/cdn", {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}}, "cdn");
  get("/cdn");
  Response hit = get("/cdn");
  EXPECT_TRUE(has(hit, "; hit"));
  EXPECT_EQ(hit.header("Cache-Control"), "no-store");  // Passed on for downstream caches.
  serve("/targeted", {{"CDN-Cache-Control", "no-store"}, {"Strata-Cache-Control", "max-age=60"}},
        "node-specific");
  get("/targeted");
  EXPECT_TRUE(has(get("/targeted"), "; hit"));
  serve("/cdn-nostore", {{"Cache-Control", "max-age=60"}, {"CDN-Cache-Control", "no-store"}}, "x");
  get("/cdn-nostore");
  EXPECT_FALSE(has(get("/cdn-nostore"), "; hit"));
}

// --- RFC 9211: Cache-Status from two hops ------------------------------------------------

TEST_F(SemanticsTest, AnUpstreamCacheStatusIsKeptAndOursFollows) {
  serve("/two", {{"Cache-Control", "max-age=60"}, {"Cache-Status", "shield; hit"}}, "two");
  Response r = get("/two");
  auto lines = r.headers.getAll("Cache-Status");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "shield; hit");
  EXPECT_EQ(std::string(lines[1]).rfind("test-node; fwd=uri-miss", 0), 0u);
}

// --- RFC 9110 §15.2: interim responses ----------------------------------------------------

TEST(InterimTest, InterimResponsesAreSkippedAndNeverConfusedWithTheAnswer) {
  RawOrigin origin([](const std::string& head) -> std::string {
    const bool early = head.rfind("GET /early ", 0) == 0;
    const std::string body = early ? "final" : "other";
    std::string out;
    if (early) {
      out += "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n";
      out += "HTTP/1.1 102 Processing\r\n\r\n";
    }
    out += "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
    return out;
  });
  TempDir dir;
  auto node = startNode(configFor(origin.url(), dir.path()));
  // RFC 9110 §15.2: the interim responses are forwarded, ahead of the final one.
  const std::string raw = rawExchange(node->proxyPort(),
                                      "GET /early HTTP/1.1\r\nHost: i.test\r\n"
                                      "Connection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n", 0), 0u)
      << raw;
  EXPECT_NE(raw.find("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK"), std::string::npos) << raw;
  const auto finalAt = raw.find("HTTP/1.1 200 OK");
  ASSERT_NE(finalAt, std::string::npos) << raw;
  const std::string finalPart = raw.substr(finalAt);
  EXPECT_EQ(finalPart.find("Link:"), std::string::npos);  // Interim fields are not merged in.
  EXPECT_EQ(finalPart.substr(finalPart.size() - 5), "final");
  // The kept-alive origin connection carries on in step: the next answer is its own.
  EXPECT_EQ(request(node->proxyPort(), "GET", "/next").body, "other");
  // The stored response is the final one only: a hit has no interim responses.
  const std::string hit = rawExchange(node->proxyPort(),
                                      "GET /early HTTP/1.1\r\nHost: i.test\r\n"
                                      "Connection: close\r\n\r\n");
  EXPECT_EQ(hit.rfind("HTTP/1.1 200 OK", 0), 0u) << hit;
  EXPECT_NE(hit.find("; hit"), std::string::npos) << hit;
}

TEST_F(SemanticsTest, UnknownFinalStatusesWithExplicitFreshnessAreStored) {
  origin_.on("/299", ScriptedOrigin::fixed(299, {{"Cache-Control", "max-age=60"}}, "odd"));
  get("/299");
  Response hit = get("/299");
  EXPECT_EQ(hit.status, 299);
  EXPECT_TRUE(has(hit, "; hit"));
  origin_.on("/299mu",
             ScriptedOrigin::fixed(299, {{"Cache-Control", "max-age=60, must-understand"}}, "odd"));
  get("/299mu");
  EXPECT_FALSE(has(get("/299mu"), "; hit"));  // §5.2.2.3: not understood, not stored.
}

TEST_F(SemanticsTest, WrongTypedTargetedDirectivesAreIgnored) {
  serve("/cdn-quoted", {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=\"10000\""}},
        "x");
  get("/cdn-quoted");
  EXPECT_FALSE(has(get("/cdn-quoted"), "; hit"));
}

TEST_F(SemanticsTest, A304ForAnotherRepresentationTriggersAFullFetch) {
  std::atomic<int> calls{0};
  origin_.on("/etag-changed",
             [&](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& res) {
               res.set("Date", edge::http::formatHttpDate(clock_.now()));
               res.add("Cache-Control", "max-age=10");
               if (calls.fetch_add(1) == 1) {
                 res.add("ETag", "\"other\"");  // A 304 that does not match what is stored.
                 res.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
                 res.send();
                 return;
               }
               res.add("ETag", calls.load() == 1 ? "\"v1\"" : "\"v2\"");
               std::string body = calls.load() == 1 ? "first" : "second";
               res.setContentLength64(static_cast<std::int64_t>(body.size()));
               res.send() << body;
             });
  EXPECT_EQ(get("/etag-changed").body, "first");
  clock_.advance(20);
  Response r = get("/etag-changed");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "second");
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(SemanticsTest, StaleIsServedWhileTheOriginIsUnreachableUnlessForbidden) {
  TempDir dir;
  ScriptedOrigin origin;
  origin.on("/plain", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=10"}}, "plain"));
  origin.on("/strict",
            ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=10, must-revalidate"}}, "s"));
  TestClock clock;
  auto node = startNode(configFor(origin.url(), dir.path()), &clock);
  request(node->proxyPort(), "GET", "/plain", {{"Host", "h.test"}});
  request(node->proxyPort(), "GET", "/strict", {{"Host", "h.test"}});
  node->stop();
  node = startNode(configFor("http://127.0.0.1:1", dir.path()), &clock);
  clock.advance(60);  // Stale by about 50 s: within the default 5 minutes.
  Response plain = request(node->proxyPort(), "GET", "/plain", {{"Host", "h.test"}});
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "plain");
  EXPECT_EQ(request(node->proxyPort(), "GET", "/strict", {{"Host", "h.test"}}).status, 502);
  clock.advance(600);  // Beyond the window.
  EXPECT_EQ(request(node->proxyPort(), "GET", "/plain", {{"Host", "h.test"}}).status, 502);
}

TEST_F(SemanticsTest, HeadOnAnUncacheableUrlIsForwardedIntact) {
  serve("/nohead", {{"Cache-Control", "no-store"}}, "twelve bytes");
  get("/nohead");  // Remembered as uncacheable: later requests are forwarded as they are.
  Response head = request(node_->proxyPort(), "HEAD", "/nohead");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.complete);
  EXPECT_EQ(head.header("Content-Length"), "12");
  EXPECT_EQ(get("/nohead").body, "twelve bytes");
}

TEST_F(SemanticsTest, EntriesThatCanNeverBeServedAgainAreReclaimed) {
  serve("/gone", {{"Cache-Control", "max-age=10"}}, "gone");
  serve("/kept", {{"Cache-Control", "max-age=10"}, {"ETag", "\"k\""}}, "kept");
  serve("/fresh", {{"Cache-Control", "max-age=100000"}}, "fresh");
  for (const char* path : {"/gone", "/kept", "/fresh"}) get(path);
  EXPECT_EQ(node_->reclaimExpired(), 0u);  // Nothing is past its windows yet.
  clock_.advance(3600);
  EXPECT_EQ(node_->reclaimExpired(), 1u);  // Only /gone: stale, no validators, no stale window.
  EXPECT_TRUE(has(get("/fresh"), "; hit"));
}

}  // namespace
}  // namespace strata::testing

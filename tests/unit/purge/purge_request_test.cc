#include "purge/purge_request.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace strata::purge {
namespace {

// ---- parsePurgeRequest: errors ---------------------------------------------------------------

struct ErrorCase {
  const char* name;
  std::string body;
  int status;
  std::string error;  // Exact message, or a prefix when `prefixOnly`.
  bool prefixOnly = false;
  PurgeLimits limits = {};
};

class PurgeRequestErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PurgeRequestErrorTest, Rejects) {
  const auto& c = GetParam();
  const PurgeParseResult r = parsePurgeRequest(c.body, c.limits);
  EXPECT_FALSE(r.request.has_value()) << c.name;
  EXPECT_EQ(r.httpStatus, c.status) << c.name;
  if (c.prefixOnly) {
    EXPECT_EQ(r.error.substr(0, c.error.size()), c.error) << c.name << ": " << r.error;
  } else {
    EXPECT_EQ(r.error, c.error) << c.name;
  }
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << c.name;
}

PurgeLimits smallLimits() {
  PurgeLimits l;
  l.maxBodyBytes = 64;
  l.maxItems = 3;
  l.maxItemBytes = 24;
  return l;
}

PurgeLimits onlyExampleCom() {
  PurgeLimits l;
  l.allowedHosts = {"example.com", "[::1]"};
  return l;
}

std::string nested(int depth) {
  return "{\"urls\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Errors, PurgeRequestErrorTest, ::testing::Values(
  ErrorCase{"oversized", std::string(65, ' '), 413, "body too large: 65 bytes (max 64)", false,
            smallLimits()},
  ErrorCase{"oversized default", std::string((1 << 20) + 1, ' '), 413,
            "body too large: 1048577 bytes (max 1048576)"},
  ErrorCase{"empty", "", 400, "empty body: expected a JSON object"},
  ErrorCase{"blank", " \n\t", 400, "empty body: expected a JSON object"},
  ErrorCase{"array", "[\"http://a/\"]", 400, "body must be a JSON object"},
  ErrorCase{"number", "42", 400, "body must be a JSON object"},
  ErrorCase{"string", "\"x\"", 400, "body must be a JSON object"},
  ErrorCase{"null", "null", 400, "body must be a JSON object"},
  ErrorCase{"true", " true", 400, "body must be a JSON object"},
  ErrorCase{"garbage", "urls=a", 400, "invalid JSON: unexpected character at offset 0"},
  ErrorCase{"unterminated", "{\"urls\": [", 400, "invalid JSON: ", true},
  ErrorCase{"trailing", "{\"all\": true} x", 400, "invalid JSON: Excess characters", true},
  ErrorCase{"two objects", "{\"all\": true}{}", 400, "invalid JSON: Excess characters", true},
  ErrorCase{"single quotes", "{'all': true}", 400, "invalid JSON: ", true},
  ErrorCase{"trailing comma", "{\"all\": true,}", 400, "invalid JSON: ", true},
  ErrorCase{"invalid utf-8", "{\"tags\": [\"\xff\xfe\"]}", 400, "invalid JSON: ", true},
  ErrorCase{"too deep", nested(40), 400, "invalid JSON: Maximum depth exceeded"},
  ErrorCase{"unknown field", "{\"url\": [\"http://a/\"]}", 400,
            "unknown field \"url\" (expected urls, prefixes, tags, all, soft)"},
  ErrorCase{"unknown field quoted safely", "{\"a\\\"b\": 1, \"all\": true}", 400,
            "unknown field \"a?b\" (expected urls, prefixes, tags, all, soft)"},
  ErrorCase{"duplicate field", "{\"all\": true, \"all\": false}", 400,
            "duplicate field \"all\""},
  ErrorCase{"urls not an array", "{\"urls\": \"http://a/\"}", 400,
            "\"urls\" must be an array of strings"},
  ErrorCase{"urls null", "{\"urls\": null}", 400, "\"urls\" must be an array of strings"},
  ErrorCase{"urls object", "{\"urls\": {}}", 400, "\"urls\" must be an array of strings"},
  ErrorCase{"url number", "{\"urls\": [\"http://a/\", 1]}", 400, "\"urls\"[1] must be a string"},
  ErrorCase{"prefix null", "{\"prefixes\": [null]}", 400, "\"prefixes\"[0] must be a string"},
  ErrorCase{"tag nested array", "{\"tags\": [[\"a\"]]}", 400, "\"tags\"[0] must be a string"},
  ErrorCase{"all string", "{\"all\": \"true\"}", 400, "\"all\" must be a boolean"},
  ErrorCase{"all number", "{\"all\": 1}", 400, "\"all\" must be a boolean"},
  ErrorCase{"soft null", "{\"all\": true, \"soft\": null}", 400, "\"soft\" must be a boolean"},
  ErrorCase{"empty url", "{\"urls\": [\"\"]}", 400, "\"urls\"[0] is empty"},
  ErrorCase{"empty prefix", "{\"prefixes\": [\"\"]}", 400, "\"prefixes\"[0] is empty"},
  ErrorCase{"empty tag", "{\"tags\": [\"a\", \"\"]}", 400, "\"tags\"[1] is empty"},
  ErrorCase{"too many items", "{\"urls\":[\"http://a/\"],\"tags\":[\"a\",\"b\",\"c\"]}", 400,
            "too many items: 4 (max 3)", false,
            [] { PurgeLimits l; l.maxItems = 3; return l; }()},
  ErrorCase{"url too long", "{\"urls\": [\"http://a/0123456789012345\"]}", 400,
            "\"urls\"[0] is too long (25 bytes, max 24)", false, smallLimits()},
  ErrorCase{"nothing: empty object", "{}", 400,
            "nothing to purge: give urls, prefixes, tags or \"all\": true"},
  ErrorCase{"nothing: empty lists", "{\"urls\": [], \"prefixes\": [], \"tags\": []}", 400,
            "nothing to purge: give urls, prefixes, tags or \"all\": true"},
  ErrorCase{"nothing: all false", "{\"all\": false, \"soft\": true}", 400,
            "nothing to purge: give urls, prefixes, tags or \"all\": true"},
  ErrorCase{"ambiguous", "{\"all\": true, \"tags\": [\"a\"]}", 400,
            "ambiguous: \"all\": true cannot be combined with urls, prefixes or tags"},
  ErrorCase{"relative url", "{\"urls\": [\"/a\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: /a"},
  ErrorCase{"no scheme", "{\"urls\": [\"example.com/a\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: example.com/a"},
  ErrorCase{"ftp", "{\"urls\": [\"ftp://example.com/a\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: ftp://example.com/a"},
  ErrorCase{"empty host", "{\"urls\": [\"http:///a\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: http:///a"},
  ErrorCase{"user info", "{\"urls\": [\"http://u:p@example.com/\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: http://u:p@example.com/"},
  ErrorCase{"bad port", "{\"urls\": [\"http://example.com:x/\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: http://example.com:x/"},
  ErrorCase{"space in url", "{\"urls\": [\"http://example.com/a b\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: http://example.com/a b"},
  ErrorCase{"control char in url", "{\"urls\": [\"http://example.com/\\u0001\"]}", 400,
            "\"urls\"[0] is not an absolute http or https URL: http://example.com/?"},
  ErrorCase{"relative prefix", "{\"prefixes\": [\"http://a/\", \"static/\"]}", 400,
            "\"prefixes\"[1] is not an absolute http or https URL: static/"},
  ErrorCase{"other host url", "{\"urls\": [\"http://evil.com/\"]}", 400,
            "\"urls\"[0] names a host that is not allowed: evil.com", false, onlyExampleCom()},
  ErrorCase{"other host prefix", "{\"prefixes\": [\"https://example.com.evil.com/\"]}", 400,
            "\"prefixes\"[0] names a host that is not allowed: example.com.evil.com", false,
            onlyExampleCom()},
  ErrorCase{"tag with space", "{\"tags\": [\"a b\"]}", 400,
            "\"tags\"[0] is not a valid tag (no spaces, commas or control characters): a b"},
  ErrorCase{"tag with comma", "{\"tags\": [\"a,b\"]}", 400,
            "\"tags\"[0] is not a valid tag (no spaces, commas or control characters): a,b"},
  ErrorCase{"tag with control", "{\"tags\": [\"a\\u0007\"]}", 400,
            "\"tags\"[0] is not a valid tag (no spaces, commas or control characters): a?"},
  ErrorCase{"tag too long", "{\"tags\": [\"" + std::string(257, 't') + "\"]}", 400,
            "\"tags\"[0] is too long (257 bytes, max 256)"}));
// clang-format on

// ---- parsePurgeRequest: accepted bodies --------------------------------------------------------

struct OkCase {
  const char* name;
  std::string body;
  PurgeRequest expected;
  PurgeLimits limits = {};
};

class PurgeRequestOkTest : public ::testing::TestWithParam<OkCase> {};

TEST_P(PurgeRequestOkTest, Parses) {
  const auto& c = GetParam();
  const PurgeParseResult r = parsePurgeRequest(c.body, c.limits);
  ASSERT_TRUE(r.request.has_value()) << c.name << ": " << r.error;
  EXPECT_EQ(r.httpStatus, 200) << c.name;
  EXPECT_EQ(r.error, "") << c.name;
  EXPECT_EQ(r.request->urls, c.expected.urls) << c.name;
  EXPECT_EQ(r.request->prefixes, c.expected.prefixes) << c.name;
  EXPECT_EQ(r.request->tags, c.expected.tags) << c.name;
  EXPECT_EQ(r.request->all, c.expected.all) << c.name;
  EXPECT_EQ(r.request->soft, c.expected.soft) << c.name;
}

PurgeRequest req(std::vector<std::string> urls, std::vector<std::string> prefixes,
                 std::vector<std::string> tags, bool all = false, bool soft = false) {
  return PurgeRequest{std::move(urls), std::move(prefixes), std::move(tags), all, soft};
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Accepted, PurgeRequestOkTest, ::testing::Values(
  OkCase{"one url", "{\"urls\": [\"http://example.com/a\"]}",
         req({"http://example.com/a"}, {}, {})},
  OkCase{"url normalized", "{\"urls\": [\"HTTP://Example.COM:80/Path?q=1#frag\"]}",
         req({"http://example.com/Path?q=1"}, {}, {})},
  OkCase{"urls deduplicated after normalization",
         "{\"urls\": [\"http://a/x\", \"http://A:80/x\", \"https://a/x\"]}",
         req({"http://a/x", "https://a/x"}, {}, {})},
  OkCase{"prefix normalized", "{\"prefixes\": [\"https://Example.com:443\"]}",
         req({}, {"https://example.com/"}, {})},
  OkCase{"prefix keeps partial path", "{\"prefixes\": [\"http://example.com/st\"]}",
         req({}, {"http://example.com/st"}, {})},
  OkCase{"tags case-sensitive and deduplicated", "{\"tags\": [\"a\", \"A\", \"a\"]}",
         req({}, {}, {"a", "A"})},
  OkCase{"tag with utf-8", "{\"tags\": [\"caf\\u00e9\"]}", req({}, {}, {"caf\xc3\xa9"})},
  OkCase{"all", "{\"all\": true}", req({}, {}, {}, true)},
  OkCase{"all soft", " {\"all\": true, \"soft\": true}\n", req({}, {}, {}, true, true)},
  OkCase{"all with empty lists", "{\"all\": true, \"urls\": [], \"tags\": []}",
         req({}, {}, {}, true)},
  OkCase{"everything soft",
         "{\"urls\": [\"http://a/1\"], \"prefixes\": [\"http://a/p/\"], \"tags\": [\"t\"],"
         " \"all\": false, \"soft\": true}",
         req({"http://a/1"}, {"http://a/p/"}, {"t"}, false, true)},
  OkCase{"allowed host any case and port", "{\"urls\": [\"http://EXAMPLE.com:8080/\"]}",
         req({"http://example.com:8080/"}, {}, {}), onlyExampleCom()},
  OkCase{"allowed ipv6 literal", "{\"urls\": [\"http://[::1]:80/x\"]}",
         req({"http://[::1]/x"}, {}, {}), onlyExampleCom()},
  OkCase{"exactly max items", "{\"tags\": [\"a\", \"b\", \"c\"]}", req({}, {}, {"a", "b", "c"}),
         smallLimits()},
  OkCase{"tag of 256 bytes", "{\"tags\": [\"" + std::string(256, 't') + "\"]}",
         req({}, {}, {std::string(256, 't')})}));
// clang-format on

TEST(PurgeRequestTest, SurvivesHostileBodies) {
  // Not a fuzzer, but a smoke test of inputs fuzzers find: none may crash or throw.
  const std::vector<std::string> bodies = {std::string(1 << 20, '['),
                                           std::string(1 << 20, '{'),
                                           "{\"urls\": [" + std::string(5000, '['),
                                           std::string("{\"tags\": [\"a\0b\"]}", 18),
                                           "{\"urls\": [\"http://[\"]}",
                                           "{\"urls\": [\"http://]\"]}",
                                           "{\"urls\": [\"http://:80/\"]}",
                                           "{\"all\": 1e99999}",
                                           "{\"\": true}",
                                           "{\"urls\": [\"\\ud800\"]}"};
  for (const auto& body : bodies) {
    const PurgeParseResult r = parsePurgeRequest(body, PurgeLimits{});
    EXPECT_FALSE(r.request.has_value()) << body.substr(0, 40);
    EXPECT_EQ(r.httpStatus, 400) << body.substr(0, 40);
    EXPECT_FALSE(r.error.empty());
  }
}

// ---- purgeKeyForUrl
// ------------------------------------------------------------------------------

struct KeyCase {
  std::string url;
  std::optional<std::string> key;
};

class PurgeKeyTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(PurgeKeyTest, Normalizes) {
  const auto& c = GetParam();
  EXPECT_EQ(purgeKeyForUrl(c.url), c.key) << c.url;
}

// The expected keys are those of tests/unit/policy/cache_key_builder_test.cc (buildCacheKey) for
// the same scheme, host and target: purge keys must equal the keys the node caches under.
// clang-format off
INSTANTIATE_TEST_SUITE_P(SameAsCacheKeyBuilder, PurgeKeyTest, ::testing::Values(
  KeyCase{"http://example.com/a?b=c", "http://example.com/a?b=c"},
  KeyCase{"HTTPS://Example.COM/Path", "https://example.com/Path"},
  KeyCase{"http://example.com:80/", "http://example.com/"},
  KeyCase{"https://example.com:443/", "https://example.com/"},
  KeyCase{"http://example.com:443/", "http://example.com:443/"},
  KeyCase{"https://example.com:80/", "https://example.com:80/"},
  KeyCase{"http://example.com:8080/x", "http://example.com:8080/x"},
  KeyCase{"http://example.com:/", "http://example.com/"},
  KeyCase{"HTTP://example.com:80/", "http://example.com/"},
  KeyCase{"http://example.com", "http://example.com/"},
  KeyCase{"http://h/A%2fb/../c?Q=%20&x", "http://h/A%2fb/../c?Q=%20&x"},
  KeyCase{"http://[::1]/", "http://[::1]/"},
  KeyCase{"http://[::1]:80/", "http://[::1]/"},
  KeyCase{"https://[2001:DB8::1]:8443/", "https://[2001:db8::1]:8443/"}));

INSTANTIATE_TEST_SUITE_P(Urls, PurgeKeyTest, ::testing::Values(
  KeyCase{"http://h?q=1", "http://h/?q=1"},
  KeyCase{"http://h#frag", "http://h/"},
  KeyCase{"http://h/a?b#c?d", "http://h/a?b"},
  KeyCase{"http://h:8080?q", "http://h:8080/?q"},
  KeyCase{"", std::nullopt},
  KeyCase{"example.com/a", std::nullopt},
  KeyCase{"/a", std::nullopt},
  KeyCase{"//example.com/a", std::nullopt},
  KeyCase{"ftp://h/", std::nullopt},
  KeyCase{"http:/h/", std::nullopt},
  KeyCase{"http://", std::nullopt},
  KeyCase{"http:///x", std::nullopt},
  KeyCase{"http://:80/x", std::nullopt},
  KeyCase{"http://u@h/", std::nullopt},
  KeyCase{"http://h:x/", std::nullopt},
  KeyCase{"http://h:123456/", std::nullopt},
  KeyCase{"http://a:b:80/", std::nullopt},
  KeyCase{"http://h/a b", std::nullopt},
  KeyCase{"http://h/\xc3\xa9", std::nullopt},
  KeyCase{"http://[::1/", std::nullopt},
  KeyCase{"http://h]/", std::nullopt},
  KeyCase{"http://[]/", std::nullopt}));
// clang-format on

TEST(PurgeKeyTest, HostOfKey) {
  EXPECT_EQ(hostOfPurgeKey("http://example.com:8080/a"), "example.com");
  EXPECT_EQ(hostOfPurgeKey("http://example.com/a:b"), "example.com");
  EXPECT_EQ(hostOfPurgeKey("https://[::1]:8443/"), "[::1]");
  EXPECT_EQ(hostOfPurgeKey("nonsense"), "");
}

// ---- tagsFromHeaders
// -----------------------------------------------------------------------------

using Headers = std::vector<std::pair<std::string, std::string>>;

struct TagsCase {
  const char* name;
  Headers headers;
  std::vector<std::string> tags;
};

class TagsFromHeadersTest : public ::testing::TestWithParam<TagsCase> {};

TEST_P(TagsFromHeadersTest, Extracts) {
  const auto& c = GetParam();
  EXPECT_EQ(tagsFromHeaders(c.headers), c.tags) << c.name;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Headers, TagsFromHeadersTest, ::testing::Values(
  TagsCase{"none", {}, {}},
  TagsCase{"other headers ignored", {{"X-Tag", "a"}, {"Cache-Control", "max-age=1"}}, {}},
  TagsCase{"surrogate-key on whitespace", {{"Surrogate-Key", " a b  c\tb "}}, {"a", "b", "c"}},
  TagsCase{"cache-tag on commas, trimmed", {{"Cache-Tag", " x , y,,x "}}, {"x", "y"}},
  TagsCase{"surrogate-key keeps commas out", {{"Surrogate-Key", "a,b c"}}, {"c"}},
  TagsCase{"cache-tag drops inner spaces", {{"Cache-Tag", "ok, has space ,\x01" "bad"}}, {"ok"}},
  TagsCase{"names case-insensitive", {{"SURROGATE-KEY", "a"}, {"cache-tag", "b"}}, {"a", "b"}},
  TagsCase{"deduplicated across headers",
           {{"Surrogate-Key", "a b"}, {"Cache-Tag", "b, c"}, {"Surrogate-Key", "c d"}},
           {"a", "b", "c", "d"}},
  TagsCase{"case-sensitive", {{"Surrogate-Key", "A a"}}, {"A", "a"}},
  TagsCase{"too long dropped", {{"Cache-Tag", std::string(257, 'x') + ",y"}}, {"y"}},
  TagsCase{"256 bytes kept", {{"Cache-Tag", std::string(256, 'x')}}, {std::string(256, 'x')}},
  TagsCase{"empty values", {{"Surrogate-Key", ""}, {"Cache-Tag", " , ,"}}, {}}));
// clang-format on

TEST(TagsTest, IsValidTag) {
  EXPECT_TRUE(isValidTag("product-42"));
  EXPECT_TRUE(isValidTag("caf\xc3\xa9"));
  EXPECT_FALSE(isValidTag(""));
  EXPECT_FALSE(isValidTag("a b"));
  EXPECT_FALSE(isValidTag("a,b"));
  EXPECT_FALSE(isValidTag("a\tb"));
  EXPECT_FALSE(isValidTag("a\x7f"));
  EXPECT_FALSE(isValidTag(std::string(257, 'a')));
}

}  // namespace
}  // namespace strata::purge

// The strict request-head parser: what it accepts, and every refusal with its status
// (RFC 9112 §2-§7, RFC 9110 §5 and §7.2).

#include "edge/server/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::edge::server {
namespace {

struct Parsed {
  ParseResult result;
  RequestHead head;
  std::size_t consumed = 0;
  ParseError error;
};

Parsed parse(const std::string& text, ParseLimits limits = {}) {
  Parsed p;
  p.result = parseRequestHead(text, limits, &p.head, &p.consumed, &p.error);
  return p;
}

TEST(RequestParser, ParsesASimpleGet) {
  const std::string text = "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\nNEXT";
  auto p = parse(text);
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.target, "/a?b=1");
  EXPECT_EQ(p.head.host, "example.com");
  EXPECT_FALSE(p.head.http10);
  EXPECT_TRUE(p.head.keepAlive);
  EXPECT_FALSE(p.head.chunked);
  EXPECT_EQ(p.head.contentLength, 0);
  EXPECT_EQ(p.consumed, text.size() - 4);
  ASSERT_EQ(p.head.headers.fields().size(), 2u);
  EXPECT_EQ(p.head.headers.get("accept").value_or(""), "*/*");
}

TEST(RequestParser, TrimsOptionalWhitespaceAroundValues) {
  auto p = parse("GET / HTTP/1.1\r\nHost:\t h \t\r\nX:  v  w \r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.host, "h");
  EXPECT_EQ(p.head.headers.get("X").value_or(""), "v  w");
}

TEST(RequestParser, IgnoresEmptyLinesBeforeTheRequestLine) {  // RFC 9112 §2.2
  auto p = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.target, "/");
}

TEST(RequestParser, IncompleteHeadsWaitForMoreBytes) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\n").result, ParseResult::kIncomplete);
  EXPECT_EQ(parse("GET / HT").result, ParseResult::kIncomplete);
  EXPECT_EQ(parse("").result, ParseResult::kIncomplete);
}

// Found by request_parser_fuzz: a request line of exactly maxRequestLine bytes whose CR arrived
// without its LF was refused with 414, though the complete line is within the limit.
TEST(RequestParser, ARequestLineAtTheLimitWaitsForItsLineFeed) {
  const std::string line = "GET /" + std::string(50, 'a') + " HTTP/1.1";
  const ParseLimits limits{line.size(), 256, 4};
  EXPECT_EQ(parse(line + "\r", limits).result, ParseResult::kIncomplete);
  EXPECT_EQ(parse(line + "\r\nHost: h\r\n\r\n", limits).result, ParseResult::kDone);
  EXPECT_EQ(parse(line + "a\r", limits).error.status, 414);
}

TEST(RequestParser, KeepAliveDefaults) {
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").head.keepAlive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").head.keepAlive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").head.keepAlive);
  auto p = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(p.head.http10);
  EXPECT_TRUE(p.head.keepAlive);
}

TEST(RequestParser, BodiesByLengthAndChunked) {
  auto p = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.contentLength, 12);
  p = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.contentLength, 7);
  p = parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_TRUE(p.head.chunked);
  p = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_TRUE(p.head.expectContinue);
}

TEST(RequestParser, AbsoluteFormReplacesHost) {  // RFC 9112 §3.2.2
  auto p = parse("GET http://Origin.example:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.target, "/p?q");
  EXPECT_EQ(p.head.host, "Origin.example:8080");
  EXPECT_EQ(p.head.headers.get("Host").value_or(""), "Origin.example:8080");
  p = parse("GET http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.target, "/");
  p = parse("GET http://a.example?x HTTP/1.1\r\nHost: a.example\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kDone);
  EXPECT_EQ(p.head.target, "/?x");
}

TEST(RequestParser, AcceptsValidHosts) {
  for (const char* host : {"a", "a.example", "a.example:80", "[::1]", "[::1]:8080", "127.0.0.1",
                           "xn--bcher-kva.example", "a_b.example"}) {
    EXPECT_TRUE(validHost(host)) << host;
  }
  for (const char* host :
       {"", ":80", "a b", "a/b", "u@a", "a:port", "[::1", "[::1]x", "a:123456", "a\\b", "[zz]"}) {
    EXPECT_FALSE(validHost(host)) << host;
  }
}

struct Refusal {
  const char* name;
  std::string text;
  int status;
};

class RequestParserRefuses : public testing::TestWithParam<Refusal> {};

TEST_P(RequestParserRefuses, WithTheRightStatus) {
  const auto& r = GetParam();
  ParseLimits limits;
  limits.maxRequestLine = 100;
  limits.maxHeadBytes = 400;
  limits.maxFields = 5;
  auto p = parse(r.text, limits);
  ASSERT_EQ(p.result, ParseResult::kError) << r.name;
  EXPECT_EQ(p.error.status, r.status) << r.name << ": " << p.error.message;
  EXPECT_FALSE(p.error.message.empty());
}

const std::string kLong(200, 'a');

INSTANTIATE_TEST_SUITE_P(
    Shapes, RequestParserRefuses,
    testing::Values(
        Refusal{
            "ClAndTe",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400},
        Refusal{
            "TeAndCl",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            400},
        Refusal{"ConflictingCl",
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                400},
        Refusal{"ClList", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n", 400},
        Refusal{"ClSigned", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", 400},
        Refusal{"ClNegative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
        Refusal{"ClHex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400},
        Refusal{"ClEmpty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400},
        Refusal{"ClHuge",
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
        Refusal{"TeTwiceChunked",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
        Refusal{"TeChunkedNotLast",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
        Refusal{"TeUnknown", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        Refusal{"TeIdentity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
                501},
        Refusal{"TeHttp10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        Refusal{"TeSpaceBeforeColon",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
        Refusal{"TeVerticalTab",
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\x0b"
                "chunked\r\n\r\n",
                400},
        Refusal{"ObsFold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
        Refusal{"ObsFoldTab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400},
        Refusal{"BareLf", "GET / HTTP/1.1\nHost: h\n\n", 400},
        Refusal{"BareLfInField", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400},
        Refusal{"BareCrInValue", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400},
        Refusal{"NulInValue", std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 35), 400},
        Refusal{"NulIncomplete", std::string("GET /\0", 6), 400},
        Refusal{"BadHeaderName", "GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n", 400},
        Refusal{"EmptyHeaderName", "GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n", 400},
        Refusal{"NoColon", "GET / HTTP/1.1\r\nHost: h\r\nJustText\r\n\r\n", 400},
        Refusal{"MissingHost", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
        Refusal{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        Refusal{"TwoHostsHttp10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        Refusal{"HostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        Refusal{"HostWithUserinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
        Refusal{"HostWithPath", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        Refusal{"EmptyHost", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400},
        Refusal{"AbsoluteFormBadAuthority", "GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Refusal{"AbsoluteFormUserinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Refusal{"AbsoluteFormOtherScheme", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Refusal{"AuthorityForm", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Refusal{"AsteriskNotOptions", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Refusal{"TwoSpaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Refusal{"TrailingSpace", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
        Refusal{"TabSeparator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Refusal{"NoVersion", "GET /\r\nHost: h\r\n\r\n", 400},
        Refusal{"LowercaseVersion", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
        Refusal{"Http2Version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        Refusal{"Http09Version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505},
        Refusal{"BadMethod", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Refusal{"ControlInTarget", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Refusal{"ObsTextInTarget", "GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        Refusal{"UnknownExpectation", "GET / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n", 417},
        Refusal{"LongRequestLine", "GET /" + kLong + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
        Refusal{"LongRequestLineIncomplete", "GET /" + kLong, 414},
        Refusal{"TooManyFields",
                "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", 431},
        Refusal{"HeadTooLarge", "GET / HTTP/1.1\r\nHost: h\r\nX: " + kLong + kLong + "\r\n\r\n",
                431},
        Refusal{"HeadTooLargeIncomplete", "GET / HTTP/1.1\r\nHost: h\r\nX: " + kLong + kLong, 431}),
    [](const testing::TestParamInfo<Refusal>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace strata::edge::server

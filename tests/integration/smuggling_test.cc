// Request smuggling and malformed requests sent over a raw socket to a real node: each shape gets
// its refusal status and a closed connection, nothing reaches the origin, and the cache holds
// nothing from any of them (the smuggled "second request" is never served or stored).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "node_fixture.h"
#include "test_support.h"

namespace strata::testing {
namespace {

struct Shape {
  const char* name;
  std::string raw;
  const char* status;  // Expected status code of the (only) response.
};

const std::string kSmuggled = "GET /poison HTTP/1.1\r\nHost: shop.test\r\n\r\n";

std::vector<Shape> shapes() {
  const std::string host = "Host: shop.test\r\n";
  const std::string big(9000, 'a');
  return {
      {"CL.TE",
       "POST /a HTTP/1.1\r\n" + host +
           "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled,
       "400"},
      {"TE.CL",
       "POST /a HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\n" + kSmuggled +
           "\r\n0\r\n\r\n",
       "400"},
      {"TE.TE xchunked",
       "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n" + kSmuggled, "501"},
      {"TE space before colon",
       "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + kSmuggled,
       "400"},
      {"TE obs-fold",
       "POST /a HTTP/1.1\r\n" + host + "X: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
           kSmuggled,
       "400"},
      {"TE vertical tab",
       "POST /a HTTP/1.1\r\n" + host +
           "Transfer-Encoding:\x0b"
           "chunked\r\n\r\n0\r\n\r\n" +
           kSmuggled,
       "400"},
      {"TE chunked twice",
       "POST /a HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled,
       "400"},
      {"TE identity",
       "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n" +
           kSmuggled,
       "400"},
      {"TE gzip, chunked not last",
       "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" +
           kSmuggled,
       "400"},
      {"TE in HTTP/1.0",
       "POST /a HTTP/1.0\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled,
       "400"},
      {"CL conflicting",
       "POST /a HTTP/1.1\r\n" + host + "Content-Length: 0\r\nContent-Length: 44\r\n\r\n" +
           kSmuggled,
       "400"},
      {"CL list", "POST /a HTTP/1.1\r\n" + host + "Content-Length: 0, 44\r\n\r\n" + kSmuggled,
       "400"},
      {"CL plus sign", "POST /a HTTP/1.1\r\n" + host + "Content-Length: +0\r\n\r\n" + kSmuggled,
       "400"},
      {"CL negative", "POST /a HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n" + kSmuggled,
       "400"},
      {"CL hex", "POST /a HTTP/1.1\r\n" + host + "Content-Length: 0x0\r\n\r\n" + kSmuggled, "400"},
      {"CL overflow",
       "POST /a HTTP/1.1\r\n" + host + "Content-Length: 18446744073709551616\r\n\r\n" + kSmuggled,
       "400"},
      {"CL space in name", "POST /a HTTP/1.1\r\n" + host + "Content Length: 0\r\n\r\n" + kSmuggled,
       "400"},
      {"bare LF line ends", "GET /a HTTP/1.1\n" + std::string("Host: shop.test\n\n") + kSmuggled,
       "400"},
      {"bare CR in a value", "GET /a HTTP/1.1\r\n" + host + "X: a\rGET /poison HTTP/1.1\r\n\r\n",
       "400"},
      {"NUL in a value", std::string("GET /a HTTP/1.1\r\nHost: shop.test\r\nX: a\0b\r\n\r\n", 44),
       "400"},
      {"obs-fold", "GET /a HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", "400"},
      {"invalid header name", "GET /a HTTP/1.1\r\n" + host + "X@Y: 1\r\n\r\n", "400"},
      {"missing Host", "GET /a HTTP/1.1\r\n\r\n", "400"},
      {"two Hosts", "GET /a HTTP/1.1\r\n" + host + "Host: evil.test\r\n\r\n", "400"},
      {"Host with userinfo", "GET /a HTTP/1.1\r\nHost: user@shop.test\r\n\r\n", "400"},
      {"Host with path", "GET /a HTTP/1.1\r\nHost: shop.test/poison\r\n\r\n", "400"},
      {"Host with space", "GET /a HTTP/1.1\r\nHost: shop .test\r\n\r\n", "400"},
      {"absolute-form bad authority",
       "GET http://shop.test@evil.test/a HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"absolute-form other scheme", "GET gopher://shop.test/a HTTP/1.1\r\n" + host + "\r\n",
       "400"},
      {"space in target", "GET /a /poison HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"tab separator", "GET\t/a HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"lowercase version", "GET /a http/1.1\r\n" + host + "\r\n", "400"},
      {"HTTP/2.0 on HTTP/1 framing", "GET /a HTTP/2.0\r\n" + host + "\r\n", "505"},
      {"HTTP/0.9", "GET /a HTTP/0.9\r\n" + host + "\r\n", "505"},
      {"unknown expectation", "GET /a HTTP/1.1\r\n" + host + "Expect: 200-ok\r\n\r\n", "417"},
      {"request line too long", "GET /" + big + " HTTP/1.1\r\n" + host + "\r\n", "414"},
      {"header too large",
       "GET /a HTTP/1.1\r\n" + host + "X: " + big + big + big + big + "\r\n\r\n", "431"},
      {"too many fields",
       [&] {
         std::string r = "GET /a HTTP/1.1\r\n" + host;
         for (int i = 0; i < 120; ++i) r += "X-" + std::to_string(i) + ": 1\r\n";
         return r + "\r\n";
       }(),
       "431"},
      {"control byte in target", "GET /a\x01 HTTP/1.1\r\n" + host + "\r\n", "400"},
      {"CONNECT authority-form", "CONNECT shop.test:443 HTTP/1.1\r\n" + host + "\r\n", "400"},
  };
}

class SmugglingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin_.on("/a", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "a"));
    origin_.on("/poison", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "p"));
    node_ = startNode(configFor(origin_.url(), dir_.path()));
  }

  TempDir dir_;
  ScriptedOrigin origin_;
  std::unique_ptr<edge::app::Node> node_;
};

TEST_F(SmugglingTest, EveryShapeIsRefusedClosedAndLeavesNothingBehind) {
  const auto list = shapes();
  ASSERT_GE(list.size(), 30u);
  for (const auto& shape : list) {
    const auto started = std::chrono::steady_clock::now();
    const std::string answer = rawExchange(node_->proxyPort(), shape.raw, 5000);
    // One response, then the connection closes (rawExchange returns at the close, well before
    // its 5 s timeout).
    EXPECT_EQ(answer.substr(0, 12), std::string("HTTP/1.1 ") + shape.status) << shape.name;
    EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << shape.name << ": " << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << shape.name;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4)) << shape.name;
  }
  EXPECT_EQ(origin_.requests().size(), 0u) << "a refused request reached the origin";
  // Nothing was stored: both paths are misses now, fetched once each.
  for (const char* path : {"/a", "/poison"}) {
    Response r = request(node_->proxyPort(), "GET", path, {{"Host", "shop.test"}});
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_TRUE(has(r, "fwd=uri-miss")) << path << ": " << r.header("Cache-Status");
  }
  EXPECT_EQ(origin_.count("/a"), 1);
  EXPECT_EQ(origin_.count("/poison"), 1);
}

TEST_F(SmugglingTest, AMalformedChunkedBodyEndsTheConnectionBeforeTheSmuggledRequest) {
  // The head is valid, so the request reaches the pipeline; its body's bad chunk size cuts the
  // connection, and the bytes after it are never parsed as a request.
  const std::string raw =
      "POST /a HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "zz\r\n" +
      kSmuggled;
  const std::string answer = rawExchange(node_->proxyPort(), raw, 5000);
  EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << answer;
  EXPECT_EQ(origin_.count("/poison"), 0);
  Response r = request(node_->proxyPort(), "GET", "/poison", {{"Host", "shop.test"}});
  EXPECT_TRUE(has(r, "fwd=uri-miss")) << r.header("Cache-Status");
}

TEST_F(SmugglingTest, AbsoluteFormCannotPoisonAnotherHostsKey) {
  // The absolute-form authority replaces Host: the object is stored under evil.test, never
  // under shop.test.
  const std::string answer = rawExchange(
      node_->proxyPort(),
      "GET http://evil.test/a HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n", 5000);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200");
  Response forShop = request(node_->proxyPort(), "GET", "/a", {{"Host", "shop.test"}});
  EXPECT_TRUE(has(forShop, "fwd=uri-miss")) << forShop.header("Cache-Status");
  Response forEvil = request(node_->proxyPort(), "GET", "/a", {{"Host", "evil.test"}});
  EXPECT_TRUE(has(forEvil, "; hit")) << forEvil.header("Cache-Status");
  const auto seen = origin_.requests();
  ASSERT_EQ(seen.size(), 2u);
}

}  // namespace
}  // namespace strata::testing

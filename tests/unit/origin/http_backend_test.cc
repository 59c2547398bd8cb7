// HttpBackend's lean HTTP/1.1 client for plain http:// origins, against scripted origins on
// 127.0.0.1 over real sockets: framing (Content-Length, chunked, read-to-close), heads and bodies
// split across reads, interim responses, keep-alive and its counters, the retry of a stale pooled
// connection, strict head parsing and the first-byte timeout. Every wait is bounded.

#include "edge/origin/http_backend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "edge/origin/http1_client.h"

namespace strata::edge::origin {
namespace {

using Clock = std::chrono::steady_clock;

// Waits (bounded) until `done` holds.
bool waitFor(const std::function<bool()>& done, int ms = 5000) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// One accepted connection, as a script sees it.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  // Reads until `marker` is buffered (bounded: 5 s). Returns what came up to and including it,
  // or "" on a close or the deadline.
  std::string readUntil(const std::string& marker) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (true) {
      const auto at = buffer_.find(marker);
      if (at != std::string::npos) {
        std::string out = buffer_.substr(0, at + marker.size());
        buffer_.erase(0, at + marker.size());
        return out;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  std::string readHead() { return readUntil("\r\n\r\n"); }
  void send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Sends in pieces with a short pause between them, so they arrive as separate reads.
  void sendPaced(const std::vector<std::string>& pieces) {
    for (const auto& piece : pieces) {
      send(piece);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

// An origin on 127.0.0.1 that runs `script` for each accepted connection (with its index) and
// then closes it.
class ScriptedOrigin {
 public:
  using Script = std::function<void(Peer& peer, int index)>;
  explicit ScriptedOrigin(Script script) : script_(std::move(script)) {
    listenFd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listenFd_, 16);
    socklen_t len = sizeof addr;
    getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (!stopping_) {
        pollfd p{listenFd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        const int fd = ::accept(listenFd_, nullptr, nullptr);
        if (fd < 0) continue;
        const int index = accepted_++;
        std::lock_guard lock(mutex_);
        workers_.emplace_back([this, fd, index] {
          Peer peer(fd);
          script_(peer, index);
          ::close(fd);
          ++closed_;
        });
      }
    });
  }
  ~ScriptedOrigin() {
    stopping_ = true;
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (auto& w : workers_) w.join();
    ::close(listenFd_);
  }
  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int closed() const { return closed_.load(); }
  bool stopping() const { return stopping_.load(); }

 private:
  Script script_;
  int listenFd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
};

HttpBackendOptions optionsFor(const ScriptedOrigin& origin) {
  HttpBackendOptions o;
  o.name = "scripted";
  o.host = "127.0.0.1";
  o.port = origin.port();
  o.connectTimeoutMs = 2000;
  o.firstByteTimeoutMs = 5000;
  o.betweenBytesTimeoutMs = 5000;
  return o;
}

OriginRequest get(const std::string& target, const std::string& method = "GET") {
  OriginRequest r;
  r.method = method;
  r.target = target;
  r.headers.add("Host", "origin.test");
  return r;
}

struct Fetched {
  std::unique_ptr<OriginResponse> response;
  FetchFailure failure = FetchFailure::kNone;
  std::string error;
};

Fetched fetch(HttpBackend& backend, const OriginRequest& request) {
  Fetched f;
  f.response = backend.fetch(request, &f.failure, &f.error);
  return f;
}

// Reads the whole body in `piece`-byte reads. `*status` gets the last read's result (0 or -1).
std::string readBody(OriginResponse& response, std::size_t piece = 64 * 1024,
                     std::int64_t* last = nullptr) {
  std::string body;
  std::vector<char> buffer(piece);
  for (int i = 0; i < 1000000; ++i) {
    const std::int64_t n = response.read(buffer.data(), buffer.size());
    if (n <= 0) {
      if (last) *last = n;
      return body;
    }
    body.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ADD_FAILURE() << "the body did not end";
  return body;
}

// Answers every request on the connection with `answer` until the client closes.
ScriptedOrigin::Script answering(std::string answer) {
  return [answer](Peer& peer, int) {
    while (!peer.readHead().empty()) peer.send(answer);
  };
}

TEST(HttpBackendTest, ChunkedBodyWithExtensionsAndTrailersThenReuse) {
  ScriptedOrigin origin(
      answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                "5;name=value\r\nhello\r\n6 ; ext\r\n world\r\nA\r\n0123456789\r\n"
                "0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n"));
  HttpBackend backend(optionsFor(origin));
  for (int i = 0; i < 2; ++i) {
    auto f = fetch(backend, get("/c"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(f.response->status(), 200);
    EXPECT_EQ(f.response->contentLength(), -1);
    EXPECT_EQ(f.response->headers().get("X-A").value_or(""), "1");
    EXPECT_FALSE(f.response->headers().has("X-Trailer"));
    std::int64_t last = 1;
    EXPECT_EQ(readBody(*f.response, i == 0 ? 64 * 1024 : 3, &last), "hello world0123456789");
    EXPECT_EQ(last, 0);
  }
  // The trailers were consumed: the connection stayed in step and was reused.
  EXPECT_EQ(backend.counters().newConnections.load(), 1u);
  EXPECT_EQ(backend.counters().reusedConnections.load(), 1u);
  EXPECT_EQ(origin.accepted(), 1);
}

TEST(HttpBackendTest, BodyAndHeadSplitAcrossReads) {
  ScriptedOrigin origin([](Peer& peer, int) {
    if (peer.readHead().empty()) return;
    peer.sendPaced({"HTTP/1.1 200 OK\r\nConte", "nt-Length: 12\r\nX-B:", " b\r", "\n\r", "\nhel",
                    "lo wo", "rld!"});
    if (peer.readHead().empty()) return;
    // Chunked framing split mid-size, mid-data, mid-CRLF and mid-trailer.
    peer.sendPaced({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1", "0\r\n0123",
                    "456789abcdef\r", "\n0\r\nT: ", "x\r\n", "\r\n"});
    peer.readHead();
  });
  HttpBackend backend(optionsFor(origin));
  {
    auto f = fetch(backend, get("/split"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(f.response->contentLength(), 12);
    EXPECT_EQ(f.response->headers().get("X-B").value_or(""), "b");
    EXPECT_EQ(readBody(*f.response, 4), "hello world!");
  }
  {
    auto f = fetch(backend, get("/split-chunked"));
    ASSERT_TRUE(f.response) << f.error;
    std::int64_t last = 1;
    EXPECT_EQ(readBody(*f.response, 5, &last), "0123456789abcdef");
    EXPECT_EQ(last, 0);
  }
  EXPECT_EQ(backend.counters().reusedConnections.load(), 1u);
}

TEST(HttpBackendTest, InterimResponsesComeBeforeTheFinalOne) {
  ScriptedOrigin origin(
      answering("HTTP/1.1 100 Continue\r\n\r\n"
                "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                "HTTP/1.1 102 Processing\r\n\r\n"
                "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"));
  HttpBackend backend(optionsFor(origin));
  auto f = fetch(backend, get("/interim"));
  ASSERT_TRUE(f.response) << f.error;
  EXPECT_EQ(f.response->status(), 201);
  EXPECT_EQ(f.response->reason(), "Created");
  ASSERT_EQ(f.response->interims().size(), 2u);  // 100 Continue is skipped.
  EXPECT_EQ(f.response->interims()[0].status, 103);
  EXPECT_EQ(f.response->interims()[0].reason, "Early Hints");
  EXPECT_EQ(f.response->interims()[0].headers.get("Link").value_or(""), "</a.css>; rel=preload");
  EXPECT_EQ(f.response->interims()[1].status, 102);
  EXPECT_FALSE(f.response->headers().has("Link"));
  EXPECT_EQ(readBody(*f.response), "ok");
}

TEST(HttpBackendTest, ConnectionCloseIsNotReusedAndKeepAliveIs) {
  ScriptedOrigin closing([](Peer& peer, int) {
    if (peer.readHead().empty()) return;
    peer.send("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx");
  });
  HttpBackend c(optionsFor(closing));
  for (int i = 0; i < 2; ++i) {
    auto f = fetch(c, get("/close"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "x");
  }
  EXPECT_EQ(c.counters().newConnections.load(), 2u);
  EXPECT_EQ(c.counters().reusedConnections.load(), 0u);
  EXPECT_EQ(closing.accepted(), 2);

  ScriptedOrigin keeping(answering("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny"));
  HttpBackend k(optionsFor(keeping));
  for (int i = 0; i < 3; ++i) {
    auto f = fetch(k, get("/keep"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "y");
  }
  EXPECT_EQ(k.counters().requests.load(), 3u);
  EXPECT_EQ(k.counters().newConnections.load(), 1u);
  EXPECT_EQ(k.counters().reusedConnections.load(), 2u);
  EXPECT_EQ(k.counters().failures.load(), 0u);
  EXPECT_EQ(keeping.accepted(), 1);
  const auto counts = k.connections();
  EXPECT_EQ(counts.reused, 2u);
  EXPECT_EQ(counts.opened, 1u);

  // A body not read to its end leaves the connection out of the pool.
  ScriptedOrigin partial(answering("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd"));
  HttpBackend p(optionsFor(partial));
  for (int i = 0; i < 2; ++i) {
    auto f = fetch(p, get("/partial"));
    ASSERT_TRUE(f.response) << f.error;
  }
  EXPECT_EQ(p.counters().newConnections.load(), 2u);
}

TEST(HttpBackendTest, Http10IsReusedOnlyWithKeepAlive) {
  ScriptedOrigin plain10(answering("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na"));
  HttpBackend a(optionsFor(plain10));
  for (int i = 0; i < 2; ++i) {
    auto f = fetch(a, get("/10"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "a");
  }
  EXPECT_EQ(a.counters().newConnections.load(), 2u);

  ScriptedOrigin kept10(
      answering("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nb"));
  HttpBackend b(optionsFor(kept10));
  for (int i = 0; i < 2; ++i) {
    auto f = fetch(b, get("/10k"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "b");
  }
  EXPECT_EQ(b.counters().newConnections.load(), 1u);
  EXPECT_EQ(b.counters().reusedConnections.load(), 1u);
}

TEST(HttpBackendTest, ReadToCloseBody) {
  ScriptedOrigin origin([](Peer& peer, int) {
    if (peer.readHead().empty()) return;
    peer.sendPaced({"HTTP/1.1 200 OK\r\nX: y\r\n\r\nfirst ", "second ", "third"});
  });
  HttpBackend backend(optionsFor(origin));
  for (int i = 0; i < 2; ++i) {
    auto f = fetch(backend, get("/unframed"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(f.response->contentLength(), -1);
    std::int64_t last = 1;
    EXPECT_EQ(readBody(*f.response, 4, &last), "first second third");
    EXPECT_EQ(last, 0);
  }
  EXPECT_EQ(backend.counters().newConnections.load(), 2u);  // Never pooled.
}

TEST(HttpBackendTest, NoBodyForHeadAnd204And304) {
  ScriptedOrigin origin([](Peer& peer, int) {
    std::string head;
    while (!(head = peer.readHead()).empty()) {
      if (head.rfind("HEAD ", 0) == 0) {
        peer.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      } else if (head.rfind("GET /204", 0) == 0) {
        peer.send("HTTP/1.1 204 No Content\r\n\r\n");
      } else {
        peer.send("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n");
      }
    }
  });
  HttpBackend backend(optionsFor(origin));
  {
    auto f = fetch(backend, get("/h", "HEAD"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(f.response->contentLength(), 1000);
    EXPECT_EQ(readBody(*f.response), "");
  }
  for (const char* target : {"/204", "/304"}) {
    auto f = fetch(backend, get(target));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "");
  }
  EXPECT_EQ(backend.counters().newConnections.load(), 1u);
  EXPECT_EQ(backend.counters().reusedConnections.load(), 2u);
}

TEST(HttpBackendTest, TruncatedContentLengthBodyIsAnError) {
  ScriptedOrigin origin([](Peer& peer, int) {
    if (peer.readHead().empty()) return;
    peer.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd");
  });
  HttpBackend backend(optionsFor(origin));
  auto f = fetch(backend, get("/cut"));
  ASSERT_TRUE(f.response) << f.error;
  std::int64_t last = 0;
  EXPECT_EQ(readBody(*f.response, 64, &last), "abcd");
  EXPECT_EQ(last, -1);
  EXPECT_NE(f.response->error().find("4 of 10"), std::string::npos) << f.response->error();
  EXPECT_EQ(f.response->read(nullptr, 1), -1);  // Stays failed.
}

TEST(HttpBackendTest, TruncatedChunkedBodyIsAnError) {
  ScriptedOrigin origin([](Peer& peer, int) {
    if (peer.readHead().empty()) return;
    peer.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc");
  });
  HttpBackend backend(optionsFor(origin));
  auto f = fetch(backend, get("/cut"));
  ASSERT_TRUE(f.response) << f.error;
  std::int64_t last = 0;
  EXPECT_EQ(readBody(*f.response, 64, &last), "abc");
  EXPECT_EQ(last, -1);
  EXPECT_FALSE(f.response->error().empty());
}

// Heads that must fail the fetch as a receive failure.
class BadHeadTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BadHeadTest, FailsAsReceive) {
  const std::string answer = GetParam();
  ScriptedOrigin origin([answer](Peer& peer, int) {
    if (peer.readHead().empty()) return;
    peer.send(answer);
    peer.readHead();  // Until the client closes.
  });
  HttpBackend backend(optionsFor(origin));
  auto f = fetch(backend, get("/bad"));
  EXPECT_FALSE(f.response);
  EXPECT_EQ(f.failure, FetchFailure::kReceive);
  EXPECT_FALSE(f.error.empty());
  EXPECT_EQ(backend.counters().failures.load(), 1u);
}

std::string manyFields(int n) {
  std::string head = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < n; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
  return head + "Content-Length: 0\r\n\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    Heads, BadHeadTest,
    ::testing::Values(
        "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n",  // Over 64 KiB.
        manyFields(201), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\rY: b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: a\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Space : a\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "HTTP/2 200\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "garbage\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"));

TEST(HttpBackendTest, ResponseHeadsParseStrictlyButAcceptValidShapes) {
  ResponseHead head;
  std::size_t consumed = 0;
  std::string error;
  const std::string ok =
      "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nX-Empty:\r\nX-Ws: \t v \t\r\n\r\nhello";
  ASSERT_EQ(parseResponseHead(ok, &head, &consumed, &error), HeadParse::kDone) << error;
  EXPECT_EQ(consumed, ok.size() - 5);
  EXPECT_EQ(head.contentLength, 5);
  EXPECT_EQ(head.headers.get("X-Empty").value_or("?"), "");
  EXPECT_EQ(head.headers.get("X-Ws").value_or(""), "v");
  EXPECT_TRUE(head.keepAlive);
  ASSERT_EQ(
      parseResponseHead("HTTP/1.1 200\r\nConnection: x, close\r\n\r\n", &head, &consumed, &error),
      HeadParse::kDone);
  EXPECT_EQ(head.reason, "");
  EXPECT_FALSE(head.keepAlive);
  EXPECT_EQ(parseResponseHead("HTTP/1.1 200 OK\r\nX: y\r\n", &head, &consumed, &error),
            HeadParse::kIncomplete);
  EXPECT_EQ(parseResponseHead(manyFields(199), &head, &consumed, &error), HeadParse::kDone);
  // An incomplete head that is already too large is refused without waiting for the rest.
  EXPECT_EQ(parseResponseHead("HTTP/1.1 200 OK\r\nX: " + std::string(65 * 1024, 'a'), &head,
                              &consumed, &error),
            HeadParse::kError);
}

TEST(HttpBackendTest, FirstByteTimeout) {
  ScriptedOrigin origin([](Peer& peer, int) {
    if (peer.readHead().empty()) return;
    peer.readHead();  // Never answers; returns when the client closes (or after 5 s).
  });
  auto options = optionsFor(origin);
  options.firstByteTimeoutMs = 200;
  HttpBackend backend(options);
  const auto started = Clock::now();
  auto f = fetch(backend, get("/silent"));
  const auto took = Clock::now() - started;
  EXPECT_FALSE(f.response);
  EXPECT_EQ(f.failure, FetchFailure::kReceive);
  EXPECT_NE(f.error.find("timed out (first byte)"), std::string::npos) << f.error;
  EXPECT_GE(took, std::chrono::milliseconds(150));
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST(HttpBackendTest, ConnectRefusedIsAConnectFailure) {
  std::uint16_t port = 0;
  {
    ScriptedOrigin gone([](Peer&, int) {});
    port = gone.port();
  }
  HttpBackendOptions options;
  options.name = "gone";
  options.host = "127.0.0.1";
  options.port = port;
  HttpBackend backend(options);
  auto f = fetch(backend, get("/"));
  EXPECT_FALSE(f.response);
  EXPECT_EQ(f.failure, FetchFailure::kConnect);
  EXPECT_EQ(backend.counters().failures.load(), 1u);
}

TEST(HttpBackendTest, StalePooledConnectionIsRetriedOnANewOne) {
  // The first connection answers once and is then closed by the origin while it sits idle.
  ScriptedOrigin origin([](Peer& peer, int index) {
    std::string head;
    while (!(head = peer.readHead()).empty()) {
      peer.send("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + std::to_string(index));
      if (index == 0) return;
    }
  });
  HttpBackend backend(optionsFor(origin));
  {
    auto f = fetch(backend, get("/one"));
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "0");
  }
  ASSERT_TRUE(waitFor([&] { return origin.closed() == 1; }));
  auto f = fetch(backend, get("/two"));
  ASSERT_TRUE(f.response) << f.error;
  EXPECT_EQ(readBody(*f.response), "1");
  EXPECT_EQ(origin.accepted(), 2);
  EXPECT_EQ(backend.counters().requests.load(), 2u);
  EXPECT_EQ(backend.counters().newConnections.load(), 2u);
  EXPECT_EQ(backend.counters().failures.load(), 0u);
}

TEST(HttpBackendTest, NonIdempotentRequestOnAStaleConnectionIsRetriedOnlyIfNotSent) {
  // POST with a streamed body: once the body left, a failure is not retried.
  ScriptedOrigin origin([](Peer& peer, int index) {
    if (index == 0) {
      if (peer.readHead().empty()) return;
      peer.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
  });
  HttpBackend backend(optionsFor(origin));
  { ASSERT_TRUE(fetch(backend, get("/warm")).response); }
  ASSERT_TRUE(waitFor([&] { return origin.closed() == 1; }));
  std::istringstream body(std::string(200 * 1024, 'p'));
  auto request = get("/post", "POST");
  request.body = &body;
  request.contentLength = 200 * 1024;
  auto f = fetch(backend, request);
  EXPECT_FALSE(f.response);
  EXPECT_EQ(origin.accepted(), 1);
}

TEST(HttpBackendTest, RequestBodiesAreSentWithLengthOrChunked) {
  ScriptedOrigin origin([](Peer& peer, int) {
    std::string head;
    while (!(head = peer.readHead()).empty()) {
      std::string got;
      if (head.find("Transfer-Encoding: chunked\r\n") != std::string::npos) {
        got = peer.readUntil("0\r\n\r\n");
      } else if (head.find("Content-Length: 5\r\n") != std::string::npos) {
        got = peer.readUntil("hello");
      }
      const bool keepAlive = head.find("Connection: Keep-Alive\r\n") != std::string::npos;
      const std::string echo = (keepAlive ? "K" : "") + got;
      peer.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(echo.size()) + "\r\n\r\n" +
                echo);
    }
  });
  HttpBackend backend(optionsFor(origin));
  {
    std::istringstream body("hello");
    auto request = get("/len", "POST");
    request.body = &body;
    request.contentLength = 5;
    auto f = fetch(backend, request);
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "Khello");
  }
  {
    std::istringstream body("chunky body");
    auto request = get("/chunked", "PUT");
    request.body = &body;
    auto f = fetch(backend, request);
    ASSERT_TRUE(f.response) << f.error;
    EXPECT_EQ(readBody(*f.response), "Kb\r\nchunky body\r\n0\r\n\r\n");
  }
  EXPECT_EQ(backend.counters().reusedConnections.load(), 1u);
}

}  // namespace
}  // namespace strata::edge::origin

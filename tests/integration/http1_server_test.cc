// The proxy listener's HTTP/1.1 server over real loopback sockets, with a scripted handler in
// place of the pipeline: keep-alive, pipelining, request bodies (length, chunked, 100-continue),
// response framing, refusals that close, deadlines, the connection cap, and the hand-off that
// keeps a blocked request from stalling other clients.

#include "edge/server/http1_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "edge/pipeline/blocking.h"

namespace strata::edge::server {
namespace {

using Clock = std::chrono::steady_clock;

// A blocking loopback client with deadlines on every read.
class Client {
 public:
  explicit Client(std::uint16_t port, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, source, &local.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  // Reads more bytes into the buffer; false on close, error or deadline.
  bool more(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buffer[65536];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  // True when the server closed the connection before the deadline (all data read first).
  bool closedBy(Clock::time_point deadline) {
    while (!closed_ && more(deadline)) {
    }
    return closed_;
  }

  struct Response {
    int status = 0;
    std::string head;
    std::string body;
  };

  // Reads one response: Content-Length, chunked, or (for HTTP/1.0 style) until close.
  Response read(Clock::time_point deadline) {
    Response r;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!more(deadline)) return r;
    }
    r.head = buffer_.substr(0, end + 4);
    buffer_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    if (r.status < 200) return r;  // Interim: no body.
    const auto lower = lowered(r.head);
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        std::size_t eol;
        while ((eol = buffer_.find("\r\n")) == std::string::npos) {
          if (!more(deadline)) return r;
        }
        const auto size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
        while (buffer_.size() < eol + 2 + size + 2) {
          if (!more(deadline)) return r;
        }
        r.body += buffer_.substr(eol + 2, size);
        buffer_.erase(0, eol + 2 + size + 2);
        if (size == 0) break;
      }
    } else if (auto pos = lower.find("content-length: "); pos != std::string::npos) {
      const auto length = std::stoul(lower.substr(pos + 16));
      while (buffer_.size() < length) {
        if (!more(deadline)) return r;
      }
      r.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else if (r.status != 204 && r.status != 304) {
      while (more(deadline)) {
      }
      r.body = std::move(buffer_);
      buffer_.clear();
    }
    return r;
  }

 private:
  static std::string lowered(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

Clock::time_point in(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

class Http1ServerTest : public testing::Test {
 protected:
  void start(Http1Options options = {}) {
    std::string error;
    server_ = Http1Server::create(
        "127.0.0.1", 0, options,
        [this](const pipeline::ClientRequest& request, pipeline::ResponseSink& sink) {
          handle(request, sink);
        },
        nullptr, &error);
    ASSERT_TRUE(server_) << error;
    server_->start();
  }

  void TearDown() override {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    release_.notify_all();
    if (server_) server_->stop();
  }

  // /block waits (after the blocking hint) until the test releases it; /unframed answers with
  // an unknown length (plain and vectored writes); /ignore-body answers without reading the
  // body; anything else echoes.
  void handle(const pipeline::ClientRequest& request, pipeline::ResponseSink& sink) {
    http::HeaderList headers;
    headers.add("Content-Type", "text/plain");
    if (request.target == "/block") {
      pipeline::mayBlock();
      std::unique_lock lock(mutex_);
      ++blocked_;
      blockedChanged_.notify_all();
      release_.wait_for(lock, std::chrono::seconds(20), [this] { return released_; });
    }
    if (request.target == "/thread-name") {  // The name of the thread serving the request.
      char name[32] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      const std::string text(name);
      sink.sendHead(200, "", headers, static_cast<std::int64_t>(text.size()));
      sink.write(text.data(), text.size());
      sink.finish();
      return;
    }
    if (request.target == "/unframed") {
      sink.sendHead(200, "", headers, -1);
      sink.write("part1,", 6);
      sink.write("part2", 5);
      // A vectored write of more pieces than one writev takes, with an empty one among them.
      std::vector<std::string> parts;
      std::vector<std::string_view> pieces;
      for (int i = 0; i < 20; ++i) parts.push_back(i == 7 ? "" : "," + std::to_string(i));
      for (const auto& p : parts) pieces.emplace_back(p);
      sink.write(pieces.data(), pieces.size());
      sink.finish();
      return;
    }
    std::string body;
    if (request.body && request.target != "/ignore-body") {
      char buffer[1024];
      while (request.body->read(buffer, sizeof buffer) || request.body->gcount() > 0) {
        body.append(buffer, static_cast<std::size_t>(request.body->gcount()));
      }
    }
    const std::string text =
        request.method + " " + request.target + " host=" + request.host + " body=" + body;
    sink.sendHead(200, "", headers, static_cast<std::int64_t>(text.size()));
    sink.write(text.data(), text.size());
    sink.finish();
  }

  std::uint16_t port() const { return server_->port(); }

  std::unique_ptr<Http1Server> server_;
  std::mutex mutex_;
  std::condition_variable release_;
  std::condition_variable blockedChanged_;
  bool released_ = false;
  int blocked_ = 0;
};

TEST_F(Http1ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  Client c(port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 5; ++i) {
    c.send("GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a.example\r\n\r\n");
    auto r = c.read(in(5000));
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "GET /r" + std::to_string(i) + " host=a.example body=");
    EXPECT_NE(r.head.find("\r\nDate: "), std::string::npos);
    EXPECT_EQ(r.head.find("Connection: close"), std::string::npos);
  }
  EXPECT_EQ(server_->counters().accepted.load(), 1u);
}

TEST_F(Http1ServerTest, RequestsAreServedOnThreadsNamedForOperators) {
  start();
  Client c(port());
  ASSERT_TRUE(c.connected());
  c.send("GET /thread-name HTTP/1.1\r\nHost: a.example\r\n\r\n");
  auto r = c.read(in(5000));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "strata-worker");
}

TEST_F(Http1ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  Client c(port());
  c.send(
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(c.read(in(5000)).body, "GET /1 host=h body=");
  EXPECT_EQ(c.read(in(5000)).body, "POST /2 host=h body=abc");
  auto last = c.read(in(5000));
  EXPECT_EQ(last.body, "GET /3 host=h body=");
  EXPECT_NE(last.head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.closedBy(in(5000)));
}

TEST_F(Http1ServerTest, ChunkedRequestBodiesAreDecoded) {
  start();
  Client c(port());
  c.send(
      "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
      "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(c.read(in(5000)).body, "POST /up host=h body=hello 0123456789");
  EXPECT_EQ(c.read(in(5000)).body, "GET /after host=h body=");
}

TEST_F(Http1ServerTest, MalformedChunkSizeClosesTheConnection) {
  start();
  Client c(port());
  c.send(
      "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
  auto r = c.read(in(5000));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST /up host=h body=");
  EXPECT_TRUE(c.closedBy(in(5000)));
}

TEST_F(Http1ServerTest, ExpectContinueGetsTheInterimOnlyWhenTheBodyIsRead) {
  start();
  Client c(port());
  c.send("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read(in(5000));
  ASSERT_EQ(interim.status, 100);
  c.send("data");
  EXPECT_EQ(c.read(in(5000)).body, "PUT /x host=h body=data");

  // A handler that answers without reading: no 100, and the connection closes rather than
  // waiting for a body the client holds back.
  Client d(port());
  d.send(
      "PUT /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto r = d.read(in(5000));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(d.closedBy(in(5000)));
}

TEST_F(Http1ServerTest, AnUnreadBodyIsDrainedAndTheConnectionReused) {
  start();
  Client c(port());
  c.send("POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nGET /");
  EXPECT_EQ(c.read(in(5000)).status, 200);
  c.send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(c.read(in(5000)).body, "GET /next host=h body=");
}

constexpr const char* kUnframedBody = "part1,part2,0,1,2,3,4,5,6,8,9,10,11,12,13,14,15,16,17,18,19";

TEST_F(Http1ServerTest, UnknownLengthIsChunkedFor11AndCloseDelimitedFor10) {
  start();
  Client c(port());
  c.send("GET /unframed HTTP/1.1\r\nHost: h\r\n\r\n");
  auto r = c.read(in(5000));
  EXPECT_NE(r.head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(r.body, kUnframedBody);
  c.send("GET /unframed HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  r = c.read(in(5000));
  EXPECT_EQ(r.head.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(r.body, kUnframedBody);
  EXPECT_TRUE(c.closedBy(in(5000)));
}

TEST_F(Http1ServerTest, RefusedRequestsGetTheirStatusAndAClose) {
  start();
  struct Case {
    std::string request;
    const char* status;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\nx",
       "400"},
      {"GET / HTTP/1.1\r\n\r\n", "400"},
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", "505"},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(40000, 'a') + "\r\n\r\n", "431"},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", "414"},
  };
  for (const auto& k : cases) {
    Client c(port());
    c.send(k.request);
    auto r = c.read(in(5000));
    EXPECT_EQ(std::to_string(r.status), k.status) << k.request.substr(0, 60);
    EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(c.closedBy(in(5000)));
  }
  EXPECT_EQ(server_->counters().badRequests.load(), 5u);
}

TEST_F(Http1ServerTest, ASlowHeadIsCutAtItsDeadline) {
  Http1Options options;
  options.headerTimeoutMs = 200;
  start(options);
  Client c(port());
  c.send("GET / HTTP/1.1\r\nHo");
  const auto started = Clock::now();
  EXPECT_TRUE(c.closedBy(in(10000)));
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(150));
  // Counted once the worker closed it.
  const auto deadline = in(5000);
  while (server_->counters().timedOut.load() == 0 && Clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(server_->counters().timedOut.load(), 1u);
}

TEST_F(Http1ServerTest, IdleKeepAliveConnectionsAreClosed) {
  Http1Options options;
  options.keepAliveTimeoutMs = 200;
  start(options);
  Client c(port());
  c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(c.read(in(5000)).status, 200);
  EXPECT_TRUE(c.closedBy(in(10000)));
}

TEST_F(Http1ServerTest, ConnectionsOverTheCapAreClosedAtOnce) {
  Http1Options options;
  options.maxConnections = 2;
  start(options);
  Client a(port());
  Client b(port());
  // Both are registered once each has been answered.
  a.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  b.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(a.read(in(5000)).status, 200);
  ASSERT_EQ(b.read(in(5000)).status, 200);
  Client c(port());
  EXPECT_TRUE(c.closedBy(in(5000)));
  EXPECT_EQ(server_->counters().refused.load(), 1u);
}

TEST_F(Http1ServerTest, ConnectionsPerClientAddressAreCapped) {
  Http1Options options;
  options.maxConnectionsPerClient = 2;
  start(options);
  Client a(port(), "127.0.0.1");
  Client b(port(), "127.0.0.1");
  a.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  b.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(a.read(in(5000)).status, 200);
  ASSERT_EQ(b.read(in(5000)).status, 200);
  Client third(port(), "127.0.0.1");
  EXPECT_TRUE(third.closedBy(in(5000)));
  // Another address is not affected.
  Client other(port(), "127.0.0.2");
  other.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(other.read(in(5000)).status, 200);
  EXPECT_EQ(server_->counters().refused.load(), 1u);
}

TEST_F(Http1ServerTest, WithDeferredAcceptASilentConnectionIsNotAcceptedUntilItSpeaks) {
  Http1Options options;
  options.deferAcceptSeconds = 30;
  start(options);
  Client silent(port());
  ASSERT_TRUE(silent.connected());
  // A connection that sends its request is accepted and served at once, by the worker that
  // accepts it; the silent one stays with the kernel.
  for (int i = 0; i < 3; ++i) {
    Client c(port());
    c.send("GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    const auto r = c.read(in(5000));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "GET /n" + std::to_string(i) + " host=h body=");
    EXPECT_TRUE(c.closedBy(in(5000)));
  }
  EXPECT_EQ(server_->counters().accepted.load(), 3u);
  // Once it speaks it is served, and kept alive: its next requests, pipelined or not, come
  // through epoll like any connection's.
  silent.send("GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(silent.read(in(5000)).body, "GET /late host=h body=");
  EXPECT_EQ(server_->counters().accepted.load(), 4u);
  silent.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(silent.read(in(5000)).body, "GET /a host=h body=");
  EXPECT_EQ(silent.read(in(5000)).body, "GET /b host=h body=");
  silent.send("GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(silent.read(in(5000)).body, "GET /c host=h body=");
}

TEST_F(Http1ServerTest, WithDeferredAcceptASilentConnectionGetsTheHeaderTimeout) {
  // The kernel hands a silent connection over after the deferral (about a second); from then
  // it has header_timeout for its first request, not the longer keep-alive time.
  Http1Options options;
  options.deferAcceptSeconds = 1;
  options.headerTimeoutMs = 300;
  options.keepAliveTimeoutMs = 30000;
  start(options);
  Client silent(port());
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.closedBy(in(15000)));
}

TEST_F(Http1ServerTest, WithDeferredAcceptAHeadInPiecesIsStillServed) {
  Http1Options options;
  options.deferAcceptSeconds = 30;
  start(options);
  Client c(port());
  c.send("GET /split HTTP/1.1\r\n");  // Accepted on these bytes; the rest comes later.
  const auto deadline = in(5000);
  while (server_->counters().accepted.load() == 0 && Clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(server_->counters().accepted.load(), 1u);
  c.send("Host: h\r\n\r\n");
  EXPECT_EQ(c.read(in(5000)).body, "GET /split host=h body=");
}

TEST_F(Http1ServerTest, AStalledBodyIsCutAtTheClientTimeout) {
  Http1Options options;
  options.clientTimeoutMs = 200;
  start(options);
  Client c(port());
  c.send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab");
  // The handler gets the two bytes and the end of a cut body; the connection closes.
  auto r = c.read(in(10000));
  EXPECT_EQ(r.body, "POST /up host=h body=ab");
  EXPECT_TRUE(c.closedBy(in(10000)));
}

TEST_F(Http1ServerTest, ABlockedRequestHandsOverSoOthersAreServed) {
  Http1Options options;
  options.threads = 4;
  options.eventThreads = 1;  // One event slot: without the hand-off, everything would wait.
  start(options);
  Client blocked(port());
  blocked.send("GET /block HTTP/1.1\r\nHost: h\r\n\r\n");
  {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(
        blockedChanged_.wait_for(lock, std::chrono::seconds(5), [this] { return blocked_ == 1; }));
  }
  for (int i = 0; i < 3; ++i) {
    Client other(port());
    other.send("GET /fast HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(other.read(in(5000)).status, 200) << i;
  }
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  release_.notify_all();
  EXPECT_EQ(blocked.read(in(5000)).body, "GET /block host=h body=");
}

TEST_F(Http1ServerTest, ManyClientsInParallel) {
  start();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Client c(port());
      for (int i = 0; i < 200; ++i) {
        const auto target = "/t" + std::to_string(t) + "/" + std::to_string(i);
        c.send("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
        if (c.read(in(10000)).body == "GET " + target + " host=h body=") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

TEST_F(Http1ServerTest, StopAcceptingClosesIdleConnections) {
  start();
  Client c(port());
  c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(c.read(in(5000)).status, 200);
  server_->stopAccepting();
  EXPECT_TRUE(c.closedBy(in(5000)));
  Client late(port());
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace strata::edge::server

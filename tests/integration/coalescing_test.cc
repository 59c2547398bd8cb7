// Request coalescing through the real node: one origin fetch per cold key, waiters that stream
// while the leader receives, uncacheable outcomes that release waiters, and leader failures.

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "edge/pipeline/stats.h"
#include "node_fixture.h"
#include "test_support.h"

namespace strata::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Counts requests in progress at the origin and the most seen at once.
struct Concurrency {
  std::mutex mutex;
  std::condition_variable changed;
  int current = 0;
  int max = 0;
  int arrived = 0;
  void enter() {
    std::lock_guard lock(mutex);
    ++arrived;
    max = std::max(max, ++current);
    changed.notify_all();
  }
  void leave() {
    std::lock_guard lock(mutex);
    --current;
  }
  // Waits (bounded) until `n` requests have arrived.
  bool awaitArrivals(int n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return arrived >= n; });
  }
};

// A number from the /api/stats JSON, or -1.
long long statNumber(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + key.size() + 3);
}

std::vector<Response> burst(std::uint16_t port, const std::string& uri, int clients) {
  std::vector<std::future<Response>> pending;
  for (int i = 0; i < clients; ++i) {
    pending.push_back(std::async(std::launch::async, [port, uri] {
      return request(port, "GET", uri, {{"Host", "burst.test"}});
    }));
  }
  std::vector<Response> out;
  for (auto& p : pending) out.push_back(p.get());
  return out;
}

class CoalescingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = configFor(origin_.url(), dir_.path());
    config.workerThreads = 256;
    node_ = startNode(config);
  }
  ScriptedOrigin origin_;
  TempDir dir_;
  std::unique_ptr<edge::app::Node> node_;
};

TEST_F(CoalescingTest, AColdBurstMakesOneOriginRequestAndEveryoneGetsTheBody) {
  const std::string body = pattern(300000);
  origin_.on("/cold", [&body](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& res) {
    std::this_thread::sleep_for(1s);  // A slow origin: the burst arrives while it thinks.
    res.add("Cache-Control", "max-age=60");
    res.setContentLength64(static_cast<std::int64_t>(body.size()));
    res.send() << body;
  });
  constexpr int kClients = 100;
  auto responses = burst(node_->proxyPort(), "/cold", kClients);
  int collapsed = 0;
  for (const auto& r : responses) {
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    EXPECT_TRUE(r.body == body);
    if (has(r, "collapsed")) ++collapsed;
  }
  EXPECT_EQ(origin_.count("/cold"), 1);
  EXPECT_GE(collapsed, kClients / 2);  // Most joined the leader's fill (the rest were hits).
}

// The origin sends `total` bytes at about 10 MiB/s and counts what it has sent.
ScriptedOrigin::Handler paced(std::uint64_t total, std::atomic<std::uint64_t>& sent,
                              const std::string& cacheControl = "max-age=60",
                              bool chunked = false) {
  return [total, &sent, cacheControl, chunked](Poco::Net::HTTPServerRequest&,
                                               Poco::Net::HTTPServerResponse& res) {
    res.add("Cache-Control", cacheControl);
    if (chunked) {
      res.setChunkedTransferEncoding(true);
    } else {
      res.setContentLength64(static_cast<std::int64_t>(total));
    }
    std::ostream& out = res.send();
    const std::string block(64 * 1024, 'p');
    for (std::uint64_t offset = 0; offset < total && out; offset += block.size()) {
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
      out.flush();
      sent += block.size();
      std::this_thread::sleep_for(6250us);  // 64 KiB every 6.25 ms = 10 MiB/s.
    }
  };
}

// Sends a GET and returns the time until the first body byte arrived, then reads the rest.
struct FirstByte {
  std::chrono::microseconds latency{0};
  std::uint64_t bodyBytes = 0;
  std::uint64_t originSentAtFirstByte = 0;  // What the origin had sent when it arrived.
};

FirstByte timeFirstByte(std::uint16_t port, const std::string& uri,
                        const std::atomic<std::uint64_t>* originSent = nullptr) {
  FirstByte result;
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
  socket.setReceiveTimeout(Poco::Timespan(30, 0));
  const std::string req =
      "GET " + uri + " HTTP/1.1\r\nHost: stream.test\r\nConnection: close\r\n\r\n";
  const auto start = Clock::now();
  socket.sendBytes(req.data(), static_cast<int>(req.size()));
  std::string head;
  char buffer[65536];
  bool inBody = false;
  while (true) {
    int n = socket.receiveBytes(buffer, sizeof buffer);
    if (n <= 0) break;
    if (!inBody) {
      head.append(buffer, static_cast<std::size_t>(n));
      auto end = head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      inBody = true;
      const auto bodyHere = head.size() - (end + 4);
      if (bodyHere > 0) {
        result.latency =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
        result.bodyBytes += bodyHere;
      }
      continue;
    }
    if (result.bodyBytes == 0) {
      result.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      if (originSent) result.originSentAtFirstByte = originSent->load();
    }
    result.bodyBytes += static_cast<std::uint64_t>(n);
  }
  return result;
}

TEST_F(CoalescingTest, AWaiterStreamsFromTheFirstByteWhileTheLeaderReceives) {
  constexpr std::uint64_t kTotal = 24ull << 20;  // 2.4 s at 10 MiB/s.
  std::atomic<std::uint64_t> sent{0};
  origin_.on("/stream", paced(kTotal, sent));
  auto leader =
      std::async(std::launch::async, [&] { return timeFirstByte(node_->proxyPort(), "/stream"); });
  // Join once the origin is well into the body (bounded wait).
  for (int i = 0; i < 1000 && sent.load() < (6ull << 20); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_GE(sent.load(), 6ull << 20);
  FirstByte waiter = timeFirstByte(node_->proxyPort(), "/stream", &sent);
  const std::uint64_t sentWhenDone = sent.load();
  std::cout << "waiter first byte after " << waiter.latency.count() << " us\n";
  EXPECT_LT(waiter.latency, 100ms);
  // Whatever the load, the first byte came while the origin was still sending.
  EXPECT_LT(waiter.originSentAtFirstByte, kTotal);
  EXPECT_EQ(waiter.bodyBytes, kTotal);
  EXPECT_EQ(leader.get().bodyBytes, kTotal);
  EXPECT_GE(sentWhenDone, kTotal);  // The waiter finished only when the origin did.
  EXPECT_EQ(origin_.count("/stream"), 1);
}

// The leader fetches on its own thread; a body longer than the fill's window goes on on a fetch
// thread so that the leader streams it while it arrives. Were it read in full first, an unstored
// body would wait on the leader's own reader (the fill's backpressure) and never finish.
TEST_F(CoalescingTest, TheLeaderStreamsALargeUnstoredBodyWhileItArrives) {
  constexpr std::uint64_t kTotal = 8ull << 20;  // 0.8 s at 10 MiB/s; the fill keeps 512 KiB.
  for (const bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    const std::string path = chunked ? "/big-private-chunked" : "/big-private";
    std::atomic<std::uint64_t> sent{0};
    origin_.on(path, paced(kTotal, sent, "no-store", chunked));
    const FirstByte leader = timeFirstByte(node_->proxyPort(), path, &sent);
    if (chunked) {
      EXPECT_GT(leader.bodyBytes, kTotal);  // The body and its chunk framing.
    } else {
      EXPECT_EQ(leader.bodyBytes, kTotal);
    }
    EXPECT_LT(leader.originSentAtFirstByte, kTotal);  // Streamed, not read in full first.
    EXPECT_EQ(origin_.count(path), 1);
  }
}

TEST_F(CoalescingTest, NoStoreReleasesWaitersAndLaterBurstsRunInParallel) {
  Concurrency c;
  std::atomic<int> expected{0};
  origin_.on("/private-data",
             [&](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& res) {
               c.enter();
               // Hold each request until `expected` have arrived (bounded): only parallel
               // forwarding fills it.
               c.awaitArrivals(expected.load(), 3s);
               res.add("Cache-Control", "no-store");
               res.setContentLength(2);
               res.send() << "ok";
               c.leave();
             });
  // First burst: one leader; its no-store answer releases the others at once.
  expected = 1;
  auto first = burst(node_->proxyPort(), "/private-data", 10);
  for (const auto& r : first) EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(origin_.count("/private-data"), 10);
  // Second burst: the key is remembered as uncacheable, so all ten go to the origin together.
  {
    std::lock_guard lock(c.mutex);
    c.arrived = 0;
    c.max = 0;
  }
  expected = 10;
  const auto start = Clock::now();
  auto second = burst(node_->proxyPort(), "/private-data", 10);
  const auto took = Clock::now() - start;
  for (const auto& r : second) EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(c.max, 10) << "the second burst was not forwarded in parallel";
  EXPECT_LT(took, 3s);  // Nobody waited out the origin's bounded hold.
  EXPECT_GE(statNumber(node_->statsJson(), "hit_for_miss"), 10);
}

TEST_F(CoalescingTest, AnOriginResetMidBodyReleasesEveryWaiterAndStoresNothing) {
  std::atomic<int> calls{0};
  std::atomic<std::uint64_t> sent{0};
  origin_.on("/reset", [&](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    res.add("Cache-Control", "max-age=60");
    res.setContentLength64(4 << 20);
    std::ostream& out = res.send();
    const std::string block(64 * 1024, 'r');
    const bool failing = calls.fetch_add(1) == 0;
    for (int i = 0; i < 64 && out; ++i) {
      if (failing && i == 24) {
        static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket().shutdown();
        return;
      }
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
      out.flush();
      sent += block.size();
      if (failing) std::this_thread::sleep_for(10ms);
    }
  });
  const auto start = Clock::now();
  auto responses = burst(node_->proxyPort(), "/reset", 8);
  EXPECT_LT(Clock::now() - start, 10s);
  for (const auto& r : responses) {
    EXPECT_FALSE(r.complete) << "a waiter got a body the origin never finished";
  }
  EXPECT_EQ(origin_.count("/reset"), 1);
  Response clean = request(node_->proxyPort(), "GET", "/reset", {{"Host", "burst.test"}});
  EXPECT_TRUE(clean.complete);
  EXPECT_EQ(clean.body.size(), 4u << 20);
  EXPECT_FALSE(has(clean, "; hit"));
  EXPECT_EQ(origin_.count("/reset"), 2);
}

TEST_F(CoalescingTest, ALeaderWhoDisconnectsDoesNotAbortTheFill) {
  constexpr std::uint64_t kTotal = 8ull << 20;
  std::atomic<std::uint64_t> sent{0};
  origin_.on("/abandoned", paced(kTotal, sent));
  {
    // The first client reads the head and a little body, then goes away.
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", node_->proxyPort()));
    const std::string req = "GET /abandoned HTTP/1.1\r\nHost: burst.test\r\n\r\n";
    socket.sendBytes(req.data(), static_cast<int>(req.size()));
    char buffer[4096];
    socket.receiveBytes(buffer, sizeof buffer);
    socket.close();
  }
  Response second = request(node_->proxyPort(), "GET", "/abandoned", {{"Host", "burst.test"}});
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.body.size(), kTotal);
  Response third = request(node_->proxyPort(), "GET", "/abandoned", {{"Host", "burst.test"}});
  EXPECT_TRUE(has(third, "; hit")) << third.header("Cache-Status");
  EXPECT_EQ(origin_.count("/abandoned"), 1);
}

TEST_F(CoalescingTest, AWaiterWithAnotherVariantFetchesItsOwn) {
  origin_.on("/variant", [](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    std::this_thread::sleep_for(300ms);
    std::string body = "lang=" + req.get("Accept-Language", "none");
    res.add("Cache-Control", "max-age=60");
    res.add("Vary", "Accept-Language");
    res.setContentLength64(static_cast<std::int64_t>(body.size()));
    res.send() << body;
  });
  auto fr = std::async(std::launch::async, [&] {
    return request(node_->proxyPort(), "GET", "/variant", {{"Accept-Language", "fr"}});
  });
  auto de = std::async(std::launch::async, [&] {
    return request(node_->proxyPort(), "GET", "/variant", {{"Accept-Language", "de"}});
  });
  EXPECT_EQ(fr.get().body, "lang=fr");
  EXPECT_EQ(de.get().body, "lang=de");
}

}  // namespace
}  // namespace strata::testing

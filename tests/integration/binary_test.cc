// The real strata binary as a child process: command line, config errors, restart persistence
// and the memory bound while a 256 MiB response streams through.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "test_support.h"

namespace strata::testing {
namespace {

std::vector<std::string> nodeArgs(const std::string& origin, const std::string& cacheDir) {
  return {"--config",       sourceDir() + "/config/strata.yaml",
          "--origin",       origin,
          "--listen",       "127.0.0.1:0",
          "--admin-listen", "127.0.0.1:0",
          "--cache-dir",    cacheDir,
          "--name",         "bin-node"};
}

TEST(BinaryTest, CheckConfigAcceptsTheShippedConfig) {
  std::string out;
  EXPECT_EQ(runStrata({"--check-config", sourceDir() + "/config/strata.yaml"}, &out), 0) << out;
}

TEST(BinaryTest, CheckConfigNamesTheProblemAndExits1) {
  TempDir dir;
  const std::string file = dir.path() + "/broken.yaml";
  std::ofstream(file) << "node:\n  name: edge-9\ncache:\n  memory: lots\n  colour: blue\n"
                         "pools:\n  - name: a\n    backends:\n      - url: http://127.0.0.1:80\n";
  std::string out;
  EXPECT_EQ(runStrata({"--check-config", file}, &out), 1);
  EXPECT_NE(out.find(file + ":4:"), std::string::npos) << out;
  EXPECT_NE(out.find("memory"), std::string::npos) << out;
  EXPECT_NE(out.find("colour"), std::string::npos) << out;
}

TEST(BinaryTest, UnwritableCacheDirIsAOneLineError) {
  TempDir dir;
  const std::string file = dir.path() + "/plain-file";
  std::ofstream(file) << "not a directory";
  std::string out;
  int rc = runStrata(nodeArgs("http://127.0.0.1:9", file + "/cache"), &out);
  EXPECT_NE(rc, 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("cache"), std::string::npos) << out;
  EXPECT_EQ(out.find("terminate"), std::string::npos) << out;
}

TEST(BinaryTest, BadOverrideIsAOneLineError) {
  std::string out;
  int rc = runStrata({"--config", sourceDir() + "/config/strata.yaml", "--memory", "lots"}, &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--memory"), std::string::npos) << out;
}

TEST(BinaryTest, RestartServesFromDiskWithoutTheOrigin) {
  ScriptedOrigin origin;
  origin.on("/doc", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=600"}}, "document"));
  TempDir cache;
  {
    StrataProcess node(nodeArgs(origin.url(), cache.path()));
    ASSERT_TRUE(node.started()) << node.output();
    Response miss = request(node.proxyPort(), "GET", "/doc", {{"Host", "cdn.example.test"}});
    EXPECT_EQ(miss.header("Cache-Status"), "bin-node; fwd=uri-miss; fwd-status=200; stored");
    EXPECT_EQ(node.terminate(), 0) << node.output();
  }
  {
    StrataProcess node(nodeArgs(origin.url(), cache.path()));
    ASSERT_TRUE(node.started()) << node.output();
    Response hit = request(node.proxyPort(), "GET", "/doc", {{"Host", "cdn.example.test"}});
    EXPECT_EQ(hit.body, "document");
    EXPECT_EQ(hit.header("Cache-Status").rfind("bin-node; hit", 0), 0u);
    EXPECT_FALSE(hit.header("Age").empty());
    EXPECT_EQ(node.terminate(), 0) << node.output();
  }
  EXPECT_EQ(origin.count("/doc"), 1);
}

TEST(BinaryTest, ErrorLogGetsJsonLinesAndLogsRotate) {
  // An origin that cannot be reached: each request logs event=origin_error (a warning).
  TempDir dir;
  const std::string config = dir.path() + "/strata.yaml";
  {
    std::ofstream out(config);
    out << "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n"
        << "cache: {disk: {path: " << dir.path() << "/cache}}\n"
        << "pools: [{name: p, backends: [{url: 'http://127.0.0.1:1'}]}]\n"
        << "logging:\n  level: error\n  error_log: " << dir.path() << "/error.log\n"
        << "  access_log: " << dir.path() << "/access.log\n  rotate_size: 1KiB\n"
        << "  rotate_keep: 2\n";
  }
  StrataProcess node({"--config", config});
  ASSERT_TRUE(node.started()) << node.output();
  // ~170 bytes per access-log line: 40 requests rotate the 1 KiB file several times.
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(request(node.proxyPort(), "GET", "/unreachable-" + std::to_string(i)).status, 502);
  }
  EXPECT_EQ(node.terminate(), 0) << node.output();
  // logging.level error keeps the warnings off stderr; error_log_level (warning) keeps them.
  EXPECT_EQ(node.output().find("origin_error"), std::string::npos) << node.output();
  std::ifstream errors(dir.path() + "/error.log");
  std::string line;
  ASSERT_TRUE(std::getline(errors, line));
  EXPECT_EQ(line.rfind("{\"time\":\"", 0), 0u) << line;
  EXPECT_NE(line.find("\"level\":\"warning\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"event\":\"origin_error\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"target\":\"/unreachable-"), std::string::npos) << line;
  // POCO numbers archives FILE.0 (newest) up and purges the oldest by modification time; with
  // several rotations in one second which numbers survive varies, but never more than two.
  int archives = 0;
  for (int i = 0; i < 10; ++i) {
    archives += std::ifstream(dir.path() + "/access.log." + std::to_string(i)).good() ? 1 : 0;
  }
  EXPECT_GE(archives, 1) << "rotated";
  EXPECT_LE(archives, 2) << "only 2 archives kept";
}

TEST(BinaryTest, SigtermLetsAnInFlightRequestFinish) {
  ScriptedOrigin origin;
  std::atomic<bool> started{false};
  origin.on("/slow", [&started](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& res) {
    res.setContentLength64(20);
    std::ostream& out = res.send();
    out << "first half" << std::flush;
    started = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // The origin is slow.
    out << "second hal" << std::flush;
  });
  TempDir cache;
  StrataProcess node(nodeArgs(origin.url(), cache.path()));
  ASSERT_TRUE(node.started()) << node.output();
  auto pending =
      std::async(std::launch::async, [&] { return request(node.proxyPort(), "GET", "/slow"); });
  for (int i = 0; i < 500 && !started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(started);
  EXPECT_EQ(node.terminate(), 0) << node.output();
  Response r = pending.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.body, "first halfsecond hal");
}

// Streams `size` bytes of a known pattern with Content-Length, 64 KiB at a time.
ScriptedOrigin::Handler largeBody(std::uint64_t size) {
  return [size](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& res) {
    res.add("Cache-Control", "max-age=600");
    res.setContentLength64(static_cast<std::int64_t>(size));
    std::ostream& out = res.send();
    std::string block(65536, '\0');
    for (std::uint64_t offset = 0; offset < size && out; offset += block.size()) {
      for (std::size_t i = 0; i < block.size(); ++i) {
        block[i] = static_cast<char>(((offset + i) * 31 + ((offset + i) >> 16)) & 0xff);
      }
      out.write(block.data(),
                static_cast<std::streamsize>(std::min<std::uint64_t>(block.size(), size - offset)));
    }
  };
}

// Reads a response to the end without keeping it; checks the pattern byte by byte.
struct Streamed {
  int status = 0;
  std::uint64_t bytes = 0;
  bool patternOk = true;
  std::string cacheStatus;
};

Streamed streamGet(std::uint16_t port, const std::string& uri) {
  Streamed s;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(60, 0));
    Poco::Net::HTTPRequest req("GET", uri, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    s.status = resp.getStatus();
    s.cacheStatus = resp.get("Cache-Status", "");
    std::vector<char> buffer(1 << 16);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
      for (std::streamsize i = 0; i < in.gcount(); ++i) {
        std::uint64_t pos = s.bytes + static_cast<std::uint64_t>(i);
        if (buffer[static_cast<std::size_t>(i)] !=
            static_cast<char>((pos * 31 + (pos >> 16)) & 0xff)) {
          s.patternOk = false;
        }
      }
      s.bytes += static_cast<std::uint64_t>(in.gcount());
    }
  } catch (const Poco::Exception&) {
  }
  return s;
}

// The child is the same build: under ASan (shadow memory, a quarantine of freed blocks) or TSan its
// RSS says nothing about Strata's buffering, so the bounds are checked in normal builds only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kRssIsMeaningful = false;
#else
constexpr bool kRssIsMeaningful = true;
#endif

TEST(BinaryTest, A256MiBResponseStreamsThroughAndIsCachedWithBoundedMemory) {
  constexpr std::uint64_t kSize = 256ull << 20;
  ScriptedOrigin origin;
  origin.on("/huge", largeBody(kSize));
  TempDir cache;
  auto args = nodeArgs(origin.url(), cache.path());
  args.insert(args.end(), {"--memory", "64MiB", "--disk", "1GiB"});
  StrataProcess node(args);
  ASSERT_TRUE(node.started()) << node.output();

  Streamed miss = streamGet(node.proxyPort(), "/huge");
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(miss.bytes, kSize);
  EXPECT_TRUE(miss.patternOk);
  EXPECT_NE(miss.cacheStatus.find("stored"), std::string::npos) << miss.cacheStatus;
  Streamed hit = streamGet(node.proxyPort(), "/huge");
  EXPECT_EQ(hit.bytes, kSize);
  EXPECT_TRUE(hit.patternOk);
  EXPECT_NE(hit.cacheStatus.find("; hit"), std::string::npos) << hit.cacheStatus;
  EXPECT_EQ(origin.count("/huge"), 1);

  const std::uint64_t peak = node.peakRssBytes();
  std::cout << "peak RSS (VmHWM) after a 256 MiB miss and hit: " << (peak >> 20) << " MiB\n";
  EXPECT_GT(peak, 0u);
  if (kRssIsMeaningful) {
    EXPECT_LT(peak, 160ull << 20);
  }
  EXPECT_EQ(node.terminate(), 0);
}

TEST(BinaryTest, A1GiBObjectStreamedTo20ClientsKeepsMemoryBounded) {
  constexpr std::uint64_t kSize = 1ull << 30;
  constexpr int kClients = 20;
  ScriptedOrigin origin;
  origin.on("/gig", largeBody(kSize));
  TempDir cache;
  auto args = nodeArgs(origin.url(), cache.path());
  args.insert(args.end(), {"--memory", "64MiB", "--disk", "3GiB"});
  StrataProcess node(args);
  ASSERT_TRUE(node.started()) << node.output();
  std::vector<std::future<Streamed>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(
        std::async(std::launch::async, [&node] { return streamGet(node.proxyPort(), "/gig"); }));
  }
  for (auto& c : clients) {
    Streamed s = c.get();
    EXPECT_EQ(s.status, 200);
    EXPECT_EQ(s.bytes, kSize);
    EXPECT_TRUE(s.patternOk);
  }
  EXPECT_EQ(origin.count("/gig"), 1);
  const std::uint64_t peak = node.peakRssBytes();
  std::cout << "peak RSS (VmHWM) with 20 clients of a 1 GiB object: " << (peak >> 20) << " MiB\n";
  if (kRssIsMeaningful) {
    EXPECT_LT(peak, 256ull << 20);
  }
  EXPECT_EQ(node.terminate(), 0);
}

}  // namespace
}  // namespace strata::testing

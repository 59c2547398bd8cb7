#pragma once
// Shared helpers for tests that run the real node in process on port 0.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "edge/app/node.h"
#include "test_support.h"

namespace strata::testing {

// The node's clock: real time plus an offset the test advances, so freshness can be tested
// without waiting. (Origins stamp Date with real time, so only advance after storing.)
struct TestClock {
  std::atomic<std::int64_t> offset{0};
  std::int64_t now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           offset.load();
  }
  void advance(std::int64_t seconds) { offset += seconds; }
};

inline edge::app::Config configFor(const std::string& originUrl, const std::string& cacheDir) {
  edge::app::Config c;
  c.nodeName = "test-node";
  c.listen = "127.0.0.1:0";
  c.adminListen = "127.0.0.1:0";
  c.cacheDir = cacheDir;
  c.memoryBytes = 64ull << 20;
  c.maxMemoryObjectBytes = 4ull << 20;
  c.diskBytes = 512ull << 20;
  c.workerThreads = 64;
  c.fetchThreads = 16;
  c.shutdownGraceMs = 2000;
  edge::app::Pool pool;
  pool.name = "origin";
  pool.backends.push_back({"origin", originUrl, 1});
  pool.readTimeoutMs = 5000;
  c.pools.push_back(pool);
  c.routes.push_back({"", "/", {"origin"}});
  c.adminTokens.push_back({"test", "secret-token"});
  return c;
}

inline std::unique_ptr<edge::app::Node> startNode(const edge::app::Config& config,
                                                  TestClock* clock = nullptr) {
  std::string error;
  edge::app::Node::Clock fn;
  if (clock) fn = [clock] { return clock->now(); };
  auto node = edge::app::Node::create(config, &error, fn);
  EXPECT_TRUE(node) << error;
  if (node) node->start();
  return node;
}

inline std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7 + i / 1000) & 0xff);
  return s;
}

inline bool has(const Response& r, const std::string& cacheStatusPart) {
  return r.header("Cache-Status").find(cacheStatusPart) != std::string::npos;
}

}  // namespace strata::testing

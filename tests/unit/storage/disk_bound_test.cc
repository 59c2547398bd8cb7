// The disk tier keeps its whole directory within ~1.1 x capacity under churn, keeps hot objects,
// and reclaims expired and purged data.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/rocksdb_tier.h"
#include "tests/unit/storage/test_dirs.h"

namespace strata::storage {
namespace {

using testing::TempDir;

constexpr std::uint64_t kCapacity = 64 << 20;

// Incompressible, deterministic body.
std::string bodyFor(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string body(size, '\0');
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    const std::uint64_t v = rng();
    std::copy_n(reinterpret_cast<const char*>(&v), 8, body.data() + i);
  }
  for (; i < size; ++i) body[i] = static_cast<char>(rng());
  return body;
}

// Mixed sizes, 4 KiB .. 2 MiB, log-uniform (many small, a few large), deterministic.
std::size_t sizeFor(std::uint64_t n) {
  std::mt19937_64 rng(n * 7919 + 1);
  std::uniform_real_distribution<double> exponent(12.0, 21.0);
  return static_cast<std::size_t>(std::pow(2.0, exponent(rng)));
}

EntryMeta metaFor(const std::string& key, std::int64_t responseTime = 101) {
  EntryMeta meta;
  meta.key = key;
  meta.status = 200;
  meta.headers = {{"Content-Type", "application/octet-stream"}};
  meta.requestTime = responseTime - 1;
  meta.responseTime = responseTime;
  return meta;
}

bool put(RocksDbTier& tier, const std::string& key, const std::string& body,
         std::int64_t responseTime = 101) {
  auto writer = tier.beginWrite(CacheKey(key), metaFor(key, responseTime), body.size());
  for (std::size_t pos = 0; pos < body.size(); pos += 64 << 10) {
    if (!writer->append(std::string_view(body).substr(pos, 64 << 10))) return false;
  }
  return writer->commit();
}

std::string readAll(const ObjectHandle& object) {
  std::string body;
  for (std::size_t i = 0; i < object->chunkCount(); ++i) {
    Chunk c = object->chunk(i);
    if (!c) return "<missing chunk>";
    body += *c;
  }
  return body;
}

std::unique_ptr<RocksDbTier> openTier(const std::string& path) {
  std::string error;
  auto tier = RocksDbTier::open({.path = path, .capacityBytes = kCapacity}, &error);
  EXPECT_NE(tier, nullptr) << error;
  return tier;
}

TEST(DiskBoundTest, ChurnStaysWithinBudgetAndKeepsHotObjects) {
  TempDir dir;
  auto tier = openTier(dir.path());
  ASSERT_NE(tier, nullptr);

  constexpr int kHot = 20;
  auto hotKey = [](int i) { return "hot-" + std::to_string(i); };
  auto hotSize = [](int i) { return sizeFor(1'000'000 + i); };
  std::uint64_t hotBytes = 0;
  for (int i = 0; i < kHot; ++i) {
    ASSERT_TRUE(put(*tier, hotKey(i), bodyFor(hotSize(i), 1'000'000 + i)));
    hotBytes += hotSize(i);
  }

  std::uint64_t written = 0;
  std::uint64_t maxDisk = 0;
  int hotReads = 0;
  for (std::uint64_t n = 0; written < 3 * kCapacity; ++n) {
    const std::size_t size = sizeFor(n);
    ASSERT_TRUE(put(*tier, "cold-" + std::to_string(n), bodyFor(size, n)));
    written += size;
    if (n % 2 == 0) {  // Requested often: one hot object every other write, round-robin.
      const int i = hotReads++ % kHot;
      ObjectHandle hot = tier->lookup(CacheKey(hotKey(i)));
      ASSERT_NE(hot, nullptr) << hotKey(i) << " evicted after " << written << " bytes";
      ASSERT_NE(hot->chunk(0), nullptr);
    }
    maxDisk = std::max(maxDisk, tier->diskUsageBytes());  // Sampled during the churn.
    ASSERT_LE(tier->stats().bytes, kCapacity);
  }
  tier->waitForBackgroundWork();
  const std::uint64_t finalDisk = tier->diskUsageBytes();
  const StoreStats stats = tier->stats();
  RecordProperty("capacity_bytes", std::to_string(kCapacity));
  RecordProperty("written_bytes", std::to_string(written));
  RecordProperty("max_disk_bytes", std::to_string(maxDisk));
  RecordProperty("final_disk_bytes", std::to_string(finalDisk));
  std::printf(
      "written %.1f MiB, hot %.1f MiB, disk max %.1f MiB final %.1f MiB (capacity %.1f), "
      "stats bytes %.1f MiB, entries %llu, evictions %llu\n",
      written / 1048576.0, hotBytes / 1048576.0, maxDisk / 1048576.0, finalDisk / 1048576.0,
      kCapacity / 1048576.0, stats.bytes / 1048576.0,
      static_cast<unsigned long long>(stats.entries),
      static_cast<unsigned long long>(stats.evictions));
  EXPECT_LE(maxDisk, kCapacity * 11 / 10);
  EXPECT_LE(finalDisk, kCapacity * 11 / 10);
  EXPECT_LE(stats.bytes, kCapacity);
  EXPECT_GT(stats.evictions, 0u);
  for (int i = 0; i < kHot; ++i) {
    ObjectHandle hot = tier->lookup(CacheKey(hotKey(i)));
    ASSERT_NE(hot, nullptr) << hotKey(i);
    EXPECT_TRUE(readAll(hot) == bodyFor(hotSize(i), 1'000'000 + i)) << hotKey(i);
  }
}

TEST(DiskBoundTest, PurgedDataIsReclaimed) {
  TempDir dir;
  auto tier = openTier(dir.path());
  ASSERT_NE(tier, nullptr);
  std::uint64_t written = 0;
  int n = 0;
  for (; written < kCapacity / 2; ++n) {
    const std::size_t size = sizeFor(n);
    ASSERT_TRUE(put(*tier, "k" + std::to_string(n), bodyFor(size, n)));
    written += size;
  }
  tier->compactNow();
  const std::uint64_t full = tier->diskUsageBytes();
  EXPECT_GE(full, written * 9 / 10);
  for (int i = 0; i < n; ++i) tier->remove(CacheKey("k" + std::to_string(i)));
  tier->compactNow();
  const std::uint64_t empty = tier->diskUsageBytes();
  std::printf("after %.1f MiB written: %.1f MiB on disk; after removing all: %.2f MiB\n",
              written / 1048576.0, full / 1048576.0, empty / 1048576.0);
  EXPECT_LE(empty, kCapacity / 16);
  EXPECT_EQ(tier->stats().entries, 0u);
  EXPECT_EQ(tier->stats().bytes, 0u);
}

TEST(DiskBoundTest, ReclaimRemovesDeadEntriesIncrementally) {
  TempDir dir;
  auto tier = openTier(dir.path());
  ASSERT_NE(tier, nullptr);
  constexpr int kEntries = 40;
  std::uint64_t deadBytes = 0;
  for (int i = 0; i < kEntries; ++i) {
    const std::size_t size = i % 3 == 0 ? 700 << 10 : 10 << 10;  // Some chunked, some inline.
    ASSERT_TRUE(put(*tier, "e" + std::to_string(i), bodyFor(size, i), /*responseTime=*/i));
    if (i < 25) deadBytes += size;
  }
  tier->compactNow();
  const std::uint64_t before = tier->diskUsageBytes();
  auto isDead = [](const EntryMeta& meta) { return meta.responseTime < 25; };
  std::size_t removed = 0;
  // Small steps: each call resumes where the previous one stopped; two laps find everything.
  for (int call = 0; call < 2 * kEntries / 7 + 2; ++call) {
    const std::size_t r = tier->reclaim(isDead, 7);
    EXPECT_LE(r, 7u);
    removed += r;
  }
  EXPECT_EQ(removed, 25u);
  EXPECT_EQ(tier->reclaim(isDead, 1000), 0u);
  EXPECT_EQ(tier->reclaim(nullptr, 1000), 0u);
  EXPECT_EQ(tier->reclaim(isDead, 0), 0u);
  EXPECT_EQ(tier->stats().entries, static_cast<std::uint64_t>(kEntries - 25));
  for (int i = 0; i < kEntries; ++i) {
    ObjectHandle object = tier->lookup(CacheKey("e" + std::to_string(i)));
    if (i < 25) {
      EXPECT_EQ(object, nullptr) << i;
    } else {
      ASSERT_NE(object, nullptr) << i;
      EXPECT_TRUE(readAll(object) == bodyFor(i % 3 == 0 ? 700 << 10 : 10 << 10, i)) << i;
    }
  }
  tier->compactNow();
  const std::uint64_t after = tier->diskUsageBytes();
  std::printf("reclaim: %.2f MiB dead; disk %.2f -> %.2f MiB\n", deadBytes / 1048576.0,
              before / 1048576.0, after / 1048576.0);
  EXPECT_LE(after + deadBytes * 8 / 10, before);
}

TEST(DiskBoundTest, ReferencedEntriesGetASecondChance) {
  TempDir dir;
  const std::string body(300 << 10, 'x');
  const std::uint64_t capacity = 3 * body.size() + 3 * 1024;
  std::string error;
  auto tier =
      RocksDbTier::open({.path = dir.path(), .capacityBytes = capacity, .headroom = 0}, &error);
  ASSERT_NE(tier, nullptr) << error;
  ASSERT_TRUE(put(*tier, "a", body));
  ASSERT_TRUE(put(*tier, "b", body));
  ASSERT_TRUE(put(*tier, "c", body));
  ASSERT_NE(tier->lookup(CacheKey("a")), nullptr);  // a: referenced, most recent.
  ASSERT_TRUE(put(*tier, "d", body));               // Evicts b (LRU).
  ASSERT_TRUE(put(*tier, "e", body));               // Evicts c.
  // Plain LRU would evict a now; its referenced bit buys it one more lap: d goes.
  ASSERT_TRUE(put(*tier, "f", body));
  EXPECT_EQ(tier->lookup(CacheKey("b")), nullptr);
  EXPECT_EQ(tier->lookup(CacheKey("c")), nullptr);
  EXPECT_EQ(tier->lookup(CacheKey("d")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("e")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("f")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("a")), nullptr);
}

}  // namespace
}  // namespace strata::storage

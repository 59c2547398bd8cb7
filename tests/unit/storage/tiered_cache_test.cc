#include "storage/tiered_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/unit/storage/test_dirs.h"

namespace strata::storage {
namespace {

EntryMeta metaFor(const std::string& key) {
  EntryMeta meta;
  meta.key = key;
  meta.headers = {{"Content-Type", "text/plain"}};
  return meta;
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

class TieredCacheTest : public ::testing::Test {
 protected:
  bool put(CacheStore& store, const std::string& key, const std::string& body) {
    auto writer = store.beginWrite(CacheKey(key), metaFor(key));
    return writer->append(body) && writer->commit();
  }
  void reopen() {
    cache_.reset();
    disk_.reset();
    memory_ = std::make_unique<MemoryTier>(4 << 20, 300 << 10);
    std::string error;
    disk_ = RocksDbTier::open({.path = dir_.path(), .capacityBytes = 64 << 20}, &error);
    ASSERT_NE(disk_, nullptr) << error;
    cache_ = std::make_unique<TieredCache>(*memory_, *disk_);
  }
  void SetUp() override { reopen(); }

  testing::TempDir dir_;
  std::unique_ptr<MemoryTier> memory_;
  std::unique_ptr<RocksDbTier> disk_;
  std::unique_ptr<TieredCache> cache_;
};

TEST_F(TieredCacheTest, WritesGoToBothTiers) {
  ASSERT_TRUE(put(*cache_, "small", "body"));
  EXPECT_NE(memory_->lookup(CacheKey("small")), nullptr);
  EXPECT_NE(disk_->lookup(CacheKey("small")), nullptr);
  EXPECT_EQ(cache_->memoryStats().entries, 1u);
  EXPECT_EQ(cache_->diskStats().entries, 1u);
}

TEST_F(TieredCacheTest, DiskHitIsPromotedWhenSmallEnough) {
  const std::string body(kChunkSize + 100, 'p');  // Two chunks, under memory's 300 KiB limit.
  ASSERT_TRUE(put(*cache_, "k", body));
  reopen();  // Memory is empty now.
  EXPECT_EQ(memory_->lookup(CacheKey("k")), nullptr);
  ObjectHandle object = cache_->lookup(CacheKey("k"));
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(readAll(object), body);
  ObjectHandle promoted = memory_->lookup(CacheKey("k"));
  ASSERT_NE(promoted, nullptr);
  EXPECT_EQ(readAll(promoted), body);
  EXPECT_EQ(promoted->meta(), object->meta());
  EXPECT_EQ(cache_->stats().hits, 1u);
}

TEST_F(TieredCacheTest, LargeObjectsAreServedFromDiskOnly) {
  const std::string body(3 * kChunkSize, 'L');
  ASSERT_TRUE(put(*cache_, "large", body));
  EXPECT_EQ(memory_->lookup(CacheKey("large")), nullptr);
  ObjectHandle object = cache_->lookup(CacheKey("large"));
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(readAll(object), body);
  EXPECT_EQ(memory_->lookup(CacheKey("large")), nullptr);
  EXPECT_EQ(cache_->stats().droppedWrites, 0u);  // Memory skipping it is not a lost write.
}

TEST_F(TieredCacheTest, OverwriteWithLargeBodyDropsStaleMemoryCopy) {
  ASSERT_TRUE(put(*cache_, "k", "small old body"));
  ASSERT_NE(memory_->lookup(CacheKey("k")), nullptr);
  const std::string large(2 * kChunkSize, 'n');
  ASSERT_TRUE(put(*cache_, "k", large));
  EXPECT_EQ(memory_->lookup(CacheKey("k")), nullptr);
  EXPECT_EQ(readAll(cache_->lookup(CacheKey("k"))), large);
}

TEST_F(TieredCacheTest, RemoveAndUpdateMetaApplyToBothTiers) {
  ASSERT_TRUE(put(*cache_, "k", "body"));
  EntryMeta updated = metaFor("k");
  updated.status = 299;
  ASSERT_TRUE(cache_->updateMeta(CacheKey("k"), updated));
  EXPECT_EQ(memory_->lookup(CacheKey("k"))->meta().status, 299);
  EXPECT_EQ(disk_->lookup(CacheKey("k"))->meta().status, 299);
  cache_->remove(CacheKey("k"));
  EXPECT_EQ(memory_->lookup(CacheKey("k")), nullptr);
  EXPECT_EQ(disk_->lookup(CacheKey("k")), nullptr);
  EXPECT_EQ(cache_->lookup(CacheKey("k")), nullptr);
  EXPECT_EQ(cache_->stats().misses, 1u);
}

// writes() tells a caller whether anything was stored or updated since it last looked: every
// commit and metadata update moves it, lookups and removals do not.
TEST_F(TieredCacheTest, WritesCountCommitsAndUpdates) {
  const std::uint64_t start = cache_->writes();
  EXPECT_NE(start, 0u);
  ASSERT_TRUE(put(*cache_, "k", "body"));
  const std::uint64_t afterPut = cache_->writes();
  EXPECT_GT(afterPut, start);
  ASSERT_NE(cache_->lookup(CacheKey("k")), nullptr);
  EXPECT_EQ(cache_->lookup(CacheKey("absent")), nullptr);
  EXPECT_EQ(cache_->writes(), afterPut);
  ASSERT_TRUE(cache_->updateMeta(CacheKey("k"), metaFor("k")));
  const std::uint64_t afterUpdate = cache_->writes();
  EXPECT_GT(afterUpdate, afterPut);
  cache_->remove(CacheKey("k"));
  EXPECT_EQ(cache_->writes(), afterUpdate);
  EXPECT_EQ(memory_->writes(), 0u);  // A tier alone does not count: callers look again.
}

// A disk tier with 1 MiB memtables and block cache; `memoryBytes` bounds its entries (0: none).
std::unique_ptr<RocksDbTier> openSmallDisk(const std::string& path, std::uint64_t memoryBytes) {
  std::string error;
  auto disk = RocksDbTier::open({.path = path,
                                 .capacityBytes = 256 << 20,
                                 .blockCacheBytes = 1 << 20,
                                 .writeBufferBytes = 1 << 20,
                                 .memoryBytes = memoryBytes},
                                &error);
  EXPECT_NE(disk, nullptr) << error;
  return disk;
}

// Commits `count` entries of 4,000 bytes through `cache`.
void putEntries(TieredCache& cache, int count) {
  const std::string body(4000, 'b');
  for (int i = 0; i < count; ++i) {
    const std::string key = "k" + std::to_string(i);
    auto writer = cache.beginWrite(CacheKey(key), metaFor(key));
    ASSERT_TRUE(writer->append(body) && writer->commit());
  }
}

TEST(TieredCacheMemoryTest, TheDiskTiersMemoryIsReservedOutOfTheMemoryBudget) {
  testing::TempDir dir;
  auto disk = openSmallDisk(dir.path(), 0);
  ASSERT_NE(disk, nullptr);
  const std::uint64_t fixed = disk->memoryBytes();
  // Two 1 MiB memtables, a 1 MiB block cache and the commit queue; no entries yet.
  EXPECT_EQ(fixed, (3u << 20) + RocksDbTier::kCommitQueueBytes);
  MemoryTier memory(16 << 20, 1 << 20, 1);
  TieredCache cache(memory, *disk);
  EXPECT_EQ(memory.reservedBytes(), fixed);

  constexpr int kEntries = 3000;
  putEntries(cache, kEntries);
  if (HasFatalFailure()) return;
  // The reservation follows the index (queued heads included), refreshed every 256 commits.
  disk->waitForBackgroundWork();  // Every queued head written: the count is exact.
  EXPECT_EQ(disk->memoryBytes(), fixed + kEntries * RocksDbTier::kIndexEntryBytes);
  EXPECT_GE(memory.reservedBytes(), fixed + (kEntries - 256) * RocksDbTier::kIndexEntryBytes);
  EXPECT_LE(memory.reservedBytes(), disk->memoryBytes());
  // The memory tier holds no more than what is left of its budget (plus the entry that made it
  // evict).
  const StoreStats stats = memory.stats();
  EXPECT_LE(stats.bytes, (16u << 20) - memory.reservedBytes() + 8192);
  EXPECT_GT(stats.evictions, 0u);
  // The reservation never takes more than three quarters of the budget.
  memory.setReservedBytes(1ull << 40);
  EXPECT_EQ(memory.reservedBytes(), 12u << 20);
}

// With the disk tier's entry count bounded, all the memory it may grow to is reserved from the
// start: the memory tier never has to shrink as the index grows (the allocator would keep most of
// what it frees, so the process would outgrow cache.memory).
TEST(TieredCacheMemoryTest, ABoundedDiskTierIsReservedWhole) {
  testing::TempDir dir;
  auto disk = openSmallDisk(dir.path(), 8 << 20);
  ASSERT_NE(disk, nullptr);
  const std::uint64_t reserved = disk->reservedMemoryBytes();
  EXPECT_LE(reserved, 8u << 20);
  EXPECT_GT(reserved, (8u << 20) - RocksDbTier::kIndexEntryBytes);
  EXPECT_LT(disk->memoryBytes(), reserved);  // No entries yet.
  MemoryTier memory(16 << 20, 1 << 20, 1);
  TieredCache cache(memory, *disk);
  EXPECT_EQ(memory.reservedBytes(), reserved);
  putEntries(cache, 3000);
  if (HasFatalFailure()) return;
  disk->waitForBackgroundWork();
  EXPECT_EQ(disk->reservedMemoryBytes(), reserved);
  EXPECT_EQ(memory.reservedBytes(), reserved);
  EXPECT_LE(memory.stats().bytes, (16u << 20) - reserved + 8192);
}

}  // namespace
}  // namespace strata::storage

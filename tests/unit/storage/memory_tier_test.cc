#include "storage/memory_tier.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace strata::storage {
namespace {

EntryMeta metaFor(const std::string& key) {
  EntryMeta meta;
  meta.key = key;
  meta.headers = {{"Content-Type", "application/octet-stream"}};
  return meta;
}

bool put(CacheStore& store, const std::string& key, const std::string& body) {
  auto writer = store.beginWrite(CacheKey(key), metaFor(key));
  return writer->append(body) && writer->commit();
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

TEST(MemoryTierTest, ByteBoundIsNeverExceeded) {
  constexpr std::uint64_t kCapacity = 2 << 20;
  MemoryTier tier(kCapacity, 256 << 10);
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    const std::string body(rng() % (300 << 10), 'x');
    put(tier, "key-" + std::to_string(rng() % 300), body);
    const StoreStats s = tier.stats();
    ASSERT_LE(s.bytes, kCapacity);
    ASSERT_EQ(s.capacityBytes, kCapacity);
  }
  const StoreStats s = tier.stats();
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.droppedWrites, 0u);  // Bodies over 256 KiB.
  EXPECT_GT(s.entries, 0u);
}

TEST(MemoryTierTest, EvictsLeastRecentlyUsedFirst) {
  const std::string body(1000, 'b');
  EntryMeta meta = metaFor("k0");
  meta.bodySize = body.size();
  const std::uint64_t charge = MemoryTier::entryCharge(CacheKey("k0"), meta, 1);
  MemoryTier tier(3 * charge, 1 << 20, /*shards=*/1);
  ASSERT_TRUE(put(tier, "k0", body));
  ASSERT_TRUE(put(tier, "k1", body));
  ASSERT_TRUE(put(tier, "k2", body));
  ASSERT_NE(tier.lookup(CacheKey("k0")), nullptr);  // k1 is now the least recently used.
  ASSERT_TRUE(put(tier, "k3", body));
  EXPECT_EQ(tier.lookup(CacheKey("k1")), nullptr);
  EXPECT_NE(tier.lookup(CacheKey("k0")), nullptr);
  EXPECT_NE(tier.lookup(CacheKey("k2")), nullptr);
  EXPECT_NE(tier.lookup(CacheKey("k3")), nullptr);
  ASSERT_TRUE(put(tier, "k4", body));  // Evicts k0 (touched before k2, k3 were).
  EXPECT_EQ(tier.lookup(CacheKey("k0")), nullptr);
  EXPECT_EQ(tier.stats().evictions, 2u);
  EXPECT_EQ(tier.stats().entries, 3u);
}

TEST(MemoryTierTest, TooLargeObjectsAreNotAdmitted) {
  MemoryTier tier(8 << 20, 100 << 10);
  auto writer = tier.beginWrite(CacheKey("big"), metaFor("big"));
  EXPECT_TRUE(writer->append(std::string(60 << 10, 'a')));
  EXPECT_FALSE(writer->append(std::string(60 << 10, 'a')));
  EXPECT_FALSE(writer->append("more"));
  EXPECT_FALSE(writer->commit());
  EXPECT_EQ(tier.lookup(CacheKey("big")), nullptr);
  EXPECT_EQ(tier.stats().droppedWrites, 1u);

  // Refused up front when the expected size is known.
  auto refused = tier.beginWrite(CacheKey("big2"), metaFor("big2"), 200 << 10);
  EXPECT_FALSE(refused->append("x"));
  EXPECT_FALSE(refused->commit());
  EXPECT_EQ(tier.stats().droppedWrites, 2u);

  // An object larger than a shard's budget is refused even if maxObjectBytes allows it.
  MemoryTier small(64 << 10, 1 << 20, /*shards=*/4);
  EXPECT_FALSE(put(small, "k", std::string(20 << 10, 'z')));
  EXPECT_EQ(small.lookup(CacheKey("k")), nullptr);

  // insert() refuses too.
  EXPECT_EQ(tier.insert(CacheKey("ins"), metaFor("ins"),
                        {std::make_shared<const std::string>(200 << 10, 'q')}),
            nullptr);
}

TEST(MemoryTierTest, HandlesSurviveEvictionAndReplacement) {
  const std::string body(3 * kChunkSize + 5, 'h');
  MemoryTier tier(4 * kChunkSize + 4096, 4 * kChunkSize, 1);
  ASSERT_TRUE(put(tier, "a", body));
  ObjectHandle held = tier.lookup(CacheKey("a"));
  ASSERT_NE(held, nullptr);
  ASSERT_TRUE(put(tier, "b", body));  // Evicts "a".
  EXPECT_EQ(tier.lookup(CacheKey("a")), nullptr);
  EXPECT_EQ(readAll(held), body);
  EXPECT_EQ(held->meta().bodySize, body.size());

  ObjectHandle b = tier.lookup(CacheKey("b"));
  ASSERT_TRUE(put(tier, "b", "new"));
  EXPECT_EQ(readAll(b), body);
  EXPECT_EQ(readAll(tier.lookup(CacheKey("b"))), "new");
}

TEST(MemoryTierTest, InsertPromotesAndRespectsGeneration) {
  MemoryTier tier(8 << 20, 1 << 20);
  const CacheKey key("p");
  const std::uint64_t generation = tier.generation(key);
  tier.remove(key);  // Any mutation moves the generation.
  EXPECT_EQ(tier.insert(key, metaFor("p"), {std::make_shared<const std::string>("x")}, generation),
            nullptr);
  ObjectHandle in = tier.insert(key, metaFor("ignored"),
                                {std::make_shared<const std::string>("xy")}, tier.generation(key));
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->meta().key, "p");
  EXPECT_EQ(in->meta().bodySize, 2u);
  EXPECT_EQ(readAll(tier.lookup(key)), "xy");
}

TEST(MemoryTierTest, StatsCountHitsMissesInserts) {
  MemoryTier tier(1 << 20, 1 << 20);
  EXPECT_EQ(tier.lookup(CacheKey("x")), nullptr);
  ASSERT_TRUE(put(tier, "x", "body"));
  EXPECT_NE(tier.lookup(CacheKey("x")), nullptr);
  const StoreStats s = tier.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.inserts, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, MemoryTier::entryCharge(CacheKey("x"), tier.lookup(CacheKey("x"))->meta(), 1));
  EXPECT_GT(s.bytes, 4 + metaCharge(tier.lookup(CacheKey("x"))->meta()));  // Bookkeeping counts.
}

}  // namespace
}  // namespace strata::storage

// The CacheStore contract (storage/cache_store.h), checked against every implementation.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "storage/cache_store.h"
#include "storage/memory_tier.h"
#include "storage/rocksdb_tier.h"
#include "storage/tiered_cache.h"
#include "tests/unit/storage/test_dirs.h"

namespace strata::storage {
namespace {

using testing::TempDir;

std::unique_ptr<RocksDbTier> openDisk(const std::string& path) {
  std::string error;
  auto tier = RocksDbTier::open({.path = path, .capacityBytes = 256 << 20}, &error);
  EXPECT_NE(tier, nullptr) << error;
  return tier;
}

// Builds one store of type T (and whatever it needs) for a test.
template <typename T>
struct Harness;

template <>
struct Harness<MemoryTier> {
  MemoryTier tier{64 << 20, 8 << 20};
  CacheStore& store() { return tier; }
  static constexpr bool kChunksMayVanish = false;
};

template <>
struct Harness<RocksDbTier> {
  TempDir dir;
  std::unique_ptr<RocksDbTier> tier = openDisk(dir.path());
  CacheStore& store() { return *tier; }
  static constexpr bool kChunksMayVanish = true;
};

template <>
struct Harness<TieredCache> {
  TempDir dir;
  // Bodies up to 512 KiB live in memory too; larger ones are served from disk.
  MemoryTier memory{16 << 20, 512 << 10};
  std::unique_ptr<RocksDbTier> disk = openDisk(dir.path());
  TieredCache cache{memory, *disk};
  CacheStore& store() { return cache; }
  static constexpr bool kChunksMayVanish = true;
};

EntryMeta metaFor(const std::string& key, const std::string& etag = "\"1\"") {
  EntryMeta meta;
  meta.key = key;
  meta.status = 200;
  meta.headers = {{"Content-Type", "text/plain"}, {"ETag", etag}};
  meta.requestTime = 1000;
  meta.responseTime = 1001;
  meta.extra = "x";
  return meta;
}

// Self-describing body: "key|version|size|" followed by filler derived from that prefix.
std::string makeBody(const std::string& key, int version, std::size_t size) {
  std::string body = key + "|" + std::to_string(version) + "|" + std::to_string(size) + "|";
  std::uint64_t state = std::hash<std::string>{}(body);
  body.reserve(std::max(size, body.size()));
  while (body.size() < size) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    body.push_back(static_cast<char>('a' + (state >> 59)));
  }
  return body;
}

bool put(CacheStore& store, const std::string& key, const std::string& body,
         const EntryMeta& meta) {
  auto writer = store.beginWrite(CacheKey(key), meta);
  for (std::size_t pos = 0; pos < body.size(); pos += 70'001) {
    if (!writer->append(std::string_view(body).substr(pos, 70'001))) return false;
  }
  return writer->commit();
}

bool put(CacheStore& store, const std::string& key, const std::string& body) {
  return put(store, key, body, metaFor(key));
}

// The whole body, or std::nullopt if a chunk was missing.
std::optional<std::string> readAll(const ObjectHandle& object) {
  std::string body;
  for (std::size_t i = 0; i < object->chunkCount(); ++i) {
    Chunk c = object->chunk(i);
    if (!c) return std::nullopt;
    body += *c;
  }
  return body;
}

std::string bodyOf(CacheStore& store, const std::string& key) {
  ObjectHandle object = store.lookup(CacheKey(key));
  if (!object) return "<miss>";
  return readAll(object).value_or("<missing chunk>");
}

template <typename T>
class StoreConformanceTest : public ::testing::Test {
 protected:
  Harness<T> harness_;
  CacheStore& store() { return harness_.store(); }
};

using StoreTypes = ::testing::Types<MemoryTier, RocksDbTier, TieredCache>;

class StoreNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, MemoryTier>) return "MemoryTier";
    if constexpr (std::is_same_v<T, RocksDbTier>) return "RocksDbTier";
    if constexpr (std::is_same_v<T, TieredCache>) return "TieredCache";
    return "Unknown";
  }
};

TYPED_TEST_SUITE(StoreConformanceTest, StoreTypes, StoreNames);

TYPED_TEST(StoreConformanceTest, MissOnEmpty) {
  EXPECT_EQ(this->store().lookup(CacheKey("nothing")), nullptr);
  EXPECT_FALSE(this->store().updateMeta(CacheKey("nothing"), metaFor("nothing")));
  this->store().remove(CacheKey("nothing"));
  EXPECT_EQ(this->store().stats().entries, 0u);
}

TYPED_TEST(StoreConformanceTest, CommittedWriteIsVisible) {
  CacheStore& store = this->store();
  auto writer = store.beginWrite(CacheKey("k"), metaFor("ignored-key-text"));
  ASSERT_TRUE(writer->append("hello, "));
  ASSERT_TRUE(writer->append("world"));
  EXPECT_EQ(store.lookup(CacheKey("k")), nullptr);  // Not before commit.
  ASSERT_TRUE(writer->commit());
  EXPECT_FALSE(writer->append("late"));
  EXPECT_FALSE(writer->commit());

  ObjectHandle object = store.lookup(CacheKey("k"));
  ASSERT_NE(object, nullptr);
  EntryMeta expected = metaFor("k");
  expected.bodySize = 12;
  EXPECT_EQ(object->meta(), expected);
  EXPECT_EQ(object->chunkCount(), 1u);
  EXPECT_EQ(readAll(object), "hello, world");
  EXPECT_EQ(object->chunk(1), nullptr);
  EXPECT_EQ(store.lookup(CacheKey("k2")), nullptr);
  EXPECT_GE(store.stats().hits, 1u);
  EXPECT_GE(store.stats().inserts, 1u);
}

TYPED_TEST(StoreConformanceTest, AbandonedWriterIsInvisibleAndKeepsOldEntry) {
  CacheStore& store = this->store();
  {
    auto writer = store.beginWrite(CacheKey("fresh"), metaFor("fresh"));
    ASSERT_TRUE(writer->append(makeBody("fresh", 1, 600 << 10)));
  }
  EXPECT_EQ(store.lookup(CacheKey("fresh")), nullptr);

  const std::string old = makeBody("k", 1, 300 << 10);
  ASSERT_TRUE(put(store, "k", old));
  {
    auto writer = store.beginWrite(CacheKey("k"), metaFor("k", "\"2\""));
    ASSERT_TRUE(writer->append(makeBody("k", 2, 700 << 10)));
  }
  ObjectHandle object = store.lookup(CacheKey("k"));
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->meta().headers, metaFor("k").headers);
  EXPECT_EQ(readAll(object), old);
}

TYPED_TEST(StoreConformanceTest, CommitReplacesPreviousEntry) {
  CacheStore& store = this->store();
  const std::string big = makeBody("k", 1, 3 * kChunkSize + 10);
  const std::string small = makeBody("k", 2, 40);
  ASSERT_TRUE(put(store, "k", big, metaFor("k", "\"1\"")));
  ASSERT_TRUE(put(store, "k", small, metaFor("k", "\"2\"")));
  ObjectHandle object = store.lookup(CacheKey("k"));
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->meta().headers[1].second, "\"2\"");
  EXPECT_EQ(readAll(object), small);
  ASSERT_TRUE(put(store, "k", big, metaFor("k", "\"3\"")));
  EXPECT_EQ(bodyOf(store, "k"), big);
  EXPECT_EQ(store.stats().entries >= 1, true);
}

TYPED_TEST(StoreConformanceTest, UpdateMetaKeepsBody) {
  CacheStore& store = this->store();
  const std::string body = makeBody("k", 1, kChunkSize + 5);
  ASSERT_TRUE(put(store, "k", body));
  EntryMeta updated = metaFor("k", "\"new\"");
  updated.status = 203;
  updated.responseTime = 5000;
  updated.bodySize = 7;  // Ignored.
  updated.extra = "refreshed";
  ASSERT_TRUE(store.updateMeta(CacheKey("k"), updated));
  ObjectHandle object = store.lookup(CacheKey("k"));
  ASSERT_NE(object, nullptr);
  updated.bodySize = body.size();
  EXPECT_EQ(object->meta(), updated);
  EXPECT_EQ(readAll(object), body);
  EXPECT_FALSE(store.updateMeta(CacheKey("absent"), updated));
}

TYPED_TEST(StoreConformanceTest, RemoveForgetsEntry) {
  CacheStore& store = this->store();
  ASSERT_TRUE(put(store, "a", makeBody("a", 1, 2 * kChunkSize)));
  ASSERT_TRUE(put(store, "b", "bee"));
  store.remove(CacheKey("a"));
  EXPECT_EQ(store.lookup(CacheKey("a")), nullptr);
  EXPECT_EQ(bodyOf(store, "b"), "bee");
  store.remove(CacheKey("a"));
  EXPECT_FALSE(store.updateMeta(CacheKey("a"), metaFor("a")));
}

TYPED_TEST(StoreConformanceTest, EmptyBody) {
  CacheStore& store = this->store();
  auto writer = store.beginWrite(CacheKey("empty"), metaFor("empty"), 0);
  ASSERT_TRUE(writer->append(""));
  ASSERT_TRUE(writer->commit());
  ObjectHandle object = store.lookup(CacheKey("empty"));
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->meta().bodySize, 0u);
  EXPECT_EQ(object->chunkCount(), 0u);
  EXPECT_EQ(object->chunk(0), nullptr);
}

TYPED_TEST(StoreConformanceTest, MultiChunkBody) {
  CacheStore& store = this->store();
  for (std::size_t size : {kChunkSize, kChunkSize + 1, std::size_t{(1 << 20) + 3}}) {
    const std::string key = "multi-" + std::to_string(size);
    const std::string body = makeBody(key, 1, size);
    ASSERT_TRUE(put(store, key, body));
    for (int round = 0; round < 2; ++round) {  // Second round: promoted copy, if any.
      ObjectHandle object = store.lookup(CacheKey(key));
      ASSERT_NE(object, nullptr);
      EXPECT_EQ(object->meta().bodySize, size);
      ASSERT_EQ(object->chunkCount(), (size + kChunkSize - 1) / kChunkSize);
      for (std::size_t i = 0; i + 1 < object->chunkCount(); ++i) {
        ASSERT_EQ(object->chunk(i)->size(), kChunkSize);
      }
      EXPECT_EQ(readAll(object), body);
    }
  }
}

TYPED_TEST(StoreConformanceTest, ConcurrentReadersAndWriters) {
  CacheStore& store = this->store();
  constexpr int kKeys = 6;
  constexpr int kIterations = 120;
  const std::vector<std::size_t> sizes = {0, 100, 5000, kChunkSize, kChunkSize + 777, 700 << 10};
  std::atomic<int> failures{0};
  std::atomic<int> nextVersion{1};
  auto keyName = [](int i) { return "concurrent-" + std::to_string(i); };

  // Returns an error text if `object` is not a consistent entry for `key`.
  auto check = [&](const std::string& key, const ObjectHandle& object) -> std::string {
    if (object->meta().key != key) return "wrong key " + object->meta().key;
    const std::optional<std::string> body = readAll(object);
    if (!body) return Harness<TypeParam>::kChunksMayVanish ? "" : "missing chunk";
    if (body->size() != object->meta().bodySize) return "size mismatch";
    // A body is makeBody(key, version, size) for some version and size, named in its prefix.
    const std::size_t bar1 = body->find('|', key.size() + 1);
    const std::size_t bar2 = bar1 == std::string::npos ? bar1 : body->find('|', bar1 + 1);
    if (body->compare(0, key.size() + 1, key + "|") != 0 || bar2 == std::string::npos) {
      return "bad prefix";
    }
    try {
      const int version = std::stoi(body->substr(key.size() + 1, bar1 - key.size() - 1));
      const std::size_t size = std::stoul(body->substr(bar1 + 1, bar2 - bar1 - 1));
      return *body == makeBody(key, version, size) ? "" : "body mismatch";
    } catch (const std::exception&) {
      return "bad prefix numbers";
    }
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(100 + w);
      for (int i = 0; i < kIterations; ++i) {
        const std::string key = keyName(static_cast<int>(rng() % kKeys));
        const std::size_t size = sizes[rng() % sizes.size()];
        const std::string body = makeBody(key, nextVersion.fetch_add(1), size);
        auto writer = store.beginWrite(CacheKey(key), metaFor(key));
        bool ok = true;
        for (std::size_t pos = 0; ok && pos < body.size(); pos += 100'000) {
          ok = writer->append(std::string_view(body).substr(pos, 100'000));
        }
        if (rng() % 8 != 0) {  // Some writers are abandoned.
          if (ok && !writer->commit()) failures.fetch_add(1);
        }
        if (rng() % 10 == 0) store.remove(CacheKey(key));
        if (rng() % 10 == 0) store.updateMeta(CacheKey(key), metaFor(key, "\"u\""));
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(200 + r);
      for (int i = 0; i < 3 * kIterations; ++i) {
        const std::string key = keyName(static_cast<int>(rng() % kKeys));
        if (ObjectHandle object = store.lookup(CacheKey(key))) {
          const std::string error = check(key, object);
          if (!error.empty()) {
            ADD_FAILURE() << key << ": " << error;
            failures.fetch_add(1);
          }
        }
        if (i % 50 == 0) store.stats();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kKeys; ++i) {
    if (ObjectHandle object = store.lookup(CacheKey(keyName(i)))) {
      EXPECT_EQ(check(keyName(i), object), "");
      EXPECT_TRUE(readAll(object).has_value());  // Quiescent: nothing vanishes now.
    }
  }
}

}  // namespace
}  // namespace strata::storage

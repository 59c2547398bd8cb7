#include "storage/rocksdb_tier.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/entry_codec.h"
#include "tests/unit/storage/test_dirs.h"

namespace strata::storage {
namespace {

using testing::TempDir;

EntryMeta metaFor(const std::string& key) {
  EntryMeta meta;
  meta.key = key;
  meta.status = 200;
  meta.headers = {{"Content-Type", "text/plain"}, {"ETag", "\"v1\""}};
  meta.requestTime = 100;
  meta.responseTime = 101;
  meta.extra = "extra";
  return meta;
}

bool put(CacheStore& store, const std::string& key, const std::string& body) {
  auto writer = store.beginWrite(CacheKey(key), metaFor(key));
  // Uneven pieces exercise chunk boundaries.
  for (std::size_t pos = 0; pos < body.size(); pos += 100'003) {
    if (!writer->append(std::string_view(body).substr(pos, 100'003))) return false;
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

std::string randomBody(std::size_t size, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string body(size, '\0');
  for (char& c : body) c = static_cast<char>(rng());
  return body;
}

std::unique_ptr<RocksDbTier> openTier(const std::string& path, std::uint64_t capacity = 64 << 20,
                                      double headroom = 0.15) {
  std::string error;
  auto tier =
      RocksDbTier::open({.path = path, .capacityBytes = capacity, .headroom = headroom}, &error);
  EXPECT_NE(tier, nullptr) << error;
  return tier;
}

// Opens the tier's database directly (the tier must be closed).
std::unique_ptr<rocksdb::DB> openRaw(const std::string& path) {
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(rocksdb::Options(), path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

int countWithPrefix(rocksdb::DB& db, char prefix) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  int n = 0;
  for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next()) ++n;
  return n;
}

// The database key of `key`'s head ("" if none): heads are keyed by write id ('H' + 8 bytes).
std::string headKeyOf(rocksdb::DB& db, const CacheKey& key) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("H"); it->Valid() && it->key()[0] == 'H'; it->Next()) {
    const auto head = decodeHead(std::string_view(it->value().data(), it->value().size()));
    if (head && head->meta.key == key.text()) return it->key().ToString();
  }
  return "";
}

std::string bigEndian(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v);
  return out;
}

// An index record as the tier's close writes them ('I' + number(4) -> digest(16), writeId(8),
// charge(8) per entry), with one entry.
void putIndexRecord(rocksdb::DB& db, std::uint32_t number, const Digest& digest,
                    std::uint64_t writeId, std::uint64_t charge) {
  std::string value(reinterpret_cast<const char*>(digest.data()), digest.size());
  value += bigEndian(writeId) + bigEndian(charge);
  ASSERT_TRUE(db.Put({}, "I" + bigEndian(number).substr(4), value).ok());
}

// Marks the database as closed cleanly right now, as the tier's close does, so that the next
// open trusts the index records as they are.
void markIndexed(rocksdb::DB& db) {
  ASSERT_TRUE(db.Put({}, "mindexed2", std::to_string(db.GetLatestSequenceNumber() + 1)).ok());
}

// The names of this process's threads, as top -H, perf and gdb show them.
std::vector<std::string> threadNames() {
  std::vector<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.push_back(name);
  }
  return names;
}

TEST(RocksDbTierTest, BackgroundThreadsAreNamed) {
  TempDir dir;
  auto tier = openTier(dir.path());
  ASSERT_NE(tier, nullptr);
  const auto names = threadNames();
  EXPECT_EQ(std::count(names.begin(), names.end(), "strata-commit"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "strata-compact"), 1);
}

TEST(RocksDbTierTest, EntriesSurviveCloseAndReopen) {
  TempDir dir;
  const std::string big = randomBody(3 * kChunkSize + 99, 1);
  StoreStats before;
  {
    auto tier = openTier(dir.path());
    ASSERT_TRUE(put(*tier, "small", "hello"));
    ASSERT_TRUE(put(*tier, "big", big));
    ASSERT_TRUE(put(*tier, "empty", ""));
    before = tier->stats();
  }
  auto tier = openTier(dir.path());
  ObjectHandle small = tier->lookup(CacheKey("small"));
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(readAll(small), "hello");
  EntryMeta expected = metaFor("small");
  expected.bodySize = 5;
  EXPECT_EQ(small->meta(), expected);
  ObjectHandle bigObject = tier->lookup(CacheKey("big"));
  ASSERT_NE(bigObject, nullptr);
  EXPECT_EQ(bigObject->chunkCount(), 4u);
  EXPECT_EQ(readAll(bigObject), big);
  ObjectHandle empty = tier->lookup(CacheKey("empty"));
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->chunkCount(), 0u);
  const StoreStats after = tier->stats();
  EXPECT_EQ(after.entries, 3u);
  EXPECT_EQ(after.bytes, before.bytes);
}

// A clean close leaves one index record per head, and the next open reads only those: the same
// entries, charges and bodies as before the close, without reading every head and inline body.
TEST(RocksDbTierTest, ReopenAfterCleanCloseReadsTheIndexRecords) {
  TempDir dir;
  const std::string big = randomBody(2 * kChunkSize + 5, 3);
  StoreStats before;
  {
    auto tier = openTier(dir.path());
    EXPECT_FALSE(tier->openedFromIndexRecords());  // A new directory: nothing to read.
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE(put(*tier, "k" + std::to_string(i), "v" + std::to_string(i)));
    ASSERT_TRUE(put(*tier, "big", big));
    ASSERT_TRUE(put(*tier, "k7", "replaced"));
    tier->remove(CacheKey("k8"));
    EntryMeta changed = metaFor("k9");
    changed.headers.push_back({"X-Changed", std::string(500, 'x')});  // A larger head.
    ASSERT_TRUE(tier->updateMeta(CacheKey("k9"), changed));
    before = tier->stats();
  }
  {
    auto db = openRaw(dir.path());
    EXPECT_EQ(countWithPrefix(*db, 'I'), 1);  // 300 entries fit one record.
    EXPECT_EQ(countWithPrefix(*db, 'H'), 300);
    EXPECT_EQ(countWithPrefix(*db, 'i') + countWithPrefix(*db, 'h'), 0);
  }
  auto tier = openTier(dir.path());
  EXPECT_TRUE(tier->openedFromIndexRecords());
  const StoreStats after = tier->stats();
  EXPECT_EQ(after.entries, 300u);
  EXPECT_EQ(after.bytes, before.bytes);
  ObjectHandle o = tier->lookup(CacheKey("k7"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(readAll(o), "replaced");
  EXPECT_EQ(tier->lookup(CacheKey("k8")), nullptr);
  o = tier->lookup(CacheKey("k9"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->meta().headers.back().second, std::string(500, 'x'));
  o = tier->lookup(CacheKey("big"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(readAll(o), big);
  o = tier->lookup(CacheKey("k299"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(readAll(o), "v299");
}

// A directory written before heads were keyed by write id ('h' + digest heads, 'i' + digest
// index records) opens with its entries: the heads move to write-id keys, the old records go.
TEST(RocksDbTierTest, DigestKeyedHeadsOfAnEarlierVersionAreMoved) {
  TempDir dir;
  const std::string big = randomBody(2 * kChunkSize + 5, 4);
  {
    auto tier = openTier(dir.path());
    ASSERT_TRUE(put(*tier, "a", "body a"));
    ASSERT_TRUE(put(*tier, "b", "body b"));
    ASSERT_TRUE(put(*tier, "big", big));
  }
  {
    auto db = openRaw(dir.path());
    for (const char* name : {"a", "b", "big"}) {
      const CacheKey key(name);
      const std::string headKey = headKeyOf(*db, key);
      std::string head;
      ASSERT_TRUE(db->Get({}, headKey, &head).ok());
      const std::string digest(reinterpret_cast<const char*>(key.digest().data()),
                               key.digest().size());
      ASSERT_TRUE(db->Put({}, "h" + digest, head).ok());
      ASSERT_TRUE(db->Put({}, "i" + digest, std::string(24, '\0')).ok());
      ASSERT_TRUE(db->Delete({}, headKey).ok());
    }
    ASSERT_TRUE(db->DeleteRange({}, db->DefaultColumnFamily(), "I", "J").ok());
    ASSERT_TRUE(db->Put({}, "mindexed", std::to_string(db->GetLatestSequenceNumber() + 1)).ok());
  }
  {
    auto tier = openTier(dir.path());
    EXPECT_FALSE(tier->openedFromIndexRecords());
    EXPECT_EQ(tier->stats().entries, 3u);
    EXPECT_EQ(tier->stats().corruptEntries, 0u);
    ObjectHandle o = tier->lookup(CacheKey("a"));
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(readAll(o), "body a");
    o = tier->lookup(CacheKey("big"));
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(readAll(o), big);
    tier->remove(CacheKey("b"));
  }
  {
    auto db = openRaw(dir.path());
    EXPECT_EQ(countWithPrefix(*db, 'h') + countWithPrefix(*db, 'i'), 0);
    EXPECT_EQ(countWithPrefix(*db, 'H'), 2);
    EXPECT_EQ(countWithPrefix(*db, 'I'), 1);
    EXPECT_EQ(countWithPrefix(*db, 'c'), 3);  // The big body's chunks, not moved.
  }
  auto tier = openTier(dir.path());
  EXPECT_TRUE(tier->openedFromIndexRecords());
  EXPECT_EQ(tier->stats().entries, 2u);
  EXPECT_EQ(tier->lookup(CacheKey("b")), nullptr);
  ObjectHandle o = tier->lookup(CacheKey("big"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(readAll(o), big);
}

// Whatever wrote to the directory after the clean close (another program, a version that kept no
// index records) or a crash makes the open read the heads again and rewrite the index records.
TEST(RocksDbTierTest, IndexRecordsAreRebuiltFromTheHeadsWhenTheyCannotBeTrusted) {
  TempDir dir;
  TempDir elsewhere;
  {
    auto tier = openTier(dir.path());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(put(*tier, "k" + std::to_string(i), "body"));
  }
  { ASSERT_TRUE(put(*openTier(elsewhere.path()), "extra", "extra body")); }
  std::string extraKey, extraHead;
  {
    auto db = openRaw(elsewhere.path());
    extraKey = headKeyOf(*db, CacheKey("extra"));
    ASSERT_FALSE(extraKey.empty());
    ASSERT_TRUE(db->Get({}, extraKey, &extraHead).ok());
  }
  {
    // As another program would leave it: an entry removed without its index record, one added
    // without one; and a stray index record.
    auto db = openRaw(dir.path());
    const std::string k1 = headKeyOf(*db, CacheKey("k1"));
    ASSERT_FALSE(k1.empty());
    ASSERT_TRUE(db->Delete({}, k1).ok());
    ASSERT_TRUE(db->Put({}, extraKey, extraHead).ok());
    putIndexRecord(*db, 7, CacheKey("stray").digest(), 12345, 10);
  }
  {
    auto tier = openTier(dir.path());
    EXPECT_FALSE(tier->openedFromIndexRecords());
    EXPECT_EQ(tier->stats().entries, 50u);
    EXPECT_EQ(tier->lookup(CacheKey("k1")), nullptr);
    ObjectHandle extra = tier->lookup(CacheKey("extra"));
    ASSERT_NE(extra, nullptr);
    EXPECT_EQ(readAll(extra), "extra body");
  }
  {
    auto db = openRaw(dir.path());
    EXPECT_EQ(countWithPrefix(*db, 'I'), 1);       // Rewritten: the stray one is gone.
    ASSERT_TRUE(db->Put({}, "mdirty", "1").ok());  // As if the tier had not closed.
  }
  {
    auto tier = openTier(dir.path());
    EXPECT_FALSE(tier->openedFromIndexRecords());
    EXPECT_EQ(tier->stats().entries, 50u);
  }
  auto tier = openTier(dir.path());
  EXPECT_TRUE(tier->openedFromIndexRecords());
  EXPECT_EQ(tier->stats().entries, 50u);
  EXPECT_NE(tier->lookup(CacheKey("k49")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("extra")), nullptr);
}

// Small entries (body inline) are written by the tier's committer thread after commit()
// returns. Puts `count` of them so that the committer has a backlog (its queue holds up to
// kCommitQueueBytes) when the next call comes.
void backlog(RocksDbTier& tier, const std::string& tag, int count = 600) {
  const std::string body(2000, 'q');
  for (int i = 0; i < count; ++i) ASSERT_TRUE(put(tier, tag + std::to_string(i), body));
}

TEST(RocksDbTierTest, QueuedSmallEntriesAreOrderedWithLaterReadsAndChanges) {
  TempDir dir;
  const std::string big = randomBody(2 * kChunkSize + 5, 7);
  {
    auto tier = openTier(dir.path());
    // A lookup right after commit finds the entry, queued or not.
    backlog(*tier, "a");
    ASSERT_TRUE(put(*tier, "target", "v1"));
    ObjectHandle found = tier->lookup(CacheKey("target"));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(readAll(found), "v1");
    // An update right after commit updates the entry.
    backlog(*tier, "b");
    ASSERT_TRUE(put(*tier, "target", "v2"));
    EntryMeta updated = metaFor("target");
    updated.headers = {{"ETag", "\"v3\""}};
    EXPECT_TRUE(tier->updateMeta(CacheKey("target"), updated));
    found = tier->lookup(CacheKey("target"));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(readAll(found), "v2");
    EXPECT_EQ(found->meta().headers, updated.headers);
    // A removal right after commit is not undone by the queued write.
    backlog(*tier, "c");
    ASSERT_TRUE(put(*tier, "target", "v4"));
    tier->remove(CacheKey("target"));
    tier->waitForBackgroundWork();
    EXPECT_EQ(tier->lookup(CacheKey("target")), nullptr);
    // A large entry (its head written at once by commit) committed after a queued small one
    // stays the newest.
    auto writer = tier->beginWrite(CacheKey("target"), metaFor("target"));
    ASSERT_TRUE(writer->append(big));
    backlog(*tier, "d");
    ASSERT_TRUE(put(*tier, "target", "v5"));
    ASSERT_TRUE(writer->commit());
    tier->waitForBackgroundWork();
    found = tier->lookup(CacheKey("target"));
    ASSERT_NE(found, nullptr);
    EXPECT_TRUE(readAll(found) == big);
    // Closing with a backlog writes it.
    backlog(*tier, "e");
  }
  auto tier = openTier(dir.path());
  EXPECT_EQ(tier->stats().entries, 4u * 600 + 600 + 1);
  ObjectHandle found = tier->lookup(CacheKey("target"));
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(readAll(found) == big);
  found = tier->lookup(CacheKey("e599"));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(readAll(found), std::string(2000, 'q'));
}

TEST(RocksDbTierTest, BurstsOfQueuedHeadsKeepTheNewestVersionAndDropReplacedChunks) {
  TempDir dir;
  const auto k = [](int j) { return "k" + std::to_string(j); };
  {
    auto tier = openTier(dir.path());
    // Chunked entries first: their chunks must go when queued small versions replace them.
    for (int j = 0; j < 10; ++j) ASSERT_TRUE(put(*tier, k(j), randomBody(kChunkSize + 5, j)));
    // A burst that queues up behind the committer; each chunked entry is replaced twice in it.
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(put(*tier, "g" + std::to_string(i), "body-" + std::to_string(i)));
      if (i % 50 == 25) {
        ASSERT_TRUE(put(*tier, k(i / 50 % 10), "small-" + std::to_string(i / 500)));
      }
      // Versions of one key back to back: written in one batch, only the last one stays.
      if (i == 500) {
        for (int v = 0; v < 5; ++v) ASSERT_TRUE(put(*tier, "dup", "dup-" + std::to_string(v)));
      }
    }
    EXPECT_EQ(tier->stats().entries, 1011u);
    ObjectHandle dup = tier->lookup(CacheKey("dup"));
    ASSERT_NE(dup, nullptr);
    EXPECT_EQ(readAll(dup), "dup-4");
    for (int j = 0; j < 10; ++j) {
      ObjectHandle found = tier->lookup(CacheKey(k(j)));
      ASSERT_NE(found, nullptr) << j;
      EXPECT_EQ(readAll(found), "small-1") << j;
    }
  }
  {
    auto db = openRaw(dir.path());
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(countWithPrefix(*db, 'c'), 0);     // No chunk of a replaced entry is left,
    EXPECT_EQ(countWithPrefix(*db, 'H'), 1011);  // nor the head of a replaced version.
  }
  auto tier = openTier(dir.path());
  EXPECT_EQ(tier->stats().entries, 1011u);
  ObjectHandle dup = tier->lookup(CacheKey("dup"));
  ASSERT_NE(dup, nullptr);
  EXPECT_EQ(readAll(dup), "dup-4");
  for (int i = 0; i < 1000; i += 7) {
    ObjectHandle found = tier->lookup(CacheKey("g" + std::to_string(i)));
    ASSERT_NE(found, nullptr) << i;
    EXPECT_EQ(readAll(found), "body-" + std::to_string(i));
  }
  for (int j = 0; j < 10; ++j) {
    ObjectHandle found = tier->lookup(CacheKey(k(j)));
    ASSERT_NE(found, nullptr) << j;
    EXPECT_EQ(readAll(found), "small-1") << j;
  }
}

TEST(RocksDbTierTest, MultiChunkBodiesRoundTrip) {
  TempDir dir;
  auto tier = openTier(dir.path());
  for (std::size_t size : {kChunkSize, kChunkSize + 1, std::size_t{1 << 20},
                           std::size_t{(1 << 20) + 12345}, 5 * kChunkSize}) {
    const std::string key = "body-" + std::to_string(size);
    const std::string body = randomBody(size, static_cast<unsigned>(size));
    ASSERT_TRUE(put(*tier, key, body));
    ObjectHandle object = tier->lookup(CacheKey(key));
    ASSERT_NE(object, nullptr);
    EXPECT_EQ(object->meta().bodySize, size);
    EXPECT_EQ(object->chunkCount(), (size + kChunkSize - 1) / kChunkSize);
    EXPECT_EQ(readAll(object), body) << size;
    EXPECT_EQ(object->chunk(object->chunkCount()), nullptr);
  }
}

TEST(RocksDbTierTest, CorruptHeadIsMissAndRemoved) {
  TempDir dir;
  const CacheKey key("victim");
  std::string headKey;
  {
    auto tier = openTier(dir.path());
    ASSERT_TRUE(put(*tier, "victim", "body"));
    ASSERT_TRUE(put(*tier, "bystander", "other"));
  }
  {
    auto db = openRaw(dir.path());
    headKey = headKeyOf(*db, key);
    std::string head;
    ASSERT_TRUE(db->Get({}, headKey, &head).ok());
    head[head.size() / 2] ^= 0x20;
    ASSERT_TRUE(db->Put({}, headKey, head).ok());
  }
  {
    auto tier = openTier(dir.path());
    EXPECT_EQ(tier->lookup(key), nullptr);
    EXPECT_NE(tier->lookup(CacheKey("bystander")), nullptr);
    EXPECT_EQ(tier->stats().corruptEntries, 1u);
    EXPECT_EQ(tier->stats().entries, 1u);
  }
  auto db = openRaw(dir.path());
  std::string head;
  EXPECT_TRUE(db->Get({}, headKey, &head).IsNotFound());
  EXPECT_EQ(countWithPrefix(*db, 'H'), 1);
  EXPECT_EQ(countWithPrefix(*db, 'I'), 1);  // The bystander's entry.
}

TEST(RocksDbTierTest, GarbageHeadValueIsMissAndRemoved) {
  TempDir dir;
  const CacheKey key("victim");
  {
    auto tier = openTier(dir.path());
    ASSERT_TRUE(put(*tier, "victim", "body"));
  }
  {
    auto db = openRaw(dir.path());
    const std::string headKey = headKeyOf(*db, key);
    ASSERT_FALSE(headKey.empty());
    ASSERT_TRUE(db->Put({}, headKey, "garbage").ok());
    markIndexed(*db);  // The open reads the index records, so the lookup meets the garbage.
  }
  auto tier = openTier(dir.path());
  EXPECT_EQ(tier->lookup(key), nullptr);
  EXPECT_GE(tier->stats().corruptEntries, 1u);
  EXPECT_EQ(tier->lookup(key), nullptr);
  EXPECT_EQ(tier->stats().entries, 0u);
}

TEST(RocksDbTierTest, CorruptChunkIsMissAndRemoved) {
  TempDir dir;
  const CacheKey key("chunky");
  const std::string body = randomBody(3 * kChunkSize, 7);
  {
    auto tier = openTier(dir.path());
    ASSERT_TRUE(put(*tier, key.text(), body));
  }
  {
    auto db = openRaw(dir.path());
    std::string headBytes;
    ASSERT_TRUE(db->Get({}, headKeyOf(*db, key), &headBytes).ok());
    const auto head = decodeHead(headBytes);
    ASSERT_TRUE(head.has_value());
    ASSERT_EQ(head->chunkCount, 3u);
    const std::string chunkKey = RocksDbTier::chunkKeyFor(key.digest(), head->writeId, 1);
    std::string chunk;
    ASSERT_TRUE(db->Get({}, chunkKey, &chunk).ok());
    chunk[1000] ^= 0x01;
    ASSERT_TRUE(db->Put({}, chunkKey, chunk).ok());
  }
  {
    auto tier = openTier(dir.path());
    ObjectHandle object = tier->lookup(key);
    ASSERT_NE(object, nullptr);  // The head is fine; the chunk is checked when read.
    EXPECT_NE(object->chunk(0), nullptr);
    EXPECT_EQ(object->chunk(1), nullptr);
    EXPECT_EQ(tier->stats().corruptEntries, 1u);
    EXPECT_EQ(tier->lookup(key), nullptr);
    EXPECT_EQ(tier->stats().entries, 0u);
  }
  auto db = openRaw(dir.path());
  EXPECT_EQ(countWithPrefix(*db, 'H'), 0);
  EXPECT_EQ(countWithPrefix(*db, 'I'), 0);
  EXPECT_EQ(countWithPrefix(*db, 'c'), 0);
}

TEST(RocksDbTierTest, WrongFullKeyIsMiss) {
  TempDir dir;
  const CacheKey owner("owner");
  const CacheKey other("other");
  {
    auto tier = openTier(dir.path());
    ASSERT_TRUE(put(*tier, "owner", "owner's body"));
  }
  {
    // Simulate a digest collision: the index record of a copy of owner's head says it is
    // other's digest.
    auto db = openRaw(dir.path());
    std::string bytes;
    ASSERT_TRUE(db->Get({}, headKeyOf(*db, owner), &bytes).ok());
    auto head = decodeHead(bytes);
    ASSERT_TRUE(head.has_value());
    head->writeId += 1000;
    ASSERT_TRUE(db->Put({}, RocksDbTier::headKeyFor(head->writeId), encodeHead(*head)).ok());
    putIndexRecord(*db, 1, other.digest(), head->writeId, bytes.size());
    markIndexed(*db);
  }
  auto tier = openTier(dir.path());
  EXPECT_EQ(tier->lookup(other), nullptr);
  EXPECT_FALSE(tier->updateMeta(other, metaFor("other")));
  tier->remove(other);  // Must not remove another key's entry either.
  EXPECT_EQ(tier->lookup(other), nullptr);
  ObjectHandle real = tier->lookup(owner);
  ASSERT_NE(real, nullptr);
  EXPECT_EQ(readAll(real), "owner's body");
  EXPECT_EQ(tier->stats().corruptEntries, 0u);
}

TEST(RocksDbTierTest, ByteBudgetEvictsLeastRecentlyUsed) {
  TempDir dir;
  const std::string body = randomBody(300 << 10, 3);  // Two chunks each.
  const std::uint64_t capacity = 3 * body.size() + 3 * 1024;
  auto tier = openTier(dir.path(), capacity, /*headroom=*/0);  // Logical budget == capacity.
  ASSERT_TRUE(put(*tier, "k0", body));
  ASSERT_TRUE(put(*tier, "k1", body));
  ASSERT_TRUE(put(*tier, "k2", body));
  EXPECT_EQ(tier->stats().entries, 3u);
  ASSERT_NE(tier->lookup(CacheKey("k0")), nullptr);  // k1 becomes least recently used.
  ASSERT_TRUE(put(*tier, "k3", body));
  EXPECT_EQ(tier->lookup(CacheKey("k1")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("k0")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("k2")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("k3")), nullptr);
  const StoreStats s = tier->stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_LE(s.bytes, capacity);
  std::map<std::string, std::size_t> sizes = {
      {"k0", body.size()}, {"k2", body.size()}, {"k3", body.size()}};
  for (int i = 0; i < 20; ++i) {
    const std::string key = "more-" + std::to_string(i);
    sizes[key] = (i * 37'000) % body.size();  // Inline bodies and chunked ones.
    put(*tier, key, body.substr(0, sizes[key]));
    ASSERT_LE(tier->stats().bytes, capacity);
  }
  // The chunks the live entries hold: only those stay once evicted ones are removed.
  int liveChunks = 0;
  for (const auto& [key, size] : sizes) {
    if (tier->lookup(CacheKey(key)) != nullptr && size >= kChunkSize) {
      liveChunks += static_cast<int>((size + kChunkSize - 1) / kChunkSize);
    }
  }
  // Larger than the whole budget: dropped.
  EXPECT_FALSE(put(*tier, "huge", randomBody(capacity + 1, 4)));
  EXPECT_EQ(tier->lookup(CacheKey("huge")), nullptr);
  EXPECT_GE(tier->stats().droppedWrites, 1u);
  EXPECT_EQ(tier->beginWrite(CacheKey("huge2"), metaFor("huge2"), capacity + 1)->append("x"),
            false);

  // Evicted entries leave no chunks behind.
  const std::uint64_t entries = tier->stats().entries;
  tier.reset();
  auto db = openRaw(dir.path());
  EXPECT_EQ(countWithPrefix(*db, 'H'), static_cast<int>(entries));
  EXPECT_EQ(countWithPrefix(*db, 'c'), liveChunks);
}

// Many small objects on a large disk: the index, not the disk, runs out first. With a memory
// bound the tier evicts the least recently used entries once the index would outgrow it.
TEST(RocksDbTierTest, MemoryBoundLimitsTheEntryCount) {
  TempDir dir;
  std::uint64_t overhead = 0;  // Memtables, block cache and commit queue: memoryBytes() when empty.
  { overhead = openTier(dir.sub("probe"), 256 << 20)->memoryBytes(); }
  const std::uint64_t limit = overhead + 2000 * RocksDbTier::kIndexEntryBytes;
  std::string error;
  auto tier = RocksDbTier::open(
      {.path = dir.path(), .capacityBytes = 256 << 20, .memoryBytes = limit}, &error);
  ASSERT_NE(tier, nullptr) << error;
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(put(*tier, "k" + std::to_string(i), "small body"));
  const StoreStats s = tier->stats();
  EXPECT_EQ(s.entries, 2000u);
  EXPECT_EQ(s.evictions, 3000u);
  EXPECT_LE(tier->memoryBytes(), limit);
  EXPECT_EQ(tier->lookup(CacheKey("k0")), nullptr);  // The oldest went first.
  EXPECT_EQ(tier->lookup(CacheKey("k2999")), nullptr);
  EXPECT_NE(tier->lookup(CacheKey("k3000")), nullptr);
  {
    ObjectHandle newest = tier->lookup(CacheKey("k4999"));
    ASSERT_NE(newest, nullptr);
    EXPECT_EQ(readAll(newest), "small body");
  }
  tier.reset();  // Handles keep the database open: none is left.
  // The bound holds at the next open too (a directory filled under a larger bound).
  auto smaller = RocksDbTier::open({.path = dir.path(),
                                    .capacityBytes = 256 << 20,
                                    .memoryBytes = overhead + 1500 * RocksDbTier::kIndexEntryBytes},
                                   &error);
  ASSERT_NE(smaller, nullptr) << error;
  EXPECT_EQ(smaller->stats().entries, 1500u);
}

TEST(RocksDbTierTest, ReplacedAndAbandonedWritesLeaveNoChunks) {
  TempDir dir;
  const std::string body = randomBody(2 * kChunkSize + 1, 5);
  {
    auto tier = openTier(dir.path());
    ASSERT_TRUE(put(*tier, "a", body));
    ASSERT_TRUE(put(*tier, "a", body));  // Replaces: first write's 3 chunks deleted.
    {
      auto abandoned = tier->beginWrite(CacheKey("b"), metaFor("b"));
      ASSERT_TRUE(abandoned->append(body));
    }
    {
      auto abandoned = tier->beginWrite(CacheKey("a"), metaFor("a"));
      ASSERT_TRUE(abandoned->append(body));
    }
    EXPECT_EQ(readAll(tier->lookup(CacheKey("a"))), body);
    tier->remove(CacheKey("a"));
    ASSERT_TRUE(put(*tier, "c", body));
  }
  auto db = openRaw(dir.path());
  EXPECT_EQ(countWithPrefix(*db, 'H'), 1);
  EXPECT_EQ(countWithPrefix(*db, 'c'), 3);
}

TEST(RocksDbTierTest, OrphanChunksAreCollectedAfterUncleanShutdown) {
  TempDir dir;
  { ASSERT_TRUE(put(*openTier(dir.path()), "kept", randomBody(kChunkSize + 1, 6))); }
  {
    auto db = openRaw(dir.path());
    const Digest d = CacheKey("crashed").digest();
    ASSERT_TRUE(db->Put({}, RocksDbTier::chunkKeyFor(d, 77, 0), encodeChunk(77, 0, "x")).ok());
    ASSERT_TRUE(db->Put({}, RocksDbTier::chunkKeyFor(d, 77, 1), encodeChunk(77, 1, "y")).ok());
    ASSERT_TRUE(db->Put({}, "mdirty", "1").ok());  // As if the tier had not closed.
  }
  { EXPECT_NE(openTier(dir.path())->lookup(CacheKey("kept")), nullptr); }
  auto db = openRaw(dir.path());
  EXPECT_EQ(countWithPrefix(*db, 'c'), 2);  // Only "kept"'s two chunks.
}

TEST(RocksDbTierTest, UnwritableDirectoryGivesErrorWithoutThrowing) {
  TempDir dir;
  const std::string file = dir.sub("file");
  std::ofstream(file) << "not a directory";
  std::string error;
  std::unique_ptr<RocksDbTier> tier;
  EXPECT_NO_THROW(tier =
                      RocksDbTier::open({.path = file + "/sub", .capacityBytes = 1 << 20}, &error));
  EXPECT_EQ(tier, nullptr);
  EXPECT_NE(error.find("cannot open cache dir " + file + "/sub: "), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);

  EXPECT_EQ(RocksDbTier::open({.path = file, .capacityBytes = 1 << 20}, &error), nullptr);
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(RocksDbTier::open({.path = "", .capacityBytes = 1 << 20}, nullptr), nullptr);

  // A second open of a directory in use fails cleanly too.
  auto first = openTier(dir.sub("db"));
  EXPECT_EQ(RocksDbTier::open({.path = dir.sub("db"), .capacityBytes = 1 << 20}, &error), nullptr);
  EXPECT_FALSE(error.empty());
}

std::uint64_t peakRssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

TEST(RocksDbTierTest, LargeBodyStreamsWithBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "RSS is meaningless under sanitizers";
#endif
  TempDir dir;
  constexpr std::size_t kBody = 256u << 20;
  auto tier = openTier(dir.path(), 1ull << 30);
  std::string piece(64 << 10, '\0');
  std::mt19937_64 rng(9);
  auto fill = [&](std::size_t n) {
    for (std::size_t i = 0; i < piece.size(); i += 8) piece[i] = static_cast<char>(n + i / 8);
    piece[rng() % piece.size()] = static_cast<char>(rng());
  };
  {
    auto writer = tier->beginWrite(CacheKey("large"), metaFor("large"), kBody);
    for (std::size_t n = 0; n < kBody / piece.size(); ++n) {
      fill(n);
      ASSERT_TRUE(writer->append(piece));
    }
    ASSERT_TRUE(writer->commit());
  }
  ObjectHandle object = tier->lookup(CacheKey("large"));
  ASSERT_NE(object, nullptr);
  ASSERT_EQ(object->meta().bodySize, kBody);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < object->chunkCount(); ++i) {
    Chunk c = object->chunk(i);
    ASSERT_NE(c, nullptr) << i;
    total += c->size();
  }
  EXPECT_EQ(total, kBody);
  const std::uint64_t peak = peakRssKiB();
  RecordProperty("peak_rss_kib", std::to_string(peak));
  EXPECT_LT(peak, 160u * 1024) << "peak RSS " << peak << " KiB";
}

}  // namespace
}  // namespace strata::storage

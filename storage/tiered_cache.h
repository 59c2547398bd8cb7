#pragma once
// TieredCache: a MemoryTier in front of a RocksDbTier (both owned elsewhere, must outlive it).
//
// - lookup(): memory first. On a disk hit, an object small enough for memory
//   (bodySize <= memory.maxObjectBytes()) is read completely and promoted; if any chunk fails it
//   is a miss. Larger objects are returned as the disk object (chunks read lazily).
//   Promotion is conditional on the memory shard's generation, so it never resurrects an entry
//   that was replaced or removed while it was being read.
// - beginWrite(): tees to both tiers; the memory side silently stops once the body outgrows it.
//   commit() commits disk first, then memory. A tier that dropped the write has its old entry for
//   the key removed, so no tier keeps a stale body. commit() is true if either tier committed.
// - updateMeta()/remove(): applied to disk, then memory.
// - stats(): hits/misses count TieredCache lookups; the other counters are the sums of both tiers
//   (entries/bytes/capacity therefore count an object in both tiers twice), except droppedWrites,
//   which is the disk tier's (the memory tier skipping a large object loses nothing).
// - Memory: the disk tier's own memory (index, memtables, block cache) is reserved out of the
//   memory tier's budget, so that the two together stay within the memory tier's configured
//   capacity: all it may grow to when its entry count is bounded (RocksDbTier::
//   reservedMemoryBytes), else what it holds, refreshed as entries are committed.
// Thread-safety: all methods may be called concurrently.

#include <atomic>
#include <memory>

#include "storage/cache_store.h"
#include "storage/memory_tier.h"
#include "storage/rocksdb_tier.h"

namespace strata::storage {

class TieredCache : public CacheStore {
 public:
  TieredCache(MemoryTier& memory, RocksDbTier& disk);

  ObjectHandle lookup(const CacheKey& key) override;
  std::unique_ptr<EntryWriter> beginWrite(const CacheKey& key, EntryMeta meta,
                                          std::int64_t expectedSize = -1) override;
  bool updateMeta(const CacheKey& key, const EntryMeta& meta) override;
  void remove(const CacheKey& key) override;
  StoreStats stats() const override;
  std::uint64_t writes() const override { return writes_.load(); }

  StoreStats memoryStats() const { return memory_.stats(); }
  StoreStats diskStats() const { return disk_.stats(); }
  MemoryTier& memory() { return memory_; }
  RocksDbTier& disk() { return disk_; }

 private:
  class Writer;
  void noteDiskGrowth();

  MemoryTier& memory_;
  RocksDbTier& disk_;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> writes_{1};  // See writes(); never 0.
};

}  // namespace strata::storage

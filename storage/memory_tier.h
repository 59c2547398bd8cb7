#pragma once
// MemoryTier: a bounded, sharded LRU cache of whole entries in memory.
//
// - Bounded by bytes: an entry is charged body bytes + metaCharge(meta). Each of the shards owns
//   capacityBytes / shards of the budget and evicts its least-recently-used entries first, so the
//   total charge never exceeds capacityBytes.
// - Objects whose body exceeds maxObjectBytes, or whose charge exceeds a shard's budget, are not
//   admitted: the writer drops the write as soon as it grows too big (counted in droppedWrites).
// - Handles returned by lookup() own their chunks (shared_ptr) and stay fully readable after the
//   entry is replaced or evicted. Writers must not outlive the tier.
// - Every mutation of a key (insert, commit, updateMeta, remove — hit or not) advances the
//   generation of the key's shard; insert() can be made conditional on it (see TieredCache).
// Thread-safety: all methods may be called concurrently.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "storage/cache_store.h"

namespace strata::storage {

// A self-contained in-memory object (meta + chunks); meta.bodySize must match the chunks.
ObjectHandle makeMemoryObject(EntryMeta meta, std::vector<Chunk> chunks);

class MemoryTier : public CacheStore {
 public:
  // `shards` = 0 picks a power of two <= 16 that keeps each shard's budget at least twice
  // maxObjectBytes where possible (at least 1 shard).
  MemoryTier(std::uint64_t capacityBytes, std::uint64_t maxObjectBytes, std::size_t shards = 0);
  ~MemoryTier() override;

  MemoryTier(const MemoryTier&) = delete;
  MemoryTier& operator=(const MemoryTier&) = delete;

  // The bytes an entry is charged: body, metadata, and the tier's own per-entry and per-chunk
  // bookkeeping (map and LRU nodes, key copies, control blocks, allocator headers).
  static std::uint64_t entryCharge(const CacheKey& key, const EntryMeta& meta, std::size_t chunks);

  ObjectHandle lookup(const CacheKey& key) override;
  std::unique_ptr<EntryWriter> beginWrite(const CacheKey& key, EntryMeta meta,
                                          std::int64_t expectedSize = -1) override;
  bool updateMeta(const CacheKey& key, const EntryMeta& meta) override;
  void remove(const CacheKey& key) override;
  StoreStats stats() const override;

  // Inserts a complete entry (e.g. promoted from disk); meta.key is set to key.text() and
  // meta.bodySize to the chunks' total size. Chunks must be kChunkSize each except the last.
  // If `ifGeneration` is set and the key's shard generation differs from it, nothing is inserted.
  // Returns the stored object, or nullptr if it was not admitted (too big, or generation moved).
  ObjectHandle insert(const CacheKey& key, EntryMeta meta, std::vector<Chunk> chunks,
                      std::optional<std::uint64_t> ifGeneration = std::nullopt);

  // The current generation of the shard that holds `key`.
  std::uint64_t generation(const CacheKey& key) const;

  // Memory the node spends elsewhere on the cache (the disk tier's index, RocksDB's memtables and
  // block cache) is taken out of this tier's budget: entries are evicted down to
  // (capacityBytes - reserved) / shards per shard, as they are next written. At most three
  // quarters of the capacity can be reserved.
  void setReservedBytes(std::uint64_t bytes);
  std::uint64_t reservedBytes() const;

  std::uint64_t maxObjectBytes() const { return maxObjectBytes_; }
  std::uint64_t shardBudget() const { return shardBudget_; }
  std::size_t shardCount() const { return shards_.size(); }

 private:
  class Writer;
  struct Shard;

  Shard& shardFor(const CacheKey& key) const;
  // Largest body a shard can admit for `meta` (0 if none).
  std::uint64_t bodyLimit(const EntryMeta& meta) const;
  ObjectHandle store(const CacheKey& key, EntryMeta meta, std::vector<Chunk> chunks,
                     std::optional<std::uint64_t> ifGeneration);
  void countDropped() { droppedWrites_.fetch_add(1, std::memory_order_relaxed); }

  const std::uint64_t capacityBytes_;
  const std::uint64_t maxObjectBytes_;
  std::uint64_t shardBudget_ = 0;
  std::atomic<std::uint64_t> reserved_{0};  // See setReservedBytes().
  // A shard's budget once the reservation is taken out: what eviction keeps it under.
  std::uint64_t evictBudget() const {
    return (capacityBytes_ - reserved_.load(std::memory_order_relaxed)) / shards_.size();
  }
  std::vector<std::unique_ptr<Shard>> shards_;

  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> inserts_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> droppedWrites_{0};
};

}  // namespace strata::storage

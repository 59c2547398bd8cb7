#pragma once
// RocksDbTier: a bounded on-disk cache in one RocksDB database; entries survive restarts.
//
// Layout (single column family, zstd-compressed, large values in integrated BlobDB files):
//   'h' + digest(16)                                   -> head record (entry_codec.h)
//   'c' + digest(16) + writeId(8, BE) + index(4, BE)  -> chunk record
//   'm' + name                                         -> tier bookkeeping
// Bodies of at most one chunk are stored inline in the head. Larger bodies are written chunk by
// chunk while they stream in (memory stays bounded by ~one chunk per writer); the head is written
// last, at commit, in the same batch that deletes the replaced entry's chunks (DeleteRange), so
// readers see either the old or the new entry. An abandoned writer deletes the chunks it wrote;
// chunks orphaned by a crash are collected at the next open.
//
// Eviction: an in-memory index (digest -> charge, writeId) in LRU order is rebuilt at open from
// the heads (initial order: oldest responseTime first) and touched by lookup hits. Whenever the
// charged bytes (head record + body bytes) exceed capacityBytes, least-recently-used entries are
// deleted. The budget is logical: RocksDB's space amplification comes on top.
//
// Reads: every record is checksummed; an undecodable head, a corrupt or missing chunk is a miss,
// the entry is removed and corruptEntries counted. A head whose full key differs from the
// requested key (digest collision) is a miss and is left alone. Handles read chunks lazily: a
// chunk read after the entry was replaced or evicted returns nullptr.
//
// Durability: writes go through the WAL without fsync; the destructor flushes and closes, so a
// clean reopen finds every committed entry. Handles and writers keep the database open: the tier
// is fully closed when the RocksDbTier and everything it returned are destroyed.
// Thread-safety: all methods may be called concurrently. No method throws.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "storage/cache_store.h"

namespace strata::storage {

class RocksDbTier : public CacheStore {
 public:
  struct Options {
    std::string path;                         // Directory; created if missing.
    std::uint64_t capacityBytes = 0;          // Byte budget (also the largest body admitted).
    std::size_t blockCacheBytes = 8 << 20;    // RocksDB block cache (heads, index blocks).
    std::size_t writeBufferBytes = 16 << 20;  // Per memtable; at most two memtables.
  };

  // Opens (or creates) the tier. On failure returns nullptr and sets *error (if non-null) to a
  // one-line message, e.g. "cannot open cache dir /x: Permission denied".
  static std::unique_ptr<RocksDbTier> open(const Options& options, std::string* error);
  ~RocksDbTier() override;

  RocksDbTier(const RocksDbTier&) = delete;
  RocksDbTier& operator=(const RocksDbTier&) = delete;

  ObjectHandle lookup(const CacheKey& key) override;
  std::unique_ptr<EntryWriter> beginWrite(const CacheKey& key, EntryMeta meta,
                                          std::int64_t expectedSize = -1) override;
  bool updateMeta(const CacheKey& key, const EntryMeta& meta) override;
  void remove(const CacheKey& key) override;
  StoreStats stats() const override;

  // The database keys used for an entry (exposed for tests and tools).
  static std::string headKeyFor(const Digest& digest);
  static std::string chunkKeyFor(const Digest& digest, std::uint64_t writeId, std::uint32_t index);

  class Impl;

 private:
  explicit RocksDbTier(std::shared_ptr<Impl> impl);

  std::shared_ptr<Impl> impl_;
};

}  // namespace strata::storage

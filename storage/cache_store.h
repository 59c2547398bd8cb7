#pragma once
// CacheStore: the one storage seam. Implementations: MemoryTier (bounded LRU in memory),
// RocksDbTier (bounded, on disk, survives restarts) and TieredCache (memory over disk).
//
// Contract for every implementation:
// - Errors are values: no method throws. A cache may always forget: a failed or corrupt read is a
//   miss (and the corrupt entry is removed); a failed write is dropped and counted.
// - lookup() never returns an entry whose stored full key differs from the requested key.
// - An entry becomes visible only when its writer commits; an abandoned or failed writer leaves
//   any previous entry for the key as it was. A committed write replaces the previous entry.
// - Objects returned by lookup() stay readable while the caller holds them, even if the entry is
//   replaced or evicted meanwhile (chunks read after eviction may return nullptr for disk objects).
// - Thread-safety: all methods may be called concurrently from any thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "storage/cache_entry.h"
#include "storage/cache_key.h"

namespace strata::storage {

// An entry found by lookup(): its metadata and its body, read chunk by chunk.
class StoredObject {
 public:
  virtual ~StoredObject() = default;
  virtual const EntryMeta& meta() const = 0;
  // Number of body chunks: ceil(meta().bodySize / kChunkSize).
  virtual std::size_t chunkCount() const = 0;
  // Chunk `index`, or nullptr if it is missing or fails its checksum (the caller must stop
  // sending: the body cannot be completed; the store removes the entry).
  virtual Chunk chunk(std::size_t index) const = 0;
  // True when every chunk is already in memory, so chunk() costs no read and no allocation
  // (readers may then hold many chunks at once).
  virtual bool resident() const { return false; }
};
using ObjectHandle = std::shared_ptr<const StoredObject>;

// Streams one entry into a store. Destroying a writer without commit() abandons the write.
// Not thread-safe: one writer is used by one thread at a time.
class EntryWriter {
 public:
  virtual ~EntryWriter() = default;
  // Appends body bytes. Returns false once the store has dropped this write (too large, I/O
  // error); further calls are no-ops that return false.
  virtual bool append(std::string_view data) = 0;
  // Makes the entry visible. Returns false if the write was dropped.
  virtual bool commit() = 0;
  // Body chunk `index` as written so far (complete chunks only), or nullptr when it cannot be
  // read back (not written yet, dropped, or the store keeps nothing readable before commit).
  // Unlike the other methods, this one may be called from any thread while the writer is in use:
  // readers of a coalesced fetch use it to catch up with a fill they fell behind.
  virtual Chunk writtenChunk(std::size_t /*index*/) const { return nullptr; }
};

struct StoreStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;          // Bytes charged against the budget (bodies + metadata).
  std::uint64_t capacityBytes = 0;  // The configured budget.
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t inserts = 0;
  std::uint64_t evictions = 0;
  std::uint64_t droppedWrites = 0;
  std::uint64_t corruptEntries = 0;
};

class CacheStore {
 public:
  virtual ~CacheStore() = default;

  // The entry for `key`, or nullptr on a miss.
  virtual ObjectHandle lookup(const CacheKey& key) = 0;
  // Starts writing an entry. `meta.bodySize` is ignored (the store counts appended bytes).
  // `expectedSize`, when known (>= 0), lets a store refuse an entry it could never hold at once.
  virtual std::unique_ptr<EntryWriter> beginWrite(const CacheKey& key, EntryMeta meta,
                                                  std::int64_t expectedSize = -1) = 0;
  // Replaces the metadata of an existing entry and keeps its body (e.g. after a 304).
  // `meta.bodySize` is ignored. Returns false if there is no such entry.
  virtual bool updateMeta(const CacheKey& key, const EntryMeta& meta) = 0;
  // Removes the entry, if any.
  virtual void remove(const CacheKey& key) = 0;
  virtual StoreStats stats() const = 0;
  // Grows with every commit and metadata update, after the change is visible; 0 when the store
  // does not count them. A caller that reads the same nonzero count before a lookup and later
  // knows that no entry was stored or updated in between (any change ordered before the second
  // read); with 0 it has to look again.
  virtual std::uint64_t writes() const { return 0; }
};

}  // namespace strata::storage

#pragma once
// RocksDbTier: a bounded on-disk cache in one RocksDB database; entries survive restarts.
//
// Layout (single column family, uncompressed, large values in integrated BlobDB files):
//   'H' + writeId(8, BE)                               -> head record (entry_codec.h)
//   'c' + digest(16) + writeId(8, BE) + index(4, BE)  -> chunk record
//   'I' + number(4, BE)                                -> index records, written at a clean
//                                                         close: digest(16), writeId(8, BE),
//                                                         charge(8, BE) per entry
//   'm' + name                                         -> tier bookkeeping
// Write ids only grow, so heads are appended at the end of the key space: the memtable insert
// starts where the last one ended and flushed files do not overlap. Earlier versions keyed heads
// and per-entry index records by digest ('h', 'i'); the open moves such heads to 'H' keys.
// Bodies of at most one chunk are stored inline in the head. Larger bodies are written chunk by
// chunk while they stream in (memory stays bounded by ~one chunk per writer); the head is written
// last, at commit, in the same batch that deletes the replaced entry's chunks (DeleteRange), so
// readers see either the old or the new entry. An abandoned writer deletes the chunks it wrote;
// chunks orphaned by a crash are collected at the next open.
//
// Budget: the whole cache directory (SST and blob files, WAL, MANIFEST, logs) is meant to stay
// within ~1.1 x capacityBytes under sustained churn. Entries are charged (head record + body bytes)
// against a logical budget of (1 - headroom) x capacityBytes (0.8 x by default); the headroom
// absorbs RocksDB's space amplification: deleted data that compaction has not reclaimed yet, the
// WAL and memtables (write buffer <= capacity/64), compaction output written before its inputs
// are deleted, metadata. Bodies >= 4 KiB live in blob files of capacity/16 (SSTs hold keys, blob
// references and small heads). Deleted bytes (evicted, replaced, removed, reclaimed, abandoned)
// count as garbage; every capacity/64 of garbage wakes a background thread that runs a full
// manual compaction with blob garbage collection (live blobs of the oldest quarter of blob files
// are relocated), which drops deleted records and frees blob files. Writers wait (in append and
// commit) while garbage exceeds capacity/32, until the next compaction has run, so churn cannot
// outrun reclamation. After each compaction the directory is measured: while it exceeds
// 0.92 x capacityBytes the logical budget shrinks by the excess (down to half its nominal value)
// and more entries are evicted; it grows back once the directory is below 0.86 x capacityBytes.
// Below 32 MiB of capacity RocksDB's fixed overhead (~3 MiB) dominates: no feedback, no bound.
//
// Eviction policy: LRU with a second chance. An in-memory index (digest -> charge, writeId,
// referenced bit, LRU position) is rebuilt at open (initial order: oldest responseTime first, no
// referenced bits). A clean close saves the index as index records (least recently used first)
// and marks them with the database's sequence number, so that any later write, by another
// program or an older version, invalidates them; the open then reads only those, 32 bytes per
// entry, instead of every head with its inline body, and keeps the LRU order. Otherwise (a
// crash, or the mark does not match) it reads the heads (initial order: oldest responseTime
// first). A lookup hit moves the entry to the front and sets its
// referenced bit; a replacement or metadata update keeps the bit. When over budget the
// least-recently-used entry is evicted unless its bit is set: then the bit is cleared and the
// entry moves to the front (one more lap). Objects read more than once survive a scan of
// one-time writes of up to ~2x the budget; unreferenced ones leave in LRU order.
// Memory: the index holds every disk entry, ~140 bytes each with libstdc++ on 64-bit (hash node
// ~80 with allocator overhead, bucket pointer 8, list node ~48); e.g. 1 M entries ~ 140 MB. With
// Options::memoryBytes set, the entry count is bounded by it (evicting as the byte budget does),
// so many small objects on a large disk cannot outgrow the memory configured.
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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "storage/cache_store.h"

namespace strata::storage {

class RocksDbTier : public CacheStore {
 public:
  struct Options {
    std::string path;                 // Directory; created if missing.
    std::uint64_t capacityBytes = 0;  // Disk budget for the whole directory.
    // Fraction of capacityBytes kept free for space amplification (clamped to [0, 0.9]). Entries
    // are charged against (1 - headroom) x capacityBytes, also the largest body admitted.
    double headroom = 0.2;
    std::size_t blockCacheBytes = 8 << 20;   // RocksDB block cache (heads, index blocks).
    std::size_t writeBufferBytes = 8 << 20;  // Per memtable (at most capacity/32, >= 1 MiB);
                                             // at most two memtables.
    // The most memory the tier may hold (memoryBytes()): the index gets what the memtables,
    // the block cache and the commit queue leave, and entries beyond it are evicted, least
    // recently used first, however much disk is free. 0: no bound.
    std::uint64_t memoryBytes = 0;
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

  // Examines up to `maxEntries` entries, continuing where the previous call stopped (wrapping
  // around at the end), and removes those for which `isDead(meta)` returns true (e.g. expired
  // long ago; the caller decides, the tier knows nothing of HTTP). Returns the number removed.
  // `isDead` is called without tier locks held and must not throw. An entry replaced meanwhile
  // is left alone. Meant for a low-priority background thread; freed space is reclaimed by the
  // next background compaction.
  std::size_t reclaim(const std::function<bool(const EntryMeta&)>& isDead, std::size_t maxEntries);
  // Runs a full compaction (reclaiming deleted data) now and returns when it is done.
  void compactNow();
  // Returns once the background compaction requested so far (if any) has completed.
  void waitForBackgroundWork();
  // Memory this tier holds outside its files: the index (~kIndexEntryBytes per entry), the
  // memtables and the block cache (at their configured size), and the commit queue (at most
  // kCommitQueueBytes of small entries waiting to be written).
  std::uint64_t memoryBytes() const;
  // What the memory tier must leave to this tier: with Options::memoryBytes set, the most it may
  // hold (the index at its entry bound), from the start. Reserving it only as the index grows
  // would not bound the process: the memory tier's freed objects stay with the allocator (their
  // spans keep live neighbours), so shrinking it returns little while the index takes new memory
  // (under a stream of 1 KiB misses with cache.memory 256MiB, RSS grew from 287 to 371 MiB as the
  // index went from 130k to 930k entries). Without a bound, memoryBytes().
  std::uint64_t reservedMemoryBytes() const;
  static constexpr std::uint64_t kIndexEntryBytes = 144;
  static constexpr std::uint64_t kCommitQueueBytes = 1 << 20;
  // The committer writes queued heads in batches (one RocksDB write and one index update each):
  // once woken it waits up to kCommitLinger for kCommitBatch heads (or half of
  // kCommitQueueBytes) unless someone waits for them.
  static constexpr std::size_t kCommitBatch = 64;
  static constexpr std::chrono::milliseconds kCommitLinger{2};
  // Whether the open read the index records (after a clean close) rather than the heads.
  bool openedFromIndexRecords() const;
  // Bytes of all regular files in the cache directory right now.
  std::uint64_t diskUsageBytes() const;

  // The database keys used for an entry (exposed for tests and tools).
  static std::string headKeyFor(std::uint64_t writeId);  // Of the head `writeId` wrote.
  static std::string chunkKeyFor(const Digest& digest, std::uint64_t writeId, std::uint32_t index);

  class Impl;

 private:
  explicit RocksDbTier(std::shared_ptr<Impl> impl);

  std::shared_ptr<Impl> impl_;
};

}  // namespace strata::storage

#include "storage/rocksdb_tier.h"

#include <pthread.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/entry_codec.h"

namespace strata::storage {
namespace {

// Heads are keyed by write id, which only grows (microseconds since the epoch at open, then +1
// per write): every stored object appends one record at the end of the key space. The memtable
// insert then starts from the last insert's position (with random digests as keys it cost ~11k
// instructions per record), and flushed files do not overlap the ones before them, so moving
// them down the levels rewrites nothing. The digest -> write id map is the in-memory index, which
// holds every entry; a clean close saves it as index records, 'I' + number(4) -> entries of
// digest(16), writeId(8), charge(8), least recently used first.
constexpr char kHeadPrefix = 'H';
constexpr char kChunkPrefix = 'c';
constexpr char kIndexPrefix = 'I';
constexpr std::size_t kHeadKeySize = 1 + 8;
constexpr std::size_t kIndexKeySize = 1 + 4;
constexpr std::size_t kIndexEntrySize = 16 + 8 + 8;
constexpr std::size_t kIndexEntriesPerRecord = 32768;  // 1 MiB records.
// Before write-id keys, heads and one index record per head were keyed by digest under these
// prefixes: the open moves such heads to write-id keys and drops those records.
constexpr char kLegacyHeadPrefix = 'h';
constexpr char kLegacyIndexPrefix = 'i';
constexpr std::size_t kLegacyHeadKeySize = 1 + 16;
constexpr std::size_t kChunkKeySize = 1 + 16 + 8 + 4;
// Below this capacity the logical budget does not adapt to the measured disk usage.
constexpr std::uint64_t kMinAdaptiveCapacity = 32 << 20;
// Present while the database is open; found at open => the last run did not close cleanly.
const std::string kDirtyMarker = "mdirty";
// Written at a clean close, after the index records, with the database's sequence number after
// that write. Found at open with the same number (nothing has written since, not even another
// program or an older version): the index records hold exactly the index, so the open reads
// those (32 bytes per entry) instead of the heads (~1.4 KB for a 1 KiB object, whose body is
// inline). Earlier versions wrote "mindexed" over digest-keyed records.
const std::string kIndexedMarker = "mindexed2";

// Cache data is written without the WAL: a crash loses what was not flushed yet (recent entries
// and deletions), never consistency, because heads and their chunks share one column family and
// a memtable is flushed as a whole. Deletions that must survive a crash are purge rules, which
// live in the purge store with a synced WAL. The dirty marker keeps its synced WAL write, so a
// crash is still detected at the next open. Clean shutdown flushes the memtables.
const rocksdb::WriteOptions kCacheWrite = [] {
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  return options;
}();

void putBigEndian(char* out, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out[i] = static_cast<char>((v >> (8 * (width - 1 - i))) & 0xFF);
}

void appendBigEndian(std::string& out, std::uint64_t v, int width) {
  const std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(width));
  putBigEndian(out.data() + at, v, width);
}

std::uint64_t readBigEndian(std::string_view in, std::size_t pos, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

std::string chunkRangeBegin(const Digest& d, std::uint64_t writeId) {
  std::string k(1, kChunkPrefix);
  k.append(reinterpret_cast<const char*>(d.data()), d.size());
  appendBigEndian(k, writeId, 8);
  return k;
}

// Sorts after every chunk key of (d, writeId) and before the next writeId's.
std::string chunkRangeEnd(const Digest& d, std::uint64_t writeId) {
  return chunkRangeBegin(d, writeId) + std::string(5, '\xff');
}

// Head keys are built on the stack: one goes into every stored object's batch.
using HeadKey = std::array<char, kHeadKeySize>;

rocksdb::Slice slice(const auto& bytes) { return {bytes.data(), bytes.size()}; }

HeadKey headKey(std::uint64_t writeId) {
  HeadKey k;
  k[0] = kHeadPrefix;
  putBigEndian(k.data() + 1, writeId, 8);
  return k;
}

// The head stored under `writeId`'s key, if it decodes and says it was written by `writeId`.
std::optional<HeadRecord> decodeHeadOf(std::string_view bytes, std::uint64_t writeId) {
  std::optional<HeadRecord> head = decodeHead(bytes);
  if (head && head->writeId != writeId) head.reset();
  return head;
}

Digest digestFromKey(std::string_view key) {  // Of a chunk key.
  Digest d{};
  std::copy_n(key.begin() + 1, d.size(), reinterpret_cast<char*>(d.data()));
  return d;
}

Digest digestAt(std::string_view bytes, std::size_t pos) {
  Digest d{};
  std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(pos), d.size(),
              reinterpret_cast<char*>(d.data()));
  return d;
}

std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// Whether an entry charged `charge` may have chunks. A chunked entry is charged its head plus a
// body of at least one chunk; an entry charged no more than a chunk has its body inline, so
// removing it needs no range deletion (a range tombstone per removal cost RocksDB ~30k
// instructions between the write, the flush and compactions).
bool mayHaveChunks(std::uint64_t charge) { return charge > kChunkSize; }

std::uint64_t chunkCountFor(std::uint64_t bodySize) {
  return (bodySize + kChunkSize - 1) / kChunkSize;
}

// How many index entries fit in `memoryBytes` besides the fixed part and the commit queue (at
// least 1024: a budget too small for RocksDB itself still caches something). 0: no bound.
std::uint64_t maxEntriesFor(std::uint64_t memoryBytes, std::uint64_t fixedMemoryBytes) {
  if (memoryBytes == 0) return 0;
  const std::uint64_t overhead = fixedMemoryBytes + RocksDbTier::kCommitQueueBytes;
  const std::uint64_t room = memoryBytes > overhead ? memoryBytes - overhead : 0;
  return std::max<std::uint64_t>(room / RocksDbTier::kIndexEntryBytes, 1024);
}

std::uint64_t nominalBudget(const RocksDbTier::Options& o) {
  const double headroom = std::clamp(o.headroom, 0.0, 0.9);
  return static_cast<std::uint64_t>(static_cast<double>(o.capacityBytes) * (1.0 - headroom));
}

}  // namespace

class RocksDbTier::Impl : public std::enable_shared_from_this<Impl> {
 public:
  // `fixedMemoryBytes`: what the memtables and the block cache may hold.
  Impl(Options options, std::unique_ptr<rocksdb::DB> db, std::uint64_t fixedMemoryBytes)
      : options_(std::move(options)),
        db_(std::move(db)),
        fixedMemoryBytes_(fixedMemoryBytes),
        nominalBudget_(nominalBudget(options_)),
        budget_(nominalBudget_),
        compactTrigger_(std::max<std::uint64_t>(options_.capacityBytes / 64, 1)),
        garbageLimit_(std::max<std::uint64_t>(options_.capacityBytes / 32, 1)),
        maxEntries_(maxEntriesFor(options_.memoryBytes, fixedMemoryBytes)) {}

  ~Impl() {
    {
      std::lock_guard lock(commitMu_);
      commitStop_ = true;
    }
    commitCv_.notify_all();
    if (committer_.joinable()) committer_.join();  // Writes what is queued first.
    {
      std::lock_guard lock(bgMu_);
      stop_ = true;
    }
    bgCv_.notify_all();
    doneCv_.notify_all();
    db_->DisableManualCompaction();  // Cut a running compaction short.
    if (worker_.joinable()) worker_.join();
    const bool indexed = indexRecordsComplete_ && writeIndexRecords();
    rocksdb::WriteBatch closing;
    closing.Delete(kDirtyMarker);
    if (indexed) {
      // Nothing else writes now: the batch's two records take the next two sequence numbers.
      closing.Put(kIndexedMarker, std::to_string(db_->GetLatestSequenceNumber() + 2));
    }
    db_->Write(rocksdb::WriteOptions(), &closing);
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush);
    rocksdb::CancelAllBackgroundWork(db_.get(), /*wait=*/true);
    db_->Close();
  }

  // Rebuilds the index from the index records after a clean close, else from the heads (and
  // rewrites the index records), collects orphans after an unclean shutdown and marks the
  // database open. Returns an error message or "".
  std::string start();

  ObjectHandle lookup(const CacheKey& key);
  std::unique_ptr<EntryWriter> beginWrite(const CacheKey& key, EntryMeta meta,
                                          std::int64_t expectedSize);
  bool updateMeta(const CacheKey& key, const EntryMeta& meta);
  void remove(const CacheKey& key);
  StoreStats stats() const;
  std::size_t reclaim(const std::function<bool(const EntryMeta&)>& isDead, std::size_t maxEntries);
  void compactNow();
  void waitForBackgroundWork();
  std::uint64_t diskUsageBytes() const;
  std::uint64_t memoryBytes() const;
  std::uint64_t reservedMemoryBytes() const;

  // Used by writers and objects.
  rocksdb::DB& db() { return *db_; }
  std::uint64_t maxBodyBytes() const { return nominalBudget_; }
  bool commitHead(const Digest& digest, const HeadRecord& head);
  bool writeHead(const Digest& digest, const HeadRecord& head);  // commitHead, not draining.
  // Queues the head of a small entry (body inline, no chunks) for the committer thread and
  // returns at once: the request that filled it does not wait for RocksDB. Everything that reads
  // or changes a queued digest on disk waits for it first (drainIfPending), so a queued write
  // never lands after a later removal, update or replacement.
  // False if it could not be queued (out of memory).
  bool commitHeadLater(const Digest& digest, HeadRecord head);
  void deleteChunks(const Digest& digest, std::uint64_t writeId, std::uint64_t bytes);
  // Blocks while more deleted data awaits compaction than the directory can absorb.
  void throttle();
  // A chunk of the entry written by `writeId` is missing or corrupt: drop the entry if it is
  // still the current one.
  void onChunkFailure(const Digest& digest, std::uint64_t writeId);
  void countDropped() { droppedWrites_.fetch_add(1, std::memory_order_relaxed); }
  bool openedFromIndex() const { return openedFromIndex_; }

 private:
  struct IndexEntry {
    std::uint64_t charge = 0;
    std::uint64_t writeId = 0;
    std::list<Digest>::iterator lru;
    bool referenced = false;  // Hit since inserted or last spared: survives one more lap.
  };

  std::mutex& stripeFor(const Digest& d) { return stripes_[d[15] % stripes_.size()]; }
  // Index helpers (indexMu_ held). indexPut keeps the referenced bit of a replaced entry;
  // indexErase returns the charge removed.
  void indexPut(const Digest& d, std::uint64_t charge, std::uint64_t writeId);
  std::uint64_t indexErase(const Digest& d);
  std::optional<IndexEntry> indexGet(const Digest& d);
  // Reads the head `writeId` wrote into *value.
  rocksdb::Status readHead(std::uint64_t writeId, std::string* value) const {
    return db_->Get(rocksdb::ReadOptions(), slice(headKey(writeId)), value);
  }
  // Enough heads queued for the committer to write them now (commitMu_ held).
  bool batchReady() const {
    return queued_.size() >= RocksDbTier::kCommitBatch ||
           queuedBytes_ >= RocksDbTier::kCommitQueueBytes / 2;
  }
  // Adds the removal of the records `writeId` wrote for `d` to `batch`: its head, and its chunks
  // when it may have some (see mayHaveChunks).
  static void addRemoval(rocksdb::WriteBatch& batch, const Digest& d, std::uint64_t writeId,
                         bool chunks) {
    batch.Delete(slice(headKey(writeId)));
    if (chunks) batch.DeleteRange(chunkRangeBegin(d, writeId), chunkRangeEnd(d, writeId));
  }
  // Deletes head and chunks of the entry (stripe lock held). Returns true on success.
  bool deleteEntry(const Digest& d, std::optional<std::uint64_t> writeId);
  void evictIfNeeded();
  void collectOrphans();
  // Write-behind of small heads (commitHeadLater).
  void committerLoop();
  struct QueuedHead;
  // Writes a batch of queued heads as one RocksDB write and one index update (group commit).
  // Sets ok[i] for each head; false for all when the write failed.
  void writeHeads(const std::vector<QueuedHead>& batch, std::vector<bool>& ok);
  // A slot of pending_ per digest: nonzero while a head of a digest of that slot is queued.
  static std::size_t pendingSlot(const Digest& d) {
    return (static_cast<std::size_t>(d[0]) << 8 | d[1]) % kPendingSlots;
  }
  // Saves the index as index records (at close, nothing else writing). False on failure.
  bool writeIndexRecords();
  // Returns once every head queued so far is written (drainIfPending: only if `d` is queued).
  void drainCommits() const;
  void drainIfPending(const Digest& d) const;
  void waitForQueued(std::unique_lock<std::mutex>& lock) const;  // commitMu_ held.
  // Background compaction.
  void noteGarbage(std::uint64_t bytes);
  // Returns the ticket a waiter must see served (bgMu_ held).
  std::uint64_t requestCompactionLocked();
  void waitServed(std::unique_lock<std::mutex>& lock, std::uint64_t ticket);
  void workerLoop();
  void compactAndAdjust(bool thorough);  // thorough: relocate every live blob.

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  const std::uint64_t fixedMemoryBytes_;  // Memtables and block cache.
  const std::uint64_t nominalBudget_;
  std::atomic<std::uint64_t> budget_;  // Current logical budget (adapted to the disk usage).
  const std::uint64_t compactTrigger_;
  const std::uint64_t garbageLimit_;
  const std::uint64_t maxEntries_;  // Index entries that fit in options_.memoryBytes; 0: no bound.
  std::atomic<std::uint64_t> garbage_{0};  // Bytes deleted since the last compaction started.

  std::mutex bgMu_;
  std::condition_variable bgCv_;    // Wakes the worker.
  std::condition_variable doneCv_;  // Wakes waiters.
  std::uint64_t requested_ = 0;     // Tickets handed out.
  std::uint64_t started_ = 0;       // Highest ticket covered by a started compaction.
  std::uint64_t served_ = 0;        // Highest ticket covered by a finished compaction.
  bool stop_ = false;
  bool thorough_ = false;  // The next compaction relocates every live blob (compactNow).
  std::thread worker_;

  std::mutex reclaimMu_;
  std::string reclaimCursor_;  // Last head key examined by reclaim(); "" = from the start.
  // Serialise mutations per digest. The committer holds every stripe of a batch at once: 32
  // keeps that, with the index lock, under the 64 held locks ThreadSanitizer can track.
  std::array<std::mutex, 32> stripes_;

  // Queued heads, oldest first. At most kCommitQueueBytes of them wait: past that,
  // commitHeadLater waits for the committer (the queue is bounded by size, not by traffic).
  struct QueuedHead {
    Digest digest;
    HeadRecord head;
    std::size_t bytes;
  };
  mutable std::mutex commitMu_;
  mutable std::condition_variable commitCv_;  // Wakes the committer.
  mutable std::condition_variable drainCv_;   // Wakes those waiting for queued heads.
  std::vector<QueuedHead> queued_;
  std::unordered_map<Digest, std::uint32_t, DigestHash> queuedDigests_;  // Digest -> count.
  // Queued heads per pendingSlot, read without commitMu_: a lookup of a digest whose slot is
  // zero has nothing queued to wait for and takes no lock (most lookups: misses of new URLs).
  static constexpr std::size_t kPendingSlots = 4096;
  std::array<std::atomic<std::uint32_t>, kPendingSlots> pending_{};
  std::size_t queuedBytes_ = 0;
  std::uint64_t enqueued_ = 0;  // Heads queued since open.
  std::uint64_t written_ = 0;   // Heads the committer has finished with.
  bool committerIdle_ = false;
  bool commitStop_ = false;
  mutable std::uint32_t drainWaiters_ = 0;  // Callers waiting for queued heads: no lingering.
  std::thread committer_;

  mutable std::mutex indexMu_;
  std::unordered_map<Digest, IndexEntry, DigestHash> index_;
  std::list<Digest> lru_;  // Front = most recently used.
  std::uint64_t bytes_ = 0;

  std::atomic<std::uint64_t> nextWriteId_{1};
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> inserts_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> droppedWrites_{0};

  std::atomic<std::uint64_t> corruptEntries_{0};
  // The index records match the heads (set by start(); the close marks the database with it).
  bool indexRecordsComplete_ = false;
  bool openedFromIndex_ = false;  // start() read the index records, not the heads.
};

namespace {

class RocksObject : public StoredObject {
 public:
  RocksObject(std::shared_ptr<RocksDbTier::Impl> impl, const Digest& digest, HeadRecord head)
      : impl_(std::move(impl)),
        digest_(digest),
        meta_(std::move(head.meta)),
        writeId_(head.writeId),
        chunkCount_(chunkCountFor(meta_.bodySize)) {
    if (head.inlineBody && !head.inlineBody->empty()) {
      inline_ = std::make_shared<const std::string>(std::move(*head.inlineBody));
    }
  }

  const EntryMeta& meta() const override { return meta_; }
  std::size_t chunkCount() const override { return chunkCount_; }

  Chunk chunk(std::size_t index) const override {
    if (index >= chunkCount_) return nullptr;
    if (inline_) return inline_;
    try {
      rocksdb::ReadOptions read;
      read.fill_cache = false;  // Bodies would only churn the small block cache.
      std::string value;
      const rocksdb::Status s = impl_->db().Get(
          read, RocksDbTier::chunkKeyFor(digest_, writeId_, static_cast<std::uint32_t>(index)),
          &value);
      if (s.ok()) {
        std::optional<ChunkRecord> record = decodeChunk(value);
        value = std::string();
        const std::uint64_t expected =
            index + 1 < chunkCount_ ? kChunkSize : meta_.bodySize - index * kChunkSize;
        if (record && record->writeId == writeId_ && record->index == index &&
            record->payload.size() == expected) {
          return std::make_shared<const std::string>(std::move(record->payload));
        }
      }
    } catch (...) {  // Allocation failure: treat like a failed read.
    }
    impl_->onChunkFailure(digest_, writeId_);
    return nullptr;
  }

 private:
  const std::shared_ptr<RocksDbTier::Impl> impl_;
  const Digest digest_;
  const EntryMeta meta_;
  const std::uint64_t writeId_;
  const std::size_t chunkCount_;
  Chunk inline_;
};

// Streams chunks into the database as they fill; the head goes in at commit.
class RocksWriter : public EntryWriter {
 public:
  RocksWriter(std::shared_ptr<RocksDbTier::Impl> impl, const CacheKey& key, EntryMeta meta,
              std::uint64_t writeId, bool dropped)
      : impl_(std::move(impl)),
        digest_(key.digest()),
        meta_(std::move(meta)),
        writeId_(writeId),
        dropped_(dropped) {}

  ~RocksWriter() override {
    if (!committed_ && !dropped_ && chunksWritten_ > 0) {
      impl_->deleteChunks(digest_, writeId_, std::uint64_t{chunksWritten_} * kChunkSize);
    }
  }

  bool append(std::string_view data) override {
    if (dropped_ || committed_) return false;
    if (data.size() > impl_->maxBodyBytes() - size_) return drop();
    size_ += data.size();
    while (!data.empty()) {
      // Keep a full chunk buffered until more bytes arrive: a body of exactly one chunk is inline.
      if (buffer_.size() == kChunkSize && !writeChunk()) return drop();
      const std::size_t take = std::min(data.size(), kChunkSize - buffer_.size());
      if (buffer_.size() + take > buffer_.capacity()) {
        buffer_.reserve(
            std::min(kChunkSize, std::max(2 * buffer_.capacity(), buffer_.size() + take)));
      }
      buffer_.append(data.substr(0, take));
      data.remove_prefix(take);
    }
    return true;
  }

  Chunk writtenChunk(std::size_t index) const override {
    if (index >= chunksWritten_.load(std::memory_order_acquire) ||
        dropped_.load(std::memory_order_acquire)) {
      return nullptr;
    }
    try {
      rocksdb::ReadOptions read;
      read.fill_cache = false;
      std::string value;
      const auto chunkIndex = static_cast<std::uint32_t>(index);
      if (!impl_->db()
               .Get(read, RocksDbTier::chunkKeyFor(digest_, writeId_, chunkIndex), &value)
               .ok()) {
        return nullptr;
      }
      std::optional<ChunkRecord> record = decodeChunk(value);
      if (record && record->writeId == writeId_ && record->index == chunkIndex &&
          record->payload.size() == kChunkSize) {
        return std::make_shared<const std::string>(std::move(record->payload));
      }
    } catch (...) {
    }
    return nullptr;
  }

  bool commit() override {
    if (dropped_ || committed_) return false;
    HeadRecord head;
    head.meta = std::move(meta_);
    head.meta.bodySize = size_;
    head.writeId = writeId_;
    if (chunksWritten_ == 0) {
      head.inlineBody = std::move(buffer_);
    } else {
      if (!buffer_.empty() && !writeChunk()) return drop();
      head.chunkCount = chunksWritten_;
    }
    buffer_ = std::string();
    impl_->throttle();
    if (head.inlineBody ? !impl_->commitHeadLater(digest_, std::move(head))
                        : !impl_->commitHead(digest_, head)) {
      return drop();
    }
    committed_ = true;
    return true;
  }

 private:
  bool writeChunk() {
    impl_->throttle();
    try {
      const std::string record = encodeChunk(writeId_, chunksWritten_, buffer_);
      const rocksdb::Status s = impl_->db().Put(
          kCacheWrite, RocksDbTier::chunkKeyFor(digest_, writeId_, chunksWritten_), record);
      if (!s.ok()) return false;
    } catch (...) {
      return false;
    }
    chunksWritten_.fetch_add(1, std::memory_order_release);
    buffer_.clear();
    return true;
  }

  bool drop() {
    if (!dropped_) {
      dropped_ = true;
      buffer_ = std::string();
      if (chunksWritten_ > 0) {
        impl_->deleteChunks(digest_, writeId_, std::uint64_t{chunksWritten_} * kChunkSize);
      }
      impl_->countDropped();
    }
    return false;
  }

  const std::shared_ptr<RocksDbTier::Impl> impl_;
  const Digest digest_;
  EntryMeta meta_;
  const std::uint64_t writeId_;
  std::uint64_t size_ = 0;
  std::atomic<std::uint32_t> chunksWritten_{0};  // Read by writtenChunk() from other threads.
  std::atomic<bool> dropped_;
  bool committed_ = false;
  std::string buffer_;
};

}  // namespace

// ---- Impl ------------------------------------------------------------------------------------

std::string RocksDbTier::Impl::start() {
  std::string dirty, indexed;
  bool unclean = db_->Get(rocksdb::ReadOptions(), kDirtyMarker, &dirty).ok();

  struct Found {
    Digest digest;
    std::uint64_t charge;
    std::uint64_t writeId;
    std::int64_t responseTime;
  };
  std::vector<Found> found;
  std::uint64_t maxWriteId = 0;
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  const std::string cannotRead = "cannot read cache dir " + options_.path + ": ";
  const std::string cannotWrite = "cannot write cache dir " + options_.path;
  // After a clean close the index records are enough. Any malformed one, and any unclean
  // shutdown, sends the open to the heads.
  bool fromHeads = unclean || !db_->Get(rocksdb::ReadOptions(), kIndexedMarker, &indexed).ok() ||
                   indexed != std::to_string(db_->GetLatestSequenceNumber());
  if (!fromHeads) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
    for (it->Seek(std::string(1, kIndexPrefix)); it->Valid() && it->key()[0] == kIndexPrefix;
         it->Next()) {
      const std::string_view v = view(it->value());
      if (it->key().size() != kIndexKeySize || v.size() % kIndexEntrySize != 0) {
        fromHeads = true;
        break;
      }
      for (std::size_t at = 0; at < v.size(); at += kIndexEntrySize) {
        const std::uint64_t writeId = readBigEndian(v, at + 16, 8);
        found.push_back({digestAt(v, at), readBigEndian(v, at + 24, 8), writeId, 0});
        maxWriteId = std::max(maxWriteId, writeId);
      }
    }
    if (!it->status().ok()) return cannotRead + it->status().ToString();
  }
  if (fromHeads) {
    found.clear();
    maxWriteId = 0;
    rocksdb::WriteBatch batch;
    const auto flushBatch = [&] {
      if (batch.Count() < 65536) return true;
      const bool ok = db_->Write(kCacheWrite, &batch).ok();
      batch.Clear();
      return ok;
    };
    // Heads under write-id keys, then any under the digest keys of earlier versions, which move
    // to write-id keys.
    for (const char prefix : {kHeadPrefix, kLegacyHeadPrefix}) {
      const std::size_t keySize = prefix == kHeadPrefix ? kHeadKeySize : kLegacyHeadKeySize;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
      for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next()) {
        std::optional<HeadRecord> head;
        if (it->key().size() == keySize) {
          head = prefix == kHeadPrefix
                     ? decodeHeadOf(view(it->value()), readBigEndian(view(it->key()), 1, 8))
                     : decodeHead(view(it->value()));
        }
        if (!head) {
          if (prefix == kHeadPrefix) batch.Delete(it->key());  // The legacy range goes below.
          corruptEntries_.fetch_add(1, std::memory_order_relaxed);
          unclean = true;  // Its chunks are now orphans.
          if (!flushBatch()) return cannotWrite;
          continue;
        }
        if (prefix == kLegacyHeadPrefix) batch.Put(slice(headKey(head->writeId)), it->value());
        const std::uint64_t charge =
            it->value().size() + (head->inlineBody ? 0 : head->meta.bodySize);
        found.push_back({digestOf(head->meta.key), charge, head->writeId, head->meta.responseTime});
        maxWriteId = std::max(maxWriteId, head->writeId);
        if (!flushBatch()) return cannotWrite;
      }
      if (!it->status().ok()) return cannotRead + it->status().ToString();
    }
    // One head per digest, the latest write: an earlier one is left over (a crash between
    // versions, or a version that kept more): drop it, its chunks are orphans.
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
      return a.digest != b.digest ? a.digest < b.digest : a.writeId > b.writeId;
    });
    const auto stale = std::unique(found.begin(), found.end(), [&](const Found& a, const Found& b) {
      return a.digest == b.digest;
    });
    for (auto it = stale; it != found.end(); ++it) {
      batch.Delete(slice(headKey(it->writeId)));
      unclean = true;
    }
    found.erase(stale, found.end());
    // Drop the earlier version's heads (moved above) and index records; the index records of
    // this format, stale now, are rewritten at the next clean close.
    batch.DeleteRange(std::string(1, kLegacyHeadPrefix),
                      std::string(1, static_cast<char>(kLegacyIndexPrefix + 1)));
    if (!db_->Write(kCacheWrite, &batch).ok()) return cannotWrite;
    // The least recently used first, as far as the heads tell.
    std::sort(found.begin(), found.end(),
              [](const Found& a, const Found& b) { return a.responseTime < b.responseTime; });
  }
  indexRecordsComplete_ = true;
  openedFromIndex_ = !fromHeads;
  {
    std::lock_guard lock(indexMu_);
    index_.reserve(found.size());  // One allocation of the buckets, no rehash while filling.
    for (const Found& f : found) indexPut(f.digest, f.charge, f.writeId);
  }
  // Write ids only grow, across restarts too: never reuse the id of a possibly orphaned chunk.
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  nextWriteId_ = std::max<std::uint64_t>(maxWriteId + 1, static_cast<std::uint64_t>(now));

  if (unclean) collectOrphans();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const rocksdb::Status s = db_->Put(sync, kDirtyMarker, "1");
  if (!s.ok()) return "cannot write cache dir " + options_.path + ": " + s.ToString();
  evictIfNeeded();
  worker_ = std::thread([this] { workerLoop(); });
  pthread_setname_np(worker_.native_handle(), "strata-compact");
  committer_ = std::thread([this] { committerLoop(); });
  pthread_setname_np(committer_.native_handle(), "strata-commit");
  return "";
}

bool RocksDbTier::Impl::writeIndexRecords() {
  try {
    if (!db_->DeleteRange(kCacheWrite, db_->DefaultColumnFamily(), std::string(1, kIndexPrefix),
                          std::string(1, static_cast<char>(kIndexPrefix + 1)))
             .ok())
      return false;
    std::lock_guard lock(indexMu_);
    std::string record;
    std::uint32_t number = 0;
    const auto put = [&] {
      std::array<char, kIndexKeySize> key{kIndexPrefix};
      putBigEndian(key.data() + 1, number++, 4);
      const bool ok = db_->Put(kCacheWrite, slice(key), record).ok();
      record.clear();
      return ok;
    };
    record.reserve(kIndexEntriesPerRecord * kIndexEntrySize);
    for (auto d = lru_.rbegin(); d != lru_.rend(); ++d) {  // Least recently used first.
      const IndexEntry& entry = index_.at(*d);
      record.append(reinterpret_cast<const char*>(d->data()), d->size());
      appendBigEndian(record, entry.writeId, 8);
      appendBigEndian(record, entry.charge, 8);
      if (record.size() == kIndexEntriesPerRecord * kIndexEntrySize && !put()) return false;
    }
    return record.empty() || put();
  } catch (...) {
    return false;
  }
}

void RocksDbTier::Impl::collectOrphans() {
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  rocksdb::WriteBatch batch;
  it->Seek(std::string(1, kChunkPrefix));
  while (it->Valid() && it->key()[0] == kChunkPrefix) {
    const std::string_view key = view(it->key());
    if (key.size() != kChunkKeySize) {
      batch.Delete(it->key());
      it->Next();
      continue;
    }
    const Digest d = digestFromKey(key);
    const std::uint64_t writeId = readBigEndian(key, 17, 8);
    const std::optional<IndexEntry> entry = indexGet(d);
    if (!entry || entry->writeId != writeId) {
      batch.DeleteRange(chunkRangeBegin(d, writeId), chunkRangeEnd(d, writeId));
    }
    it->Seek(chunkRangeEnd(d, writeId));  // Next (digest, writeId) group.
  }
  if (batch.Count() > 0) db_->Write(kCacheWrite, &batch);
}

void RocksDbTier::Impl::indexPut(const Digest& d, std::uint64_t charge, std::uint64_t writeId) {
  auto it = index_.find(d);
  if (it != index_.end()) {
    bytes_ = bytes_ - it->second.charge + charge;
    it->second.charge = charge;
    it->second.writeId = writeId;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  lru_.push_front(d);
  index_.emplace(d, IndexEntry{charge, writeId, lru_.begin()});
  bytes_ += charge;
}

std::uint64_t RocksDbTier::Impl::indexErase(const Digest& d) {
  auto it = index_.find(d);
  if (it == index_.end()) return 0;
  const std::uint64_t charge = it->second.charge;
  bytes_ -= charge;
  lru_.erase(it->second.lru);
  index_.erase(it);
  return charge;
}

std::optional<RocksDbTier::Impl::IndexEntry> RocksDbTier::Impl::indexGet(const Digest& d) {
  std::lock_guard lock(indexMu_);
  auto it = index_.find(d);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

bool RocksDbTier::Impl::deleteEntry(const Digest& d, std::optional<std::uint64_t> writeId) {
  const std::optional<IndexEntry> entry = indexGet(d);
  if (!writeId && entry) writeId = entry->writeId;
  // Every stored head is in the index: one it does not know is not on disk.
  bool ok = true;
  if (writeId) {
    rocksdb::WriteBatch batch;
    // Chunks of a write id the index does not hold (or no longer) are removed to be safe.
    addRemoval(batch, d, *writeId,
               !entry || entry->writeId != *writeId || mayHaveChunks(entry->charge));
    ok = db_->Write(kCacheWrite, &batch).ok();
  }
  std::uint64_t charge = 0;
  {
    std::lock_guard lock(indexMu_);
    charge = indexErase(d);
  }
  noteGarbage(charge);
  return ok;
}

void RocksDbTier::Impl::deleteChunks(const Digest& d, std::uint64_t writeId, std::uint64_t bytes) {
  rocksdb::WriteBatch batch;
  batch.DeleteRange(chunkRangeBegin(d, writeId), chunkRangeEnd(d, writeId));
  db_->Write(kCacheWrite, &batch);
  noteGarbage(bytes);
}

bool RocksDbTier::Impl::commitHead(const Digest& d, const HeadRecord& head) {
  drainIfPending(d);
  return writeHead(d, head);
}

bool RocksDbTier::Impl::writeHead(const Digest& d, const HeadRecord& head) {
  try {
    const std::string encoded = encodeHead(head);
    const std::uint64_t charge = encoded.size() + (head.inlineBody ? 0 : head.meta.bodySize);
    {
      std::lock_guard stripe(stripeFor(d));
      const std::optional<IndexEntry> old = indexGet(d);
      rocksdb::WriteBatch batch;
      batch.Put(slice(headKey(head.writeId)), encoded);
      if (old && old->writeId != head.writeId) {
        addRemoval(batch, d, old->writeId, mayHaveChunks(old->charge));
      }
      if (!db_->Write(kCacheWrite, &batch).ok()) return false;
      {
        std::lock_guard lock(indexMu_);
        indexPut(d, charge, head.writeId);
      }
      if (old) noteGarbage(old->charge);
    }
    inserts_.fetch_add(1, std::memory_order_relaxed);
    evictIfNeeded();
    return true;
  } catch (...) {
    return false;
  }
}

void RocksDbTier::Impl::writeHeads(const std::vector<QueuedHead>& batch, std::vector<bool>& ok) {
  ok.assign(batch.size(), false);
  try {
    std::vector<std::string> encoded;
    encoded.reserve(batch.size());
    for (const QueuedHead& q : batch) encoded.push_back(encodeHead(q.head));
    // Every stripe of the batch, in ascending order (nobody else holds two), so no other
    // mutation of these digests interleaves between reading their old heads and the index update.
    std::array<bool, std::tuple_size_v<decltype(stripes_)>> needed{};
    for (const QueuedHead& q : batch) needed[&stripeFor(q.digest) - stripes_.data()] = true;
    std::vector<std::unique_lock<std::mutex>> held;
    held.reserve(needed.size());
    for (std::size_t i = 0; i < needed.size(); ++i) {
      if (needed[i]) held.emplace_back(stripes_[i]);
    }
    // The write id each digest has on disk once the heads before it in the batch are written.
    std::unordered_map<Digest, std::pair<std::uint64_t, std::uint64_t>, DigestHash> current;
    current.reserve(batch.size());  // Digest -> (write id, charge).
    {
      std::lock_guard lock(indexMu_);
      for (const QueuedHead& q : batch) {
        auto it = index_.find(q.digest);
        if (it != index_.end())
          current.try_emplace(q.digest, it->second.writeId, it->second.charge);
      }
    }
    rocksdb::WriteBatch write;
    std::uint64_t garbage = 0;
    std::vector<std::uint64_t> charges(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const QueuedHead& q = batch[i];
      charges[i] = encoded[i].size() + (q.head.inlineBody ? 0 : q.head.meta.bodySize);
      write.Put(slice(headKey(q.head.writeId)), encoded[i]);
      auto old = current.find(q.digest);
      if (old != current.end()) {
        if (old->second.first != q.head.writeId) {
          addRemoval(write, q.digest, old->second.first, mayHaveChunks(old->second.second));
        }
        garbage += old->second.second;
        old->second = {q.head.writeId, charges[i]};
      } else {
        current.try_emplace(q.digest, q.head.writeId, charges[i]);
      }
    }
    if (!db_->Write(kCacheWrite, &write).ok()) return;
    {
      std::lock_guard lock(indexMu_);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        indexPut(batch[i].digest, charges[i], batch[i].head.writeId);
      }
    }
    held.clear();
    noteGarbage(garbage);
    inserts_.fetch_add(batch.size(), std::memory_order_relaxed);
    ok.assign(batch.size(), true);
  } catch (...) {
  }
}

bool RocksDbTier::Impl::commitHeadLater(const Digest& d, HeadRecord head) {
  const std::size_t bytes =
      sizeof(QueuedHead) + metaCharge(head.meta) + (head.inlineBody ? head.inlineBody->size() : 0);
  bool wake = false;
  try {
    std::unique_lock lock(commitMu_);
    drainCv_.wait(lock,
                  [&] { return queuedBytes_ < RocksDbTier::kCommitQueueBytes || commitStop_; });
    queued_.push_back({d, std::move(head), bytes});
    try {
      ++queuedDigests_[d];
    } catch (...) {
      queued_.pop_back();
      throw;
    }
    pending_[pendingSlot(d)].fetch_add(1);
    queuedBytes_ += bytes;
    ++enqueued_;
    // An idle committer is woken by the first head; a lingering one (see committerLoop) only
    // once a batch is ready, so a burst of misses costs it one wake-up, not one per head.
    wake = committerIdle_ || batchReady();
    committerIdle_ = false;
  } catch (...) {
    return false;
  }
  if (wake) commitCv_.notify_one();
  return true;
}

void RocksDbTier::Impl::committerLoop() {
  std::vector<QueuedHead> batch;
  std::vector<bool> ok;
  std::unique_lock lock(commitMu_);
  for (;;) {
    committerIdle_ = queued_.empty();
    commitCv_.wait(lock, [&] { return !queued_.empty() || commitStop_; });
    if (queued_.empty()) return;  // Stopping, and nothing is left to write.
    // Linger for more heads before writing: one wake-up per batch instead of one per miss (a
    // context switch each). Nobody waits meanwhile: readers of a queued digest (drainIfPending)
    // and drainCommits end the linger at once, and a full batch or half-full queue wakes it.
    commitCv_.wait_for(lock, RocksDbTier::kCommitLinger,
                       [&] { return commitStop_ || drainWaiters_ > 0 || batchReady(); });
    batch.swap(queued_);
    lock.unlock();
    writeHeads(batch, ok);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (ok[i]) continue;
      // As for a failed synchronous commit: no older version may stand in for this one.
      droppedWrites_.fetch_add(1, std::memory_order_relaxed);
      try {
        std::lock_guard stripe(stripeFor(batch[i].digest));
        deleteEntry(batch[i].digest, std::nullopt);
      } catch (...) {
      }
    }
    evictIfNeeded();
    lock.lock();
    for (const QueuedHead& q : batch) {
      queuedBytes_ -= q.bytes;
      auto it = queuedDigests_.find(q.digest);
      if (--it->second == 0) queuedDigests_.erase(it);
      pending_[pendingSlot(q.digest)].fetch_sub(1);
    }
    written_ += batch.size();
    batch.clear();
    drainCv_.notify_all();
  }
}

void RocksDbTier::Impl::waitForQueued(std::unique_lock<std::mutex>& lock) const {
  const std::uint64_t target = enqueued_;
  if (written_ >= target) return;
  ++drainWaiters_;
  commitCv_.notify_one();  // Ends a linger.
  drainCv_.wait(lock, [&] { return written_ >= target; });
  --drainWaiters_;
}

void RocksDbTier::Impl::drainCommits() const {
  std::unique_lock lock(commitMu_);
  waitForQueued(lock);
}

void RocksDbTier::Impl::drainIfPending(const Digest& d) const {
  // The count rises before commitHeadLater returns and falls after the head is in the index: a
  // caller ordered after the commit sees it nonzero, or sees the head in the index.
  if (pending_[pendingSlot(d)].load() == 0) return;
  std::unique_lock lock(commitMu_);
  if (queuedDigests_.count(d) > 0) waitForQueued(lock);
}

void RocksDbTier::Impl::onChunkFailure(const Digest& d, std::uint64_t writeId) {
  std::lock_guard stripe(stripeFor(d));
  const std::optional<IndexEntry> entry = indexGet(d);
  if (!entry || entry->writeId != writeId) return;  // Replaced or evicted meanwhile: no fault.
  deleteEntry(d, writeId);
  corruptEntries_.fetch_add(1, std::memory_order_relaxed);
}

void RocksDbTier::Impl::evictIfNeeded() {
  // Victims leave the index at once and their records go in one write per kEvictBatch: a head
  // is keyed by its write id, so a new version of a victim written meanwhile is not touched, and
  // a reader that got the victim's write id before it left still finds its head until then.
  constexpr std::uint32_t kEvictBatch = 256;  // Records (a victim with chunks takes two).
  rocksdb::WriteBatch batch;
  std::uint64_t garbage = 0;
  const auto flush = [&] {
    if (batch.Count() > 0) db_->Write(kCacheWrite, &batch);
    batch.Clear();
    noteGarbage(garbage);
    garbage = 0;
  };
  try {
    for (;;) {
      Digest victim;
      std::uint64_t writeId = 0;
      {
        std::lock_guard lock(indexMu_);
        const bool fits = bytes_ <= budget_.load(std::memory_order_relaxed) &&
                          (maxEntries_ == 0 || index_.size() <= maxEntries_);
        if (fits || lru_.empty()) break;
        victim = lru_.back();
        IndexEntry& entry = index_.at(victim);
        if (entry.referenced) {  // Second chance: one more lap, then plain LRU.
          entry.referenced = false;
          lru_.splice(lru_.begin(), lru_, entry.lru);
          continue;
        }
        writeId = entry.writeId;
      }
      {
        std::lock_guard stripe(stripeFor(victim));
        std::lock_guard lock(indexMu_);
        auto it = index_.find(victim);
        if (it == index_.end() || it->second.writeId != writeId) continue;  // Changed: look again.
        addRemoval(batch, victim, writeId, mayHaveChunks(it->second.charge));
        garbage += indexErase(victim);
      }
      evictions_.fetch_add(1, std::memory_order_relaxed);
      if (batch.Count() >= kEvictBatch) flush();
    }
  } catch (...) {  // Out of memory for the batch: what it holds is written, the rest waits.
  }
  flush();
}

ObjectHandle RocksDbTier::Impl::lookup(const CacheKey& key) {
  try {
    const Digest& d = key.digest();
    drainIfPending(d);
    // The index holds every committed head (rebuilt at open, updated after each commit): a key
    // it lacks is a miss without a RocksDB read, which for absent keys costs filter and index
    // block reads.
    // It also gives the head's key (its write id).
    std::optional<IndexEntry> entry = indexGet(d);
    std::string value;
    rocksdb::Status s;
    if (entry) s = readHead(entry->writeId, &value);
    if (entry && s.IsNotFound()) {
      // Replaced (a new write id) or removed since the index was read: look once more.
      entry = indexGet(d);
      if (entry) s = readHead(entry->writeId, &value);
    }
    if (!entry || !s.ok()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    std::optional<HeadRecord> head = decodeHeadOf(value, entry->writeId);
    if (!head) {
      // Corrupt: remove it, unless a writer replaced it since we read it.
      std::lock_guard stripe(stripeFor(d));
      const std::optional<IndexEntry> now = indexGet(d);
      if (now && now->writeId == entry->writeId) {
        std::string again;
        if (!readHead(entry->writeId, &again).ok() || !decodeHeadOf(again, entry->writeId)) {
          deleteEntry(d, entry->writeId);
          corruptEntries_.fetch_add(1, std::memory_order_relaxed);
        }
      }
      misses_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    if (head->meta.key != key.text()) {  // Digest collision: someone else's entry.
      misses_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    {
      std::lock_guard lock(indexMu_);
      auto it = index_.find(d);
      if (it != index_.end() && it->second.writeId == head->writeId) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        it->second.referenced = true;
      }
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return std::make_shared<RocksObject>(shared_from_this(), d, std::move(*head));
  } catch (...) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
}

std::unique_ptr<EntryWriter> RocksDbTier::Impl::beginWrite(const CacheKey& key, EntryMeta meta,
                                                           std::int64_t expectedSize) {
  meta.key = key.text();
  meta.bodySize = 0;
  const bool tooBig =
      expectedSize >= 0 && static_cast<std::uint64_t>(expectedSize) > maxBodyBytes();
  if (tooBig) countDropped();
  return std::make_unique<RocksWriter>(shared_from_this(), key, std::move(meta),
                                       nextWriteId_.fetch_add(1), tooBig);
}

bool RocksDbTier::Impl::updateMeta(const CacheKey& key, const EntryMeta& meta) {
  try {
    const Digest& d = key.digest();
    drainIfPending(d);
    {
      std::lock_guard stripe(stripeFor(d));
      const std::optional<IndexEntry> entry = indexGet(d);
      if (!entry) return false;
      std::string value;
      if (!readHead(entry->writeId, &value).ok()) return false;
      std::optional<HeadRecord> head = decodeHeadOf(value, entry->writeId);
      if (!head) {
        deleteEntry(d, entry->writeId);
        corruptEntries_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      if (head->meta.key != key.text()) return false;
      const std::uint64_t bodySize = head->meta.bodySize;
      head->meta = meta;
      head->meta.key = key.text();
      head->meta.bodySize = bodySize;
      const std::string encoded = encodeHead(*head);
      const std::uint64_t charge = encoded.size() + (head->inlineBody ? 0 : bodySize);
      rocksdb::WriteBatch batch;
      batch.Put(slice(headKey(head->writeId)), encoded);
      if (!db_->Write(kCacheWrite, &batch).ok()) return false;
      {
        std::lock_guard lock(indexMu_);
        indexPut(d, charge, head->writeId);
      }
      noteGarbage(value.size());  // The old head record.
    }
    evictIfNeeded();
    return true;
  } catch (...) {
    return false;
  }
}

void RocksDbTier::Impl::remove(const CacheKey& key) {
  try {
    const Digest& d = key.digest();
    drainIfPending(d);
    std::lock_guard stripe(stripeFor(d));
    const std::optional<IndexEntry> entry = indexGet(d);
    if (!entry) return;
    std::string value;
    if (!readHead(entry->writeId, &value).ok()) return;
    const std::optional<HeadRecord> head = decodeHead(value);
    if (head && head->meta.key != key.text()) return;  // Not this key's entry.
    deleteEntry(d, entry->writeId);
  } catch (...) {
  }
}

std::size_t RocksDbTier::Impl::reclaim(const std::function<bool(const EntryMeta&)>& isDead,
                                       std::size_t maxEntries) {
  if (!isDead || maxEntries == 0) return 0;
  drainCommits();  // The scan sees every head committed so far, queued ones too.
  std::vector<std::pair<Digest, std::uint64_t>> dead;  // (digest, writeId)
  try {
    std::lock_guard scan(reclaimMu_);
    rocksdb::ReadOptions read;
    read.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
    it->Seek(reclaimCursor_.empty() ? std::string(1, kHeadPrefix) : reclaimCursor_);
    if (it->Valid() && view(it->key()) == reclaimCursor_) it->Next();
    std::size_t examined = 0;
    for (; it->Valid() && it->key()[0] == kHeadPrefix && examined < maxEntries; it->Next()) {
      ++examined;
      reclaimCursor_.assign(it->key().data(), it->key().size());
      if (it->key().size() != kHeadKeySize) continue;
      const std::optional<HeadRecord> head = decodeHead(view(it->value()));
      if (head && isDead(head->meta)) dead.emplace_back(digestOf(head->meta.key), head->writeId);
    }
    if (!it->Valid() || it->key()[0] != kHeadPrefix) reclaimCursor_.clear();  // Wrap around.
  } catch (...) {
  }
  std::size_t removed = 0;
  for (const auto& [d, writeId] : dead) {
    std::lock_guard stripe(stripeFor(d));
    const std::optional<IndexEntry> entry = indexGet(d);
    if (!entry || entry->writeId != writeId) continue;  // Replaced or gone meanwhile.
    if (deleteEntry(d, writeId)) ++removed;
  }
  return removed;
}

std::uint64_t RocksDbTier::Impl::diskUsageBytes() const {
  std::uint64_t total = 0;
  std::error_code ec;
  std::filesystem::directory_iterator it(options_.path, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code fileError;  // Files vanish while compactions run: skip those.
    if (!it->is_regular_file(fileError)) continue;
    const std::uintmax_t size = it->file_size(fileError);
    if (!fileError) total += size;
  }
  return total;
}

void RocksDbTier::Impl::noteGarbage(std::uint64_t bytes) {
  if (bytes == 0) return;
  const std::uint64_t total = garbage_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (total < compactTrigger_) return;
  {
    std::lock_guard lock(bgMu_);
    requestCompactionLocked();
  }
  bgCv_.notify_one();
}

std::uint64_t RocksDbTier::Impl::requestCompactionLocked() {
  if (requested_ == started_) ++requested_;  // Else one not yet started will cover this call.
  return requested_;
}

void RocksDbTier::Impl::waitServed(std::unique_lock<std::mutex>& lock, std::uint64_t ticket) {
  doneCv_.wait(lock, [&] { return stop_ || served_ >= ticket || !worker_.joinable(); });
}

void RocksDbTier::Impl::throttle() {
  if (garbage_.load(std::memory_order_relaxed) < garbageLimit_) return;
  std::unique_lock lock(bgMu_);
  const std::uint64_t ticket = requestCompactionLocked();
  bgCv_.notify_one();
  waitServed(lock, ticket);
}

void RocksDbTier::Impl::compactNow() {
  drainCommits();
  std::unique_lock lock(bgMu_);
  thorough_ = true;  // Read by a compaction that starts after this point.
  const std::uint64_t ticket = requestCompactionLocked();
  bgCv_.notify_one();
  waitServed(lock, ticket);
}

void RocksDbTier::Impl::waitForBackgroundWork() {
  drainCommits();
  std::unique_lock lock(bgMu_);
  waitServed(lock, requested_);
}

void RocksDbTier::Impl::workerLoop() {
  std::unique_lock lock(bgMu_);
  for (;;) {
    bgCv_.wait(lock, [&] { return stop_ || requested_ > started_; });
    if (stop_) return;
    started_ = requested_;
    const std::uint64_t ticket = started_;
    const bool thorough = std::exchange(thorough_, false);
    lock.unlock();
    compactAndAdjust(thorough);
    lock.lock();
    served_ = ticket;
    doneCv_.notify_all();
  }
}

void RocksDbTier::Impl::compactAndAdjust(bool thorough) {
  garbage_.store(0, std::memory_order_relaxed);
  rocksdb::CompactRangeOptions compact;
  compact.exclusive_manual_compaction = false;
  if (thorough) compact.blob_garbage_collection_age_cutoff = 1.0;  // Relocate every live blob.
  // Rewrite the last level too: blob garbage collection relocates live blobs of old files only
  // in files a compaction reads.
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  db_->CompactRange(compact, nullptr, nullptr);

  // Feedback: keep the directory within capacityBytes after compaction, whatever RocksDB's
  // space amplification turns out to be. Not for tiny budgets, which RocksDB's fixed overhead
  // (two 1 MiB write buffers, metadata) would shrink to nothing.
  if (options_.capacityBytes < kMinAdaptiveCapacity) return;
  // Target after compaction: 0.92 x capacity, leaving the rest for what accumulates until the
  // next one (garbage up to capacity/32, WAL, relocation output). Shrink by the excess; grow back
  // by half the slack once below 0.86 x capacity.
  const std::uint64_t disk = diskUsageBytes();
  const std::uint64_t target = options_.capacityBytes / 100 * 92;
  const std::uint64_t low = options_.capacityBytes / 100 * 86;
  const std::uint64_t budget = budget_.load(std::memory_order_relaxed);
  std::uint64_t next = budget;
  if (disk > target) {
    next = std::max(nominalBudget_ / 2, budget - std::min(budget, disk - target));
  } else if (budget < nominalBudget_ && disk < low) {
    next = std::min(nominalBudget_, budget + (low - disk) / 2);
  }
  if (next != budget) {
    budget_.store(next, std::memory_order_relaxed);
    evictIfNeeded();
  }
}

std::uint64_t RocksDbTier::Impl::memoryBytes() const {
  // Queued heads are counted as index entries (read first: a head that moves to the index
  // between the two reads is counted twice, never missed).
  std::uint64_t entries = 0;
  {
    std::lock_guard lock(commitMu_);
    entries = enqueued_ - written_;
  }
  {
    std::lock_guard lock(indexMu_);
    entries += index_.size();
  }
  return entries * RocksDbTier::kIndexEntryBytes + fixedMemoryBytes_ +
         RocksDbTier::kCommitQueueBytes;
}

std::uint64_t RocksDbTier::Impl::reservedMemoryBytes() const {
  if (maxEntries_ == 0) return memoryBytes();
  return maxEntries_ * RocksDbTier::kIndexEntryBytes + fixedMemoryBytes_ +
         RocksDbTier::kCommitQueueBytes;
}

StoreStats RocksDbTier::Impl::stats() const {
  drainCommits();  // Counts include every commit made before the call.
  StoreStats s;
  {
    std::lock_guard lock(indexMu_);
    s.entries = index_.size();
    s.bytes = bytes_;
  }
  s.capacityBytes = options_.capacityBytes;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.inserts = inserts_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.droppedWrites = droppedWrites_.load(std::memory_order_relaxed);
  s.corruptEntries = corruptEntries_.load(std::memory_order_relaxed);
  return s;
}

// ---- RocksDbTier ---------------------------------------------------------------------------

std::unique_ptr<RocksDbTier> RocksDbTier::open(const Options& options, std::string* error) {
  std::string message;
  try {
    if (options.path.empty()) {
      message = "cannot open cache dir: empty path";
    } else {
      std::error_code ec;
      std::filesystem::create_directories(options.path, ec);
      if (ec) {
        message = "cannot open cache dir " + options.path + ": " + ec.message();
      } else {
        rocksdb::Options db;
        db.create_if_missing = true;
        // The WAL and memtables hold up to two write buffers of not-yet-flushed data: keep them
        // a small part of the disk budget.
        const std::uint64_t capacity = options.capacityBytes;
        db.write_buffer_size = std::max<std::size_t>(
            1 << 20, std::min<std::uint64_t>(options.writeBufferBytes, capacity / 64));
        db.max_write_buffer_number = 2;
        db.max_total_wal_size = 2 * db.write_buffer_size;
        db.max_manifest_file_size = std::clamp<std::uint64_t>(capacity / 128, 64 << 10, 4 << 20);
        db.max_background_jobs = 2;
        db.keep_log_file_num = 2;
        db.max_log_file_size = 1 << 20;
        db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
        // No compression: cached bodies are mostly compressed already (images, video, gzip and
        // br text), and every flush and compaction would compress them again: with zstd, 70% of
        // the node's CPU went to libzstd once compactions ran under a stream of 1 KiB misses.
        db.compression = rocksdb::kNoCompression;
        // Writers come from many fetch threads on few cores: one leader inserts the whole write
        // group (no parallel memtable writers), and followers sleep instead of spinning with
        // sched_yield (on 2 cores, 64 concurrent writers spent more time switching than writing).
        db.allow_concurrent_memtable_write = false;
        db.enable_write_thread_adaptive_yield = false;
        // Ten flushed files before they are merged into level 1 (RocksDB's default is four):
        // with random keys every L0->L1 compaction rewrites all of level 1, so merging less
        // often rewrites less. Lookups of stored keys check up to ten files more, through their
        // bloom filters. Under a stream of 1 KiB misses: +5-8% throughput, ~8 us less CPU each.
        db.level0_file_num_compaction_trigger = 10;
        db.level0_slowdown_writes_trigger = 30;
        db.level0_stop_writes_trigger = 50;
        // Chunks and heads with bodies (>= 4 KiB) live in blob files: SSTs stay small (keys, blob
        // references, small heads), so the periodic full compaction is cheap.
        db.enable_blob_files = true;
        db.min_blob_size = 4 * 1024;
        db.blob_compression_type = db.compression;
        // Small blob files so that compaction can free them; each background compaction
        // relocates the live blobs of the oldest eighth (mostly hot objects: cold ones are
        // evicted first). The relocated copies exist next to the originals until the compaction
        // ends, so this share bounds the directory's peak: relocating a quarter took the peak of
        // the churn test up to 1.12x the size (2 runs of 10 above 1.1x), an eighth to
        // 0.99-1.07x (22 runs). compactNow() relocates everything.
        db.blob_file_size = std::clamp<std::uint64_t>(capacity / 16, 1 << 20, 256 << 20);
        db.enable_blob_garbage_collection = true;
        db.blob_garbage_collection_age_cutoff = 0.125;
        rocksdb::BlockBasedTableOptions table;
        table.block_cache = rocksdb::NewLRUCache(options.blockCacheBytes);
        table.cache_index_and_filter_blocks = true;
        table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
        db.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

        rocksdb::DB* raw = nullptr;
        const rocksdb::Status s = rocksdb::DB::Open(db, options.path, &raw);
        std::unique_ptr<rocksdb::DB> owned(raw);
        if (!s.ok()) {
          message = "cannot open cache dir " + options.path + ": " + s.ToString();
        } else {
          auto impl = std::make_shared<Impl>(
              options, std::move(owned),
              db.max_write_buffer_number * db.write_buffer_size + options.blockCacheBytes);
          message = impl->start();
          if (message.empty()) return std::unique_ptr<RocksDbTier>(new RocksDbTier(impl));
        }
      }
    }
  } catch (const std::exception& e) {
    message = "cannot open cache dir " + options.path + ": " + e.what();
  } catch (...) {
    message = "cannot open cache dir " + options.path + ": unknown error";
  }
  if (error) *error = message;
  return nullptr;
}

RocksDbTier::RocksDbTier(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbTier::~RocksDbTier() = default;

ObjectHandle RocksDbTier::lookup(const CacheKey& key) { return impl_->lookup(key); }

std::unique_ptr<EntryWriter> RocksDbTier::beginWrite(const CacheKey& key, EntryMeta meta,
                                                     std::int64_t expectedSize) {
  return impl_->beginWrite(key, std::move(meta), expectedSize);
}

bool RocksDbTier::updateMeta(const CacheKey& key, const EntryMeta& meta) {
  return impl_->updateMeta(key, meta);
}

void RocksDbTier::remove(const CacheKey& key) { impl_->remove(key); }

StoreStats RocksDbTier::stats() const { return impl_->stats(); }

std::size_t RocksDbTier::reclaim(const std::function<bool(const EntryMeta&)>& isDead,
                                 std::size_t maxEntries) {
  return impl_->reclaim(isDead, maxEntries);
}

void RocksDbTier::compactNow() { impl_->compactNow(); }

void RocksDbTier::waitForBackgroundWork() { impl_->waitForBackgroundWork(); }

std::uint64_t RocksDbTier::diskUsageBytes() const { return impl_->diskUsageBytes(); }

std::uint64_t RocksDbTier::memoryBytes() const { return impl_->memoryBytes(); }

std::uint64_t RocksDbTier::reservedMemoryBytes() const { return impl_->reservedMemoryBytes(); }

bool RocksDbTier::openedFromIndexRecords() const { return impl_->openedFromIndex(); }

std::string RocksDbTier::headKeyFor(std::uint64_t writeId) {
  const HeadKey k = headKey(writeId);
  return {k.data(), k.size()};
}

std::string RocksDbTier::chunkKeyFor(const Digest& digest, std::uint64_t writeId,
                                     std::uint32_t index) {
  std::string k = chunkRangeBegin(digest, writeId);
  appendBigEndian(k, index, 4);
  return k;
}

}  // namespace strata::storage

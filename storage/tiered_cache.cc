#include "storage/tiered_cache.h"

#include <atomic>
#include <utility>
#include <vector>

namespace strata::storage {

class TieredCache::Writer : public EntryWriter {
 public:
  Writer(TieredCache& cache, CacheKey key, std::unique_ptr<EntryWriter> memory,
         std::unique_ptr<EntryWriter> disk)
      : cache_(cache),
        key_(std::move(key)),
        memory_(std::move(memory)),
        disk_(std::move(disk)),
        memoryOk_(memory_ != nullptr),
        diskOk_(disk_ != nullptr) {}

  bool append(std::string_view data) override {
    if (memoryOk_ && !memory_->append(data)) memoryOk_ = false;
    if (diskOk_ && !disk_->append(data)) diskOk_.store(false, std::memory_order_release);
    return memoryOk_ || diskOk_;
  }

  bool commit() override {
    if (committed_) return false;
    committed_ = true;
    // The tier writers stay alive after commit: writtenChunk() may still read from disk.
    const bool onDisk = diskOk_ && disk_->commit();
    if (!onDisk) cache_.disk_.remove(key_);
    const bool inMemory = memoryOk_ && memory_->commit();
    if (!inMemory) cache_.memory_.remove(key_);
    if (onDisk) cache_.noteDiskGrowth();
    cache_.writes_.fetch_add(1);
    return onDisk || inMemory;
  }

  // Chunks are read back from the disk tier, which writes them as they fill.
  Chunk writtenChunk(std::size_t index) const override {
    return diskOk_.load(std::memory_order_acquire) ? disk_->writtenChunk(index) : nullptr;
  }

 private:
  TieredCache& cache_;
  const CacheKey key_;
  const std::unique_ptr<EntryWriter> memory_;
  const std::unique_ptr<EntryWriter> disk_;
  bool memoryOk_;
  std::atomic<bool> diskOk_;
  bool committed_ = false;
};

TieredCache::TieredCache(MemoryTier& memory, RocksDbTier& disk) : memory_(memory), disk_(disk) {
  memory_.setReservedBytes(disk_.reservedMemoryBytes());
}

void TieredCache::noteDiskGrowth() {
  // Without an entry bound the disk index grows by ~144 bytes an entry: refresh the reservation
  // every 256 commits (~36 KiB of index), which keeps the lock the count takes off the write path.
  if ((commits_.fetch_add(1, std::memory_order_relaxed) & 255) == 0) {
    memory_.setReservedBytes(disk_.reservedMemoryBytes());
  }
}

ObjectHandle TieredCache::lookup(const CacheKey& key) {
  const std::uint64_t generation = memory_.generation(key);
  if (ObjectHandle hit = memory_.lookup(key)) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return hit;
  }
  ObjectHandle found = disk_.lookup(key);
  if (found && found->meta().bodySize <= memory_.maxObjectBytes()) {
    std::vector<Chunk> chunks;
    chunks.reserve(found->chunkCount());
    for (std::size_t i = 0; i < found->chunkCount(); ++i) {
      Chunk c = found->chunk(i);
      if (!c) {
        found = nullptr;
        break;
      }
      chunks.push_back(std::move(c));
    }
    if (found) {
      EntryMeta meta = found->meta();
      ObjectHandle promoted = memory_.insert(key, meta, chunks, generation);
      found = promoted ? std::move(promoted) : makeMemoryObject(std::move(meta), std::move(chunks));
    }
  }
  (found ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return found;
}

std::unique_ptr<EntryWriter> TieredCache::beginWrite(const CacheKey& key, EntryMeta meta,
                                                     std::int64_t expectedSize) {
  std::unique_ptr<EntryWriter> memory;
  if (expectedSize < 0 || static_cast<std::uint64_t>(expectedSize) <= memory_.maxObjectBytes()) {
    memory = memory_.beginWrite(key, meta, expectedSize);
  }
  std::unique_ptr<EntryWriter> disk = disk_.beginWrite(key, std::move(meta), expectedSize);
  return std::make_unique<Writer>(*this, key, std::move(memory), std::move(disk));
}

bool TieredCache::updateMeta(const CacheKey& key, const EntryMeta& meta) {
  const bool onDisk = disk_.updateMeta(key, meta);
  const bool inMemory = memory_.updateMeta(key, meta);
  writes_.fetch_add(1);
  return onDisk || inMemory;
}

void TieredCache::remove(const CacheKey& key) {
  disk_.remove(key);
  memory_.remove(key);
}

StoreStats TieredCache::stats() const {
  const StoreStats m = memory_.stats();
  const StoreStats d = disk_.stats();
  StoreStats s;
  s.entries = m.entries + d.entries;
  s.bytes = m.bytes + d.bytes;
  s.capacityBytes = m.capacityBytes + d.capacityBytes;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.inserts = m.inserts + d.inserts;
  s.evictions = m.evictions + d.evictions;
  s.droppedWrites = d.droppedWrites;  // Memory drops of objects kept on disk are not losses.
  s.corruptEntries = m.corruptEntries + d.corruptEntries;
  return s;
}

}  // namespace strata::storage

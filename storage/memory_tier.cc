#include "storage/memory_tier.h"

#include <algorithm>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace strata::storage {
namespace {

class MemoryObject : public StoredObject {
 public:
  MemoryObject(EntryMeta meta, std::vector<Chunk> chunks)
      : meta_(std::move(meta)), chunks_(std::move(chunks)) {}

  const EntryMeta& meta() const override { return meta_; }
  std::size_t chunkCount() const override { return chunks_.size(); }
  Chunk chunk(std::size_t index) const override {
    return index < chunks_.size() ? chunks_[index] : nullptr;
  }
  bool resident() const override { return true; }
  const std::vector<Chunk>& chunks() const { return chunks_; }

 private:
  const EntryMeta meta_;
  const std::vector<Chunk> chunks_;
};

// What an entry costs beyond its body and metadata: the map and LRU nodes (keyed by digest),
// the object and its control block, a string and a control block per chunk, and the
// allocator's headers. Measured with 140,000 objects of 1 KiB and 8 fields when the nodes held
// two copies of the key text: about 550 bytes per entry that metaCharge() does not see; the
// charge still counts one copy of the key beyond the metadata's, to stay on the safe side.
std::uint64_t slotOverhead(const CacheKey& key, std::size_t chunks) {
  return key.text().size() + 320 + 96 * chunks;
}

std::uint64_t totalSize(const std::vector<Chunk>& chunks) {
  std::uint64_t total = 0;
  for (const Chunk& c : chunks) total += c ? c->size() : 0;
  return total;
}

}  // namespace

ObjectHandle makeMemoryObject(EntryMeta meta, std::vector<Chunk> chunks) {
  return std::make_shared<MemoryObject>(std::move(meta), std::move(chunks));
}

struct MemoryTier::Shard {
  struct Slot {
    std::shared_ptr<const MemoryObject> object;
    std::uint64_t charge = 0;
    std::list<Digest>::iterator lru;  // Position in `lru` (front = most recent).
  };
  using Map = std::unordered_map<Digest, Slot, DigestHash>;

  // The slot holding `key`: found by digest, and its object's key must be the full text (two
  // texts with one digest are told apart; the later write replaces the earlier).
  Map::iterator find(const CacheKey& key) {
    auto it = map.find(key.digest());
    if (it != map.end() && it->second.object->meta().key != key.text()) return map.end();
    return it;
  }
  // Removes `it` from the shard (lock held). Its object goes to `dropped`, to be released once
  // the lock is let go (freeing a body and its metadata is not work for the lock holder).
  void erase(Map::iterator it, std::vector<std::shared_ptr<const MemoryObject>>& dropped) {
    bytes -= it->second.charge;
    dropped.push_back(std::move(it->second.object));
    lru.erase(it->second.lru);
    map.erase(it);
  }
  // Evicts from the cold end until `need` more bytes fit under `budget`, keeping at least
  // `keep` entries. Returns how many were evicted.
  std::uint64_t evict(std::uint64_t need, std::uint64_t budget, std::size_t keep,
                      std::vector<std::shared_ptr<const MemoryObject>>& dropped) {
    std::uint64_t evicted = 0;
    while (bytes + need > budget && lru.size() > keep) {
      erase(map.find(lru.back()), dropped);
      ++evicted;
    }
    return evicted;
  }

  mutable std::mutex mu;
  Map map;  // Keyed by digest.
  std::list<Digest> lru;
  std::uint64_t bytes = 0;
  std::uint64_t generation = 0;
};

// Accumulates chunks in memory; commits into the tier. Drops once the body outgrows the limit.
class MemoryTier::Writer : public EntryWriter {
 public:
  Writer(MemoryTier& tier, CacheKey key, EntryMeta meta, std::uint64_t limit, bool dropped)
      : tier_(tier),
        key_(std::move(key)),
        meta_(std::move(meta)),
        limit_(limit),
        dropped_(dropped) {}

  bool append(std::string_view data) override {
    if (dropped_ || committed_) return false;
    if (data.size() > limit_ - size_) {
      drop();
      return false;
    }
    size_ += data.size();
    while (!data.empty()) {
      if (buffer_.size() == kChunkSize) flushChunk();
      const std::size_t take = std::min(data.size(), kChunkSize - buffer_.size());
      if (buffer_.size() + take > buffer_.capacity()) {
        // Grow geometrically but never past one chunk, so full chunks carry no slack.
        buffer_.reserve(
            std::min(kChunkSize, std::max(2 * buffer_.capacity(), buffer_.size() + take)));
      }
      buffer_.append(data.substr(0, take));
      data.remove_prefix(take);
    }
    return true;
  }

  bool commit() override {
    if (dropped_ || committed_) return false;
    committed_ = true;
    if (!buffer_.empty()) flushChunk();
    if (!tier_.store(key_, std::move(meta_), std::move(chunks_), std::nullopt)) {
      // Could not be admitted after all (e.g. metadata too large): the write is dropped.
      tier_.countDropped();
      return false;
    }
    return true;
  }

 private:
  void flushChunk() {
    chunks_.push_back(std::make_shared<const std::string>(std::move(buffer_)));
    buffer_ = std::string();
  }
  void drop() {
    dropped_ = true;
    chunks_.clear();
    buffer_ = std::string();
    tier_.countDropped();
  }

  MemoryTier& tier_;
  const CacheKey key_;
  EntryMeta meta_;
  const std::uint64_t limit_;
  std::uint64_t size_ = 0;
  bool dropped_;
  bool committed_ = false;
  std::string buffer_;
  std::vector<Chunk> chunks_;
};

std::uint64_t MemoryTier::entryCharge(const CacheKey& key, const EntryMeta& meta,
                                      std::size_t chunks) {
  return meta.bodySize + metaCharge(meta) + slotOverhead(key, chunks);
}

MemoryTier::MemoryTier(std::uint64_t capacityBytes, std::uint64_t maxObjectBytes,
                       std::size_t shards)
    : capacityBytes_(capacityBytes), maxObjectBytes_(maxObjectBytes) {
  if (shards == 0) {
    shards = 16;
    while (shards > 1 && capacityBytes / shards < 2 * std::max<std::uint64_t>(maxObjectBytes, 1)) {
      shards /= 2;
    }
  }
  shardBudget_ = capacityBytes / shards;
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

MemoryTier::~MemoryTier() = default;

void MemoryTier::setReservedBytes(std::uint64_t bytes) {
  reserved_.store(std::min(bytes, capacityBytes_ / 4 * 3), std::memory_order_relaxed);
}

std::uint64_t MemoryTier::reservedBytes() const {
  return reserved_.load(std::memory_order_relaxed);
}

MemoryTier::Shard& MemoryTier::shardFor(const CacheKey& key) const {
  return *shards_[key.hash() % shards_.size()];
}

std::uint64_t MemoryTier::bodyLimit(const EntryMeta& meta) const {
  const std::uint64_t charge = metaCharge(meta);
  if (charge >= shardBudget_) return 0;
  return std::min(maxObjectBytes_, shardBudget_ - charge);
}

ObjectHandle MemoryTier::lookup(const CacheKey& key) {
  Shard& shard = shardFor(key);
  std::shared_ptr<const MemoryObject> found;
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.find(key);
    if (it != shard.map.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
      found = it->second.object;
    }
  }
  (found ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return found;
}

std::unique_ptr<EntryWriter> MemoryTier::beginWrite(const CacheKey& key, EntryMeta meta,
                                                    std::int64_t expectedSize) {
  meta.key = key.text();
  meta.bodySize = 0;
  const std::uint64_t limit = bodyLimit(meta);
  const bool tooBig = expectedSize >= 0 && static_cast<std::uint64_t>(expectedSize) > limit;
  if (tooBig) countDropped();
  return std::make_unique<Writer>(*this, key, std::move(meta), limit, tooBig);
}

ObjectHandle MemoryTier::insert(const CacheKey& key, EntryMeta meta, std::vector<Chunk> chunks,
                                std::optional<std::uint64_t> ifGeneration) {
  meta.key = key.text();
  return store(key, std::move(meta), std::move(chunks), ifGeneration);
}

ObjectHandle MemoryTier::store(const CacheKey& key, EntryMeta meta, std::vector<Chunk> chunks,
                               std::optional<std::uint64_t> ifGeneration) {
  for (const Chunk& c : chunks) {
    if (!c) return nullptr;
  }
  meta.bodySize = totalSize(chunks);
  if (meta.bodySize > bodyLimit(meta)) return nullptr;
  const std::uint64_t charge = entryCharge(key, meta, chunks.size());
  auto object = std::make_shared<const MemoryObject>(std::move(meta), std::move(chunks));

  Shard& shard = shardFor(key);
  std::uint64_t evicted = 0;
  std::vector<std::shared_ptr<const MemoryObject>> dropped;  // Released after the lock.
  {
    std::lock_guard lock(shard.mu);
    if (ifGeneration && *ifGeneration != shard.generation) return nullptr;
    ++shard.generation;
    // Whatever holds the digest goes: this key's older version, or another text's entry.
    if (auto it = shard.map.find(key.digest()); it != shard.map.end()) shard.erase(it, dropped);
    evicted = shard.evict(charge, evictBudget(), 0, dropped);
    shard.lru.push_front(key.digest());
    shard.map.emplace(key.digest(), Shard::Slot{object, charge, shard.lru.begin()});
    shard.bytes += charge;
  }
  evictions_.fetch_add(evicted, std::memory_order_relaxed);
  inserts_.fetch_add(1, std::memory_order_relaxed);
  return object;
}

bool MemoryTier::updateMeta(const CacheKey& key, const EntryMeta& meta) {
  Shard& shard = shardFor(key);
  std::vector<std::shared_ptr<const MemoryObject>> dropped;  // Released after the lock.
  std::lock_guard lock(shard.mu);
  ++shard.generation;
  auto it = shard.find(key);
  if (it == shard.map.end()) return false;
  EntryMeta next = meta;
  next.key = key.text();
  next.bodySize = it->second.object->meta().bodySize;
  const std::uint64_t charge = entryCharge(key, next, it->second.object->chunkCount());
  if (charge > shardBudget_) {
    // The new metadata no longer fits: forget the entry rather than keep stale metadata.
    shard.erase(it, dropped);
    return false;
  }
  auto object = std::make_shared<const MemoryObject>(std::move(next), it->second.object->chunks());
  shard.bytes = shard.bytes - it->second.charge + charge;
  it->second.object = std::move(object);
  it->second.charge = charge;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
  const std::uint64_t evicted = shard.evict(0, evictBudget(), 1, dropped);
  evictions_.fetch_add(evicted, std::memory_order_relaxed);
  return true;
}

void MemoryTier::remove(const CacheKey& key) {
  Shard& shard = shardFor(key);
  std::vector<std::shared_ptr<const MemoryObject>> dropped;  // Released after the lock.
  std::lock_guard lock(shard.mu);
  ++shard.generation;
  if (auto it = shard.find(key); it != shard.map.end()) shard.erase(it, dropped);
}

std::uint64_t MemoryTier::generation(const CacheKey& key) const {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mu);
  return shard.generation;
}

StoreStats MemoryTier::stats() const {
  StoreStats s;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    s.entries += shard->map.size();
    s.bytes += shard->bytes;
  }
  s.capacityBytes = capacityBytes_;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.inserts = inserts_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.droppedWrites = droppedWrites_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace strata::storage

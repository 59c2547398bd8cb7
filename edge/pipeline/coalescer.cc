#include "edge/pipeline/coalescer.h"

#include <functional>

namespace strata::edge::pipeline {

Coalescer::LeaderTicket::LeaderTicket(Coalescer& coalescer, std::string key,
                                      std::shared_ptr<Fill> fill)
    : coalescer_(coalescer), key_(std::move(key)), fill_(std::move(fill)) {}

Coalescer::LeaderTicket::~LeaderTicket() {
  // A fill that finished is unaffected; one that did not is failed so that no waiter hangs.
  fill_->fail("the fetch ended without a complete response");
  release();
}

void Coalescer::LeaderTicket::release() {
  if (released_) return;
  released_ = true;
  coalescer_.release(key_, fill_.get());
}

Coalescer::Shard& Coalescer::shardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

Coalescer::Join Coalescer::join(const std::string& key) {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.fills.find(key);
  if (it != shard.fills.end() && !it->second->failed()) {
    counters_.coalescedWaiters.fetch_add(1, std::memory_order_relaxed);
    return {it->second, nullptr};
  }
  // None, or one that failed but whose leader has not let go yet: a new request must not inherit
  // that failure (or its cut body), so it starts a fill of its own.
  auto fill = std::make_shared<Fill>(options_.fill);
  shard.fills.insert_or_assign(key, fill);
  counters_.leaders.fetch_add(1, std::memory_order_relaxed);
  return {fill, std::make_unique<LeaderTicket>(*this, key, fill)};
}

void Coalescer::release(const std::string& key, const Fill* fill) {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.fills.find(key);
  if (it != shard.fills.end() && it->second.get() == fill) shard.fills.erase(it);
}

void Coalescer::rememberUncacheable(const std::string& key, std::int64_t now) {
  if (options_.hitForMissSeconds <= 0) return;
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  if (shard.hitForMiss.size() >= options_.hitForMissCapacity / kShards + 1) {
    // Full: drop expired keys, and if none expired, an arbitrary one. A forgotten key only
    // costs one more coalesced wait.
    for (auto it = shard.hitForMiss.begin(); it != shard.hitForMiss.end();) {
      it = it->second <= now ? shard.hitForMiss.erase(it) : std::next(it);
    }
    if (shard.hitForMiss.size() >= options_.hitForMissCapacity / kShards + 1) {
      shard.hitForMiss.erase(shard.hitForMiss.begin());
    }
  }
  shard.hitForMiss[key] = now + options_.hitForMissSeconds;
}

bool Coalescer::isHitForMiss(const std::string& key, std::int64_t now) {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.hitForMiss.find(key);
  if (it == shard.hitForMiss.end()) return false;
  if (it->second <= now) {
    shard.hitForMiss.erase(it);
    return false;
  }
  counters_.hitForMiss.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Coalescer::forgetUncacheable(const std::string& key) {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  shard.hitForMiss.erase(key);
}

std::size_t Coalescer::inFlight() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.fills.size();
  }
  return n;
}

}  // namespace strata::edge::pipeline

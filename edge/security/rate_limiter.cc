#include "edge/security/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "edge/http/cidr.h"

namespace strata::edge::security {
namespace {

constexpr std::size_t kMaxShards = 16;
// Rates like 1/min are not exact in binary: a token that is due must not be missed by a rounding.
constexpr double kEpsilon = 1e-9;

}  // namespace

RateDecision takeToken(BucketState& state, const RateLimit& limit, std::int64_t nowMs) {
  if (nowMs > state.updatedMs) {
    const double gained = static_cast<double>(nowMs - state.updatedMs) * limit.ratePerSecond / 1000;
    state.tokens = std::min(limit.burst, state.tokens + gained);
    state.updatedMs = nowMs;
  }
  if (state.tokens >= 1 - kEpsilon) {
    state.tokens = std::max(0.0, state.tokens - 1);
    return RateDecision{true, 0};
  }
  const double wait = (1 - state.tokens) / limit.ratePerSecond;
  const auto seconds = static_cast<std::int64_t>(std::ceil(wait - kEpsilon));
  return RateDecision{false, std::max<std::int64_t>(1, seconds)};
}

std::size_t RateLimiter::KeyHash::operator()(const Key& key) const {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

RateLimiter::RateLimiter(RateLimit limit, std::size_t capacity, MillisClock clock)
    : limit_(limit), capacity_(std::max<std::size_t>(1, capacity)), clock_(std::move(clock)) {
  const std::size_t shards = std::min(kMaxShards, capacity_);
  for (std::size_t i = 0; i < shards; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->capacity = capacity_ / shards + (i < capacity_ % shards ? 1 : 0);
    shard->index.reserve(shard->capacity);
    shards_.push_back(std::move(shard));
  }
}

RateLimiter::~RateLimiter() = default;

RateDecision RateLimiter::take(std::string_view clientAddress) {
  Key key{};
  if (auto parsed = http::parseCidr(clientAddress);
      parsed && clientAddress.find('/') == std::string_view::npos) {
    key = parsed->address;
  } else {
    // Not an address (never from a socket): one bucket per distinct text, hashed to 16 bytes.
    const std::size_t h = std::hash<std::string_view>()(clientAddress);
    for (std::size_t i = 0; i < sizeof h; ++i) key[i] = static_cast<std::uint8_t>(h >> (8 * i));
    key[15] = 0x01;
  }
  const std::int64_t now = clock_();
  Shard& shard = *shards_[KeyHash()(key) % shards_.size()];
  std::lock_guard lock(shard.mutex);
  auto found = shard.index.find(key);
  if (found != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
    return takeToken(found->second->bucket, limit_, now);
  }
  if (shard.lru.size() >= shard.capacity) {
    // Full: forget the least recently seen client and reuse its node.
    shard.index.erase(shard.lru.back().key);
    shard.lru.splice(shard.lru.begin(), shard.lru, std::prev(shard.lru.end()));
    shard.lru.front() = Entry{key, BucketState{limit_.burst, now}};
  } else {
    shard.lru.push_front(Entry{key, BucketState{limit_.burst, now}});
  }
  shard.index.emplace(key, shard.lru.begin());
  return takeToken(shard.lru.front().bucket, limit_, now);
}

std::size_t RateLimiter::size() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->lru.size();
  }
  return total;
}

}  // namespace strata::edge::security

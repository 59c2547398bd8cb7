#pragma once
// Per-client rate limiting with token buckets (RFC 6585 §4: 429 Too Many Requests).
//
// A bucket holds up to `burst` tokens and gains `ratePerSecond` tokens per second; each request
// takes one. A client's first request finds a full bucket.
//
// Memory is bounded: RateLimiter keeps at most `capacity` buckets in fixed shards (hash of the
// client address), each an LRU list: when a shard is full, its least recently seen client is
// forgotten (and starts again with a full bucket if it comes back). The table never grows with
// the number of distinct clients.
//
// Thread-safety: RateLimiter::take() may be called concurrently (one mutex per shard).

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strata::edge::security {

struct RateLimit {
  double ratePerSecond = 1;  // Tokens gained per second (> 0).
  double burst = 1;          // Bucket size (>= 1).
};

struct BucketState {
  double tokens = 0;
  std::int64_t updatedMs = 0;
};

struct RateDecision {
  bool allowed = true;
  // When refused: whole seconds until a token is available, rounded up (at least 1), for
  // Retry-After (RFC 9110 §10.2.3). 0 when allowed.
  std::int64_t retryAfterSeconds = 0;
};

// Pure: refills `state` up to `nowMs` (a clock going backwards refills nothing) and takes one
// token when there is one.
RateDecision takeToken(BucketState& state, const RateLimit& limit, std::int64_t nowMs);

class RateLimiter {
 public:
  using MillisClock = std::function<std::int64_t()>;  // Milliseconds on any monotonic scale.

  // `capacity` >= 1: the most clients tracked at once.
  RateLimiter(RateLimit limit, std::size_t capacity, MillisClock clock);
  ~RateLimiter();

  // Takes a token from `clientAddress`'s bucket (IPv4 and IPv4-mapped IPv6 share one).
  RateDecision take(std::string_view clientAddress);

  std::size_t size() const;  // Clients tracked now (<= capacity()).
  std::size_t capacity() const { return capacity_; }
  const RateLimit& limit() const { return limit_; }

 private:
  using Key = std::array<std::uint8_t, 16>;
  struct KeyHash {
    std::size_t operator()(const Key& key) const;
  };
  struct Entry {
    Key key;
    BucketState bucket;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::size_t capacity = 0;
    std::list<Entry> lru;  // Most recently seen first.
    std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index;
  };

  RateLimit limit_;
  std::size_t capacity_;
  MillisClock clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace strata::edge::security

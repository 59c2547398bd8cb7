#pragma once
// Coalescer: at most one origin fetch in flight per cache key. The first request for a key
// becomes the leader and starts a Fill; concurrent requests for the key join it as readers.
// Outcomes that cannot be shared ("uncacheable, fetch yourself") are remembered for a while
// (hit-for-miss), so the next requests for that key go to the origin in parallel instead of
// queueing behind each other.
//
// Thread-safety: sharded mutexes; every method may be called concurrently.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "edge/pipeline/fill.h"

namespace strata::edge::pipeline {

class Coalescer {
 public:
  struct Options {
    Fill::Options fill;
    std::int64_t hitForMissSeconds = 60;      // How long an uncacheable outcome is remembered.
    std::size_t hitForMissCapacity = 100000;  // Keys remembered at most.
  };

  struct Counters {
    std::atomic<std::uint64_t> leaders{0};
    std::atomic<std::uint64_t> coalescedWaiters{0};
    std::atomic<std::uint64_t> leaderFailures{0};
    std::atomic<std::uint64_t> hitForMiss{0};
  };

  // Holds a key's fill while its leader works. Destroying a ticket whose fill neither finished
  // nor failed fails it, so waiters never hang on a leader that died.
  class LeaderTicket {
   public:
    LeaderTicket(Coalescer& coalescer, std::string key, std::shared_ptr<Fill> fill);
    ~LeaderTicket();
    LeaderTicket(const LeaderTicket&) = delete;
    LeaderTicket& operator=(const LeaderTicket&) = delete;
    const std::shared_ptr<Fill>& fill() const { return fill_; }
    const std::string& key() const { return key_; }
    // Removes the key from the in-flight map now (later requests start a new fetch), e.g. once
    // the outcome is known not to be shareable.
    void release();

   private:
    Coalescer& coalescer_;
    std::string key_;
    std::shared_ptr<Fill> fill_;
    bool released_ = false;
  };

  struct Join {
    std::shared_ptr<Fill> fill;
    std::unique_ptr<LeaderTicket> leader;  // Set when this caller must start the fetch.
  };

  explicit Coalescer(Options options) : options_(options) {}

  // Joins the fill in flight for `key`, or creates one and makes the caller its leader.
  Join join(const std::string& key);

  void rememberUncacheable(const std::string& key, std::int64_t now);
  bool isHitForMiss(const std::string& key, std::int64_t now);
  void forgetUncacheable(const std::string& key);

  const Counters& counters() const { return counters_; }
  Counters& counters() { return counters_; }
  std::size_t inFlight() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<Fill>> fills;
    std::unordered_map<std::string, std::int64_t> hitForMiss;  // Key -> expiry (unix seconds).
  };
  Shard& shardFor(const std::string& key);
  void release(const std::string& key, const Fill* fill);

  Options options_;
  std::array<Shard, kShards> shards_;
  Counters counters_;
};

}  // namespace strata::edge::pipeline

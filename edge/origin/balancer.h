#pragma once
// Load-balancing policies as pure, socket-free objects: given the candidates of a pool (weight,
// in-flight count, whether each may take this request), pick one. Unit-tested without sockets.
//
//  - kRoundRobin: smooth weighted round-robin (nginx's algorithm): with weights 9:1 the canary
//    gets exactly every tenth request, interleaved rather than in bursts.
//  - kLeastConn: the fewest in-flight requests per unit of weight; ties go round-robin.
//  - kHash: consistent hashing of a key (the cache key) on a ring of virtual nodes, so every
//    object has one home backend (for shields) and removing one of N backends moves only the
//    keys that lived on it (about 1/N).
//
// Thread-safety: pick() mutates the round-robin state and is guarded by an internal mutex; the
// ring is immutable after construction. Safe to call concurrently.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::edge::origin {

enum class BalancePolicy { kRoundRobin, kLeastConn, kHash };
const char* toString(BalancePolicy policy);  // "round_robin", "least_conn", "hash"
std::optional<BalancePolicy> parseBalancePolicy(std::string_view text);

struct Candidate {
  int weight = 1;             // 0 takes no traffic.
  std::int64_t inFlight = 0;  // For kLeastConn.
  bool eligible = true;       // Healthy, not draining, not already tried for this request.
};

class Balancer {
 public:
  // `names` identify the backends on the hash ring (stable across restarts and reorderings);
  // `weights` scale each one's share. Both have one entry per backend.
  Balancer(BalancePolicy policy, const std::vector<std::string>& names,
           const std::vector<int>& weights);

  BalancePolicy policy() const { return policy_; }
  // The index of the chosen candidate, or nullopt when none is eligible with a weight above 0.
  // `key` matters only to kHash: the first eligible backend clockwise from the key's point.
  std::optional<std::size_t> pick(const std::vector<Candidate>& candidates, std::string_view key);

  // Virtual nodes per unit of weight on the hash ring (capped per backend at kMaxVirtualNodes).
  static constexpr int kVirtualNodesPerWeight = 160;
  static constexpr int kMaxVirtualNodes = 16000;

 private:
  std::optional<std::size_t> pickRoundRobin(const std::vector<Candidate>& candidates);
  std::optional<std::size_t> pickLeastConn(const std::vector<Candidate>& candidates);
  std::optional<std::size_t> pickHash(const std::vector<Candidate>& candidates,
                                      std::string_view key) const;

  BalancePolicy policy_;
  std::mutex mutex_;
  std::vector<std::int64_t> current_;  // Smooth WRR running weights.
  std::size_t cursor_ = 0;             // Least-conn tie breaker.
  struct Point {
    std::uint64_t hash;
    std::size_t backend;
  };
  std::vector<Point> ring_;  // Sorted by hash.
};

// The 64-bit hash used on the ring (XXH3).
std::uint64_t ringHash(std::string_view text);

}  // namespace strata::edge::origin

#include "edge/origin/balancer.h"

#include <xxhash.h>

#include <algorithm>

namespace strata::edge::origin {

const char* toString(BalancePolicy policy) {
  switch (policy) {
    case BalancePolicy::kRoundRobin:
      return "round_robin";
    case BalancePolicy::kLeastConn:
      return "least_conn";
    case BalancePolicy::kHash:
      return "hash";
  }
  return "round_robin";
}

std::optional<BalancePolicy> parseBalancePolicy(std::string_view text) {
  if (text == "round_robin") return BalancePolicy::kRoundRobin;
  if (text == "least_conn") return BalancePolicy::kLeastConn;
  if (text == "hash") return BalancePolicy::kHash;
  return std::nullopt;
}

std::uint64_t ringHash(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

Balancer::Balancer(BalancePolicy policy, const std::vector<std::string>& names,
                   const std::vector<int>& weights)
    : policy_(policy), current_(names.size(), 0) {
  if (policy_ != BalancePolicy::kHash) return;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const int weight = i < weights.size() ? weights[i] : 1;
    const int points = std::min(kMaxVirtualNodes, std::max(0, weight) * kVirtualNodesPerWeight);
    for (int p = 0; p < points; ++p) {
      ring_.push_back({ringHash(names[i] + "#" + std::to_string(p)), i});
    }
  }
  std::sort(ring_.begin(), ring_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.backend < b.backend;
  });
}

std::optional<std::size_t> Balancer::pick(const std::vector<Candidate>& candidates,
                                          std::string_view key) {
  switch (policy_) {
    case BalancePolicy::kRoundRobin:
      return pickRoundRobin(candidates);
    case BalancePolicy::kLeastConn:
      return pickLeastConn(candidates);
    case BalancePolicy::kHash:
      return pickHash(candidates, key);
  }
  return std::nullopt;
}

// nginx's smooth weighted round-robin: every eligible backend gains its weight; the one with the
// most is chosen and pays back the total. Over any window of sum(weights) picks each backend is
// chosen exactly `weight` times, spread evenly.
std::optional<std::size_t> Balancer::pickRoundRobin(const std::vector<Candidate>& candidates) {
  std::lock_guard lock(mutex_);
  if (current_.size() < candidates.size()) current_.resize(candidates.size(), 0);
  std::int64_t total = 0;
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].eligible || candidates[i].weight <= 0) continue;
    current_[i] += candidates[i].weight;
    total += candidates[i].weight;
    if (!best || current_[i] > current_[*best]) best = i;
  }
  if (best) current_[*best] -= total;
  return best;
}

std::optional<std::size_t> Balancer::pickLeastConn(const std::vector<Candidate>& candidates) {
  std::lock_guard lock(mutex_);
  const std::size_t n = candidates.size();
  std::optional<std::size_t> best;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (cursor_ + k) % n;
    const Candidate& c = candidates[i];
    if (!c.eligible || c.weight <= 0) continue;
    if (!best) {
      best = i;
      continue;
    }
    // inFlight / weight < best.inFlight / best.weight, without division.
    const Candidate& b = candidates[*best];
    if (c.inFlight * b.weight < b.inFlight * c.weight) best = i;
  }
  if (best) cursor_ = *best + 1;
  return best;
}

std::optional<std::size_t> Balancer::pickHash(const std::vector<Candidate>& candidates,
                                              std::string_view key) const {
  if (ring_.empty()) return std::nullopt;
  const std::uint64_t h = ringHash(key);
  auto start = std::lower_bound(ring_.begin(), ring_.end(), h,
                                [](const Point& p, std::uint64_t v) { return p.hash < v; });
  const std::size_t first = static_cast<std::size_t>(start - ring_.begin());
  for (std::size_t k = 0; k < ring_.size(); ++k) {
    const Point& p = ring_[(first + k) % ring_.size()];
    if (p.backend < candidates.size() && candidates[p.backend].eligible &&
        candidates[p.backend].weight > 0) {
      return p.backend;
    }
  }
  return std::nullopt;
}

}  // namespace strata::edge::origin

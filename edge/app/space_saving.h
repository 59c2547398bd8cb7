#pragma once
// Space-saving top-k (Metwally, Agrawal, El Abbadi, "Efficient Computation of Frequent and Top-k
// Elements in Data Streams", 2005), weighted: keeps at most `capacity` keys with an estimated
// weight each. A key's estimate never undercounts and overcounts by at most its `error`, which
// is bounded by total weight / capacity; any key whose true weight exceeds that bound is
// present. Memory: `capacity` entries of key + two integers, keys truncated to `maxKeyBytes`.
//
// Not thread-safe: callers shard it (see TrafficObserver) or lock around it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strata::edge::app {

class SpaceSaving {
 public:
  struct Item {
    std::string key;
    std::uint64_t count = 0;  // Estimated weight (an upper bound of the true weight).
    std::uint64_t error = 0;  // count - error is a lower bound of the true weight.
  };

  explicit SpaceSaving(std::size_t capacity, std::size_t maxKeyBytes = 512);

  // Adds `weight` to `key`. O(log capacity); allocates only when a key is (re)placed.
  void add(std::string_view key, std::uint64_t weight = 1);
  // The `n` heaviest keys, heaviest first (ties by key).
  std::vector<Item> top(std::size_t n) const;
  std::size_t size() const { return slots_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::uint64_t total() const { return total_; }

 private:
  struct Slot {
    Item item;
    std::uint64_t hash = 0;   // XXH3-64 of item.key.
    std::size_t heapPos = 0;  // Where heap_ holds this slot.
  };

  std::uint64_t countAt(std::size_t heapPos) const { return slots_[heap_[heapPos]].item.count; }
  void siftDown(std::size_t i);
  void swapNodes(std::size_t a, std::size_t b);

  std::size_t capacity_;
  std::size_t maxKeyBytes_;
  std::uint64_t total_ = 0;
  std::vector<Slot> slots_;          // The kept keys; a slot is reused when its key is replaced.
  std::vector<std::uint32_t> heap_;  // Slot numbers, a min-heap on count: heap_[0] is lightest.
  // Key hash -> slot. Keys are told apart by a 64-bit hash (XXH3), so the heap's moves touch
  // no string and no map (a slot records its own heap position); only a new or replaced key
  // changes the map. Two keys with the same hash would count as one.
  std::unordered_map<std::uint64_t, std::uint32_t> index_;
};

}  // namespace strata::edge::app

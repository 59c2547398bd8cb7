#include "edge/app/space_saving.h"

#include <algorithm>
#include <utility>

namespace strata::edge::app {

SpaceSaving::SpaceSaving(std::size_t capacity, std::size_t maxKeyBytes)
    : capacity_(std::max<std::size_t>(capacity, 1)), maxKeyBytes_(maxKeyBytes) {
  heap_.reserve(capacity_);
  index_.reserve(capacity_ * 2);
}

void SpaceSaving::swapNodes(std::size_t a, std::size_t b) {
  std::swap(heap_[a], heap_[b]);
  index_[heap_[a].key] = a;
  index_[heap_[b].key] = b;
}

void SpaceSaving::siftDown(std::size_t i) {
  // Counts only grow, so an updated node can only move down a min-heap.
  for (;;) {
    const std::size_t left = 2 * i + 1;
    const std::size_t right = left + 1;
    std::size_t smallest = i;
    if (left < heap_.size() && heap_[left].count < heap_[smallest].count) smallest = left;
    if (right < heap_.size() && heap_[right].count < heap_[smallest].count) smallest = right;
    if (smallest == i) return;
    swapNodes(i, smallest);
    i = smallest;
  }
}

void SpaceSaving::add(std::string_view key, std::uint64_t weight) {
  if (key.size() > maxKeyBytes_) key = key.substr(0, maxKeyBytes_);
  total_ += weight;
  // Heterogeneous lookup needs C++20 transparent hashing, which libstdc++ 12 lacks for
  // unordered_map; a thread-local string keeps the lookup free of allocations once warm.
  thread_local std::string probe;
  probe.assign(key);
  if (auto it = index_.find(probe); it != index_.end()) {
    heap_[it->second].count += weight;
    siftDown(it->second);
    return;
  }
  if (heap_.size() < capacity_) {
    heap_.push_back(Item{probe, weight, 0});
    std::size_t i = heap_.size() - 1;
    index_[probe] = i;
    // A new node may be lighter than its parents: sift up.
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (heap_[parent].count <= heap_[i].count) break;
      swapNodes(i, parent);
      i = parent;
    }
    return;
  }
  // Replace the lightest key: the newcomer inherits its count as the error bound.
  Item& min = heap_[0];
  index_.erase(min.key);
  min.error = min.count;
  min.count += weight;
  min.key = probe;
  index_[min.key] = 0;
  siftDown(0);
}

std::vector<SpaceSaving::Item> SpaceSaving::top(std::size_t n) const {
  std::vector<Item> items = heap_;
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (items.size() > n) items.resize(n);
  return items;
}

}  // namespace strata::edge::app

#include "edge/app/space_saving.h"

#include <xxhash.h>

#include <algorithm>
#include <utility>

namespace strata::edge::app {

SpaceSaving::SpaceSaving(std::size_t capacity, std::size_t maxKeyBytes)
    : capacity_(std::max<std::size_t>(capacity, 1)), maxKeyBytes_(maxKeyBytes) {
  heap_.reserve(capacity_);
  hashes_.reserve(capacity_);
  index_.reserve(capacity_ * 2);
}

void SpaceSaving::swapNodes(std::size_t a, std::size_t b) {
  std::swap(heap_[a], heap_[b]);
  std::swap(hashes_[a], hashes_[b]);
  index_[hashes_[a]] = a;
  index_[hashes_[b]] = b;
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
  const std::uint64_t hash = XXH3_64bits(key.data(), key.size());
  if (auto it = index_.find(hash); it != index_.end()) {
    heap_[it->second].count += weight;
    siftDown(it->second);
    return;
  }
  if (heap_.size() < capacity_) {
    heap_.push_back(Item{std::string(key), weight, 0});
    hashes_.push_back(hash);
    std::size_t i = heap_.size() - 1;
    index_[hash] = i;
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
  index_.erase(hashes_[0]);
  min.error = min.count;
  min.count += weight;
  min.key.assign(key);
  hashes_[0] = hash;
  index_[hash] = 0;
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

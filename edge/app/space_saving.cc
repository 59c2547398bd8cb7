#include "edge/app/space_saving.h"

#include <xxhash.h>

#include <algorithm>
#include <utility>

namespace strata::edge::app {

SpaceSaving::SpaceSaving(std::size_t capacity, std::size_t maxKeyBytes)
    : capacity_(std::clamp<std::size_t>(capacity, 1, UINT32_MAX)), maxKeyBytes_(maxKeyBytes) {
  slots_.reserve(capacity_);
  heap_.reserve(capacity_);
  index_.reserve(capacity_ * 2);
}

void SpaceSaving::swapNodes(std::size_t a, std::size_t b) {
  std::swap(heap_[a], heap_[b]);
  slots_[heap_[a]].heapPos = a;
  slots_[heap_[b]].heapPos = b;
}

void SpaceSaving::siftDown(std::size_t i) {
  // Counts only grow, so an updated node can only move down a min-heap.
  for (;;) {
    const std::size_t left = 2 * i + 1;
    const std::size_t right = left + 1;
    std::size_t smallest = i;
    if (left < heap_.size() && countAt(left) < countAt(smallest)) smallest = left;
    if (right < heap_.size() && countAt(right) < countAt(smallest)) smallest = right;
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
    Slot& slot = slots_[it->second];
    slot.item.count += weight;
    siftDown(slot.heapPos);
    return;
  }
  if (slots_.size() < capacity_) {
    const auto number = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(Slot{Item{std::string(key), weight, 0}, hash, heap_.size()});
    heap_.push_back(number);
    index_[hash] = number;
    // A new node may be lighter than its parents: sift up.
    std::size_t i = heap_.size() - 1;
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (countAt(parent) <= countAt(i)) break;
      swapNodes(i, parent);
      i = parent;
    }
    return;
  }
  // Replace the lightest key: the newcomer inherits its count as the error bound.
  const std::uint32_t number = heap_[0];
  Slot& min = slots_[number];
  index_.erase(min.hash);
  min.item.error = min.item.count;
  min.item.count += weight;
  min.item.key.assign(key);
  min.hash = hash;
  index_[hash] = number;
  siftDown(0);
}

std::vector<SpaceSaving::Item> SpaceSaving::top(std::size_t n) const {
  std::vector<Item> items;
  items.reserve(slots_.size());
  for (const Slot& slot : slots_) items.push_back(slot.item);
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (items.size() > n) items.resize(n);
  return items;
}

}  // namespace strata::edge::app

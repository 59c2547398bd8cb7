#include "storage/cache_entry.h"

namespace strata::storage {

std::size_t metaCharge(const EntryMeta& meta) {
  // Approximation from sizes only (deterministic): the struct, its strings and header slots.
  std::size_t charge = sizeof(EntryMeta) + meta.key.size() + meta.extra.size();
  charge += meta.headers.size() * sizeof(std::pair<std::string, std::string>);
  for (const auto& [name, value] : meta.headers) {
    charge += name.size() + value.size();
  }
  return charge;
}

}  // namespace strata::storage

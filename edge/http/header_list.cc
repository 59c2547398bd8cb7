#include "edge/http/header_list.h"

#include <algorithm>
#include <cstddef>

namespace strata::edge::http {

void HeaderList::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

std::size_t HeaderList::remove(std::string_view name) {
  const auto before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Field& f) { return iequals(f.first, name); }),
                fields_.end());
  return before - fields_.size();
}

bool HeaderList::has(std::string_view name) const { return get(name).has_value(); }

std::optional<std::string_view> HeaderList::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

std::vector<std::string_view> HeaderList::getAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& f : fields_) {
    if (iequals(f.first, name)) out.emplace_back(f.second);
  }
  return out;
}

// RFC 9110 §5.3: a recipient may combine multiple field lines with the same name into one
// field value by joining them in order with a comma (we use ", ").
std::optional<std::string> HeaderList::combined(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& f : fields_) {
    if (!iequals(f.first, name)) continue;
    if (!out) {
      out = f.second;
    } else {
      out->append(", ");
      out->append(f.second);
    }
  }
  return out;
}

std::size_t HeaderList::count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.first, name); }));
}

}  // namespace strata::edge::http

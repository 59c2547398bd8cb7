#pragma once
// An ordered list of HTTP header fields with case-insensitive name lookup.
// Socket-free vocabulary shared by the policy module and the pipeline.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::edge::http {

// ASCII-only lower-casing: field names, directives and date names are case-insensitive
// tokens (RFC 9110 §5.1), and the comparison must not depend on the C locale (nor pay for a
// libc call per character).
constexpr char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// RFC 9110 §5.1: field names are compared case-insensitively (ASCII only). Inline: most calls
// compare field names of different lengths and end at the size check.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

// tchar (RFC 9110 §5.6.2): the characters of a token.
inline constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) table[c] = true;
  return table;
}();
inline bool isTokenChar(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

// field-value characters (RFC 9110 §5.5): HTAB, SP, VCHAR and obs-text; no other control byte,
// no DEL. True when `value` has only those. Eight bytes at a time: a word is looked at byte by
// byte only when it holds a byte below SP (a tab, or a fault) or a DEL.
inline bool isFieldValue(std::string_view value) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const auto fine = [](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); };
  std::size_t i = 0;
  for (; i + 8 <= value.size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, value.data() + i, 8);
    const std::uint64_t del = x ^ (kOnes * 0x7f);
    if ((((x - kOnes * 0x20) & ~x) | ((del - kOnes) & ~del)) & kHighs) {
      for (std::size_t j = i; j < i + 8; ++j) {
        if (!fine(static_cast<unsigned char>(value[j]))) return false;
      }
    }
  }
  for (; i < value.size(); ++i) {
    if (!fine(static_cast<unsigned char>(value[i]))) return false;
  }
  return true;
}

// The value of a hexadecimal digit (either case), or -1 for any other character.
inline int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class HeaderList {
 public:
  using Field = std::pair<std::string, std::string>;

  HeaderList() = default;
  explicit HeaderList(std::vector<Field> fields) : fields_(std::move(fields)) {}

  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // Removes every field called `name`, then adds one.
  void set(std::string name, std::string value);
  // Removes every field called `name`. Returns how many were removed.
  std::size_t remove(std::string_view name);

  bool has(std::string_view name) const;
  // The first field called `name`.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every field line called `name`, in order.
  std::vector<std::string_view> getAll(std::string_view name) const;
  // All field lines called `name` joined with ", " (RFC 9110 §5.3), or nullopt if there are none.
  std::optional<std::string> combined(std::string_view name) const;
  // How many field lines are called `name`.
  std::size_t count(std::string_view name) const;

  const std::vector<Field>& fields() const { return fields_; }
  std::vector<Field>& fields() { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

}  // namespace strata::edge::http

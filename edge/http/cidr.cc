#include "edge/http/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace strata::edge::http {
namespace {

// Parses an IPv4 or IPv6 address into 16 bytes; `v4` says which it was.
bool parseAddress(std::string_view text, std::array<std::uint8_t, 16>& out, bool& v4) {
  const std::string s(text);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out = {};
    out[10] = 0xff;
    out[11] = 0xff;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&a4.s_addr);
    for (int i = 0; i < 4; ++i) out[12 + i] = bytes[i];
    v4 = true;
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    for (int i = 0; i < 16; ++i) out[i] = a6.s6_addr[i];
    v4 = false;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Cidr> parseCidr(std::string_view text) {
  Cidr cidr;
  bool v4 = false;
  const auto slash = text.find('/');
  if (!parseAddress(text.substr(0, slash), cidr.address, v4)) return std::nullopt;
  cidr.prefixBits = 128;
  if (slash != std::string_view::npos) {
    const auto bitsText = text.substr(slash + 1);
    int bits = -1;
    auto [end, ec] = std::from_chars(bitsText.data(), bitsText.data() + bitsText.size(), bits);
    if (ec != std::errc() || end != bitsText.data() + bitsText.size() || bitsText.empty()) {
      return std::nullopt;
    }
    if (bits < 0 || bits > (v4 ? 32 : 128)) return std::nullopt;
    cidr.prefixBits = v4 ? 96 + bits : bits;
  }
  return cidr;
}

bool inAnyCidr(std::string_view address, const std::vector<Cidr>& ranges) {
  std::array<std::uint8_t, 16> a{};
  bool v4 = false;
  if (!parseAddress(address, a, v4)) return false;
  for (const auto& r : ranges) {
    int bits = r.prefixBits;
    bool match = true;
    for (int i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
      match = (a[i] & mask) == (r.address[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace strata::edge::http

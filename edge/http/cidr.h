#pragma once
// CIDR ranges ("127.0.0.0/8", "::1/128", "10.1.2.3") and address matching. Pure; IPv4 addresses
// are compared as IPv4-mapped IPv6, so "127.0.0.1" and "::ffff:127.0.0.1" are the same client.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace strata::edge::http {

struct Cidr {
  std::array<std::uint8_t, 16> address{};  // IPv6 or IPv4-mapped IPv6, network byte order.
  int prefixBits = 128;                    // Over the 128-bit form.
};

// "ADDR" or "ADDR/BITS" (BITS 0..32 for IPv4, 0..128 for IPv6); nullopt when invalid.
std::optional<Cidr> parseCidr(std::string_view text);
// True if `address` (IPv4 or IPv6 text) lies in any of `ranges`; false for an invalid address.
bool inAnyCidr(std::string_view address, const std::vector<Cidr>& ranges);

}  // namespace strata::edge::http

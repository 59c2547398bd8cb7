#include "edge/security/url_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <optional>

namespace strata::edge::security {
namespace {

constexpr std::string_view kExpires = "expires";
constexpr std::string_view kSignature = "signature";
constexpr std::size_t kDigestBytes = 32;

std::string_view paramName(std::string_view param) { return param.substr(0, param.find('=')); }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decodeHex(std::string_view hex, std::array<unsigned char, kDigestBytes>& out) {
  if (hex.size() != 2 * kDigestBytes) return false;
  for (std::size_t i = 0; i < kDigestBytes; ++i) {
    const int hi = hexValue(hex[2 * i]);
    const int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::array<unsigned char, kDigestBytes> hmacSha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, kDigestBytes> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
       &length);
  return digest;
}

}  // namespace

const char* toString(SignatureOutcome outcome) {
  switch (outcome) {
    case SignatureOutcome::kValid:
      return "valid";
    case SignatureOutcome::kMissing:
      return "missing";
    case SignatureOutcome::kMalformed:
      return "malformed";
    case SignatureOutcome::kBadSignature:
      return "bad-signature";
    case SignatureOutcome::kExpired:
      return "expired";
  }
  return "unknown";
}

std::string hmacSha256Hex(std::string_view key, std::string_view message) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char byte : hmacSha256(key, message)) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0x0f]);
  }
  return out;
}

SignatureCheck checkSignedUrl(std::string_view target, const std::vector<std::string>& keys,
                              std::int64_t nowSeconds) {
  SignatureCheck check;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  std::string signedPart(path);  // MESSAGE: the target without `signature`.
  std::string canonical(path);   // Without `signature` and `expires`.
  std::optional<std::string_view> signature;
  std::optional<std::string_view> expires;
  bool repeated = false;
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    char signedSeparator = '?';
    char canonicalSeparator = '?';
    while (true) {
      const std::size_t amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      const std::string_view name = paramName(param);
      const std::string_view value =
          name.size() < param.size() ? param.substr(name.size() + 1) : std::string_view();
      if (name == kSignature) {
        repeated = repeated || signature.has_value();
        signature = value;
      } else {
        if (name == kExpires) {
          repeated = repeated || expires.has_value();
          expires = value;
        } else {
          canonical.push_back(canonicalSeparator);
          canonical.append(param);
          canonicalSeparator = '&';
        }
        signedPart.push_back(signedSeparator);
        signedPart.append(param);
        signedSeparator = '&';
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  if (!signature || !expires) return check;  // kMissing
  std::int64_t expiresAt = 0;
  const auto [end, ec] =
      std::from_chars(expires->data(), expires->data() + expires->size(), expiresAt);
  std::array<unsigned char, kDigestBytes> given{};
  if (repeated || expires->empty() || ec != std::errc() ||
      end != expires->data() + expires->size() || expiresAt < 0 || !decodeHex(*signature, given)) {
    check.outcome = SignatureOutcome::kMalformed;
    return check;
  }
  bool matched = false;
  for (const auto& key : keys) {
    const auto expected = hmacSha256(key, signedPart);
    // Constant time: a forger learns nothing from how long the comparison took.
    if (CRYPTO_memcmp(expected.data(), given.data(), kDigestBytes) == 0) matched = true;
  }
  if (!matched) {
    check.outcome = SignatureOutcome::kBadSignature;
    return check;
  }
  if (nowSeconds > expiresAt) {
    check.outcome = SignatureOutcome::kExpired;
    return check;
  }
  check.outcome = SignatureOutcome::kValid;
  check.canonicalTarget = std::move(canonical);
  return check;
}

std::string signTarget(std::string_view target, std::int64_t expires, std::string_view key) {
  std::string out(target);
  out += target.find('?') == std::string_view::npos ? '?' : '&';
  out += "expires=" + std::to_string(expires);
  return out + "&signature=" + hmacSha256Hex(key, out);
}

}  // namespace strata::edge::security

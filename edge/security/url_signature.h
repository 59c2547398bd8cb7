#pragma once
// Signed URLs: a link that works until a time, without the client holding any secret. Pure.
//
// Scheme (README "Protection"): the link is PATH?QUERY with two parameters in the query,
// `expires=UNIX_SECONDS` and `signature=HEX`, where
//   HEX = lower- or upper-case hex of HMAC-SHA256(KEY, MESSAGE)
//   MESSAGE = the target exactly as sent (origin-form path and query, percent-encoding as is)
//             with the `signature` parameter removed: PATH, then "?" and the remaining
//             parameters joined by "&" in their order (no "?" when none remain).
// The link is valid until the second `expires` has passed (now <= expires). Any key of a list
// verifies (rotation: sign with the new key, keep the old one listed until its links expire).
//
// The canonical target drops both `expires` and `signature`: it is what the cache key and the
// origin see, so every holder of a valid link shares one cache entry.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::edge::security {

enum class SignatureOutcome {
  kValid,
  kMissing,       // No `signature` or no `expires` parameter.
  kMalformed,     // Repeated parameters, `expires` not a number, `signature` not 64 hex digits.
  kBadSignature,  // No key produces this signature.
  kExpired,       // Signed correctly, but `expires` has passed.
};

const char* toString(SignatureOutcome outcome);

struct SignatureCheck {
  SignatureOutcome outcome = SignatureOutcome::kMissing;
  std::string canonicalTarget;  // Set when kValid.
};

// Checks `target` against `keys` at `nowSeconds` (unix time).
SignatureCheck checkSignedUrl(std::string_view target, const std::vector<std::string>& keys,
                              std::int64_t nowSeconds);

// The lower-case hex HMAC-SHA256 of `message` under `key` (what `signature` must be).
std::string hmacSha256Hex(std::string_view key, std::string_view message);

// Appends `expires` and a signature under `key` to `target` (for tests and tooling).
std::string signTarget(std::string_view target, std::int64_t expires, std::string_view key);

}  // namespace strata::edge::security

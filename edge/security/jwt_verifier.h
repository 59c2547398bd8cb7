#pragma once
// JWT bearer tokens (RFC 7519, RFC 6750) checked at the edge.
//
// Keys: HS256 shared secrets and RS256 public keys (PEM files), any number of each (rotation:
// any key verifies). A token's `alg` must be the algorithm of the key that verifies it, so `none`
// and algorithm-confusion tokens (HS256 signed with an RSA public key) never verify. HS256 is
// checked here with a constant-time comparison; RS256 through Poco::JWT::Signer; claims are
// read with Poco::JWT::Token.
//
// Claims: `exp` is required and must not have passed; `nbf`, when present, must have come
// (both with `leewaySeconds` of clock skew); `iss` must equal the expected issuer and `aud`
// (a string or a list) must contain the expected audience, when those are configured.
//
// Thread-safety: verify() is const and may be called concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::edge::security {

enum class JwtOutcome {
  kValid,
  kMissing,        // No bearer token in the request.
  kMalformed,      // Not three base64url JSON parts, or claims of the wrong type.
  kBadSignature,   // No key of the token's algorithm verifies it (or the algorithm is refused).
  kExpired,        // `exp` missing or passed.
  kNotYetValid,    // `nbf` in the future.
  kWrongIssuer,    // `iss` is not the expected issuer.
  kWrongAudience,  // Valid, but not for this audience: 403, not 401.
};

const char* toString(JwtOutcome outcome);

struct JwtExpectations {
  std::string issuer;    // "" : any issuer.
  std::string audience;  // "" : any audience.
  std::int64_t leewaySeconds = 0;
};

// The token of an `Authorization: Bearer TOKEN` value (scheme case-insensitive); nullopt when
// the value is absent or another scheme.
std::optional<std::string_view> bearerToken(std::optional<std::string_view> authorization);

class JwtVerifier {
 public:
  // Loads the RS256 public keys (PEM files with a public key or certificate). nullptr with a
  // one-line `error` when one is unreadable or not an RSA key.
  static std::unique_ptr<JwtVerifier> create(std::vector<std::string> hmacSecrets,
                                             const std::vector<std::string>& rsaPublicKeyFiles,
                                             std::string* error);
  ~JwtVerifier();

  JwtOutcome verify(std::string_view token, const JwtExpectations& expect,
                    std::int64_t nowSeconds) const;

  struct RsaKeys;

 private:
  JwtVerifier();
  std::vector<std::string> hmacSecrets_;
  std::unique_ptr<RsaKeys> rsa_;
};

}  // namespace strata::edge::security

#include "edge/security/jwt_verifier.h"

#include <Poco/Crypto/RSAKey.h>
#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cmath>
#include <fstream>
#include <limits>

#include "edge/http/header_list.h"

namespace strata::edge::security {
namespace {

constexpr std::size_t kMaxTokenBytes = 16 * 1024;

// RFC 4648 §5 without padding; nullopt on any other character.
std::optional<std::string> decodeBase64Url(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int value = -1;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    if (c >= '0' && c <= '9') value = c - '0' + 52;
    if (c == '-') value = 62;
    if (c == '_') value = 63;
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  if (bits >= 6) return std::nullopt;  // A dangling sextet is not base64.
  return out;
}

// A NumericDate claim (RFC 7519 §2) as whole seconds; nullopt when absent; `bad` when present
// but not a number.
std::optional<std::int64_t> numericDate(const Poco::JSON::Object& claims, const std::string& name,
                                        bool& bad) {
  if (!claims.has(name)) return std::nullopt;
  const Poco::Dynamic::Var value = claims.get(name);
  if (!value.isNumeric()) {
    bad = true;
    return std::nullopt;
  }
  const double seconds = value.convert<double>();
  if (!std::isfinite(seconds) || std::fabs(seconds) > 1e15) {
    bad = true;
    return std::nullopt;
  }
  return static_cast<std::int64_t>(std::floor(seconds));
}

}  // namespace

struct JwtVerifier::RsaKeys {
  std::vector<std::unique_ptr<Poco::JWT::Signer>> signers;  // One per key, RS256 only.
};

const char* toString(JwtOutcome outcome) {
  switch (outcome) {
    case JwtOutcome::kValid:
      return "valid";
    case JwtOutcome::kMissing:
      return "missing";
    case JwtOutcome::kMalformed:
      return "malformed";
    case JwtOutcome::kBadSignature:
      return "bad-signature";
    case JwtOutcome::kExpired:
      return "expired";
    case JwtOutcome::kNotYetValid:
      return "not-yet-valid";
    case JwtOutcome::kWrongIssuer:
      return "wrong-issuer";
    case JwtOutcome::kWrongAudience:
      return "wrong-audience";
  }
  return "unknown";
}

std::optional<std::string_view> bearerToken(std::optional<std::string_view> authorization) {
  if (!authorization) return std::nullopt;
  std::string_view value = *authorization;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  constexpr std::string_view kScheme = "Bearer";
  if (value.size() <= kScheme.size() || !http::iequals(value.substr(0, kScheme.size()), kScheme) ||
      value[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  return value;
}

JwtVerifier::JwtVerifier() : rsa_(std::make_unique<RsaKeys>()) {}
JwtVerifier::~JwtVerifier() = default;

std::unique_ptr<JwtVerifier> JwtVerifier::create(std::vector<std::string> hmacSecrets,
                                                 const std::vector<std::string>& rsaPublicKeyFiles,
                                                 std::string* error) {
  std::unique_ptr<JwtVerifier> verifier(new JwtVerifier());
  verifier->hmacSecrets_ = std::move(hmacSecrets);
  for (const auto& file : rsaPublicKeyFiles) {
    // Checked here first: POCO 1.11's RSAKey leaks its file BIO when the file cannot be opened.
    if (!std::ifstream(file).good()) {
      *error = "cannot load the RS256 public key " + file + ": cannot read the file";
      return nullptr;
    }
    try {
      Poco::SharedPtr<Poco::Crypto::RSAKey> key(new Poco::Crypto::RSAKey(file));
      auto signer = std::make_unique<Poco::JWT::Signer>(key);
      signer->setAlgorithms({Poco::JWT::Signer::ALGO_RS256});
      verifier->rsa_->signers.push_back(std::move(signer));
    } catch (const Poco::Exception& e) {
      *error = "cannot load the RS256 public key " + file + ": " + e.displayText();
      return nullptr;
    } catch (const std::exception& e) {
      *error = "cannot load the RS256 public key " + file + ": " + e.what();
      return nullptr;
    }
  }
  return verifier;
}

JwtOutcome JwtVerifier::verify(std::string_view token, const JwtExpectations& expect,
                               std::int64_t nowSeconds) const {
  if (token.empty()) return JwtOutcome::kMissing;
  if (token.size() > kMaxTokenBytes) return JwtOutcome::kMalformed;
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return JwtOutcome::kMalformed;
  }
  const std::string_view signingInput = token.substr(0, dot2);
  const std::string_view signaturePart = token.substr(dot2 + 1);
  const auto signature = decodeBase64Url(signaturePart);
  if (!signature || !decodeBase64Url(token.substr(0, dot1)) ||
      !decodeBase64Url(token.substr(dot1 + 1, dot2 - dot1 - 1))) {
    return JwtOutcome::kMalformed;
  }

  Poco::JWT::Token parsed;
  try {
    parsed = Poco::JWT::Token(std::string(token));
  } catch (...) {
    return JwtOutcome::kMalformed;  // Not JSON objects.
  }
  std::string algorithm;
  try {
    algorithm = parsed.getAlgorithm();
  } catch (...) {
    return JwtOutcome::kMalformed;
  }

  bool verified = false;
  if (algorithm == Poco::JWT::Signer::ALGO_HS256) {
    if (signature->size() == 32) {
      for (const auto& secret : hmacSecrets_) {
        std::array<unsigned char, 32> expected{};
        unsigned int length = 0;
        HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(signingInput.data()), signingInput.size(),
             expected.data(), &length);
        if (CRYPTO_memcmp(expected.data(), signature->data(), expected.size()) == 0) {
          verified = true;
        }
      }
    }
  } else if (algorithm == Poco::JWT::Signer::ALGO_RS256) {
    for (const auto& signer : rsa_->signers) {
      try {
        Poco::JWT::Token checked;
        if (signer->tryVerify(std::string(token), checked)) {
          verified = true;
          break;
        }
      } catch (...) {
        // A malformed signature for this key: try the next one.
      }
    }
  }
  // Any other algorithm ("none", HS384, ES256, ...) is refused.
  if (!verified) return JwtOutcome::kBadSignature;

  const Poco::JSON::Object& claims = parsed.payload();
  bool bad = false;
  const auto exp = numericDate(claims, "exp", bad);
  const auto nbf = numericDate(claims, "nbf", bad);
  if (bad) return JwtOutcome::kMalformed;
  if (!exp || nowSeconds > *exp + expect.leewaySeconds) return JwtOutcome::kExpired;
  if (nbf && nowSeconds + expect.leewaySeconds < *nbf) return JwtOutcome::kNotYetValid;
  if (!expect.issuer.empty()) {
    const Poco::Dynamic::Var iss = claims.has("iss") ? claims.get("iss") : Poco::Dynamic::Var();
    if (!iss.isString() || iss.extract<std::string>() != expect.issuer) {
      return JwtOutcome::kWrongIssuer;
    }
  }
  if (!expect.audience.empty()) {
    bool found = false;
    if (claims.has("aud")) {
      const Poco::Dynamic::Var aud = claims.get("aud");
      if (aud.isString()) {
        found = aud.extract<std::string>() == expect.audience;
      } else if (auto list = claims.getArray("aud")) {
        for (std::size_t i = 0; i < list->size(); ++i) {
          const Poco::Dynamic::Var item = list->get(static_cast<unsigned>(i));
          if (item.isString() && item.extract<std::string>() == expect.audience) found = true;
        }
      }
    }
    if (!found) return JwtOutcome::kWrongAudience;
  }
  return JwtOutcome::kValid;
}

}  // namespace strata::edge::security

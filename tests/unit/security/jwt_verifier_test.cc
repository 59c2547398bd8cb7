// JWT bearer checks: HS256 and RS256 signatures, exp/nbf, iss/aud, refused algorithms.

#include "edge/security/jwt_verifier.h"

#include <Poco/Crypto/RSAKey.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Timestamp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace strata::edge::security {
namespace {

const std::string kSecret = "jwt-secret-0123456789abcdef";
const std::string kOldSecret = "jwt-old-secret-0123456789";
constexpr std::int64_t kNow = 1'700'000'000;

Poco::Timestamp at(std::int64_t seconds) { return Poco::Timestamp::fromEpochTime(seconds); }

struct Claims {
  std::optional<std::int64_t> exp = kNow + 300;
  std::optional<std::int64_t> nbf;
  std::string iss = "https://auth.example";
  std::vector<std::string> aud = {"cdn"};
};

Poco::JWT::Token tokenFor(const Claims& c) {
  Poco::JWT::Token token;
  token.setType("JWT");
  token.setSubject("user-1");
  if (c.exp) token.setExpiration(at(*c.exp));
  if (c.nbf) token.setNotBefore(at(*c.nbf));
  if (!c.iss.empty()) token.setIssuer(c.iss);
  if (c.aud.size() == 1) token.setAudience(c.aud.front());
  if (c.aud.size() > 1) token.setAudience(c.aud);
  return token;
}

std::string hs256(const Claims& c, const std::string& secret = kSecret) {
  Poco::JWT::Token token = tokenFor(c);
  return Poco::JWT::Signer(secret).sign(token, Poco::JWT::Signer::ALGO_HS256);
}

std::string base64Url(const std::string& text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const unsigned char ch : text) {
    buffer = (buffer << 8) | ch;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new Poco::SharedPtr<Poco::Crypto::RSAKey>(
        new Poco::Crypto::RSAKey(Poco::Crypto::RSAKey::KL_2048, Poco::Crypto::RSAKey::EXP_LARGE));
    pemFile_ = new Poco::TemporaryFile();
    (*rsa_)->save(pemFile_->path());
  }
  static void TearDownTestSuite() {
    delete pemFile_;
    delete rsa_;
  }

  std::unique_ptr<JwtVerifier> verifier() {
    std::string error;
    auto v = JwtVerifier::create({kSecret, kOldSecret}, {pemFile_->path()}, &error);
    EXPECT_TRUE(v) << error;
    return v;
  }

  std::string rs256(const Claims& c) {
    Poco::JWT::Token token = tokenFor(c);
    return Poco::JWT::Signer(*rsa_).sign(token, Poco::JWT::Signer::ALGO_RS256);
  }

  static Poco::SharedPtr<Poco::Crypto::RSAKey>* rsa_;
  static Poco::TemporaryFile* pemFile_;
};

Poco::SharedPtr<Poco::Crypto::RSAKey>* JwtVerifierTest::rsa_ = nullptr;
Poco::TemporaryFile* JwtVerifierTest::pemFile_ = nullptr;

TEST_F(JwtVerifierTest, ValidatesSignaturesClaimsAndAlgorithms) {
  auto v = verifier();
  const JwtExpectations expect{"https://auth.example", "cdn", 0};
  const std::string good = hs256({});
  const std::string header = good.substr(0, good.find('.'));
  const std::string payload = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  // alg "none" with an empty signature, and with the real one.
  const std::string noneHeader = base64Url(R"({"alg":"none","typ":"JWT"})");
  const std::string algNone = noneHeader + "." + payload + ".";
  const std::string algNoneSigned = noneHeader + "." + payload + good.substr(good.rfind('.'));
  // HS256 "signed" with the RSA public key's PEM text (algorithm confusion).
  std::ifstream pemIn(pemFile_->path());
  const std::string pem((std::istreambuf_iterator<char>(pemIn)), std::istreambuf_iterator<char>());
  Poco::JWT::Token confusedToken = tokenFor({});
  const std::string confused =
      Poco::JWT::Signer(pem).sign(confusedToken, Poco::JWT::Signer::ALGO_HS256);
  // Another payload under the original signature.
  Claims admin;
  admin.aud = {"cdn", "admin"};
  const std::string otherPayload = hs256(admin);
  const std::string swapped =
      header + "." +
      otherPayload.substr(otherPayload.find('.') + 1,
                          otherPayload.rfind('.') - otherPayload.find('.') - 1) +
      good.substr(good.rfind('.'));
  Poco::JWT::Token hs512Token = tokenFor({});
  const std::string hs512 = Poco::JWT::Signer(kSecret).sign(hs512Token, "HS512");

  Claims expired;
  expired.exp = kNow - 1;
  Claims noExp;
  noExp.exp.reset();
  Claims early;
  early.nbf = kNow + 10;
  Claims started;
  started.nbf = kNow;
  Claims otherIssuer;
  otherIssuer.iss = "https://evil.example";
  Claims otherAudience;
  otherAudience.aud = {"api"};
  Claims audienceList;
  audienceList.aud = {"api", "cdn"};

  struct Case {
    const char* name;
    std::string token;
    JwtOutcome outcome;
  };
  const std::vector<Case> cases = {
      {"HS256 valid", good, JwtOutcome::kValid},
      {"HS256 under the old secret (rotation)", hs256({}, kOldSecret), JwtOutcome::kValid},
      {"RS256 valid", rs256({}), JwtOutcome::kValid},
      {"audience in a list", hs256(audienceList), JwtOutcome::kValid},
      {"nbf now", hs256(started), JwtOutcome::kValid},
      {"unknown secret", hs256({}, "someone-elses-secret-123"), JwtOutcome::kBadSignature},
      {"payload swapped", swapped, JwtOutcome::kBadSignature},
      {"alg none, no signature", algNone, JwtOutcome::kBadSignature},
      {"alg none, a signature", algNoneSigned, JwtOutcome::kBadSignature},
      {"HS256 with the RSA public key as secret", confused, JwtOutcome::kBadSignature},
      {"HS512 is not accepted", hs512, JwtOutcome::kBadSignature},
      {"expired", hs256(expired), JwtOutcome::kExpired},
      {"no exp", hs256(noExp), JwtOutcome::kExpired},
      {"RS256 expired", rs256(expired), JwtOutcome::kExpired},
      {"not yet valid", hs256(early), JwtOutcome::kNotYetValid},
      {"other issuer", hs256(otherIssuer), JwtOutcome::kWrongIssuer},
      {"other audience", hs256(otherAudience), JwtOutcome::kWrongAudience},
      {"two parts", header + "." + payload, JwtOutcome::kMalformed},
      {"four parts", good + ".x", JwtOutcome::kMalformed},
      {"not base64", "a*b.c.d", JwtOutcome::kMalformed},
      {"not JSON", base64Url("nope") + "." + payload + ".abc", JwtOutcome::kMalformed},
      {"empty", "", JwtOutcome::kMissing},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(v->verify(c.token, expect, kNow), c.outcome)
        << c.name << " got " << toString(v->verify(c.token, expect, kNow));
  }
  // Without expectations, issuer and audience are not checked; leeway stretches exp and nbf.
  EXPECT_EQ(v->verify(hs256(otherAudience), {}, kNow), JwtOutcome::kValid);
  EXPECT_EQ(v->verify(hs256(expired), {"", "", 5}, kNow), JwtOutcome::kValid);
  EXPECT_EQ(v->verify(hs256(early), {"", "", 10}, kNow), JwtOutcome::kValid);
}

TEST_F(JwtVerifierTest, AnUnreadablePublicKeyIsAStartupError) {
  std::string error;
  EXPECT_EQ(JwtVerifier::create({}, {"/nonexistent/key.pem"}, &error), nullptr);
  EXPECT_NE(error.find("/nonexistent/key.pem"), std::string::npos) << error;
}

TEST(BearerTokenTest, ExtractsTheTokenOfTheBearerScheme) {
  EXPECT_EQ(bearerToken(std::nullopt), std::nullopt);
  EXPECT_EQ(bearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearerToken("bearer   abc "), "abc");
  EXPECT_EQ(bearerToken("Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(bearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(bearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(bearerToken("Bearerabc"), std::nullopt);
}

}  // namespace
}  // namespace strata::edge::security

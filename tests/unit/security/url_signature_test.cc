// Signed URLs: valid, expired, tampered, rotated keys, and the canonical target.

#include "edge/security/url_signature.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::edge::security {
namespace {

const std::string kOld = "old-key-0123456789abcdef";
const std::string kNew = "new-key-0123456789abcdef";
constexpr std::int64_t kNow = 1'700'000'000;

TEST(UrlSignatureTest, HmacMatchesTheKnownAnswer) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(UrlSignatureTest, ChecksSignaturesAndExpiry) {
  const std::vector<std::string> keys = {kNew, kOld};
  const std::string good = signTarget("/v/a.mp4?q=1", kNow + 60, kNew);
  const std::string rotated = signTarget("/v/a.mp4?q=1", kNow + 60, kOld);
  const std::string unknownKey = signTarget("/v/a.mp4?q=1", kNow + 60, "another-key-0123456789");
  const std::string atExpiry = signTarget("/v/a.mp4", kNow, kNew);
  const std::string expired = signTarget("/v/a.mp4", kNow - 1, kNew);
  std::string upper = signTarget("/v/a.mp4", kNow + 5, kNew);
  for (std::size_t i = upper.find("signature=") + 10; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  // Tampering: another path, another query, a later expiry, a changed signature digit.
  std::string otherPath = good;
  otherPath.replace(0, 8, "/v/b.mp4");
  std::string otherQuery = good;
  otherQuery.replace(otherQuery.find("q=1"), 3, "q=2");
  std::string later = good;
  later.replace(later.find("expires=") + 8, 10, std::to_string(kNow + 6000));
  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  // The signature parameter may stand anywhere; the message is the target without it.
  const std::string sig = good.substr(good.find("&signature=") + 1);
  const std::string reordered = "/v/a.mp4?" + sig + "&q=1&expires=" + std::to_string(kNow + 60);

  struct Case {
    const char* name;
    std::string target;
    SignatureOutcome outcome;
  };
  const std::vector<Case> cases = {
      {"valid", good, SignatureOutcome::kValid},
      {"valid under the old (rotated) key", rotated, SignatureOutcome::kValid},
      {"upper-case hex", upper, SignatureOutcome::kValid},
      {"valid up to the expiry second", atExpiry, SignatureOutcome::kValid},
      {"signature first", reordered, SignatureOutcome::kValid},
      {"expired", expired, SignatureOutcome::kExpired},
      {"unknown key", unknownKey, SignatureOutcome::kBadSignature},
      {"other path", otherPath, SignatureOutcome::kBadSignature},
      {"other query", otherQuery, SignatureOutcome::kBadSignature},
      {"later expiry", later, SignatureOutcome::kBadSignature},
      {"flipped digit", flipped, SignatureOutcome::kBadSignature},
      {"no query", "/v/a.mp4", SignatureOutcome::kMissing},
      {"no signature", "/v/a.mp4?expires=1800000000", SignatureOutcome::kMissing},
      {"no expires", "/v/a.mp4?signature=" + std::string(64, 'a'), SignatureOutcome::kMissing},
      {"short signature", "/v/a.mp4?expires=1800000000&signature=abc",
       SignatureOutcome::kMalformed},
      {"non-hex signature", "/v/a.mp4?expires=1800000000&signature=" + std::string(64, 'z'),
       SignatureOutcome::kMalformed},
      {"non-numeric expires", "/v/a.mp4?expires=soon&signature=" + std::string(64, 'a'),
       SignatureOutcome::kMalformed},
      {"negative expires", "/v/a.mp4?expires=-5&signature=" + std::string(64, 'a'),
       SignatureOutcome::kMalformed},
      {"two signatures", good + "&signature=" + std::string(64, 'a'), SignatureOutcome::kMalformed},
      {"two expires", good + "&expires=1", SignatureOutcome::kMalformed},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(checkSignedUrl(c.target, keys, kNow).outcome, c.outcome)
        << c.name << ": " << c.target;
  }
  EXPECT_EQ(checkSignedUrl(good, {}, kNow).outcome, SignatureOutcome::kBadSignature);
}

TEST(UrlSignatureTest, TheCanonicalTargetDropsExpiresAndSignatureOnly) {
  const std::vector<std::string> keys = {kNew, kOld};
  EXPECT_EQ(checkSignedUrl(signTarget("/a", kNow, kNew), keys, kNow).canonicalTarget, "/a");
  EXPECT_EQ(checkSignedUrl(signTarget("/a?x=1&y=2", kNow, kNew), keys, kNow).canonicalTarget,
            "/a?x=1&y=2");
  // Two holders of different valid links share one canonical target (one cache entry).
  EXPECT_EQ(checkSignedUrl(signTarget("/a?x=1", kNow + 10, kNew), keys, kNow).canonicalTarget,
            checkSignedUrl(signTarget("/a?x=1", kNow + 99, kOld), keys, kNow).canonicalTarget);
  EXPECT_EQ(checkSignedUrl(signTarget("/a", kNow - 1, kNew), keys, kNow).canonicalTarget, "");
}

TEST(UrlSignatureTest, TheMessageIsTheTargetWithoutTheSignature) {
  // What the README's openssl recipe computes.
  const std::string target = "/v/a.mp4?expires=1800000000";
  EXPECT_EQ(signTarget("/v/a.mp4", 1800000000, kNew),
            target + "&signature=" + hmacSha256Hex(kNew, target));
}

}  // namespace
}  // namespace strata::edge::security

#include "edge/http/header_list.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace strata::edge::http {
namespace {

struct IequalsCase {
  const char* rfc;
  std::string a;
  std::string b;
  bool equal;
};

class IequalsTest : public ::testing::TestWithParam<IequalsCase> {};

TEST_P(IequalsTest, ComparesAsciiCaseInsensitively) {
  const auto& c = GetParam();
  EXPECT_EQ(iequals(c.a, c.b), c.equal) << c.rfc << ": '" << c.a << "' vs '" << c.b << "'";
  EXPECT_EQ(iequals(c.b, c.a), c.equal) << c.rfc << " (symmetric)";
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9110, IequalsTest,
    ::testing::Values(
        IequalsCase{"RFC 9110 §5.1 same case", "Cache-Control", "Cache-Control", true},
        IequalsCase{"RFC 9110 §5.1 lower/mixed", "cache-control", "Cache-Control", true},
        IequalsCase{"RFC 9110 §5.1 upper", "CACHE-CONTROL", "cache-control", true},
        IequalsCase{"RFC 9110 §5.1 different", "Cache-Control", "Cache-Contro1", false},
        IequalsCase{"RFC 9110 §5.1 prefix", "Age", "Ag", false},
        IequalsCase{"RFC 9110 §5.1 empty", "", "", true},
        IequalsCase{"RFC 9110 §5.1 empty vs non-empty", "", "a", false},
        // '@' (0x40) and '`' (0x60) differ by 0x20 but are not letters.
        IequalsCase{"RFC 9110 §5.1 ASCII letters only", "@", "`", false},
        IequalsCase{"RFC 9110 §5.1 non-ASCII bytes compared exactly", "\xC4", "\xE4", false}));

HeaderList sample() {
  return HeaderList({{"Cache-Control", "max-age=10"},
                     {"Vary", "Accept"},
                     {"cache-control", "public"},
                     {"Set-Cookie", "a=1"},
                     {"CACHE-CONTROL", "no-transform"}});
}

TEST(HeaderListTest, GetReturnsFirstFieldCaseInsensitively) {  // RFC 9110 §5.1
  const HeaderList h = sample();
  EXPECT_EQ(h.get("cache-control"), std::optional<std::string_view>("max-age=10"));
  EXPECT_EQ(h.get("VARY"), std::optional<std::string_view>("Accept"));
  EXPECT_FALSE(h.get("Age").has_value());
  EXPECT_TRUE(h.has("set-cookie"));
  EXPECT_FALSE(h.has("Cookie"));
}

TEST(HeaderListTest, GetAllKeepsOrder) {  // RFC 9110 §5.3 (order of field lines is significant)
  const HeaderList h = sample();
  const std::vector<std::string_view> expected = {"max-age=10", "public", "no-transform"};
  EXPECT_EQ(h.getAll("Cache-Control"), expected);
  EXPECT_TRUE(h.getAll("Age").empty());
  EXPECT_EQ(h.count("cache-control"), 3u);
  EXPECT_EQ(h.count("Age"), 0u);
}

TEST(HeaderListTest, CombinedJoinsWithCommaSpace) {  // RFC 9110 §5.3
  const HeaderList h = sample();
  EXPECT_EQ(h.combined("Cache-Control"),
            std::optional<std::string>("max-age=10, public, no-transform"));
  EXPECT_EQ(h.combined("vary"), std::optional<std::string>("Accept"));
  EXPECT_EQ(h.combined("Age"), std::nullopt);
  // An empty field value is still a field line.
  HeaderList e;
  e.add("X", "");
  EXPECT_EQ(e.combined("x"), std::optional<std::string>(""));
}

TEST(HeaderListTest, RemoveAndSet) {  // RFC 9110 §5.1 (names are case-insensitive)
  HeaderList h = sample();
  EXPECT_EQ(h.remove("CACHE-control"), 3u);
  EXPECT_EQ(h.remove("cache-control"), 0u);
  EXPECT_EQ(h.fields().size(), 2u);
  h.set("vary", "Accept-Encoding");
  EXPECT_EQ(h.count("Vary"), 1u);
  EXPECT_EQ(h.get("Vary"), std::optional<std::string_view>("Accept-Encoding"));
  EXPECT_EQ(h.fields().back().first, "vary");  // The new field is appended with its own name.
  h.set("Age", "5");
  EXPECT_EQ(h.get("age"), std::optional<std::string_view>("5"));
  EXPECT_FALSE(h.empty());
  EXPECT_TRUE(HeaderList().empty());
}

// RFC 9110 §5.5: HTAB, SP, VCHAR and obs-text; every other control byte and DEL are refused,
// wherever they stand in the eight-byte words the check reads.
TEST(HeaderListTest, FieldValueCharactersAtEveryPosition) {
  for (int b = 0; b < 256; ++b) {
    const bool allowed = b == '\t' || (b >= 0x20 && b != 0x7f);
    for (std::size_t length : {1, 7, 8, 9, 16, 19}) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string value(length, 'v');
        value[at] = static_cast<char>(b);
        EXPECT_EQ(isFieldValue(value), allowed) << "byte " << b << " at " << at << " of " << length;
      }
    }
  }
  EXPECT_TRUE(isFieldValue(""));
  EXPECT_TRUE(isFieldValue("max-age=3600, public\t\x80\xff obs-text and tabs are fine"));
  EXPECT_FALSE(isFieldValue("a value long enough to span words, then a bare CR\r and more"));
}

TEST(HeaderListTest, TokenCharacters) {  // RFC 9110 §5.6.2
  const std::string tchar =
      "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (int b = 0; b < 256; ++b) {
    const bool expected = tchar.find(static_cast<char>(b)) != std::string::npos && b != 0;
    EXPECT_EQ(isTokenChar(static_cast<char>(b)), expected) << "byte " << b;
  }
}

}  // namespace
}  // namespace strata::edge::http

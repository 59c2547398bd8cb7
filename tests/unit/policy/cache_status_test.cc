#include "edge/policy/cache_status.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::edge::policy {
namespace {

struct StatusCase {
  const char* rfc;
  std::string name;
  CacheStatus status;
  std::string expected;
};

class CacheStatusFormatTest : public ::testing::TestWithParam<StatusCase> {};

TEST_P(CacheStatusFormatTest, Formats) {
  const auto& c = GetParam();
  EXPECT_EQ(c.status.format(c.name), c.expected) << c.rfc;
}

CacheStatus make(void (*fill)(CacheStatus&)) {
  CacheStatus s;
  fill(s);
  return s;
}

using FR = ForwardReason;

// clang-format off
INSTANTIATE_TEST_SUITE_P(Rfc9211, CacheStatusFormatTest, ::testing::Values(
  StatusCase{"RFC 9211 §2 no parameters", "edge-1", CacheStatus{}, "edge-1"},
  StatusCase{"RFC 9211 §2.1/§2.4 hit with ttl", "edge-1",
             make([](CacheStatus& s) { s.hit = true; s.ttl = 3412; }), "edge-1; hit; ttl=3412"},
  StatusCase{"RFC 9211 §2.4 negative ttl", "edge-1",
             make([](CacheStatus& s) { s.hit = true; s.ttl = -12; }), "edge-1; hit; ttl=-12"},
  StatusCase{"RFC 9211 §2.2/§2.3/§2.5 miss stored", "NAME",
             make([](CacheStatus& s) { s.fwd = FR::kUriMiss; s.fwdStatus = 200; s.stored = true; }),
             "NAME; fwd=uri-miss; fwd-status=200; stored"},
  StatusCase{"RFC 9211 §2.2/§2.5 miss stored, no fwd-status", "edge-1",
             make([](CacheStatus& s) { s.fwd = FR::kUriMiss; s.stored = true; }),
             "edge-1; fwd=uri-miss; stored"},
  StatusCase{"RFC 9211 §2.6 collapsed", "NAME",
             make([](CacheStatus& s) { s.fwd = FR::kUriMiss; s.collapsed = true; }),
             "NAME; fwd=uri-miss; collapsed"},
  StatusCase{"RFC 9211 §2.8 detail token", "NAME",
             make([](CacheStatus& s) { s.hit = true; s.detail = "stale"; }),
             "NAME; hit; detail=stale"},
  StatusCase{"RFC 9211 §2.2/§2.3 revalidated", "edge-1",
             make([](CacheStatus& s) { s.fwd = FR::kStale; s.fwdStatus = 304; }),
             "edge-1; fwd=stale; fwd-status=304"},
  StatusCase{"RFC 9211 §2 every parameter, in order", "c",
             make([](CacheStatus& s) {
               s.detail = "x"; s.collapsed = true; s.stored = true; s.ttl = 5; s.fwdStatus = 503;
               s.fwd = FR::kVaryMiss; s.hit = true;
             }),
             "c; hit; fwd=vary-miss; fwd-status=503; ttl=5; stored; collapsed; detail=x"},
  StatusCase{"RFC 9211 §2.2 fwd=miss", "c", make([](CacheStatus& s) { s.fwd = FR::kMiss; }),
             "c; fwd=miss"},
  StatusCase{"RFC 9211 §2.2 fwd=request", "c",
             make([](CacheStatus& s) { s.fwd = FR::kRequest; }), "c; fwd=request"},
  StatusCase{"RFC 9211 §2.2 fwd=bypass", "c", make([](CacheStatus& s) { s.fwd = FR::kBypass; }),
             "c; fwd=bypass"},
  StatusCase{"RFC 8941 §3.3.4 detail token may contain : and /", "c",
             make([](CacheStatus& s) { s.detail = "store/full:1"; }),
             "c; detail=store/full:1"},
  StatusCase{"RFC 8941 §3.3.3 detail with space is an sf-string", "c",
             make([](CacheStatus& s) { s.detail = "too big"; }), "c; detail=\"too big\""},
  StatusCase{"RFC 8941 §3.3.3 detail starting with a digit is an sf-string", "c",
             make([](CacheStatus& s) { s.detail = "5xx"; }), "c; detail=\"5xx\""},
  StatusCase{"RFC 8941 §3.3.3 escapes quote and backslash", "c",
             make([](CacheStatus& s) { s.detail = "a\"b\\c"; }), "c; detail=\"a\\\"b\\\\c\""},
  StatusCase{"RFC 8941 §3.3.3 drops non-printable characters", "c",
             make([](CacheStatus& s) { s.detail = "a\r\nb\x7f\xc3\xa9"; }), "c; detail=\"ab\""},
  StatusCase{"RFC 9211 §2 cache name that is not a token is quoted", "edge 1",
             make([](CacheStatus& s) { s.hit = true; }), "\"edge 1\"; hit"},
  StatusCase{"RFC 9211 §2 empty cache name is an empty sf-string", "",
             make([](CacheStatus& s) { s.hit = true; }), "\"\"; hit"}));
// clang-format on

TEST(ForwardReasonTest, Names) {  // RFC 9211 §2.2
  EXPECT_STREQ(toString(ForwardReason::kNone), "");
  EXPECT_STREQ(toString(ForwardReason::kUriMiss), "uri-miss");
  EXPECT_STREQ(toString(ForwardReason::kVaryMiss), "vary-miss");
  EXPECT_STREQ(toString(ForwardReason::kMiss), "miss");
  EXPECT_STREQ(toString(ForwardReason::kRequest), "request");
  EXPECT_STREQ(toString(ForwardReason::kStale), "stale");
  EXPECT_STREQ(toString(ForwardReason::kBypass), "bypass");
}

}  // namespace
}  // namespace strata::edge::policy

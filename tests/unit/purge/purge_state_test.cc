#include "purge/purge_state.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace strata::purge {
namespace {

using Verdict = PurgeState::Verdict;

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "strata-purge-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<PurgeState> openOrDie(const std::string& dir) {
  std::string error;
  auto state = PurgeState::open(dir, &error);
  EXPECT_NE(state, nullptr) << error;
  return state;
}

PurgeRequest urls(std::vector<std::string> v, bool soft = false) {
  PurgeRequest r;
  r.urls = std::move(v);
  r.soft = soft;
  return r;
}
PurgeRequest prefixes(std::vector<std::string> v, bool soft = false) {
  PurgeRequest r;
  r.prefixes = std::move(v);
  r.soft = soft;
  return r;
}
PurgeRequest tags(std::vector<std::string> v, bool soft = false) {
  PurgeRequest r;
  r.tags = std::move(v);
  r.soft = soft;
  return r;
}
PurgeRequest all(bool soft = false) {
  PurgeRequest r;
  r.all = true;
  r.soft = soft;
  return r;
}

std::string recordOrFail(PurgeState& state, const PurgeRequest& request, std::int64_t at) {
  std::string error;
  const PurgeState::Applied applied = state.record(request, at, "ci", "127.0.0.1", &error);
  EXPECT_FALSE(applied.id.empty()) << error;
  EXPECT_EQ(applied.atMicros, applied.id.empty() ? 0 : at);
  return applied.id;
}

// ---- each kind, hard and soft, fetched before and after --------------------------------------

const std::string kKey = "http://example.com/static/app.css";
const std::vector<std::string> kTags = {"t1", "product-7"};
const std::string kOtherKey = "http://example.com/other";
const std::vector<std::string> kOtherTags = {"t3"};

struct KindCase {
  const char* name;
  PurgeRequest request;
  Verdict expected;  // For an entry fetched before the purge that the rule covers.
};

class PurgeKindTest : public ::testing::TestWithParam<KindCase> {};

TEST_P(PurgeKindTest, CoversOlderMatchingEntriesOnly) {
  const auto& c = GetParam();
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->check(kKey, kTags, 999), Verdict::kNone) << c.name;
  recordOrFail(*state, c.request, 1000);
  EXPECT_EQ(state->check(kKey, kTags, 999), c.expected) << c.name;
  EXPECT_EQ(state->check(kKey, kTags, 1000), Verdict::kNone) << c.name << ": same time";
  EXPECT_EQ(state->check(kKey, kTags, 1001), Verdict::kNone) << c.name << ": fetched after";
  const Verdict other = state->check(kOtherKey, kOtherTags, 999);
  EXPECT_EQ(other, c.request.all ? c.expected : Verdict::kNone) << c.name << ": other entry";
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Kinds, PurgeKindTest, ::testing::Values(
  KindCase{"url hard", urls({kKey}), Verdict::kHard},
  KindCase{"url soft", urls({kKey}, true), Verdict::kSoft},
  KindCase{"prefix hard", prefixes({"http://example.com/static/"}), Verdict::kHard},
  KindCase{"prefix soft", prefixes({"http://example.com/static/"}, true), Verdict::kSoft},
  KindCase{"partial-segment prefix", prefixes({"http://example.com/st"}), Verdict::kHard},
  KindCase{"whole-key prefix", prefixes({kKey}), Verdict::kHard},
  KindCase{"tag hard", tags({"product-7"}), Verdict::kHard},
  KindCase{"tag soft", tags({"product-7"}, true), Verdict::kSoft},
  KindCase{"all hard", all(), Verdict::kHard},
  KindCase{"all soft", all(true), Verdict::kSoft}));
// clang-format on

TEST(PurgeStateTest, NonMatchingRulesDoNotCover) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  recordOrFail(*state, urls({kKey + "?v=2", "http://example.com/static/app.cs"}), 1000);
  recordOrFail(*state,
               prefixes({kKey + "x", "http://example.com/static/b", "https://example.com/"}), 1000);
  recordOrFail(*state, tags({"T1", "product", "product-77"}), 1000);
  EXPECT_EQ(state->check(kKey, kTags, 0), Verdict::kNone);
  EXPECT_EQ(state->check(kKey, {}, 0), Verdict::kNone);
  EXPECT_EQ(state->check("", {}, 0), Verdict::kNone);
}

TEST(PurgeStateTest, UrlRuleCoversEveryVariantThroughTheBaseKey) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  recordOrFail(*state, urls({kKey}), 1000);
  // Variants (e.g. gzip and br encodings) were fetched at different times; the caller passes the
  // base key for each.
  EXPECT_EQ(state->check(kKey, {"enc-gzip"}, 10), Verdict::kHard);
  EXPECT_EQ(state->check(kKey, {"enc-br"}, 900), Verdict::kHard);
  EXPECT_EQ(state->check(kKey, {"enc-br"}, 1100), Verdict::kNone);
}

TEST(PurgeStateTest, HardBeatsSoft) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  recordOrFail(*state, tags({"t1"}), 1000);        // Hard, older.
  recordOrFail(*state, urls({kKey}, true), 2000);  // Soft, newer.
  recordOrFail(*state, prefixes({"http://example.com/"}, true), 3000);
  EXPECT_EQ(state->check(kKey, kTags, 500), Verdict::kHard);
  EXPECT_EQ(state->check(kKey, kTags, 1500), Verdict::kSoft);
  EXPECT_EQ(state->check(kKey, kTags, 2500), Verdict::kSoft);
  EXPECT_EQ(state->check(kKey, kTags, 3500), Verdict::kNone);

  // Same target purged hard then soft: both times are kept.
  recordOrFail(*state, urls({kOtherKey}), 5000);
  recordOrFail(*state, urls({kOtherKey}, true), 6000);
  EXPECT_EQ(state->check(kOtherKey, {}, 4000), Verdict::kHard);
  EXPECT_EQ(state->check(kOtherKey, {}, 5500), Verdict::kSoft);
  // An older purge recorded late does not move the times back.
  recordOrFail(*state, urls({kOtherKey}), 100);
  EXPECT_EQ(state->check(kOtherKey, {}, 4000), Verdict::kHard);

  // A soft "all" does not hide a hard tag rule.
  recordOrFail(*state, all(true), 9000);
  EXPECT_EQ(state->check(kKey, kTags, 500), Verdict::kHard);
  EXPECT_EQ(state->check(kKey, kTags, 8000), Verdict::kSoft);
}

TEST(PurgeStateTest, ManyPrefixLengths) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  recordOrFail(*state, prefixes({"http://a/x/", "http://a/x/y/z/", "http://b/"}), 1000);
  recordOrFail(*state, prefixes({"http://a/x/y/"}, true), 2000);
  EXPECT_EQ(state->stats().prefixLengths, 4u);
  EXPECT_EQ(state->check("http://a/x/y/z/1", {}, 1500), Verdict::kSoft);
  EXPECT_EQ(state->check("http://a/x/y/z/1", {}, 500), Verdict::kHard);
  EXPECT_EQ(state->check("http://a/x", {}, 500), Verdict::kNone);
  EXPECT_EQ(state->check("http://b/q", {}, 500), Verdict::kHard);
}

// ---- record(): ids, counts, audit ------------------------------------------------------------

TEST(PurgeStateTest, RecordReturnsUniqueIdsAndRuleCounts) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  std::string error;
  PurgeRequest request;
  request.urls = {"http://a/1", "http://a/2"};
  request.prefixes = {"http://a/p/"};
  request.tags = {"x", "y", "z"};
  const auto applied = state->record(request, 42, "ci", "10.0.0.1", &error);
  EXPECT_EQ(applied.rules, 6u);
  EXPECT_EQ(applied.atMicros, 42);
  EXPECT_EQ(state->record(all(), 43, "ci", "10.0.0.1", &error).rules, 1u);
  std::set<std::string> ids;
  // "p-" + 16 lower-case hex digits.
  auto wellFormed = [](const std::string& id) {
    return id.size() == 18 && id.rfind("p-", 0) == 0 &&
           id.find_first_not_of("0123456789abcdef", 2) == std::string::npos;
  };
  for (int i = 0; i < 50; ++i) {
    const std::string id = recordOrFail(*state, tags({"t"}), 100 + i);
    EXPECT_TRUE(wellFormed(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 50u);
}

TEST(PurgeStateTest, EmptyRequestIsAnError) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  std::string error;
  const auto applied = state->record(PurgeRequest{}, 1000, "ci", "::1", &error);
  EXPECT_TRUE(applied.id.empty());
  EXPECT_EQ(error, "nothing to purge");
  EXPECT_TRUE(state->recent(10).empty());
}

TEST(PurgeStateTest, AuditRecordsNewestFirst) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  std::string error;
  const auto a = state->record(tags({"a", "b"}, true), 1000, "deploy-bot", "10.1.2.3", &error);
  const auto b = state->record(all(), 2000, "alice", "::1", &error);
  PurgeRequest mixed;
  mixed.urls = {"http://h/1", "http://h/2", "http://h/3", "http://h/4", "http://h/5", "http://h/6"};
  mixed.prefixes = {"http://h/p/"};
  const auto c = state->record(mixed, 3000, "bob", "10.0.0.9", &error);

  const auto recent = state->recent(10);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].id, c.id);
  EXPECT_EQ(recent[0].what,
            "urls=[http://h/1,http://h/2,http://h/3,http://h/4,http://h/5,...+1 more] "
            "prefixes=[http://h/p/] hard");
  EXPECT_EQ(recent[1].id, b.id);
  EXPECT_EQ(recent[1].what, "all hard");
  EXPECT_EQ(recent[1].actor, "alice");
  EXPECT_EQ(recent[1].client, "::1");
  EXPECT_EQ(recent[1].atMicros, 2000);
  EXPECT_EQ(recent[2].id, a.id);
  EXPECT_EQ(recent[2].what, "tags=[a,b] soft");
  EXPECT_EQ(recent[2].actor, "deploy-bot");
  EXPECT_EQ(recent[2].client, "10.1.2.3");
  ASSERT_EQ(state->recent(1).size(), 1u);
  EXPECT_EQ(state->recent(1)[0].id, c.id);
  EXPECT_TRUE(state->recent(0).empty());
}

TEST(PurgeStateTest, AuditTrailIsBounded) {
  TempDir dir;
  const std::string path = dir.sub("purge");
  std::string lastId;
  {
    auto state = openOrDie(path);
    ASSERT_NE(state, nullptr);
    for (std::size_t i = 0; i < PurgeState::kMaxAuditRecords + 5; ++i) {
      lastId = recordOrFail(*state, tags({"t" + std::to_string(i)}), 1000 + i);
    }
    EXPECT_EQ(state->stats().auditRecords, PurgeState::kMaxAuditRecords);
    EXPECT_EQ(state->recent(5000).size(), PurgeState::kMaxAuditRecords);
  }
  auto state = openOrDie(path);
  ASSERT_NE(state, nullptr);
  const auto recent = state->recent(5000);
  ASSERT_EQ(recent.size(), PurgeState::kMaxAuditRecords);
  EXPECT_EQ(recent.front().id, lastId);
  EXPECT_EQ(recent.back().what, "tags=[t5] hard");
  EXPECT_EQ(state->stats().tagRules, PurgeState::kMaxAuditRecords + 5);
}

// ---- reopen ----------------------------------------------------------------------------------

struct Probe {
  std::string key;
  std::vector<std::string> tags;
  std::int64_t fetchedAt;
};

std::vector<Verdict> verdicts(const PurgeState& state, const std::vector<Probe>& probes) {
  std::vector<Verdict> out;
  for (const auto& p : probes) out.push_back(state.check(p.key, p.tags, p.fetchedAt));
  return out;
}

void expectSameStats(const PurgeState::Stats& a, const PurgeState::Stats& b) {
  EXPECT_EQ(a.urlRules, b.urlRules);
  EXPECT_EQ(a.prefixRules, b.prefixRules);
  EXPECT_EQ(a.tagRules, b.tagRules);
  EXPECT_EQ(a.prefixLengths, b.prefixLengths);
  EXPECT_EQ(a.allHardMicros, b.allHardMicros);
  EXPECT_EQ(a.allSoftMicros, b.allSoftMicros);
  EXPECT_EQ(a.auditRecords, b.auditRecords);
}

TEST(PurgeStateTest, ReopenKeepsRulesAndAudit) {
  TempDir dir;
  const std::string path = dir.sub("purge");
  const std::vector<Probe> probes = {
      {kKey, kTags, 0},         {kKey, kTags, 1500},        {kKey, kTags, 2500},
      {kKey, {}, 3500},         {"http://a/p/q", {}, 3500}, {"http://a/p/q", {}, 4500},
      {kOtherKey, {"x"}, 4500}, {kOtherKey, {"x"}, 5500},   {kOtherKey, {"x"}, 6500},
      {"http://z/", {}, 6500},  {"http://z/", {}, 7500},    {"http://z/", {}, 8500}};
  std::vector<Verdict> before;
  std::vector<AuditRecord> auditBefore;
  PurgeState::Stats statsBefore;
  std::string idBefore;
  {
    auto state = openOrDie(path);
    ASSERT_NE(state, nullptr);
    recordOrFail(*state, tags({"t1"}), 1000);
    recordOrFail(*state, tags({"product-7"}, true), 2000);
    recordOrFail(*state, urls({kKey}), 3000);
    recordOrFail(*state, prefixes({"http://a/p/"}, true), 4000);
    recordOrFail(*state, tags({"x"}), 5000);
    recordOrFail(*state, tags({"x"}, true), 6000);
    recordOrFail(*state, all(true), 7000);
    idBefore = recordOrFail(*state, all(), 8000);
    before = verdicts(*state, probes);
    auditBefore = state->recent(100);
    statsBefore = state->stats();
  }
  auto state = openOrDie(path);
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(verdicts(*state, probes), before);
  expectSameStats(state->stats(), statsBefore);
  const auto auditAfter = state->recent(100);
  ASSERT_EQ(auditAfter.size(), auditBefore.size());
  for (std::size_t i = 0; i < auditAfter.size(); ++i) {
    EXPECT_EQ(auditAfter[i].id, auditBefore[i].id);
    EXPECT_EQ(auditAfter[i].atMicros, auditBefore[i].atMicros);
    EXPECT_EQ(auditAfter[i].actor, auditBefore[i].actor);
    EXPECT_EQ(auditAfter[i].client, auditBefore[i].client);
    EXPECT_EQ(auditAfter[i].what, auditBefore[i].what);
  }
  // Ids stay unique across reopen.
  const std::string next = recordOrFail(*state, tags({"after"}), 9000);
  for (const auto& a : auditBefore) EXPECT_NE(a.id, next);
  EXPECT_NE(next, idBefore);
}

// ---- forgetBefore ------------------------------------------------------------------------------

TEST(PurgeStateTest, ForgetBeforeDropsOldRulesDurably) {
  TempDir dir;
  const std::string path = dir.sub("purge");
  {
    auto state = openOrDie(path);
    ASSERT_NE(state, nullptr);
    recordOrFail(*state, urls({"http://a/old"}), 1000);
    recordOrFail(*state, urls({"http://a/new"}), 3000);
    recordOrFail(*state, tags({"both"}), 1000);
    recordOrFail(*state, tags({"both"}, true), 3000);
    recordOrFail(*state, prefixes({"http://p/old/"}), 1000);
    recordOrFail(*state, prefixes({"http://p/new/"}), 3000);
    recordOrFail(*state, all(), 1000);
    std::string error;
    ASSERT_TRUE(state->forgetBefore(2000, &error)) << error;
    const auto s = state->stats();
    EXPECT_EQ(s.urlRules, 1u);
    EXPECT_EQ(s.tagRules, 1u);
    EXPECT_EQ(s.prefixRules, 1u);
    EXPECT_EQ(s.allHardMicros, 0);
    EXPECT_EQ(s.auditRecords, 7u);  // The audit trail is not touched.
  }
  auto state = openOrDie(path);
  ASSERT_NE(state, nullptr);
  const auto s = state->stats();
  EXPECT_EQ(s.urlRules, 1u);
  EXPECT_EQ(s.tagRules, 1u);
  EXPECT_EQ(s.prefixRules, 1u);
  EXPECT_EQ(s.prefixLengths, 1u);
  EXPECT_EQ(s.allHardMicros, 0);
  // Entries fetched after 2000 (the only ones left, by contract) see the newer rules only.
  EXPECT_EQ(state->check("http://a/old", {}, 2500), Verdict::kNone);
  EXPECT_EQ(state->check("http://a/new", {}, 2500), Verdict::kHard);
  EXPECT_EQ(state->check("http://x/", {"both"}, 2500), Verdict::kSoft);
  EXPECT_EQ(state->check("http://p/old/1", {}, 2500), Verdict::kNone);
  EXPECT_EQ(state->check("http://p/new/1", {}, 2500), Verdict::kHard);
  EXPECT_TRUE(state->forgetBefore(2000));  // Nothing left to drop.
}

// ---- scale -------------------------------------------------------------------------------------

double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

TEST(PurgeStateScaleTest, HundredThousandRulesStayFast) {
  TempDir dir;
  const std::string path = dir.sub("purge");
  constexpr int kRules = 100000;
  PurgeRequest tagRequest;
  PurgeRequest urlRequest;
  for (int i = 0; i < kRules; ++i) {
    tagRequest.tags.push_back("tag-" + std::to_string(i));
    urlRequest.urls.push_back("http://example.com/object/" + std::to_string(i));
  }
  PurgeRequest prefixRequest;
  for (int i = 0; i < 1000; ++i) {
    prefixRequest.prefixes.push_back("http://example.com/dir-" + std::to_string(i) + "/");
  }
  {
    auto state = openOrDie(path);
    ASSERT_NE(state, nullptr);
    auto start = std::chrono::steady_clock::now();
    recordOrFail(*state, tagRequest, 1000);
    const double tagRecordMs = millisSince(start);
    start = std::chrono::steady_clock::now();
    recordOrFail(*state, urlRequest, 1000);
    const double urlRecordMs = millisSince(start);
    start = std::chrono::steady_clock::now();
    recordOrFail(*state, prefixRequest, 1000);
    const double prefixRecordMs = millisSince(start);

    std::size_t hard = 0;
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRules; ++i) {
      const std::string key = "http://example.com/object/" + std::to_string(i);
      hard += state->check(key, {"other", "tag-" + std::to_string(i)}, 500) == Verdict::kHard;
    }
    const double hitMs = millisSince(start);
    EXPECT_EQ(hard, static_cast<std::size_t>(kRules));

    std::size_t none = 0;
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRules; ++i) {
      const std::string key = "http://example.com/dir-x/" + std::to_string(i);
      none += state->check(key, {"other", "more"}, 500) == Verdict::kNone;
    }
    const double missMs = millisSince(start);
    EXPECT_EQ(none, static_cast<std::size_t>(kRules));
    EXPECT_EQ(state->check("http://example.com/dir-999/x", {}, 500), Verdict::kHard);

    std::printf(
        "[   TIME   ] record 100k tags %.1f ms, 100k urls %.1f ms, 1k prefixes %.1f ms; "
        "100k checks covered %.1f ms (%.2f us each), 100k checks not covered (%zu prefix "
        "lengths) %.1f ms (%.2f us each)\n",
        tagRecordMs, urlRecordMs, prefixRecordMs, hitMs, hitMs * 1000 / kRules,
        state->stats().prefixLengths, missMs, missMs * 1000 / kRules);
  }
  const auto start = std::chrono::steady_clock::now();
  auto state = openOrDie(path);
  ASSERT_NE(state, nullptr);
  std::printf("[   TIME   ] reopen with %zu rules %.1f ms\n",
              state->stats().tagRules + state->stats().urlRules + state->stats().prefixRules,
              millisSince(start));
  EXPECT_EQ(state->stats().tagRules, static_cast<std::size_t>(kRules));
  EXPECT_EQ(state->stats().urlRules, static_cast<std::size_t>(kRules));
  EXPECT_EQ(state->check("http://example.com/object/99999", {}, 500), Verdict::kHard);
  EXPECT_EQ(state->check("http://x/", {"tag-54321"}, 500), Verdict::kHard);
}

TEST(PurgeStateTest, ConcurrentChecksAndRecords) {
  TempDir dir;
  auto state = openOrDie(dir.sub("purge"));
  ASSERT_NE(state, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<bool> recorded{false};
  std::atomic<std::size_t> checks{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        // Once recorded, the tag rule keeps covering entries fetched at time 0.
        const bool mustCover = recorded.load();
        const Verdict v = state->check("http://a/0", {"t0"}, 0);
        if (mustCover && v != Verdict::kHard) ADD_FAILURE() << "rule lost";
        checks.fetch_add(1);
      }
    });
  }
  recordOrFail(*state, tags({"t0"}), 10);
  recorded = true;
  for (int i = 1; i < 20; ++i) {
    recordOrFail(*state, urls({"http://a/" + std::to_string(i)}), 10 + i);
    recordOrFail(*state, prefixes({"http://b/" + std::to_string(i)}), 10 + i);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(checks.load(), 0u);
}

// ---- failures ----------------------------------------------------------------------------------

TEST(PurgeStateTest, OpenOnARegularFileFailsWithOneLine) {
  TempDir dir;
  const std::string file = dir.sub("file");
  std::ofstream(file) << "not a database";
  std::string error;
  EXPECT_EQ(PurgeState::open(file, &error), nullptr);
  EXPECT_EQ(error, "cannot open purge state " + file + ": not a directory");

  const std::string below = file + "/purge";
  EXPECT_EQ(PurgeState::open(below, &error), nullptr);
  EXPECT_EQ(error.rfind("cannot open purge state " + below + ": ", 0), 0u) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);

  EXPECT_EQ(PurgeState::open("", &error), nullptr);
  EXPECT_EQ(error, "cannot open purge state: empty path");
}

// Fails every write and sync of files opened while `failing` is set (the WAL among them).
class FailingEnv : public rocksdb::EnvWrapper {
 public:
  FailingEnv() : EnvWrapper(rocksdb::Env::Default()) {}
  const char* Name() const override { return "FailingEnv"; }

  rocksdb::Status NewWritableFile(const std::string& name,
                                  std::unique_ptr<rocksdb::WritableFile>* result,
                                  const rocksdb::EnvOptions& options) override {
    std::unique_ptr<rocksdb::WritableFile> file;
    const rocksdb::Status s = EnvWrapper::NewWritableFile(name, &file, options);
    if (s.ok()) *result = std::make_unique<File>(std::move(file), &failing);
    return s;
  }

  std::atomic<bool> failing{false};

 private:
  class File : public rocksdb::WritableFileWrapper {
   public:
    File(std::unique_ptr<rocksdb::WritableFile> target, std::atomic<bool>* failing)
        : WritableFileWrapper(target.get()), target_(std::move(target)), failing_(failing) {}
    rocksdb::Status Append(const rocksdb::Slice& data) override {
      if (failing_->load()) return rocksdb::Status::IOError("injected write failure");
      return WritableFileWrapper::Append(data);
    }
    rocksdb::Status Append(const rocksdb::Slice& data,
                           const rocksdb::DataVerificationInfo& info) override {
      if (failing_->load()) return rocksdb::Status::IOError("injected write failure");
      return WritableFileWrapper::Append(data, info);
    }
    rocksdb::Status Sync() override {
      if (failing_->load()) return rocksdb::Status::IOError("injected sync failure");
      return WritableFileWrapper::Sync();
    }
    rocksdb::Status Fsync() override {
      if (failing_->load()) return rocksdb::Status::IOError("injected sync failure");
      return WritableFileWrapper::Fsync();
    }

   private:
    std::unique_ptr<rocksdb::WritableFile> target_;
    std::atomic<bool>* failing_;
  };
};

TEST(PurgeStateTest, WriteFailureChangesNothing) {
  TempDir dir;
  FailingEnv env;
  PurgeState::Options options;
  options.dir = dir.sub("purge");
  options.env = &env;
  std::string error;
  auto state = PurgeState::open(options, &error);
  ASSERT_NE(state, nullptr) << error;
  recordOrFail(*state, tags({"kept"}), 1000);
  const auto statsBefore = state->stats();

  env.failing = true;
  PurgeRequest request = tags({"lost"});
  request.urls = {kKey};
  const auto applied = state->record(request, 2000, "ci", "::1", &error);
  EXPECT_TRUE(applied.id.empty());
  EXPECT_EQ(applied.rules, 0u);
  EXPECT_EQ(error.rfind("cannot record purge: IO error", 0), 0u) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_EQ(state->check(kKey, {"lost"}, 0), Verdict::kNone);
  EXPECT_EQ(state->check("http://x/", {"kept"}, 0), Verdict::kHard);
  expectSameStats(state->stats(), statsBefore);
  ASSERT_EQ(state->recent(10).size(), 1u);

  error.clear();
  EXPECT_FALSE(state->forgetBefore(5000, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(state->check("http://x/", {"kept"}, 0), Verdict::kHard);
  expectSameStats(state->stats(), statsBefore);
  env.failing = false;
}

// ---- durability: a process that dies right after record()
// ----------------------------------------

TEST(PurgeStateDurabilityTest, RuleSurvivesAProcessKilledRightAfterRecord) {
  // A fork-and-exec child (gtest's threadsafe death test style: no RocksDB threads are inherited)
  // records a purge and exits at once, without closing the database or running destructors.
  // The child re-runs this test from the start: it finds the parent's directory in the environment.
  constexpr char kDirVariable[] = "STRATA_PURGE_DURABILITY_DIR";
  std::unique_ptr<TempDir> ownDir;
  std::string root;
  if (const char* inherited = getenv(kDirVariable)) {
    root = inherited;
  } else {
    ownDir = std::make_unique<TempDir>();
    root = ownDir->sub("");
    setenv(kDirVariable, root.c_str(), 1);
  }
  const std::string path = root + "purge";
  const std::string idFile = root + "id";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::string error;
        auto state = PurgeState::open(path, &error);
        if (!state) _exit(2);
        PurgeRequest request;
        request.tags = {"deploy-42"};
        request.prefixes = {"http://example.com/assets/"};
        const auto applied = state->record(request, 5000, "ci", "10.0.0.1", &error);
        if (applied.id.empty()) _exit(3);
        std::ofstream(idFile) << applied.id;
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  unsetenv(kDirVariable);
  std::string id;
  std::ifstream(idFile) >> id;
  ASSERT_FALSE(id.empty());

  auto state = openOrDie(path);
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->check("http://example.com/a", {"deploy-42"}, 4000), Verdict::kHard);
  EXPECT_EQ(state->check("http://example.com/assets/app.js", {}, 4000), Verdict::kHard);
  const auto recent = state->recent(1);
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].id, id);
  EXPECT_EQ(recent[0].what, "prefixes=[http://example.com/assets/] tags=[deploy-42] hard");
}

}  // namespace
}  // namespace strata::purge

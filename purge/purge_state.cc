#include "purge/purge_state.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace strata::purge {
namespace {

// Database layout (one column family):
//   'u' + base key  -> Times (16 bytes)      URL rules
//   'p' + prefix    -> Times                 prefix rules
//   't' + tag       -> Times                 tag rules
//   'a'             -> Times                 the "all" rule
//   'l' + seq(8 BE) -> audit record
//   'm' + name      -> bookkeeping: "salt" (8 bytes, id salt), "seq" (8 bytes, next sequence)
// Times are two int64 (hard, soft), each biased to unsigned and big-endian; kNoTime is "none".
constexpr char kUrlTag = 'u';
constexpr char kPrefixTag = 'p';
constexpr char kTagTag = 't';
constexpr char kAllKey[] = "a";
constexpr char kAuditTag = 'l';
constexpr char kSaltKey[] = "msalt";
constexpr char kSeqKey[] = "mseq";
constexpr std::uint8_t kAuditVersion = 1;
constexpr std::size_t kMaxAuditField = 256;

constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();

struct Times {
  std::int64_t hard = kNoTime;
  std::int64_t soft = kNoTime;
  bool empty() const { return hard == kNoTime && soft == kNoTime; }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using RuleMap = std::unordered_map<std::string, Times, StringHash, std::equal_to<>>;

void putU64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t getU64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

void putI64(std::string& out, std::int64_t v) {
  putU64(out, static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63));
}

std::int64_t getI64(std::string_view in) {
  return static_cast<std::int64_t>(getU64(in) ^ (std::uint64_t{1} << 63));
}

std::string encodeTimes(const Times& t) {
  std::string out;
  putI64(out, t.hard);
  putI64(out, t.soft);
  return out;
}

bool decodeTimes(std::string_view in, Times& t) {
  if (in.size() != 16) return false;
  t.hard = getI64(in);
  t.soft = getI64(in.substr(8));
  return true;
}

std::string seqKey(std::uint64_t seq) {
  std::string key(1, kAuditTag);
  putU64(key, seq);
  return key;
}

void putString(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  out.append(s);
}

bool getString(std::string_view& in, std::string& s) {
  if (in.size() < 4) return false;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in[i]);
  in.remove_prefix(4);
  if (in.size() < n) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

std::string encodeAudit(const AuditRecord& r) {
  std::string out;
  out.push_back(static_cast<char>(kAuditVersion));
  putI64(out, r.atMicros);
  putString(out, r.id);
  putString(out, r.actor);
  putString(out, r.client);
  putString(out, r.what);
  return out;
}

bool decodeAudit(std::string_view in, AuditRecord& r) {
  if (in.size() < 9 || static_cast<std::uint8_t>(in[0]) != kAuditVersion) return false;
  r.atMicros = getI64(in.substr(1));
  in.remove_prefix(9);
  return getString(in, r.id) && getString(in, r.actor) && getString(in, r.client) &&
         getString(in, r.what) && in.empty();
}

// splitmix64's finalizer: a bijection, so distinct sequence numbers give distinct ids.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::string makeId(std::uint64_t salt, std::uint64_t seq) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint64_t v = mix(salt + seq);
  std::string id = "p-";
  for (int shift = 60; shift >= 0; shift -= 4) id.push_back(kHex[(v >> shift) & 0xf]);
  return id;
}

std::string bounded(std::string_view s, std::size_t max) {
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (c < 0x20 || c == 0x7f) c = '?';
  }
  if (s.size() > max) out.append("...");
  return out;
}

// "urls=[a,b] tags=[x,...+3 more] soft": a short description for the audit trail.
std::string describe(const PurgeRequest& request) {
  constexpr std::size_t kShown = 5;
  std::string out;
  auto list = [&](const char* name, const std::vector<std::string>& items) {
    if (items.empty()) return;
    if (!out.empty()) out.push_back(' ');
    out.append(name).append("=[");
    for (std::size_t i = 0; i < items.size() && i < kShown; ++i) {
      if (i > 0) out.push_back(',');
      out.append(bounded(items[i], 80));
    }
    if (items.size() > kShown)
      out.append(",...+" + std::to_string(items.size() - kShown) + " more");
    out.push_back(']');
  };
  if (request.all) out = "all";
  list("urls", request.urls);
  list("prefixes", request.prefixes);
  list("tags", request.tags);
  out.append(request.soft ? " soft" : " hard");
  return out;
}

Times merged(Times t, std::int64_t at, bool soft) {
  std::int64_t& slot = soft ? t.soft : t.hard;
  slot = std::max(slot, at);
  return t;
}

Times pruned(Times t, std::int64_t before) {
  if (t.hard < before) t.hard = kNoTime;
  if (t.soft < before) t.soft = kNoTime;
  return t;
}

}  // namespace

class PurgeState::Impl {
 public:
  explicit Impl(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
  ~Impl() {
    if (db_) db_->Close().PermitUncheckedError();
  }

  // Loads everything from the database. Returns an error message or "".
  std::string load();

  Applied record(const PurgeRequest& request, std::int64_t nowMicros, const std::string& actor,
                 const std::string& client, std::string* error);
  Verdict check(std::string_view baseKey, const std::vector<std::string>& tags,
                std::int64_t fetchedAtMicros) const;
  std::vector<AuditRecord> recent(std::size_t n) const;
  bool forgetBefore(std::int64_t micros, std::string* error);
  Stats stats() const;

 private:
  struct Audit {
    std::uint64_t seq;
    AuditRecord record;
  };

  void addPrefixLength(std::size_t length) { ++prefixLengths_[length]; }
  void removePrefixLength(std::size_t length) {
    auto it = prefixLengths_.find(length);
    if (it != prefixLengths_.end() && --it->second == 0) prefixLengths_.erase(it);
  }
  // The map and key tag of a rule kind.
  RuleMap& mapOf(char kind) {
    return kind == kUrlTag ? urls_ : kind == kPrefixTag ? prefixes_ : tags_;
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::mutex writeMutex_;            // Serializes record() and forgetBefore().
  mutable std::shared_mutex mutex_;  // Guards the maps and the audit trail.
  RuleMap urls_;
  RuleMap prefixes_;
  RuleMap tags_;
  std::map<std::size_t, std::size_t> prefixLengths_;  // Length -> number of prefix rules.
  std::atomic<std::int64_t> allHard_{kNoTime};
  std::atomic<std::int64_t> allSoft_{kNoTime};
  std::deque<Audit> audit_;  // Oldest first.
  std::uint64_t salt_ = 0;   // Written under writeMutex_ (and at open).
  std::uint64_t nextSeq_ = 1;
};

std::string PurgeState::Impl::load() {
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  bool haveSalt = false;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    const std::string printable = bounded(key, 64);
    if (key.empty()) return "corrupt purge state: empty key";
    const char kind = key[0];
    if (kind == kUrlTag || kind == kPrefixTag || kind == kTagTag) {
      Times t;
      if (!decodeTimes(value, t) || key.size() < 2) {
        return "corrupt purge state: bad rule " + printable;
      }
      if (mapOf(kind).emplace(std::string(key.substr(1)), t).second && kind == kPrefixTag) {
        addPrefixLength(key.size() - 1);
      }
    } else if (key == kAllKey) {
      Times t;
      if (!decodeTimes(value, t)) return "corrupt purge state: bad all rule";
      allHard_.store(t.hard);
      allSoft_.store(t.soft);
    } else if (kind == kAuditTag) {
      Audit a;
      if (key.size() != 9 || !decodeAudit(value, a.record)) {
        return "corrupt purge state: bad audit record";
      }
      a.seq = getU64(key.substr(1));
      audit_.push_back(std::move(a));  // Keys are ordered: oldest first.
      nextSeq_ = std::max(nextSeq_, audit_.back().seq + 1);
    } else if (key == kSaltKey) {
      if (value.size() != 8) return "corrupt purge state: bad salt";
      salt_ = getU64(value);
      haveSalt = true;
    } else if (key == kSeqKey) {
      if (value.size() != 8) return "corrupt purge state: bad sequence";
      nextSeq_ = std::max(nextSeq_, getU64(value));
    } else {
      return "corrupt purge state: unknown key " + printable;
    }
  }
  if (!it->status().ok()) return it->status().ToString();
  while (audit_.size() > kMaxAuditRecords) audit_.pop_front();
  if (!haveSalt) {
    std::random_device random;
    salt_ = (std::uint64_t{random()} << 32) ^ random();
    std::string value;
    putU64(value, salt_);
    rocksdb::WriteOptions write;
    write.sync = true;
    const rocksdb::Status s = db_->Put(write, kSaltKey, value);
    if (!s.ok()) return s.ToString();
  }
  return "";
}

PurgeState::Applied PurgeState::Impl::record(const PurgeRequest& request, std::int64_t nowMicros,
                                             const std::string& actor, const std::string& client,
                                             std::string* error) {
  Applied applied;
  if (!request.all && request.urls.empty() && request.prefixes.empty() && request.tags.empty()) {
    if (error) *error = "nothing to purge";
    return applied;
  }
  std::lock_guard<std::mutex> writer(writeMutex_);
  // Only writers (serialized by writeMutex_) change the maps: reading them here needs no lock.
  auto current = [](const RuleMap& map, const std::string& target) {
    const auto it = map.find(target);
    return it == map.end() ? Times{} : it->second;
  };

  rocksdb::WriteBatch batch;
  std::uint64_t rules = 0;
  const char kinds[] = {kUrlTag, kPrefixTag, kTagTag};
  const std::vector<std::string>* lists[] = {&request.urls, &request.prefixes, &request.tags};
  std::string key;
  for (int k = 0; k < 3; ++k) {
    for (const auto& target : *lists[k]) {
      if (target.empty()) continue;
      key.assign(1, kinds[k]).append(target);
      batch.Put(key,
                encodeTimes(merged(current(mapOf(kinds[k]), target), nowMicros, request.soft)));
      ++rules;
    }
  }
  Times all{allHard_.load(), allSoft_.load()};
  if (request.all) {
    all = merged(all, nowMicros, request.soft);
    batch.Put(kAllKey, encodeTimes(all));
    ++rules;
  }
  if (rules == 0) {
    if (error) *error = "nothing to purge";
    return applied;
  }

  Audit audit;
  audit.seq = nextSeq_;
  audit.record.atMicros = nowMicros;
  audit.record.actor = bounded(actor, kMaxAuditField);
  audit.record.client = bounded(client, kMaxAuditField);
  audit.record.what = describe(request);
  audit.record.id = makeId(salt_, audit.seq);
  batch.Put(seqKey(audit.seq), encodeAudit(audit.record));
  if (audit_.size() >= kMaxAuditRecords) {
    batch.Delete(seqKey(audit_[audit_.size() - kMaxAuditRecords].seq));
  }
  std::string seqValue;
  putU64(seqValue, audit.seq + 1);
  batch.Put(kSeqKey, seqValue);

  rocksdb::WriteOptions write;
  write.sync = true;
  const rocksdb::Status s = db_->Write(write, &batch);
  if (!s.ok()) {
    if (error) *error = "cannot record purge: " + s.ToString();
    return applied;
  }

  {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    for (int k = 0; k < 3; ++k) {
      RuleMap& map = mapOf(kinds[k]);
      for (const auto& target : *lists[k]) {
        if (target.empty()) continue;
        auto [it, inserted] = map.try_emplace(target);
        it->second = merged(it->second, nowMicros, request.soft);
        if (inserted && kinds[k] == kPrefixTag) addPrefixLength(target.size());
      }
    }
    allHard_.store(all.hard);
    allSoft_.store(all.soft);
    audit_.push_back(audit);
    while (audit_.size() > kMaxAuditRecords) audit_.pop_front();
    nextSeq_ = audit.seq + 1;
  }
  applied.id = audit.record.id;
  applied.rules = rules;
  applied.atMicros = nowMicros;
  return applied;
}

PurgeState::Verdict PurgeState::Impl::check(std::string_view baseKey,
                                            const std::vector<std::string>& tags,
                                            std::int64_t fetchedAtMicros) const {
  if (fetchedAtMicros < allHard_.load(std::memory_order_acquire)) return Verdict::kHard;
  bool soft = fetchedAtMicros < allSoft_.load(std::memory_order_acquire);
  // Returns true for a hard match; records a soft one.
  auto covers = [&](const RuleMap& map, std::string_view target) {
    const auto it = map.find(target);
    if (it == map.end()) return false;
    if (fetchedAtMicros < it->second.hard) return true;
    if (fetchedAtMicros < it->second.soft) soft = true;
    return false;
  };
  std::shared_lock<std::shared_mutex> lock(mutex_);
  if (!urls_.empty() && covers(urls_, baseKey)) return Verdict::kHard;
  if (!tags_.empty()) {
    for (const auto& tag : tags) {
      if (covers(tags_, tag)) return Verdict::kHard;
    }
  }
  for (const auto& [length, count] : prefixLengths_) {
    if (length > baseKey.size()) break;
    if (covers(prefixes_, baseKey.substr(0, length))) return Verdict::kHard;
  }
  return soft ? Verdict::kSoft : Verdict::kNone;
}

std::vector<AuditRecord> PurgeState::Impl::recent(std::size_t n) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<AuditRecord> out;
  out.reserve(std::min(n, audit_.size()));
  for (auto it = audit_.rbegin(); it != audit_.rend() && out.size() < n; ++it) {
    out.push_back(it->record);
  }
  return out;
}

bool PurgeState::Impl::forgetBefore(std::int64_t micros, std::string* error) {
  std::lock_guard<std::mutex> writer(writeMutex_);
  rocksdb::WriteBatch batch;
  std::string key;
  for (const char kind : {kUrlTag, kPrefixTag, kTagTag}) {
    for (const auto& [target, times] : mapOf(kind)) {
      const Times t = pruned(times, micros);
      if (t.hard == times.hard && t.soft == times.soft) continue;
      key.assign(1, kind).append(target);
      if (t.empty()) {
        batch.Delete(key);
      } else {
        batch.Put(key, encodeTimes(t));
      }
    }
  }
  const Times all = pruned(Times{allHard_.load(), allSoft_.load()}, micros);
  if (all.hard != allHard_.load() || all.soft != allSoft_.load()) {
    if (all.empty()) {
      batch.Delete(kAllKey);
    } else {
      batch.Put(kAllKey, encodeTimes(all));
    }
  }
  if (batch.Count() == 0) return true;

  rocksdb::WriteOptions write;
  write.sync = true;
  const rocksdb::Status s = db_->Write(write, &batch);
  if (!s.ok()) {
    if (error) *error = "cannot forget purge rules: " + s.ToString();
    return false;
  }

  std::unique_lock<std::shared_mutex> lock(mutex_);
  for (const char kind : {kUrlTag, kPrefixTag, kTagTag}) {
    RuleMap& map = mapOf(kind);
    for (auto it = map.begin(); it != map.end();) {
      it->second = pruned(it->second, micros);
      if (it->second.empty()) {
        if (kind == kPrefixTag) removePrefixLength(it->first.size());
        it = map.erase(it);
      } else {
        ++it;
      }
    }
  }
  allHard_.store(all.hard);
  allSoft_.store(all.soft);
  return true;
}

PurgeState::Stats PurgeState::Impl::stats() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  Stats s;
  s.urlRules = urls_.size();
  s.prefixRules = prefixes_.size();
  s.tagRules = tags_.size();
  s.prefixLengths = prefixLengths_.size();
  const std::int64_t hard = allHard_.load();
  const std::int64_t soft = allSoft_.load();
  s.allHardMicros = hard == kNoTime ? 0 : hard;
  s.allSoftMicros = soft == kNoTime ? 0 : soft;
  s.auditRecords = audit_.size();
  return s;
}

// ---- PurgeState ----------------------------------------------------------------------------

std::unique_ptr<PurgeState> PurgeState::open(const std::string& dir, std::string* error) {
  Options options;
  options.dir = dir;
  return open(options, error);
}

std::unique_ptr<PurgeState> PurgeState::open(const Options& options, std::string* error) {
  const std::string& dir = options.dir;
  std::string message;
  try {
    std::error_code ec;
    if (dir.empty()) {
      message = "cannot open purge state: empty path";
    } else if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
      message = "cannot open purge state " + dir + ": not a directory";
    } else if (std::filesystem::create_directories(dir, ec); ec) {
      message = "cannot open purge state " + dir + ": " + ec.message();
    } else {
      // A small database: a tiny memtable, a tiny block cache, few files.
      rocksdb::Options db;
      db.create_if_missing = true;
      db.write_buffer_size = std::max<std::size_t>(64 << 10, options.writeBufferBytes);
      db.max_write_buffer_number = 2;
      db.max_total_wal_size = 4 * db.write_buffer_size;
      db.max_background_jobs = 2;
      db.max_open_files = 64;
      db.keep_log_file_num = 2;
      db.max_log_file_size = 1 << 20;
      db.max_manifest_file_size = 1 << 20;
      db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
      if (options.env != nullptr) db.env = options.env;
      rocksdb::BlockBasedTableOptions table;
      table.block_cache = rocksdb::NewLRUCache(1 << 20);
      db.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

      rocksdb::DB* raw = nullptr;
      const rocksdb::Status s = rocksdb::DB::Open(db, dir, &raw);
      std::unique_ptr<rocksdb::DB> owned(raw);
      if (!s.ok()) {
        message = "cannot open purge state " + dir + ": " + s.ToString();
      } else {
        auto impl = std::make_unique<Impl>(std::move(owned));
        message = impl->load();
        if (message.empty()) return std::unique_ptr<PurgeState>(new PurgeState(std::move(impl)));
        message = "cannot open purge state " + dir + ": " + message;
      }
    }
  } catch (const std::exception& e) {
    message = "cannot open purge state " + dir + ": " + e.what();
  } catch (...) {
    message = "cannot open purge state " + dir + ": unknown error";
  }
  // Keep the message on one line (RocksDB statuses may carry newlines).
  std::replace(message.begin(), message.end(), '\n', ' ');
  if (error) *error = message;
  return nullptr;
}

PurgeState::PurgeState(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PurgeState::~PurgeState() = default;

PurgeState::Applied PurgeState::record(const PurgeRequest& request, std::int64_t nowMicros,
                                       const std::string& actor, const std::string& client,
                                       std::string* error) {
  try {
    return impl_->record(request, nowMicros, actor, client, error);
  } catch (const std::exception& e) {
    // Only allocation can throw; the batch may have been written, so the state stays
    // conservative: the caller reports failure and may retry (recording is idempotent).
    if (error) *error = std::string("cannot record purge: ") + e.what();
    return Applied{};
  }
}

PurgeState::Verdict PurgeState::check(std::string_view baseKey,
                                      const std::vector<std::string>& tags,
                                      std::int64_t fetchedAtMicros) const {
  return impl_->check(baseKey, tags, fetchedAtMicros);
}

std::vector<AuditRecord> PurgeState::recent(std::size_t n) const {
  try {
    return impl_->recent(n);
  } catch (...) {
    return {};
  }
}

bool PurgeState::forgetBefore(std::int64_t micros, std::string* error) {
  try {
    return impl_->forgetBefore(micros, error);
  } catch (const std::exception& e) {
    if (error) *error = std::string("cannot forget purge rules: ") + e.what();
    return false;
  }
}

PurgeState::Stats PurgeState::stats() const { return impl_->stats(); }

}  // namespace strata::purge

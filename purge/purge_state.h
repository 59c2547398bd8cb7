#pragma once
// PurgeState: the durable record of purges as rules checked on lookup ("lazy bans").
//
// A purge never scans the cache: record() stores one rule per URL, prefix or tag (or one "all"
// rule) with the purge time, and check() tells, for a cached entry, whether a rule recorded after
// the entry was fetched covers it. The caller treats kHard as a miss (and may remove the entry)
// and kSoft as stale (revalidate). Space is reclaimed in the background by the caller, which
// removes covered entries and then calls forgetBefore() (see its contract).
//
// Rule indexes (in memory, mirrored one to one in RocksDB):
//   urls     hash map: base key -> {latest hard time, latest soft time}
//   tags     hash map: tag      -> {latest hard time, latest soft time}
//   prefixes hash map: prefix   -> {latest hard time, latest soft time}, plus the set of the
//            distinct prefix lengths in use
//   all      two atomics: latest hard time, latest soft time
// check() cost: O(1) for the all rules, one hash lookup for the URL, one per tag of the entry,
// and one hash lookup of key[0, L) per distinct prefix length L <= key size: O(#distinct prefix
// lengths x key size) in the worst case, independent of the number of URL and tag rules and of
// the number of prefix rules sharing a length. Only the latest hard and soft times are kept per
// target: an entry is covered by some rule iff it is covered by the latest one.
//
// Durability: record() and forgetBefore() write one RocksDB WriteBatch with sync = true (WAL
// fsynced) before changing the in-memory state; when they return success, a crash (kill -9,
// power loss) cannot lose the change. On a write failure nothing changes in memory. open()
// reloads the rules and the audit trail: the state after reopen equals the state before.
// The audit trail keeps the latest kMaxAuditRecords records.
//
// Thread-safety: all methods may be called concurrently. check() and recent() take a shared
// lock (never held across I/O); record() and forgetBefore() are serialized among themselves and
// hold the exclusive lock only to apply an already-persisted change. No method throws.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "purge/purge_request.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace strata::purge {

struct AuditRecord {
  std::int64_t atMicros = 0;  // Time of the purge (the `nowMicros` given to record()).
  std::string actor;          // Who asked (admin token name, "PURGE method", ...).
  std::string client;         // Client address.
  std::string what;           // Short description, e.g. "tags=[a,b] soft".
  std::string id;             // The purge id returned by record().
};

class PurgeState {
 public:
  // Audit records kept (older ones are deleted in the batch that adds a new one).
  static constexpr std::size_t kMaxAuditRecords = 1000;

  struct Options {
    std::string dir;                         // RocksDB directory; created if missing.
    std::size_t writeBufferBytes = 1 << 20;  // Default: 1 MiB memtable.
    rocksdb::Env* env = nullptr;             // Default: the default Env (tests inject faults).
  };

  // Opens (or creates) the state in `dir` and loads every rule and audit record. On failure
  // returns nullptr and sets *error (if non-null) to a one-line message, e.g.
  // "cannot open purge state /x: IO error: ...". A record that cannot be decoded fails the open
  // (ignoring it could serve purged content).
  static std::unique_ptr<PurgeState> open(const std::string& dir, std::string* error);
  static std::unique_ptr<PurgeState> open(const Options& options, std::string* error);
  ~PurgeState();

  PurgeState(const PurgeState&) = delete;
  PurgeState& operator=(const PurgeState&) = delete;

  struct Applied {
    std::string id;             // "p-" + 16 hex digits, unique in this state; empty on failure.
    std::uint64_t rules = 0;    // Rules recorded: URLs + prefixes + tags, or 1 for all.
    std::int64_t atMicros = 0;  // The purge time (nowMicros).
  };

  // Records `request` (as produced by parsePurgeRequest: urls and prefixes are cache keys) at
  // `nowMicros` (wall clock, microseconds since the epoch), with an audit record naming `actor`
  // and `client`. The rules and the audit record are written in one synced batch, then applied
  // in memory. On failure (write error, empty request) returns an Applied with an empty id, sets
  // *error (if non-null) to a one-line message and changes nothing.
  Applied record(const PurgeRequest& request, std::int64_t nowMicros, const std::string& actor,
                 const std::string& client, std::string* error);

  enum class Verdict { kNone, kSoft, kHard };

  // Whether the entry with base key `baseKey` (the key shared by all its Vary variants), purge
  // tags `tags` (see tagsFromHeaders) and fetched at `fetchedAtMicros` is purged: by a rule
  // recorded at atMicros with fetchedAtMicros < atMicros that matches (URL rule: baseKey equal;
  // prefix rule: baseKey starts with it; tag rule: any tag equal; all). kHard if any hard rule
  // matches, else kSoft if any soft rule matches, else kNone. Callers should pass the time the
  // origin request was sent, so a fetch that raced with a purge counts as older.
  Verdict check(std::string_view baseKey, const std::vector<std::string>& tags,
                std::int64_t fetchedAtMicros) const;

  // The latest `n` audit records, newest first.
  std::vector<AuditRecord> recent(std::size_t n) const;

  // Drops every rule time older than `micros` (a target whose hard and soft times both go is
  // removed), durably. Contract: call it only once no entry fetched before `micros` remains in
  // any cache tier (the background reclaimer has removed them); such rules can no longer match
  // and dropping them cannot resurrect anything. Returns false and sets *error (if non-null) on
  // a write failure, in which case nothing changes.
  bool forgetBefore(std::int64_t micros, std::string* error = nullptr);

  struct Stats {
    std::size_t urlRules = 0;
    std::size_t prefixRules = 0;
    std::size_t tagRules = 0;
    std::size_t prefixLengths = 0;   // Distinct prefix lengths (the prefix part of check()'s cost).
    std::int64_t allHardMicros = 0;  // 0 when there is no such rule.
    std::int64_t allSoftMicros = 0;
    std::size_t auditRecords = 0;
  };
  Stats stats() const;

  class Impl;

 private:
  explicit PurgeState(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::purge

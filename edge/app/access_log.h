#pragma once
// Access-log lines (combined format or JSON lines) and the rotated, asynchronous file logger
// they are written through.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "edge/pipeline/request_record.h"

namespace Poco {
class Logger;
}

namespace strata::edge::app {

enum class AccessLogFormat { kCombined, kJson };
// "combined" or "json".
std::optional<AccessLogFormat> parseAccessLogFormat(std::string_view text);

// One line, no newline. Combined: the NCSA combined format plus the Cache-Status value in
// quotes; quotes, backslashes and control bytes in quoted fields are escaped as \" \\ \xNN.
//   127.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8" "edge; hit"
// JSON: one object with time (RFC 3339, UTC, microseconds), client, method, target, host,
// protocol, status, bytes, duration_ms, referer, user_agent, cache_status and cache (the class
// of cacheStatusClass()); strings escaped by appendJsonString().
std::string formatAccessLine(AccessLogFormat format, const pipeline::RequestRecord& record,
                             std::int64_t unixMicros);

// Appends `value` as a JSON string literal (with its quotes). Valid UTF-8 passes through; ",
// \ and control characters are escaped; a byte that is not part of valid UTF-8 becomes the
// visible text \xNN, so the output is always valid JSON.
void appendJsonString(std::string& out, std::string_view value);

// The cache outcome of a response, from the last (this node's) entry of its Cache-Status:
// "hit", "stale" (served stale), "miss", "revalidated" (a 304 refreshed the entry), "coalesced"
// (waited for another request's fetch), "bypass", or "none" (no Cache-Status was sent).
std::string_view cacheStatusClass(std::string_view cacheStatus);

struct RotationOptions {
  std::uint64_t sizeBytes = 100ull << 20;  // Rotate when the file reaches this size.
  int keep = 5;                            // Archived files kept (FILE.0 newest ... FILE.N-1).
};

// A logger named `name` writing each message's text as a line to `path` through a POCO
// AsyncChannel (a background writer thread) and a rotating FileChannel. Returns nullptr with
// `error` (POCO's reason) when the file cannot be opened. closeLog() flushes what is queued and
// destroys it.
Poco::Logger* openLogFile(const std::string& name, const std::string& path,
                          const RotationOptions& rotation, bool async, std::string* error);
void closeLog(Poco::Logger* logger);

}  // namespace strata::edge::app

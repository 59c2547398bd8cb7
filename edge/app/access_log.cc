#include "edge/app/access_log.h"

#include <Poco/AsyncChannel.h>
#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/FileChannel.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace strata::edge::app {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the byte does not start one.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned min = 0;
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
    min = 0x80;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    min = 0x800;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  unsigned cp = b & (0x7f >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// A combined-format field in double quotes, with quotes, backslashes and control bytes escaped.
void appendQuoted(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

void appendDash(std::string& out, std::string_view value) {
  appendQuoted(out, value.empty() ? std::string_view("-") : value);
}

std::tm utc(std::int64_t unixMicros) {
  const std::time_t seconds = static_cast<std::time_t>(unixMicros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

}  // namespace

std::optional<AccessLogFormat> parseAccessLogFormat(std::string_view text) {
  if (text == "combined") return AccessLogFormat::kCombined;
  if (text == "json") return AccessLogFormat::kJson;
  return std::nullopt;
}

void appendJsonString(std::string& out, std::string_view value) {
  out += '"';
  for (std::size_t i = 0; i < value.size();) {
    const auto u = static_cast<unsigned char>(value[i]);
    if (u >= 0x80) {
      if (std::size_t n = utf8Length(value, i)) {
        out.append(value.substr(i, n));
        i += n;
      } else {
        out += "\\\\x";
        out += kHex[u >> 4];
        out += kHex[u & 15];
        ++i;
      }
      continue;
    }
    switch (value[i]) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += value[i];
        }
    }
    ++i;
  }
  out += '"';
}

std::string_view cacheStatusClass(std::string_view cacheStatus) {
  // This node's entry is the last one (RFC 9211 §2: caches append their entry).
  if (auto comma = cacheStatus.rfind(','); comma != std::string_view::npos) {
    cacheStatus = cacheStatus.substr(comma + 1);
  }
  // One pass over the parameters, each "; name" or "; name=value" after the cache's name.
  bool hit = false, stale = false, collapsed = false, notModified = false;
  std::string_view fwd;
  bool forwarded = false;
  for (std::size_t at = cacheStatus.find(';'); at != std::string_view::npos;) {
    const std::size_t next = cacheStatus.find(';', at + 1);
    std::string_view param = cacheStatus.substr(
        at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1);
    at = next;
    if (param.empty() || param.front() != ' ') continue;
    param.remove_prefix(1);
    if (param == "hit") {
      hit = true;
    } else if (param == "detail=stale") {
      stale = true;
    } else if (param == "collapsed") {
      collapsed = true;
    } else if (param == "fwd-status=304") {
      notModified = true;
    } else if (param.substr(0, 4) == "fwd=") {
      forwarded = true;
      fwd = param.substr(4);
    }
  }
  if (hit) return stale ? "stale" : "hit";
  if (collapsed) return "coalesced";
  if (fwd == "bypass" || fwd == "request") return "bypass";
  if (fwd == "stale" && notModified) return "revalidated";
  if (forwarded) return "miss";
  return "none";
}

std::string formatAccessLine(AccessLogFormat format, const pipeline::RequestRecord& r,
                             std::int64_t unixMicros) {
  std::string line;
  line.reserve(256 + r.target.size() + r.userAgent.size());
  const std::tm tm = utc(unixMicros);
  char date[64];
  if (format == AccessLogFormat::kCombined) {
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::snprintf(date, sizeof date, "[%02d/%s/%04d:%02d:%02d:%02d +0000]", tm.tm_mday,
                  kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    line += r.clientAddress;
    line += " - - ";
    line += date;
    line += ' ';
    std::string requestLine = r.method;
    requestLine += ' ';
    requestLine += r.target;
    requestLine += ' ';
    requestLine += r.version;
    appendQuoted(line, requestLine);
    line += ' ';
    line += std::to_string(r.status);
    line += ' ';
    line += r.bytes ? std::to_string(r.bytes) : "-";
    line += ' ';
    appendDash(line, r.referer);
    line += ' ';
    appendDash(line, r.userAgent);
    line += ' ';
    appendQuoted(line, r.cacheStatus);
    return line;
  }
  std::snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(unixMicros % 1'000'000));
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", static_cast<double>(r.durationMicros) / 1000.0);
  line += "{\"time\":\"";
  line += date;
  line += "\",\"client\":";
  appendJsonString(line, r.clientAddress);
  line += ",\"method\":";
  appendJsonString(line, r.method);
  line += ",\"target\":";
  appendJsonString(line, r.target);
  line += ",\"host\":";
  appendJsonString(line, r.host);
  line += ",\"protocol\":";
  appendJsonString(line, r.version);
  line += ",\"status\":";
  line += std::to_string(r.status);
  line += ",\"bytes\":";
  line += std::to_string(r.bytes);
  line += ",\"duration_ms\":";
  line += duration;
  line += ",\"referer\":";
  appendJsonString(line, r.referer);
  line += ",\"user_agent\":";
  appendJsonString(line, r.userAgent);
  line += ",\"cache_status\":";
  appendJsonString(line, r.cacheStatus);
  line += ",\"cache\":\"";
  line += cacheStatusClass(r.cacheStatus);
  line += "\"}";
  return line;
}

Poco::Logger* openLogFile(const std::string& name, const std::string& path,
                          const RotationOptions& rotation, bool async, std::string* error) {
  try {
    Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(path));
    // POCO parses the size as an int: whole KiB (at least one) keeps large sizes in range.
    file->setProperty("rotation",
                      std::to_string(std::max<std::uint64_t>(rotation.sizeBytes >> 10, 1)) + " K");
    file->setProperty("archive", "number");
    file->setProperty("purgeCount", std::to_string(rotation.keep));
    file->open();
    Poco::AutoPtr<Poco::Channel> channel = file;
    if (async) {
      // Requests never wait for the disk: lines are queued and written by the channel's thread.
      Poco::AutoPtr<Poco::AsyncChannel> queued(new Poco::AsyncChannel(file));
      queued->open();
      channel = queued;
    }
    // Loggers are process-global by name: an existing one (a previous node in the same
    // process) is replaced.
    if (Poco::Logger::has(name)) Poco::Logger::destroy(name);
    return &Poco::Logger::create(name, channel, Poco::Message::PRIO_INFORMATION);
  } catch (const Poco::Exception& e) {
    *error = e.displayText();
    return nullptr;
  }
}

void closeLog(Poco::Logger* logger) {
  if (!logger) return;
  if (auto channel = logger->getChannel()) channel->close();  // AsyncChannel: drains first.
  Poco::Logger::destroy(logger->name());
}

}  // namespace strata::edge::app

#include "edge/server/access_log.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

namespace strata::edge::server {
namespace {

// A log field in double quotes, with quotes, backslashes and control bytes escaped.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

void logAccess(Poco::Logger& log, const pipeline::ClientRequest& in,
               const ExchangeSummary& summary) {
  std::string line = in.clientAddress;
  line += " - - [";
  line += Poco::DateTimeFormatter::format(Poco::Timestamp(), "%d/%b/%Y:%H:%M:%S +0000");
  line += "] ";
  line += quoted(in.method + " " + in.target + (in.http10 ? " HTTP/1.0" : " HTTP/1.1"));
  line += ' ';
  line += std::to_string(summary.status);
  line += ' ';
  line += summary.bytes ? std::to_string(summary.bytes) : "-";
  line += ' ';
  line += quoted(in.headers.get("Referer").value_or("-"));
  line += ' ';
  line += quoted(in.headers.get("User-Agent").value_or("-"));
  line += ' ';
  line += quoted(summary.cacheStatus);
  log.information(line);
}

}  // namespace strata::edge::server

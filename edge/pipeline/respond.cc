#include "edge/pipeline/respond.h"

#include <Poco/Logger.h>

#include <random>

#include "edge/pipeline/forwarding.h"
#include "edge/pipeline/proxy_pipeline.h"
#include "edge/policy/conditional.h"
#include "edge/policy/range.h"

namespace strata::edge::pipeline {

bool responseHasNoBody(const std::string& method, int status) {
  return method == "HEAD" || status < 200 || status == 204 || status == 304;
}

namespace {

bool isHidden(std::string_view name, const std::vector<std::string>& hidden) {
  for (const auto& h : hidden) {
    if (http::iequals(name, h)) return true;
  }
  return false;
}

bool hidesAny(const http::HeaderList& headers, const std::vector<std::string>& hidden) {
  for (const auto& field : headers.fields()) {
    if (isHidden(field.first, hidden)) return true;
  }
  return false;
}

}  // namespace

http::HeaderList servedHeaders(const http::HeaderList& base, const std::string& nodeName,
                               const policy::CacheStatus& status, std::optional<std::int64_t> age,
                               const std::vector<std::string>& hidden) {
  // One pass over `base`, into a vector with room for the fields added below (a copy followed by
  // removals scanned it four times and grew the copy).
  http::HeaderList headers;
  auto& out = headers.fields();
  out.reserve(base.fields().size() + 3);
  for (const auto& field : base.fields()) {
    const std::string& name = field.first;
    // Purge tags are for this node, not for clients.
    if (http::iequals(name, "Content-Length") || http::iequals(name, "Surrogate-Key") ||
        http::iequals(name, "Cache-Tag") || (age && http::iequals(name, "Age")) ||
        isHidden(name, hidden)) {
      continue;
    }
    out.push_back(field);
  }
  if (age) headers.add("Age", std::to_string(*age));  // RFC 9111 §5.1
  appendVia(headers, nodeName);
  headers.add("Cache-Status", status.format(nodeName));
  return headers;
}

http::HeaderList withoutHidden(const http::HeaderList& headers,
                               const std::vector<std::string>& hidden) {
  http::HeaderList out;
  out.fields().reserve(headers.fields().size() + 1);  // + Strict-Transport-Security
  for (const auto& [name, value] : headers.fields()) {
    if (!isHidden(name, hidden)) out.add(name, value);
  }
  return out;
}

void ProtectingSink::sendInterim(int status, const std::string& reason,
                                 const http::HeaderList& headers) {
  inner_.sendInterim(status, reason, withoutHidden(headers, hidden_));
}

void ProtectingSink::sendHead(int status, const std::string& reason,
                              const http::HeaderList& headers, std::int64_t contentLength) {
  if (hsts_.empty() && !hidesAny(headers, hidden_)) {
    inner_.sendHead(status, reason, headers, contentLength);  // Nothing to change: no copy.
    return;
  }
  http::HeaderList out = withoutHidden(headers, hidden_);
  if (!hsts_.empty()) out.set("Strict-Transport-Security", hsts_);  // RFC 6797 §7.1
  inner_.sendHead(status, reason, out, contentLength);
}

http::HeaderList notModifiedFields(const http::HeaderList& full) {
  http::HeaderList out;
  for (const auto& [name, value] : full.fields()) {
    for (const char* keep : {"Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary",
                             "Last-Modified", "CDN-Cache-Control", "Cache-Status", "Age"}) {
      if (http::iequals(name, keep)) out.add(name, value);
    }
  }
  return out;
}

namespace {

Poco::Logger& logger() { return Poco::Logger::get("strata.pipeline"); }

std::string multipartBoundary() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string boundary = "strata-";
  for (int i = 0; i < 24; ++i) boundary += kHex[device() % 16];
  return boundary;
}

// The part heads and closing delimiter of a multipart/byteranges body (RFC 9110 §14.6).
struct Multipart {
  std::string boundary;
  std::vector<std::string> partHeads;
  std::string closing;
  std::int64_t length = 0;
};

Multipart planMultipart(const std::vector<policy::ByteRange>& ranges, std::uint64_t size,
                        const std::string& contentType) {
  Multipart m;
  m.boundary = multipartBoundary();
  for (const auto& r : ranges) {
    std::string head = "\r\n--" + m.boundary + "\r\n";
    if (!contentType.empty()) head += "Content-Type: " + contentType + "\r\n";
    head += "Content-Range: " + policy::contentRangeValue(r, size) + "\r\n\r\n";
    m.length += static_cast<std::int64_t>(head.size() + (r.last - r.first + 1));
    m.partHeads.push_back(std::move(head));
  }
  m.closing = "\r\n--" + m.boundary + "--\r\n";
  m.length += static_cast<std::int64_t>(m.closing.size());
  return m;
}

// Writes body bytes [first, last] of a stored object. False when the client went away or a
// chunk was missing or corrupt (the caller cuts the response). The chunks of an object held in
// memory go out up to kPiecesPerSend at a time (one writev for a 4 MiB body instead of 16);
// chunks read from disk go one at a time, so a slow reader holds one chunk's memory.
bool writeStoredRange(const storage::StoredObject& object, std::uint64_t first, std::uint64_t last,
                      ResponseSink& sink, Stats& stats) {
  constexpr std::size_t kPiecesPerSend = 16;
  const std::size_t batch = object.resident() ? kPiecesPerSend : 1;
  storage::Chunk held[kPiecesPerSend];
  std::string_view pieces[kPiecesPerSend];
  std::uint64_t offset = first;
  while (offset <= last) {
    std::size_t count = 0;
    std::uint64_t bytes = 0;
    while (count < batch && offset <= last) {
      const std::size_t index = static_cast<std::size_t>(offset / storage::kChunkSize);
      storage::Chunk chunk = object.chunk(index);
      const std::size_t within = static_cast<std::size_t>(offset % storage::kChunkSize);
      if (!chunk || within >= chunk->size()) {
        Stats::add(stats.corruptBodies);
        logger().warning("event=corrupt_body key=%s chunk=%z", object.meta().key, index);
        return false;
      }
      const std::size_t take = static_cast<std::size_t>(
          std::min<std::uint64_t>(chunk->size() - within, last - offset + 1));
      pieces[count] = std::string_view(chunk->data() + within, take);
      held[count++] = std::move(chunk);
      bytes += take;
      offset += take;
    }
    if (!sink.write(pieces, count)) {
      Stats::add(stats.clientAborts);
      return false;
    }
    Stats::add(stats.bytesToClients, bytes);
  }
  return true;
}

}  // namespace

bool ProxyPipeline::answerPreconditions(const ClientRequest& request, int responseStatus,
                                        const http::HeaderList& responseHeaders,
                                        std::optional<std::int64_t> age, std::int64_t length,
                                        const policy::CacheStatus& status, ResponseSink& sink) {
  switch (policy::evaluatePreconditions(request.method, request.headers, responseStatus,
                                        responseHeaders)) {
    case policy::Precondition::kNotModified:
      Stats::add(stats_.notModified);
      // A 304 may carry the Content-Length of the full response (RFC 9110 §8.6).
      sink.sendHead(304, "",
                    servedHeaders(notModifiedFields(responseHeaders), options_.nodeName, status,
                                  age, options_.hiddenHeaders),
                    length);
      sink.finish();
      return true;
    case policy::Precondition::kFailed:
      sendError(412, "Precondition Failed", "a precondition of the request is not met", status,
                sink);
      return true;
    case policy::Precondition::kNone:
      break;
  }
  return false;
}

void ProxyPipeline::serveStored(const ClientRequest& request, const storage::StoredObject& object,
                                std::int64_t age, policy::CacheStatus status, ResponseSink& sink) {
  serveStored(request, object, http::HeaderList(object.meta().headers), age, status, sink);
}

void ProxyPipeline::serveStored(const ClientRequest& request, const storage::StoredObject& object,
                                const http::HeaderList& stored, std::int64_t age,
                                policy::CacheStatus status, ResponseSink& sink) {
  const auto& meta = object.meta();
  const auto size = meta.bodySize;

  // Conditional requests answered from cache (RFC 9111 §4.3.2, RFC 9110 §13.2).
  if (answerPreconditions(request, meta.status, stored, age, static_cast<std::int64_t>(size),
                          status, sink)) {
    return;
  }

  http::HeaderList headers =
      servedHeaders(stored, options_.nodeName, status, age, options_.hiddenHeaders);
  // Ranges from the stored full response (RFC 9110 §14).
  if (request.method == "GET" && meta.status == 200 && request.headers.has("Range") &&
      policy::ifRangeAllows(request.headers, stored)) {
    auto range = policy::evaluateRange(request.headers.combined("Range").value_or(""), size);
    if (range.outcome == policy::RangeOutcome::kUnsatisfiable) {
      headers.add("Content-Range", policy::unsatisfiedContentRange(size));
      sink.sendHead(416, "", headers, 0);
      sink.finish();
      return;
    }
    if (range.outcome == policy::RangeOutcome::kPartial) {
      Stats::add(stats_.rangesServed);
      if (range.ranges.size() == 1) {
        const auto& r = range.ranges.front();
        headers.add("Content-Range", policy::contentRangeValue(r, size));
        sink.sendHead(206, "", headers, static_cast<std::int64_t>(r.last - r.first + 1));
        if (writeStoredRange(object, r.first, r.last, sink, stats_)) {
          sink.finish();
        } else {
          sink.abort();
        }
        return;
      }
      const std::string contentType = std::string(stored.get("Content-Type").value_or(""));
      Multipart m = planMultipart(range.ranges, size, contentType);
      headers.remove("Content-Type");
      headers.add("Content-Type", "multipart/byteranges; boundary=" + m.boundary);
      sink.sendHead(206, "", headers, m.length);
      for (std::size_t i = 0; i < range.ranges.size(); ++i) {
        const auto& r = range.ranges[i];
        if (!sink.write(m.partHeads[i].data(), m.partHeads[i].size()) ||
            !writeStoredRange(object, r.first, r.last, sink, stats_)) {
          sink.abort();
          return;
        }
      }
      if (!sink.write(m.closing.data(), m.closing.size())) {
        sink.abort();
        return;
      }
      sink.finish();
      return;
    }
  }

  sink.sendHead(meta.status, "", headers, static_cast<std::int64_t>(size));
  if (responseHasNoBody(request.method, meta.status) || size == 0) {
    sink.finish();
    return;
  }
  if (writeStoredRange(object, 0, size - 1, sink, stats_)) {
    sink.finish();
  } else {
    // The store found a chunk missing or corrupt and removed the entry: cut the response
    // rather than send a body that is not the origin's.
    sink.abort();
  }
}

void ProxyPipeline::streamFill(const ClientRequest& request, Fill::Reader& reader,
                               const FillHead& head, policy::CacheStatus status,
                               ResponseSink& sink) {
  // RFC 9110 §15.2: a proxy forwards 1xx responses it did not ask for.
  for (const auto& interim : head.interims) {
    sink.sendInterim(interim.status, interim.reason, interim.headers);
  }
  if (answerPreconditions(request, head.status, head.headers, std::nullopt,
                          head.contentLength >= 0 ? head.contentLength : -2, status, sink)) {
    return;
  }
  http::HeaderList headers =
      servedHeaders(head.headers, options_.nodeName, status, std::nullopt, options_.hiddenHeaders);
  std::uint64_t first = 0;
  std::int64_t length = responseHasNoBody(request.method, head.status) && request.method != "HEAD"
                            ? 0
                            : head.contentLength;
  int code = head.status;
  // A single range is served from the arriving body; several ranges get the full response,
  // which RFC 9110 §14.2 allows.
  if (request.method == "GET" && head.status == 200 && head.contentLength >= 0 &&
      request.headers.has("Range") && policy::ifRangeAllows(request.headers, head.headers)) {
    const auto size = static_cast<std::uint64_t>(head.contentLength);
    auto range = policy::evaluateRange(request.headers.combined("Range").value_or(""), size);
    if (range.outcome == policy::RangeOutcome::kUnsatisfiable) {
      headers.add("Content-Range", policy::unsatisfiedContentRange(size));
      sink.sendHead(416, "", headers, 0);
      sink.finish();
      return;
    }
    if (range.outcome == policy::RangeOutcome::kPartial && range.ranges.size() == 1) {
      Stats::add(stats_.rangesServed);
      const auto& r = range.ranges.front();
      headers.add("Content-Range", policy::contentRangeValue(r, size));
      first = r.first;
      length = static_cast<std::int64_t>(r.last - r.first + 1);
      code = 206;
    }
  }
  sink.sendHead(code, code == head.status ? head.reason : "", headers, length);
  if (request.method == "HEAD" || length == 0) {
    sink.finish();
    return;
  }
  if (length < 0 || length > kEagerHeadBytes) sink.flush();
  std::uint64_t offset = first;
  const std::uint64_t end = length >= 0 ? first + static_cast<std::uint64_t>(length) : UINT64_MAX;
  while (offset < end) {
    auto piece =
        reader.fill().read(reader, offset, std::chrono::steady_clock::now() + options_.bodyWait);
    if (piece.state == Fill::Piece::State::kEnd) break;
    if (piece.state != Fill::Piece::State::kData) {
      sink.abort();  // The origin broke off, timed out, or this client stalled the fill.
      return;
    }
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(piece.end - piece.begin, end - offset));
    if (length >= 0 && offset + take == end) {
      // Before the last bytes go out, let the fill end (its entry is committed by then), so a
      // client that has the whole response finds it stored on its next request.
      auto last = reader.fill().read(reader, static_cast<std::uint64_t>(head.contentLength),
                                     std::chrono::steady_clock::now() + options_.bodyWait);
      if (last.state == Fill::Piece::State::kFailed) {
        sink.abort();
        return;
      }
    }
    if (!sink.write(piece.data->data() + piece.begin, take)) {
      Stats::add(stats_.clientAborts);
      sink.abort();
      return;
    }
    Stats::add(stats_.bytesToClients, take);
    offset += take;
  }
  if (length >= 0 && offset < end) {
    sink.abort();
    return;
  }
  sink.finish();
}

void ProxyPipeline::sendError(int status, const std::string& reason, const std::string& message,
                              const policy::CacheStatus& cacheStatus, ResponseSink& sink,
                              const http::HeaderList& extra) {
  http::HeaderList headers = extra;
  headers.add("Content-Type", "text/plain; charset=utf-8");
  headers.add("Cache-Control", "no-store");  // The node's own errors are never cached.
  headers =
      servedHeaders(headers, options_.nodeName, cacheStatus, std::nullopt, options_.hiddenHeaders);
  std::string body = std::to_string(status) + " " + reason + ": " + message + "\n";
  sink.sendHead(status, reason, headers, static_cast<std::int64_t>(body.size()));
  if (sink.write(body.data(), body.size())) {
    sink.finish();
  } else {
    sink.abort();
  }
}

}  // namespace strata::edge::pipeline

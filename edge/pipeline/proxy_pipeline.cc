#include "edge/pipeline/proxy_pipeline.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <array>
#include <utility>

#include "edge/pipeline/forwarding.h"
#include "edge/policy/cache_key_builder.h"
#include "edge/policy/cacheability.h"
#include "edge/policy/freshness.h"
#include "edge/policy/vary.h"

namespace strata::edge::pipeline {
namespace {

constexpr std::size_t kCopyBufferSize = 64 * 1024;

Poco::Logger& logger() { return Poco::Logger::get("strata.pipeline"); }

// Bodies are forbidden for HEAD and for 1xx, 204 and 304 responses (RFC 9110 §6.4.1).
bool responseHasNoBody(const std::string& method, int status) {
  return method == "HEAD" || status < 200 || status == 204 || status == 304;
}

// Fields the node computes itself when it serves a response.
void dropServedFields(http::HeaderList& headers) {
  headers.remove("Age");
  headers.remove("Content-Length");
}

}  // namespace

ProxyPipeline::ProxyPipeline(PipelineOptions options, storage::CacheStore& store,
                             origin::OriginRouter& router, Stats& stats, Clock clock)
    : options_(std::move(options)),
      store_(store),
      router_(router),
      stats_(stats),
      clock_(std::move(clock)) {}

void ProxyPipeline::handle(const ClientRequest& request, ResponseSink& sink) {
  Stats::add(stats_.requests);
  Stats::add(stats_.inFlight, 1);
  struct InFlight {
    Stats& stats;
    ~InFlight() { Stats::add(stats.inFlight, -1); }
  } inFlight{stats_};
  if (viaContains(request.headers, options_.nodeName)) {
    Stats::add(stats_.loops);
    policy::CacheStatus status;
    status.detail = "loop";
    sendError(508, "Loop Detected", "request loop detected: it has passed this node already",
              status.format(options_.nodeName), sink);
    return;
  }

  if (policy::classifyRequest(request.method, request.headers) ==
      policy::RequestDisposition::kBypass) {
    Stats::add(stats_.bypass);
    forward(request, nullptr, policy::ForwardReason::kBypass, sink);
    return;
  }

  storage::CacheKey key(policy::buildCacheKey(request.scheme, request.host, request.target));
  policy::ForwardReason fwd = policy::ForwardReason::kUriMiss;
  if (auto object = store_.lookup(key)) {
    const auto& meta = object->meta();
    http::HeaderList stored(meta.headers);
    const std::int64_t now = clock_();
    const std::int64_t lifetime =
        policy::explicitFreshnessLifetime(stored, meta.responseTime).value_or(0);
    const std::int64_t age = policy::currentAge(stored, meta.requestTime, meta.responseTime, now);
    // The stored variant answers only requests with the same selecting headers (RFC 9111 §4.1).
    // One variant per URL for now; a mismatch refetches and replaces it.
    auto vary = policy::varySignature(stored, request.headers);
    if (!vary || *vary != meta.extra) {
      Stats::add(stats_.misses);
      fwd = policy::ForwardReason::kVaryMiss;
    } else if (age < lifetime) {
      Stats::add(stats_.hits);
      serveStored(request, *object, key, age, lifetime, sink);
      return;
    } else {
      Stats::add(stats_.stale);
      fwd = policy::ForwardReason::kStale;
    }
  } else {
    Stats::add(stats_.misses);
  }
  forward(request, &key, fwd, sink);
}

void ProxyPipeline::serveStored(const ClientRequest& request, const storage::StoredObject& object,
                                const storage::CacheKey& key, std::int64_t age,
                                std::int64_t lifetime, ResponseSink& sink) {
  const auto& meta = object.meta();
  http::HeaderList headers(meta.headers);
  dropServedFields(headers);
  headers.add("Age", std::to_string(age));  // RFC 9111 §5.1
  appendVia(headers, options_.nodeName);
  policy::CacheStatus status;
  status.hit = true;
  status.ttl = lifetime - age;
  headers.add("Cache-Status", status.format(options_.nodeName));

  const bool noBody = responseHasNoBody(request.method, meta.status);
  sink.sendHead(meta.status, "", headers, static_cast<std::int64_t>(meta.bodySize));
  if (noBody) {
    sink.finish();
    return;
  }
  for (std::size_t i = 0; i < object.chunkCount(); ++i) {
    storage::Chunk chunk = object.chunk(i);
    if (!chunk) {
      // The store found the chunk missing or corrupt and removed the entry: cut the response
      // rather than send a body that is not the origin's.
      Stats::add(stats_.corruptBodies);
      logger().warning("event=corrupt_body key=%s chunk=%z", key.text(), i);
      sink.abort();
      return;
    }
    if (!sink.write(chunk->data(), chunk->size())) {
      Stats::add(stats_.clientAborts);
      sink.abort();
      return;
    }
    Stats::add(stats_.bytesToClients, chunk->size());
  }
  sink.finish();
}

void ProxyPipeline::forward(const ClientRequest& request, const storage::CacheKey* key,
                            policy::ForwardReason fwd, ResponseSink& sink) {
  origin::OriginRequest out;
  out.method = request.method;
  out.target = request.target;
  out.headers = request.headers;
  stripHopByHop(out.headers);
  appendVia(out.headers, options_.nodeName);
  addForwardedFor(out.headers, request.clientAddress, request.scheme);
  if (!out.headers.has("Host")) out.headers.add("Host", request.host);
  out.body = request.body;
  out.contentLength = request.contentLength;

  policy::CacheStatus status;
  status.fwd = fwd;
  const std::int64_t requestTime = clock_();
  Stats::add(stats_.originFetches);
  origin::FetchFailure failure = origin::FetchFailure::kNone;
  std::string error;
  auto response = router_.fetch(request.host, out, &failure, &error);
  if (!response) {
    Stats::add(stats_.originErrors);
    logger().warning("event=origin_error stage=%s method=%s host=%s target=%s error=\"%s\"",
                     std::string(origin::toString(failure)), request.method, request.host,
                     request.target, error);
    status.detail = "origin-unreachable";
    sendError(502, "Bad Gateway", "the origin could not be reached",
              status.format(options_.nodeName), sink);
    return;
  }
  const std::int64_t responseTime = clock_();
  status.fwdStatus = response->status();

  http::HeaderList headers = response->headers();
  stripHopByHop(headers);
  const bool noBody = responseHasNoBody(request.method, response->status());
  const std::int64_t length = noBody ? 0 : response->contentLength();

  // Store decision (RFC 9111 §3), made before the body arrives so the body streams straight into
  // the store while it goes to the client.
  std::unique_ptr<storage::EntryWriter> writer;
  if (key && request.method == "GET" &&
      (length < 0 || static_cast<std::uint64_t>(length) <= options_.maxObjectBytes)) {
    auto decision =
        policy::decideStore(request.method, request.headers, response->status(), headers);
    auto lifetime = policy::explicitFreshnessLifetime(headers, responseTime);
    auto vary = policy::varySignature(headers, request.headers);
    if (decision == policy::StoreDecision::kStore && lifetime.value_or(0) > 0 && vary) {
      storage::EntryMeta meta;
      meta.extra = *vary;
      meta.key = key->text();
      meta.status = response->status();
      meta.headers = headers.fields();
      meta.requestTime = requestTime;
      meta.responseTime = responseTime;
      writer = store_.beginWrite(*key, std::move(meta), length);
      status.stored = writer != nullptr;
    }
  }

  http::HeaderList clientHeaders = headers;
  clientHeaders.remove("Content-Length");
  appendVia(clientHeaders, options_.nodeName);
  clientHeaders.add("Cache-Status", status.format(options_.nodeName));
  sink.sendHead(response->status(), response->reason(), clientHeaders, length);
  if (noBody) {
    if (writer && writer->commit()) Stats::add(stats_.stored);
    sink.finish();
    return;
  }

  std::array<char, kCopyBufferSize> buffer;
  std::uint64_t total = 0;
  bool clientGone = false;
  while (true) {
    std::int64_t n = response->read(buffer.data(), buffer.size());
    if (n < 0) {
      Stats::add(stats_.originErrors);
      logger().warning("event=origin_body_error host=%s target=%s received=%s error=\"%s\"",
                       request.host, request.target, std::to_string(total), response->error());
      writer.reset();  // Never store a partial object.
      sink.abort();
      return;
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    Stats::add(stats_.bytesFromOrigin, static_cast<std::uint64_t>(n));
    if (writer &&
        (total > options_.maxObjectBytes || !writer->append(std::string_view(buffer.data(), n)))) {
      writer.reset();
      Stats::add(stats_.storeFailures);
    }
    if (!clientGone) {
      if (sink.write(buffer.data(), static_cast<std::size_t>(n))) {
        Stats::add(stats_.bytesToClients, static_cast<std::uint64_t>(n));
      } else {
        clientGone = true;
        Stats::add(stats_.clientAborts);
      }
    }
    // Without a client, keep reading only to complete a fill that is being stored.
    if (clientGone && !writer) break;
  }
  if (writer) {
    if (writer->commit()) {
      Stats::add(stats_.stored);
    } else {
      Stats::add(stats_.storeFailures);
    }
  }
  if (clientGone) {
    sink.abort();
  } else {
    sink.finish();
  }
}

void ProxyPipeline::sendError(int status, const std::string& reason, const std::string& message,
                              const std::string& cacheStatus, ResponseSink& sink) {
  http::HeaderList headers;
  headers.add("Content-Type", "text/plain; charset=utf-8");
  headers.add("Cache-Control", "no-store");
  headers.add("Cache-Status", cacheStatus);
  appendVia(headers, options_.nodeName);
  std::string body = std::to_string(status) + " " + reason + ": " + message + "\n";
  sink.sendHead(status, reason, headers, static_cast<std::int64_t>(body.size()));
  if (sink.write(body.data(), body.size())) {
    sink.finish();
  } else {
    sink.abort();
  }
}

}  // namespace strata::edge::pipeline

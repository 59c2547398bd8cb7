#pragma once
// The request pipeline: route, classify, look up, decide, fetch, store, respond. Socket-free:
// the server adapter hands it a ClientRequest and a ResponseSink; the origin side is reached
// through OriginRouter. Every caching decision comes from edge/policy.
// Thread-safety: handle() is called concurrently from server threads; the pipeline holds no
// per-request state.

#include <cstdint>
#include <functional>
#include <istream>
#include <string>

#include "edge/http/header_list.h"
#include "edge/origin/origin_router.h"
#include "edge/pipeline/stats.h"
#include "edge/policy/cache_status.h"
#include "storage/cache_store.h"

namespace strata::edge::pipeline {

struct ClientRequest {
  std::string method;
  std::string target;  // Origin-form path and query.
  std::string host;    // Host header value (with port, if any).
  std::string scheme = "http";
  std::string clientAddress;
  bool http10 = false;
  http::HeaderList headers;
  std::istream* body = nullptr;     // nullptr when the request has no body.
  std::int64_t contentLength = -1;  // -1 when the body is chunked.
};

// Where the response goes. Implemented by the server adapter (and by tests).
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Sends status and headers. `contentLength` -1: length unknown (chunked or close-delimited).
  virtual void sendHead(int status, const std::string& reason, const http::HeaderList& headers,
                        std::int64_t contentLength) = 0;
  // Sends body bytes; false once the client is gone.
  virtual bool write(const char* data, std::size_t size) = 0;
  // Ends a complete response.
  virtual void finish() = 0;
  // Ends an incomplete response by closing the connection, so the client can tell it was cut.
  virtual void abort() = 0;
};

struct PipelineOptions {
  std::string nodeName = "strata";
  std::uint64_t maxObjectBytes = 1ull << 30;  // Larger responses pass through unstored.
};

class ProxyPipeline {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix seconds.

  ProxyPipeline(PipelineOptions options, storage::CacheStore& store, origin::OriginRouter& router,
                Stats& stats, Clock clock);

  void handle(const ClientRequest& request, ResponseSink& sink);

 private:
  void serveStored(const ClientRequest& request, const storage::StoredObject& object,
                   const storage::CacheKey& key, std::int64_t age, std::int64_t lifetime,
                   ResponseSink& sink);
  void forward(const ClientRequest& request, const storage::CacheKey* key,
               policy::ForwardReason fwd, ResponseSink& sink);
  void sendError(int status, const std::string& reason, const std::string& message,
                 const std::string& cacheStatus, ResponseSink& sink);

  PipelineOptions options_;
  storage::CacheStore& store_;
  origin::OriginRouter& router_;
  Stats& stats_;
  Clock clock_;
};

}  // namespace strata::edge::pipeline

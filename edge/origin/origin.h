#pragma once
// The origin seam: something that answers an HTTP request with a streamed response. Implemented
// by HttpBackend (a real origin over HTTP, with keep-alive connection reuse) and DemoOrigin (the
// built-in demo site). Socket-free callers (the pipeline) see only this interface.
//
// Errors are values: fetch() never throws; a failure comes back as nullptr plus a reason.

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "edge/http/header_list.h"

namespace strata::edge::origin {

struct OriginRequest {
  std::string method;
  std::string target;               // Origin-form: path and query.
  http::HeaderList headers;         // Already cleaned of hop-by-hop fields; includes Host.
  std::istream* body = nullptr;     // Request body, or nullptr when there is none.
  std::int64_t contentLength = -1;  // Body length, or -1 when unknown (sent chunked).
  // What a hash-balanced pool hashes to choose the backend: the cache key, set by the pipeline,
  // so each object has one home backend (shield). Empty: the pool hashes Host and target.
  std::string hashKey;
};

// An interim (1xx) response that came before the final one, e.g. 103 Early Hints.
struct Interim {
  int status = 0;
  std::string reason;
  http::HeaderList headers;
};

// A response being received. Not thread-safe; owned by one request.
class OriginResponse {
 public:
  virtual ~OriginResponse() = default;
  // Interim responses received before this final one, in order (RFC 9110 §15.2).
  virtual const std::vector<Interim>& interims() const {
    static const std::vector<Interim> kNone;
    return kNone;
  }
  virtual int status() const = 0;
  virtual const std::string& reason() const = 0;
  virtual const http::HeaderList& headers() const = 0;  // Raw, including hop-by-hop fields.
  // The headers for a caller that keeps its own copy: moved out where the response can (headers()
  // is then empty), copied otherwise.
  virtual http::HeaderList takeHeaders() { return headers(); }
  // Body length from Content-Length, or -1 when it is delimited otherwise.
  virtual std::int64_t contentLength() const = 0;
  // Reads up to `size` body bytes. Returns the count, 0 at the end of the body, -1 on an error
  // (reset, timeout, truncated body); error() then says why.
  virtual std::int64_t read(char* buffer, std::size_t size) = 0;
  virtual const std::string& error() const = 0;
};

enum class FetchFailure { kNone, kConnect, kSend, kReceive };
const char* toString(FetchFailure f);

// How an origin's requests were carried: over a kept-alive connection or a new one.
struct ConnectionCounts {
  std::uint64_t reused = 0;
  std::uint64_t opened = 0;
};

class Origin {
 public:
  virtual ~Origin() = default;
  virtual const std::string& name() const = 0;
  // Sends the request and returns once the response head has arrived, or nullptr on failure
  // with `failure` and `error` set. Safe to call from many threads at once.
  virtual std::unique_ptr<OriginResponse> fetch(const OriginRequest& request, FetchFailure* failure,
                                                std::string* error) = 0;
  // Connection reuse so far (zero for origins without connections). Thread-safe.
  virtual ConnectionCounts connections() const { return {}; }
};

}  // namespace strata::edge::origin

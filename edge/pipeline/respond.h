#pragma once
// Helpers for building the responses the node sends. Pure, apart from ProtectingSink.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edge/http/header_list.h"
#include "edge/pipeline/proxy_pipeline.h"
#include "edge/policy/cache_status.h"

namespace strata::edge::pipeline {

// Bodies up to this size may hold the response head back until their first bytes are written, so
// head and body leave in one send; larger or unframed ones flush the head at once.
inline constexpr std::int64_t kEagerHeadBytes = 64 * 1024;

// Bodies are forbidden for HEAD and for 1xx, 204 and 304 responses (RFC 9110 §6.4.1).
bool responseHasNoBody(const std::string& method, int status);

// The fields of a response this node sends: `base` without the fields the node computes
// (Content-Length; Age when `age` is given), purge tags and the `hidden` fields, then Age, Via
// and this node's Cache-Status entry after any upstream ones (RFC 9211 §2). Dropping `hidden`
// here spares ProtectingSink a second copy of the head.
http::HeaderList servedHeaders(const http::HeaderList& base, const std::string& nodeName,
                               const policy::CacheStatus& status, std::optional<std::int64_t> age,
                               const std::vector<std::string>& hidden);

// `headers` without the fields named in `hidden` (case-insensitive), for origin hiding.
http::HeaderList withoutHidden(const http::HeaderList& headers,
                               const std::vector<std::string>& hidden);

// The sink every response of the pipeline goes through: removes the `hidden` fields
// (origin-identifying: Server, X-Powered-By, security.hide_headers) from every head and interim
// response, whether served from cache, passed through or made by the node, and adds
// Strict-Transport-Security when the route asks for it on an https request. Not thread-safe
// (one per request); `hidden` must outlive it.
class ProtectingSink : public ResponseSink {
 public:
  ProtectingSink(ResponseSink& inner, const std::vector<std::string>& hidden)
      : inner_(inner), hidden_(hidden) {}
  void setHsts(std::string value) { hsts_ = std::move(value); }

  void sendInterim(int status, const std::string& reason, const http::HeaderList& headers) override;
  void sendHead(int status, const std::string& reason, const http::HeaderList& headers,
                std::int64_t contentLength) override;
  void flush() override { inner_.flush(); }
  bool write(const char* data, std::size_t size) override { return inner_.write(data, size); }
  bool write(const std::string_view* pieces, std::size_t count) override {
    return inner_.write(pieces, count);
  }
  void finish() override { inner_.finish(); }
  void abort() override { inner_.abort(); }

 private:
  ResponseSink& inner_;
  const std::vector<std::string>& hidden_;
  std::string hsts_;
};

// The fields a 304 carries from the full response (RFC 9110 §15.4.5).
http::HeaderList notModifiedFields(const http::HeaderList& full);

}  // namespace strata::edge::pipeline

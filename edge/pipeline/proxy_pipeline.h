#pragma once
// The request pipeline: route, classify, look up, decide, coalesce, fetch, store, respond.
// Socket-free: the server adapter hands it a ClientRequest and a ResponseSink; the origin side is
// reached through OriginRouter. Every caching decision comes from edge/policy.
//
// Misses for the same key are coalesced: one fetch job (on the Executor) fills a Fill that every
// waiting request streams from while it arrives. Uncacheable outcomes release the waiters at once
// and are remembered (hit-for-miss). Stale entries are revalidated with one conditional request
// per key; stale-while-revalidate refreshes in the background.
//
// Thread-safety: handle() is called concurrently from server threads; shared state lives in the
// store, the coalescer and relaxed atomic counters.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "edge/http/cidr.h"
#include "edge/http/header_list.h"
#include "edge/origin/origin_router.h"
#include "edge/pipeline/coalescer.h"
#include "edge/pipeline/executor.h"
#include "edge/pipeline/stats.h"
#include "edge/policy/cache_decision.h"
#include "edge/policy/cache_status.h"
#include "edge/security/guard.h"
#include "purge/purge_state.h"
#include "storage/cache_store.h"

namespace strata::edge::pipeline {

class ProtectingSink;  // respond.h

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
  // Sends an interim (1xx) response ahead of the final one (RFC 9110 §15.2). The sink drops it
  // for clients that cannot take one (HTTP/1.0). Default: dropped.
  virtual void sendInterim(int /*status*/, const std::string& /*reason*/,
                           const http::HeaderList& /*headers*/) {}
  // Sends status and headers. `contentLength` -1: length unknown (chunked or close-delimited).
  virtual void sendHead(int status, const std::string& reason, const http::HeaderList& headers,
                        std::int64_t contentLength) = 0;
  // Sends what was given so far (the head may otherwise wait to leave with the first body bytes).
  // Called when the body may be slow to come. Default: nothing buffered.
  virtual void flush() {}
  // Sends body bytes; false once the client is gone.
  virtual bool write(const char* data, std::size_t size) = 0;
  // Sends several pieces of body in order, as one send where the sink can (a long in-memory
  // body then leaves in one system call, not one per chunk). Same result as write() per piece.
  virtual bool write(const std::string_view* pieces, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      if (!write(pieces[i].data(), pieces[i].size())) return false;
    }
    return true;
  }
  // Ends a complete response.
  virtual void finish() = 0;
  // Ends an incomplete response by closing the connection, so the client can tell it was cut.
  virtual void abort() = 0;
};

struct PipelineOptions {
  std::string nodeName = "strata";
  std::uint64_t maxObjectBytes = 1ull << 30;  // Larger responses pass through unstored.
  policy::LookupOptions lookup;               // Targeted fields, stale-if-error grace.
  // How long past freshness a stored response may stand in when the origin cannot be reached at
  // all (RFC 9111 §4.2.4 allows serving stale while disconnected), unless it forbids it.
  std::int64_t unreachableGraceSeconds = 300;
  std::chrono::milliseconds coalesceWait{10000};  // A waiter's wait for the leader's head.
  std::chrono::milliseconds bodyWait{30000};      // Longest wait for the next body bytes.
  // Purge rules checked on every lookup (nullptr: no purging). Owned by the node.
  purge::PurgeState* purge = nullptr;
  std::vector<http::Cidr> purgeAllow;  // Who may send PURGE (purge.allow).
  // Edge protection checked before the cache or an origin sees a request (access lists, rate
  // limits, HTTPS redirects, signed URLs, JWT). nullptr: none. Owned by the node.
  const security::Guard* guard = nullptr;
  // Origin-identifying fields removed from every response (security.hide_headers adds to them).
  std::vector<std::string> hiddenHeaders = {"Server", "X-Powered-By"};
};

class ProxyPipeline {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix seconds.

  ProxyPipeline(PipelineOptions options, storage::CacheStore& store, origin::OriginRouter& router,
                Stats& stats, Coalescer& coalescer, Executor& executor, Clock clock);

  void handle(const ClientRequest& request, ResponseSink& sink);

  // Makes fetch jobs stop reading origin bodies (node shutdown).
  void shutdown() { stopping_.store(true); }

  struct Lookup;  // A stored entry found for a request (pipeline internals).
  struct FetchJob;

 private:
  // Runs the guard: false when it answered the request (refused or redirected). An admitted
  // request that the guard rewrites comes back in `rewritten`; `sink` gets the route's HSTS.
  bool admit(const ClientRequest& request, ProtectingSink& sink,
             std::optional<ClientRequest>& rewritten);
  void handleCacheable(const ClientRequest& request, ResponseSink& sink);
  void handlePurgeMethod(const ClientRequest& request, ResponseSink& sink);
  // The purge verdict for a stored entry or a fill's response fetched at `requestTime`.
  purge::PurgeState::Verdict purgeVerdict(
      const std::string& baseKey, const std::vector<std::pair<std::string, std::string>>& headers,
      std::int64_t requestTime) const;
  void fetchShared(const ClientRequest& request, const std::string& baseKey, const Lookup& found,
                   policy::CacheStatus status, ResponseSink& sink);
  // Fetches for a fill: sends the request, publishes the response head, reads the body into the
  // fill and the store. With `deferLargeBody`, a body longer than one chunk (or of unknown
  // length) is left to pumpBody and true returned.
  bool runFetch(FetchJob& job, bool deferLargeBody);
  void pumpBody(FetchJob& job);
  // True when the store now holds a fresh entry other than `found` (a fill that finished
  // between this request's lookup and its join).
  bool freshlyStored(const ClientRequest& request, const std::string& baseKey, const Lookup& found);
  // Serves the stored entry in place of a failed origin answer when its stale rules allow it,
  // with `extraGraceSeconds` as an additional operator window. False when they do not.
  bool serveStaleOnError(const ClientRequest& request, const Lookup& found,
                         std::int64_t extraGraceSeconds, policy::CacheStatus status,
                         ResponseSink& sink);
  void startBackgroundRefresh(const ClientRequest& request, const std::string& baseKey,
                              const Lookup& found);
  void forwardDirect(const ClientRequest& request, const std::string* baseKey,
                     policy::CacheStatus status, ResponseSink& sink);
  void serveStored(const ClientRequest& request, const storage::StoredObject& object,
                   std::int64_t age, policy::CacheStatus status, ResponseSink& sink);
  // The same with the object's headers already made a HeaderList (`stored`), not copied again.
  void serveStored(const ClientRequest& request, const storage::StoredObject& object,
                   const http::HeaderList& stored, std::int64_t age, policy::CacheStatus status,
                   ResponseSink& sink);
  // Answers the request's preconditions against a response (304 or 412); false when none
  // applies and the response is to be served.
  bool answerPreconditions(const ClientRequest& request, int responseStatus,
                           const http::HeaderList& responseHeaders, std::optional<std::int64_t> age,
                           std::int64_t length, const policy::CacheStatus& status,
                           ResponseSink& sink);
  void streamFill(const ClientRequest& request, Fill::Reader& reader, const FillHead& head,
                  policy::CacheStatus status, ResponseSink& sink);
  // The node's own error page; `extra` fields go with it (Retry-After, Location, ...).
  void sendError(int status, const std::string& reason, const std::string& message,
                 const policy::CacheStatus& cacheStatus, ResponseSink& sink,
                 const http::HeaderList& extra = {});
  void invalidate(const ClientRequest& request, int status, const http::HeaderList& headers);

  PipelineOptions options_;
  storage::CacheStore& store_;
  origin::OriginRouter& router_;
  Stats& stats_;
  Coalescer& coalescer_;
  Executor& executor_;
  Clock clock_;
  std::atomic<bool> stopping_{false};
};

}  // namespace strata::edge::pipeline

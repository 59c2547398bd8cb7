#include "edge/pipeline/proxy_pipeline.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <array>
#include <utility>

#include "edge/http/http_date.h"
#include "edge/pipeline/blocking.h"
#include "edge/pipeline/forwarding.h"
#include "edge/pipeline/respond.h"
#include "edge/policy/cache_control.h"
#include "edge/policy/cache_key_builder.h"
#include "edge/policy/cacheability.h"
#include "edge/policy/conditional.h"
#include "edge/policy/freshness.h"
#include "edge/policy/invalidation.h"
#include "edge/policy/targeted.h"
#include "edge/policy/validation.h"
#include "edge/policy/vary.h"
#include "purge/purge_request.h"

namespace strata::edge::pipeline {
namespace {

constexpr std::size_t kCopyBufferSize = 64 * 1024;

// Marks the entry at a URL's base key that lists the Vary fields of its variants; each variant
// lives under baseKey + kVariantSeparator + its Vary signature (RFC 9111 §4.1).
constexpr char kVaryIndexMarker[] = "\x01vary-index";
constexpr char kVariantSeparator = '\x1f';

Poco::Logger& logger() { return Poco::Logger::get("strata.pipeline"); }

std::string variantKeyFor(const std::string& baseKey, const std::string& signature) {
  return signature.empty() ? baseKey : baseKey + kVariantSeparator + signature;
}

// Request fields the shared fetch must not forward: the fill is for everyone, so it asks for
// the whole, current representation; the client's own conditionals and ranges are answered by
// this node from the response (RFC 9111 §4.3.2, RFC 9110 §14).
void stripClientConditionals(http::HeaderList& headers) {
  for (const char* name : {"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since",
                           "If-Range", "Range"}) {
    headers.remove(name);
  }
}

// A stored object seen with refreshed metadata (after a 304), sharing the stored body.
class MetaOverlay : public storage::StoredObject {
 public:
  MetaOverlay(storage::ObjectHandle base, storage::EntryMeta meta)
      : base_(std::move(base)), meta_(std::move(meta)) {
    meta_.bodySize = base_->meta().bodySize;
  }
  const storage::EntryMeta& meta() const override { return meta_; }
  std::size_t chunkCount() const override { return base_->chunkCount(); }
  storage::Chunk chunk(std::size_t index) const override { return base_->chunk(index); }

 private:
  storage::ObjectHandle base_;
  storage::EntryMeta meta_;
};

// What to store for a response, decided before its body arrives (RFC 9111 §3).
struct StorePlan {
  bool store = false;
  std::string variantKey;
  std::string varySignature;
  std::string varyFields;  // The combined Vary value, for the index entry.
  storage::EntryMeta meta;
};

// `response`: the effective directives of `headers` (stripQualifiedFields returns them).
StorePlan planStore(const ClientRequest& request, const std::string& baseKey, int status,
                    const http::HeaderList& headers, const policy::Directives& response,
                    std::int64_t contentLength, const PipelineOptions& options,
                    std::int64_t requestTime, std::int64_t responseTime) {
  StorePlan plan;
  if (contentLength >= 0 && static_cast<std::uint64_t>(contentLength) > options.maxObjectBytes) {
    return plan;
  }
  if (policy::decideStore("GET", request.headers, status, headers, response) !=
      policy::StoreDecision::kStore) {
    return plan;
  }
  // Storing is allowed; it is only worth it when the entry can ever be reused: fresh for a
  // while, revalidatable, or servable stale on errors.
  const policy::CacheControl& directives = response.cc;
  const bool validators = policy::storedEntityTag(headers).has_value() ||
                          (headers.get("Last-Modified") &&
                           http::parseHttpDate(*headers.get("Last-Modified")).has_value());
  const auto freshness = policy::freshnessLifetime(headers, status, responseTime, response);
  const bool reusableFresh = freshness.lifetime > 0 && !directives.noCache;
  const bool servableStale = !directives.noCache && !directives.mustRevalidate &&
                             (directives.staleIfError || directives.staleWhileRevalidate ||
                              options.lookup.graceSeconds > 0);
  if (!reusableFresh && !validators && !servableStale) return plan;
  auto signature = policy::varySignature(headers, request.headers);
  if (!signature) return plan;
  plan.store = true;
  plan.varySignature = *signature;
  plan.varyFields = headers.combined("Vary").value_or("");
  plan.variantKey = variantKeyFor(baseKey, *signature);
  plan.meta.key = plan.variantKey;
  plan.meta.status = status;
  plan.meta.headers = headers.fields();
  plan.meta.requestTime = requestTime;
  plan.meta.responseTime = responseTime;
  plan.meta.extra = *signature;
  return plan;
}

// Starts writing a planned entry; for a variant, first points the URL's index at its Vary.
std::shared_ptr<storage::EntryWriter> beginStore(storage::CacheStore& store,
                                                 const std::string& baseKey, StorePlan&& plan,
                                                 std::int64_t contentLength) {
  if (!plan.varySignature.empty()) {
    storage::CacheKey indexKey(baseKey);
    auto index = store.lookup(indexKey);
    const bool current = index && index->meta().extra == kVaryIndexMarker &&
                         http::HeaderList(index->meta().headers).get("Vary") == plan.varyFields;
    if (!current) {
      storage::EntryMeta meta;
      meta.key = baseKey;
      meta.status = 0;
      meta.headers = {{"Vary", plan.varyFields}};
      meta.requestTime = plan.meta.requestTime;
      meta.responseTime = plan.meta.responseTime;
      meta.extra = kVaryIndexMarker;
      auto writer = store.beginWrite(indexKey, std::move(meta), 0);
      if (!writer || !writer->commit()) return nullptr;
    }
  }
  auto writer =
      store.beginWrite(storage::CacheKey(plan.variantKey), std::move(plan.meta), contentLength);
  return std::shared_ptr<storage::EntryWriter>(std::move(writer));
}

// Removes the fields a shared cache must not store or share: those named by private="..." and
// no-cache="..." (RFC 9111 §5.2.2.4, §5.2.2.7). Returns the effective directives of what is
// left (parsed once when nothing was removed, the usual case).
policy::Directives stripQualifiedFields(http::HeaderList& headers,
                                        const policy::TargetedFields& targeted) {
  policy::Directives directives = policy::effectiveDirectives(headers, targeted);
  const std::vector<std::string> strip = policy::fieldsToStrip(directives.cc);
  if (strip.empty()) return directives;
  for (const auto& name : strip) headers.remove(name);
  return policy::effectiveDirectives(headers, targeted);  // A removed field may have been one.
}

origin::OriginRequest originRequestFor(const ClientRequest& request, const std::string& nodeName) {
  origin::OriginRequest out;
  out.method = request.method;
  out.target = request.target;
  out.headers = request.headers;
  stripHopByHop(out.headers);
  appendVia(out.headers, nodeName);
  addForwardedFor(out.headers, request.clientAddress, request.scheme);
  if (!out.headers.has("Host")) out.headers.add("Host", request.host);
  return out;
}

}  // namespace

struct ProxyPipeline::Lookup {
  storage::ObjectHandle object;  // nullptr when nothing matching is stored.
  std::string variantKey;        // Where `object` is stored.
  bool varyMiss = false;         // The URL is stored, but not for this request's variant.
  std::uint64_t writes = 0;      // The store's writes() before the lookup.
};

struct ProxyPipeline::FetchJob {
  std::unique_ptr<Coalescer::LeaderTicket> ticket;
  ClientRequest request;  // The leader's request, without a body.
  std::string baseKey;
  Lookup stored;  // The entry being revalidated, if any.
  // The response whose body is still to be read (runFetch with deferLargeBody), and its writer.
  std::unique_ptr<origin::OriginResponse> response;
  std::shared_ptr<storage::EntryWriter> writer;
};

namespace {

ProxyPipeline::Lookup findStored(storage::CacheStore& store, const std::string& baseKey,
                                 const http::HeaderList& requestHeaders) {
  ProxyPipeline::Lookup found;
  found.writes = store.writes();
  auto object = store.lookup(storage::CacheKey(baseKey));
  if (!object) return found;
  std::string variantKey = baseKey;
  if (object->meta().extra == kVaryIndexMarker) {
    auto signature = policy::varySignature(object->meta().headers, requestHeaders);
    if (!signature) {
      found.varyMiss = true;
      return found;
    }
    variantKey = variantKeyFor(baseKey, *signature);
    object = store.lookup(storage::CacheKey(variantKey));
    if (!object) {
      found.varyMiss = true;
      return found;
    }
  }
  // The variant's own Vary decides (it may differ from the index after Vary changed).
  auto own = policy::varySignature(object->meta().headers, requestHeaders);
  if (!own || *own != object->meta().extra) {
    found.varyMiss = true;
    return found;
  }
  found.object = std::move(object);
  found.variantKey = std::move(variantKey);
  return found;
}

}  // namespace

ProxyPipeline::ProxyPipeline(PipelineOptions options, storage::CacheStore& store,
                             origin::OriginRouter& router, Stats& stats, Coalescer& coalescer,
                             Executor& executor, Clock clock)
    : options_(std::move(options)),
      store_(store),
      router_(router),
      stats_(stats),
      coalescer_(coalescer),
      executor_(executor),
      clock_(std::move(clock)) {}

void ProxyPipeline::handle(const ClientRequest& clientRequest, ResponseSink& serverSink) {
  Stats::add(stats_.requests);
  Stats::add(stats_.inFlight, 1);
  struct InFlight {
    Stats& stats;
    ~InFlight() { Stats::add(stats.inFlight, -1); }
  } inFlight{stats_};
  // Every response leaves through this sink: origin-identifying fields never reach a client.
  ProtectingSink sink(serverSink, options_.hiddenHeaders);
  std::optional<ClientRequest> rewritten;
  if (clientRequest.method != "PURGE" && options_.guard) {
    if (!admit(clientRequest, sink, rewritten)) return;
  }
  const ClientRequest& request = rewritten ? *rewritten : clientRequest;

  if (viaContains(request.headers, options_.nodeName)) {
    Stats::add(stats_.loops);
    policy::CacheStatus status;
    status.detail = "loop";
    sendError(508, "Loop Detected", "request loop detected: it has passed this node already",
              status, sink);
    return;
  }
  if (request.method == "PURGE") {
    handlePurgeMethod(request, sink);
    return;
  }
  if (policy::classifyRequest(request.method, request.headers) ==
      policy::RequestDisposition::kBypass) {
    Stats::add(stats_.bypass);
    policy::CacheStatus status;
    status.fwd = policy::ForwardReason::kBypass;
    forwardDirect(request, nullptr, status, sink);
    return;
  }
  handleCacheable(request, sink);
}

bool ProxyPipeline::admit(const ClientRequest& request, ProtectingSink& sink,
                          std::optional<ClientRequest>& rewritten) {
  // Refusals answer here: nothing of them reaches the cache or an origin. PURGE has its own
  // address rule (purge.allow) and is not guarded.
  security::RequestFacts facts;
  facts.method = request.method;
  facts.scheme = request.scheme;
  facts.host = request.host;
  facts.target = request.target;
  facts.clientAddress = request.clientAddress;
  facts.authorization = request.headers.get("Authorization");
  const auto route = router_.routeIndex(request.host, security::routingTarget(request.target));
  security::Verdict verdict = options_.guard->check(facts, route);
  sink.setHsts(std::move(verdict.hsts));
  if (!verdict.admitted()) {
    Stats::add(stats_.refused);
    policy::CacheStatus status;
    status.detail = verdict.detail;
    sendError(verdict.status, verdict.reason, verdict.message, status, sink,
              http::HeaderList(std::move(verdict.headers)));
    return false;
  }
  if (verdict.target || verdict.stripAuthorization) {
    rewritten = request;
    if (verdict.target) rewritten->target = std::move(*verdict.target);
    if (verdict.stripAuthorization) rewritten->headers.remove("Authorization");
  }
  return true;
}

void ProxyPipeline::handleCacheable(const ClientRequest& request, ResponseSink& sink) {
  const std::string baseKey = policy::buildCacheKey(request.scheme, request.host, request.target);
  Lookup found = findStored(store_, baseKey, request.headers);
  bool softPurged = false;
  if (found.object) {
    const auto& meta = found.object->meta();
    switch (purgeVerdict(baseKey, meta.headers, meta.requestTime)) {
      case purge::PurgeState::Verdict::kHard:
        Stats::add(stats_.purgedHits);
        found = Lookup{};  // Purged: as good as absent (the next fill replaces it).
        break;
      case purge::PurgeState::Verdict::kSoft:
        Stats::add(stats_.purgedHits);
        softPurged = true;
        break;
      case purge::PurgeState::Verdict::kNone:
        break;
    }
  }
  const auto requestDirectives =
      policy::parseCacheControl(request.headers.combined("Cache-Control").value_or(""));

  policy::CacheStatus status;
  if (found.object) {
    const auto& meta = found.object->meta();
    const http::HeaderList storedHeaders(meta.headers);
    auto decision =
        policy::decideLookup(request.headers, meta.status, storedHeaders, meta.requestTime,
                             meta.responseTime, clock_(), options_.lookup);
    if (softPurged && (decision.outcome == policy::Lookup::kFresh ||
                       decision.outcome == policy::Lookup::kStaleAllowed)) {
      // A soft purge marks the entry stale: revalidate it, or serve it once more while one
      // background refresh runs when stale-while-revalidate allows that.
      const auto directives =
          policy::effectiveCacheControl(storedHeaders, options_.lookup.targeted);
      if (directives.staleWhileRevalidate.value_or(0) > 0 && !directives.mustRevalidate &&
          !directives.proxyRevalidate && !directives.sMaxAge && !directives.noCache) {
        decision.outcome = policy::Lookup::kStaleWhileRevalidate;
      } else {
        decision.outcome =
            decision.hasValidators ? policy::Lookup::kRevalidate : policy::Lookup::kUnusable;
      }
      decision.forcedByRequest = false;
    }
    status.ttl = decision.ttl;
    switch (decision.outcome) {
      case policy::Lookup::kFresh:
        Stats::add(stats_.hits);
        status.hit = true;
        serveStored(request, *found.object, storedHeaders, decision.age, status, sink);
        return;
      case policy::Lookup::kStaleAllowed:
        Stats::add(stats_.hits);
        Stats::add(stats_.staleServed);
        status.hit = true;
        status.detail = "stale";
        serveStored(request, *found.object, storedHeaders, decision.age, status, sink);
        return;
      case policy::Lookup::kStaleWhileRevalidate:
        Stats::add(stats_.hits);
        Stats::add(stats_.staleServed);
        status.hit = true;
        status.detail = "stale";
        serveStored(request, *found.object, storedHeaders, decision.age, status, sink);
        startBackgroundRefresh(request, baseKey, found);
        return;
      case policy::Lookup::kRevalidate:
      case policy::Lookup::kUnusable:
        Stats::add(stats_.stale);
        status.fwd = policy::forwardReason(decision);
        break;
    }
  } else {
    Stats::add(stats_.misses);
    status.fwd =
        found.varyMiss ? policy::ForwardReason::kVaryMiss : policy::ForwardReason::kUriMiss;
  }

  // RFC 9111 §5.2.1.7: nothing usable is stored and the client forbids forwarding.
  if (requestDirectives.onlyIfCached) {
    policy::CacheStatus none;
    none.detail = "only-if-cached";
    sendError(504, "Gateway Timeout", "not in cache (only-if-cached)", none, sink);
    return;
  }
  if (coalescer_.isHitForMiss(baseKey, clock_())) {
    status.detail = "hit-for-miss";
    forwardDirect(request, &baseKey, status, sink);
    return;
  }
  fetchShared(request, baseKey, found, status, sink);
}

void ProxyPipeline::fetchShared(const ClientRequest& request, const std::string& baseKey,
                                const Lookup& found, policy::CacheStatus status,
                                ResponseSink& sink) {
  // A waiter whose leader failed before any response retries once under a new leader.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Coalescer::Join join = coalescer_.join(baseKey);
    Fill::Reader reader(join.fill);
    const bool leader = join.leader != nullptr;
    if (leader && freshlyStored(request, baseKey, found)) {
      // Another fill committed between this request's lookup and its join: use it.
      join.leader.reset();
      handleCacheable(request, sink);
      return;
    }
    if (leader) {
      auto job = std::make_shared<FetchJob>();
      job->ticket = std::move(join.leader);
      job->request = request;
      job->request.body = nullptr;
      job->baseKey = baseKey;
      job->stored = found;
      // The leader fetches on its own thread: no hand-off to a fetch thread and back for the
      // common small response. A body that may outgrow the fill's window goes on on a fetch
      // thread, so this thread can serve it while it arrives.
      if (runFetch(*job, /*deferLargeBody=*/true)) {
        if (!executor_.submit([this, job] {
              pumpBody(*job);
              job->ticket.reset();
            })) {
          // Saturated: a stored body spills (the producer never waits for this reader), so it
          // can be read in full here first; an unstored one cannot.
          if (job->writer) {
            pumpBody(*job);
          } else {
            job->ticket->fill()->fail("no fetch thread is free for the body");
          }
          job->ticket.reset();
        }
      } else {
        job->ticket.reset();  // Fails an unfinished fill and frees the key at once.
      }
    }
    auto head = join.fill->waitHead(std::chrono::steady_clock::now() + options_.coalesceWait);
    if (!head) {
      // The leader is too slow to answer: fetch independently rather than wait on.
      status.detail = "coalesce-timeout";
      forwardDirect(request, &baseKey, status, sink);
      return;
    }
    status.collapsed = !leader;
    switch (head->kind) {
      case FillKind::kFailed: {
        // The origin could not be reached at all: the disconnected window applies too.
        if (serveStaleOnError(request, found, options_.unreachableGraceSeconds, status, sink)) {
          return;
        }
        if (!leader && attempt == 0) continue;
        status.detail = "origin-unreachable";
        sendError(502, "Bad Gateway", "the origin could not be reached", status, sink);
        return;
      }
      case FillKind::kStored: {
        Stats::add(stats_.hits);
        const auto& meta = head->stored->meta();
        const http::HeaderList storedHeaders(meta.headers);
        auto decision =
            policy::decideLookup(request.headers, meta.status, storedHeaders, meta.requestTime,
                                 meta.responseTime, clock_(), options_.lookup);
        status.fwdStatus = 304;
        status.ttl = decision.ttl;
        serveStored(request, *head->stored, decision.age, status, sink);
        return;
      }
      case FillKind::kUncacheable:
        if (!leader) {
          // "Fetch yourself": in parallel with the others, not queued behind them.
          status.collapsed = false;
          forwardDirect(request, &baseKey, status, sink);
          return;
        }
        break;
      case FillKind::kStream:
        break;
    }
    if (head->status >= 500) {
      policy::CacheStatus stale = status;
      stale.fwdStatus = head->status;
      if (serveStaleOnError(request, found, 0, stale, sink)) return;
    }
    // A purge recorded after this fill's request went out covers what it brings: a waiter that
    // came later fetches afresh.
    if (!leader && purgeVerdict(baseKey, head->headers.fields(), head->requestTime) !=
                       purge::PurgeState::Verdict::kNone) {
      status.collapsed = false;
      forwardDirect(request, &baseKey, status, sink);
      return;
    }
    // The leader's response is for its variant; a waiter with other selecting headers fetches
    // its own (RFC 9111 §4.1).
    if (!leader && policy::varySignature(head->headers, request.headers) != head->varySignature) {
      status.collapsed = false;
      status.fwd = policy::ForwardReason::kVaryMiss;
      forwardDirect(request, &baseKey, status, sink);
      return;
    }
    status.fwdStatus = head->status;
    status.stored = head->storing;
    streamFill(request, reader, *head, status, sink);
    return;
  }
}

bool ProxyPipeline::freshlyStored(const ClientRequest& request, const std::string& baseKey,
                                  const Lookup& found) {
  // Nothing was stored or updated since `found` was looked up: a fill that committed before this
  // request joined released its key after its commit, and the join is ordered after the release.
  if (found.writes != 0 && store_.writes() == found.writes) return false;
  const Lookup again = findStored(store_, baseKey, request.headers);
  if (!again.object) return false;
  const auto& meta = again.object->meta();
  if (purgeVerdict(baseKey, meta.headers, meta.requestTime) != purge::PurgeState::Verdict::kNone) {
    return false;  // The entry found is one a purge covers: it does not count.
  }
  if (found.object && meta.responseTime == found.object->meta().responseTime &&
      meta.requestTime == found.object->meta().requestTime) {
    return false;  // The same entry this request already judged.
  }
  const auto decision =
      policy::decideLookup(request.headers, meta.status, http::HeaderList(meta.headers),
                           meta.requestTime, meta.responseTime, clock_(), options_.lookup);
  return decision.outcome == policy::Lookup::kFresh;
}

bool ProxyPipeline::serveStaleOnError(const ClientRequest& request, const Lookup& found,
                                      std::int64_t extraGraceSeconds, policy::CacheStatus status,
                                      ResponseSink& sink) {
  // A stale entry may stand in for an origin error (RFC 5861 §4, RFC 9111 §4.2.4).
  if (!found.object) return false;
  const auto& meta = found.object->meta();
  const http::HeaderList storedHeaders(meta.headers);
  const auto decision =
      policy::decideLookup(request.headers, meta.status, storedHeaders, meta.requestTime,
                           meta.responseTime, clock_(), options_.lookup);
  policy::LookupOptions options = options_.lookup;
  options.graceSeconds = std::max(options.graceSeconds, extraGraceSeconds);
  if (!policy::canServeStaleOnError(request.headers, storedHeaders, decision.age, decision.lifetime,
                                    options)) {
    return false;
  }
  Stats::add(stats_.staleServed);
  status.fwd = policy::ForwardReason::kStale;
  status.ttl = decision.ttl;
  status.detail = "stale-if-error";
  serveStored(request, *found.object, decision.age, status, sink);
  return true;
}

void ProxyPipeline::startBackgroundRefresh(const ClientRequest& request, const std::string& baseKey,
                                           const Lookup& found) {
  Coalescer::Join join = coalescer_.join(baseKey);
  if (!join.leader) return;                            // A fetch for this key is already under way.
  if (freshlyStored(request, baseKey, found)) return;  // A refresh has just landed.
  Stats::add(stats_.backgroundRefreshes);
  auto job = std::make_shared<FetchJob>();
  job->ticket = std::move(join.leader);
  job->request = request;
  job->request.body = nullptr;
  job->baseKey = baseKey;
  job->stored = found;
  job->ticket->fill()->setStoring(true);  // Nobody reads it: it exists to refresh the store.
  executor_.submit([this, job] {
    runFetch(*job, /*deferLargeBody=*/false);
    job->ticket.reset();
  });
}

bool ProxyPipeline::runFetch(FetchJob& job, bool deferLargeBody) {
  Fill& fill = *job.ticket->fill();
  origin::OriginRequest out = originRequestFor(job.request, options_.nodeName);
  out.hashKey = job.baseKey;  // Hash-balanced pools (shields) give each object one home.
  out.method = "GET";  // HEAD misses fill the cache with the GET response (RFC 9111 §4.3.5).
  stripClientConditionals(out.headers);
  if (job.stored.object) {
    // RFC 9111 §4.3.1: validate the stored response with its validators.
    const http::HeaderList storedHeaders(job.stored.object->meta().headers);
    const http::HeaderList validators = policy::validatorsForRevalidation(storedHeaders);
    for (const auto& [name, value] : validators.fields()) out.headers.add(name, value);
  }

  std::int64_t requestTime = 0;
  std::unique_ptr<origin::OriginResponse> response;
  http::HeaderList headers;
  int status = 0;
  // A 304 that does not match the stored response cannot update it (RFC 9111 §4.3.4): ask once
  // more without validators.
  for (int attempt = 0; attempt < 2; ++attempt) {
    requestTime = clock_();
    Stats::add(stats_.originFetches);
    origin::FetchFailure failure = origin::FetchFailure::kNone;
    std::string error;
    mayBlock();
    response = router_.fetch(job.request.host, out, &failure, &error);
    if (!response) {
      Stats::add(stats_.originErrors);
      coalescer_.counters().leaderFailures.fetch_add(1, std::memory_order_relaxed);
      logger().warning("event=origin_error stage=%s host=%s target=%s error=\"%s\"",
                       std::string(origin::toString(failure)), job.request.host, job.request.target,
                       error);
      fill.fail(error);
      return false;
    }
    headers = response->takeHeaders();
    stripHopByHop(headers);
    status = response->status();
    if (status != 304 || !job.stored.object ||
        policy::notModifiedMatchesStored(headers,
                                         http::HeaderList(job.stored.object->meta().headers))) {
      break;
    }
    stripClientConditionals(out.headers);  // Also drops the validators added above.
    job.stored = Lookup{};
  }
  const std::int64_t responseTime = clock_();

  if (status == 304) {
    const http::HeaderList storedHeaders(job.stored.object ? job.stored.object->meta().headers
                                                           : storage::EntryMeta{}.headers);
    if (!job.stored.object) {
      Stats::add(stats_.originErrors);
      fill.fail("the origin answered 304 to an unconditional request");
      return false;
    }
    // RFC 9111 §4.3.4: freshen the stored response with the 304's fields; keep the body.
    storage::EntryMeta meta = job.stored.object->meta();
    meta.headers = policy::mergeNotModified(storedHeaders, headers).fields();
    meta.requestTime = requestTime;
    meta.responseTime = responseTime;
    store_.updateMeta(storage::CacheKey(job.stored.variantKey), meta);
    Stats::add(stats_.revalidated);
    // Released before the head is published: a request that arrives after this one was
    // answered must not join a validation that is already over.
    job.ticket->release();
    FillHead head;
    head.kind = FillKind::kStored;
    head.status = meta.status;
    head.stored = std::make_shared<MetaOverlay>(job.stored.object, std::move(meta));
    fill.publishHead(std::move(head));
    fill.finish();
    return false;
  }

  const policy::Directives directives = stripQualifiedFields(headers, options_.lookup.targeted);
  const std::int64_t length = response->contentLength();
  StorePlan plan = planStore(job.request, job.baseKey, status, headers, directives, length,
                             options_, requestTime, responseTime);
  std::shared_ptr<storage::EntryWriter> writer;
  if (plan.store) writer = beginStore(store_, job.baseKey, std::move(plan), length);

  FillHead head;
  head.status = status;
  head.reason = response->reason();
  head.contentLength = length;
  head.varySignature = policy::varySignature(headers, job.request.headers).value_or("");
  head.headers = std::move(headers);
  head.interims = response->interims();
  for (auto& interim : head.interims) stripHopByHop(interim.headers);
  head.requestTime = requestTime;
  head.responseTime = responseTime;
  if (writer) {
    head.kind = FillKind::kStream;
    head.storing = true;
    fill.setSpill([writer](std::size_t index) { return writer->writtenChunk(index); });
    coalescer_.forgetUncacheable(job.baseKey);
  } else if (!job.stored.object) {
    head.kind = FillKind::kUncacheable;
    coalescer_.rememberUncacheable(job.baseKey, responseTime);
  } else {
    head.kind = FillKind::kStream;  // E.g. an error to share while a stale entry exists.
  }
  fill.publishHead(std::move(head));
  if (!writer) job.ticket->release();  // New requests need not wait on an unshareable fetch.

  job.response = std::move(response);
  job.writer = std::move(writer);
  // Up to one chunk can never wait for a reader (the fill keeps a window of completed chunks).
  if (deferLargeBody && (length < 0 || static_cast<std::uint64_t>(length) > storage::kChunkSize)) {
    return true;
  }
  pumpBody(job);
  return false;
}

void ProxyPipeline::pumpBody(FetchJob& job) {
  Fill& fill = *job.ticket->fill();
  origin::OriginResponse* response = job.response.get();
  const std::shared_ptr<storage::EntryWriter>& writer = job.writer;
  std::array<char, kCopyBufferSize> buffer;
  std::uint64_t total = 0;
  bool storing = writer != nullptr;
  while (true) {
    if (stopping_.load(std::memory_order_relaxed)) {
      fill.fail("the node is shutting down");
      return;
    }
    std::int64_t n = response->read(buffer.data(), buffer.size());
    if (n < 0) {
      Stats::add(stats_.originErrors);
      coalescer_.counters().leaderFailures.fetch_add(1, std::memory_order_relaxed);
      logger().warning("event=origin_body_error host=%s target=%s received=%s error=\"%s\"",
                       job.request.host, job.request.target, std::to_string(total),
                       response->error());
      fill.fail(response->error());  // The writer is abandoned: nothing partial is stored.
      return;
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    Stats::add(stats_.bytesFromOrigin, static_cast<std::uint64_t>(n));
    // The store sees the bytes first, so a chunk the fill drops is already readable back.
    if (storing &&
        (total > options_.maxObjectBytes || !writer->append(std::string_view(buffer.data(), n)))) {
      storing = false;
      fill.setStoring(false);
      Stats::add(stats_.storeFailures);
    }
    if (!fill.append(buffer.data(), static_cast<std::size_t>(n)) && !storing) {
      fill.fail("abandoned: no reader is left");  // Nobody wants the rest.
      return;
    }
  }
  if (storing) {
    if (writer->commit()) {
      Stats::add(stats_.stored);
    } else {
      Stats::add(stats_.storeFailures);
    }
  }
  // The entry is committed: new requests find it in the store rather than join this fill.
  job.ticket->release();
  fill.finish();
}

void ProxyPipeline::forwardDirect(const ClientRequest& request, const std::string* baseKey,
                                  policy::CacheStatus status, ResponseSink& sink) {
  origin::OriginRequest out = originRequestFor(request, options_.nodeName);
  if (baseKey) out.hashKey = *baseKey;
  out.body = request.body;
  out.contentLength = request.contentLength;

  const std::int64_t requestTime = clock_();
  Stats::add(stats_.originFetches);
  origin::FetchFailure failure = origin::FetchFailure::kNone;
  std::string error;
  mayBlock();
  auto response = router_.fetch(request.host, out, &failure, &error);
  if (!response) {
    Stats::add(stats_.originErrors);
    logger().warning("event=origin_error stage=%s method=%s host=%s target=%s error=\"%s\"",
                     std::string(origin::toString(failure)), request.method, request.host,
                     request.target, error);
    status.detail = "origin-unreachable";
    sendError(502, "Bad Gateway", "the origin could not be reached", status, sink);
    return;
  }
  const std::int64_t responseTime = clock_();
  status.fwdStatus = response->status();
  http::HeaderList headers = response->takeHeaders();
  stripHopByHop(headers);
  if (!policy::isSafeMethod(request.method)) invalidate(request, response->status(), headers);

  const bool noBody = responseHasNoBody(request.method, response->status());
  std::int64_t length = response->contentLength();
  if (noBody) {
    // HEAD and 304 keep the length the full response would have (RFC 9110 §8.6, §9.3.2);
    // 1xx and 204 get no framing at all.
    const bool keepsLength = request.method == "HEAD" || response->status() == 304;
    length = keepsLength && length >= 0 ? length : -2;
  }

  std::shared_ptr<storage::EntryWriter> writer;
  if (baseKey && request.method == "GET" && !request.headers.has("Range") &&
      !request.headers.has("If-None-Match") && !request.headers.has("If-Modified-Since")) {
    const policy::Directives directives = stripQualifiedFields(headers, options_.lookup.targeted);
    StorePlan plan = planStore(request, *baseKey, response->status(), headers, directives, length,
                               options_, requestTime, responseTime);
    if (plan.store) writer = beginStore(store_, *baseKey, std::move(plan), length);
    status.stored = writer != nullptr;
    if (writer) coalescer_.forgetUncacheable(*baseKey);
  }

  for (const auto& interim : response->interims()) {
    http::HeaderList fields = interim.headers;
    stripHopByHop(fields);
    sink.sendInterim(interim.status, interim.reason, fields);
  }
  sink.sendHead(
      response->status(), response->reason(),
      servedHeaders(headers, options_.nodeName, status, std::nullopt, options_.hiddenHeaders),
      length);
  if (noBody) {
    if (writer && writer->commit()) Stats::add(stats_.stored);
    sink.finish();
    return;
  }
  // A small body usually came with the head and leaves with it in one write; the head of a long
  // or unframed one goes at once, so a slow origin body does not hold it back.
  if (length < 0 || length > kEagerHeadBytes) sink.flush();

  std::array<char, kCopyBufferSize> buffer;
  std::uint64_t total = 0;
  bool clientGone = false;
  while (true) {
    std::int64_t n = response->read(buffer.data(), buffer.size());
    if (n < 0) {
      Stats::add(stats_.originErrors);
      logger().warning("event=origin_body_error host=%s target=%s received=%s error=\"%s\"",
                       request.host, request.target, std::to_string(total), response->error());
      sink.abort();  // The writer is dropped uncommitted: nothing partial is stored.
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

purge::PurgeState::Verdict ProxyPipeline::purgeVerdict(
    const std::string& baseKey, const std::vector<std::pair<std::string, std::string>>& headers,
    std::int64_t requestTime) const {
  if (!options_.purge) return purge::PurgeState::Verdict::kNone;
  // Entries carry their request time in whole seconds: taking the start of that second makes an
  // entry fetched in the same second as a purge count as older (at worst refetched once; never
  // served after its purge).
  return options_.purge->check(baseKey, purge::tagsFromHeaders(headers), requestTime * 1'000'000);
}

void ProxyPipeline::handlePurgeMethod(const ClientRequest& request, ResponseSink& sink) {
  // Varnish/Squid convention: PURGE <url> on the proxy listener, from purge.allow addresses.
  policy::CacheStatus none;
  const std::string& client = request.clientAddress;
  if (!options_.purge || !http::inAnyCidr(client, options_.purgeAllow)) {
    sendError(403, "Forbidden", "PURGE is only accepted from allowed addresses", none, sink);
    return;
  }
  purge::PurgeRequest purgeRequest;
  purgeRequest.urls.push_back(policy::buildCacheKey(request.scheme, request.host, request.target));
  auto soft = request.headers.get("Strata-Purge");
  purgeRequest.soft = soft && http::iequals(*soft, "soft");
  std::string error;
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto applied = options_.purge->record(purgeRequest, now, "PURGE", client, &error);
  if (!error.empty()) {
    sendError(500, "Internal Server Error", "the purge could not be recorded", none, sink);
    return;
  }
  http::HeaderList headers;
  headers.add("Content-Type", "application/json");
  headers.add("Cache-Control", "no-store");
  const std::string body =
      "{\"id\": \"" + applied.id + "\", \"purged\": " + std::to_string(applied.rules) + "}\n";
  sink.sendHead(200, "OK", headers, static_cast<std::int64_t>(body.size()));
  if (sink.write(body.data(), body.size())) {
    sink.finish();
  } else {
    sink.abort();
  }
}

void ProxyPipeline::invalidate(const ClientRequest& request, int status,
                               const http::HeaderList& headers) {
  // RFC 9111 §4.4: a successful unsafe method invalidates the target URI and the same-origin
  // Location and Content-Location. Removing a URL's base key also drops its Vary index, which
  // makes every variant unreachable.
  for (const auto& key : policy::invalidationKeys(request.method, status, request.scheme,
                                                  request.host, request.target, headers)) {
    store_.remove(storage::CacheKey(key));
    Stats::add(stats_.invalidations);
  }
}

}  // namespace strata::edge::pipeline

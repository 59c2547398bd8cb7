#include "edge/origin/health_checker.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <pthread.h>

#include <chrono>
#include <istream>
#include <string>

#include "edge/origin/http_backend.h"
#include "edge/origin/origin_router.h"

namespace strata::edge::origin {

HealthChecker::HealthChecker(std::vector<OriginPool*> pools) {
  for (OriginPool* pool : pools) {
    if (!pool->options().healthCheck.enabled) continue;
    for (std::size_t i = 0; i < pool->size(); ++i) {
      if (!dynamic_cast<HttpBackend*>(&pool->origin(i))) continue;
      threads_.emplace_back([this, pool, i] { run(pool, i); });
      pthread_setname_np(threads_.back().native_handle(), "strata-health");
    }
  }
}

HealthChecker::~HealthChecker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

bool HealthChecker::probe(const HttpBackend& backend, const std::string& path, int expectStatus,
                          std::int64_t timeoutMs) {
  auto session = backend.probeSession(timeoutMs);
  if (!session) return false;
  try {
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    const auto& options = backend.options();
    request.setHost(options.tls.sni.empty() ? options.host : options.tls.sni, options.port);
    request.set("User-Agent", "strata-health-check");
    request.setKeepAlive(false);
    session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session->receiveResponse(response);
    // Read a little of the body so the origin does not see a reset; never all of a big one.
    char sink[4096];
    for (int i = 0; i < 16 && body.read(sink, sizeof sink); ++i) {
    }
    return static_cast<int>(response.getStatus()) == expectStatus;
  } catch (const Poco::Exception&) {
    return false;
  } catch (const std::exception&) {
    return false;
  }
}

void HealthChecker::run(OriginPool* pool, std::size_t backend) {
  const HealthCheckConfig& check = pool->options().healthCheck;
  const auto& http = dynamic_cast<const HttpBackend&>(pool->origin(backend));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const bool ok = probe(http, check.path, check.expectStatus, check.timeoutMs);
    pool->recordProbe(backend, ok);
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(check.intervalMs), [this] { return stopping_; });
  }
}

}  // namespace strata::edge::origin

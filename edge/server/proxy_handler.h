#pragma once
// POCO adapters for the proxy listener: the only code that touches POCO's server HTTP types.
// Converts a Poco::Net::HTTPServerRequest into a pipeline::ClientRequest and streams the
// pipeline's response back through Poco::Net::HTTPServerResponse.

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "edge/pipeline/proxy_pipeline.h"
#include "edge/pipeline/request_record.h"

namespace strata::edge::server {

class ProxyHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  // `observer`, when not null, gets one RequestRecord per request once it is answered (access
  // log, metrics, top URLs).
  ProxyHandlerFactory(pipeline::ProxyPipeline& pipeline, pipeline::RequestObserver* observer)
      : pipeline_(pipeline), observer_(observer) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  pipeline::ProxyPipeline& pipeline_;
  pipeline::RequestObserver* observer_;
};

}  // namespace strata::edge::server

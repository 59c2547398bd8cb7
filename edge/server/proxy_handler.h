#pragma once
// POCO adapters for the proxy listener: the only code that touches POCO's server HTTP types.
// Converts a Poco::Net::HTTPServerRequest into a pipeline::ClientRequest and streams the
// pipeline's response back through Poco::Net::HTTPServerResponse.

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "edge/pipeline/proxy_pipeline.h"

namespace strata::edge::server {

class ProxyHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit ProxyHandlerFactory(pipeline::ProxyPipeline& pipeline) : pipeline_(pipeline) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  pipeline::ProxyPipeline& pipeline_;
};

}  // namespace strata::edge::server

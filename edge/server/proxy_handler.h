#pragma once
// POCO adapters for the proxy listener: the only code that touches POCO's server HTTP types.
// Converts a Poco::Net::HTTPServerRequest into a pipeline::ClientRequest and streams the
// pipeline's response back through Poco::Net::HTTPServerResponse.

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "edge/pipeline/proxy_pipeline.h"

namespace strata::edge::server {

class ProxyHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  // `accessLog`, when not null, gets one line per request: the combined log format plus the
  // Cache-Status value in quotes.
  ProxyHandlerFactory(pipeline::ProxyPipeline& pipeline, Poco::Logger* accessLog)
      : pipeline_(pipeline), accessLog_(accessLog) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  pipeline::ProxyPipeline& pipeline_;
  Poco::Logger* accessLog_;
};

}  // namespace strata::edge::server

#pragma once
// The access log line: the combined log format plus the Cache-Status value in quotes.

#include <Poco/Logger.h>

#include "edge/pipeline/proxy_pipeline.h"
#include "edge/server/http1_server.h"

namespace strata::edge::server {

void logAccess(Poco::Logger& log, const pipeline::ClientRequest& request,
               const ExchangeSummary& summary);

}  // namespace strata::edge::server

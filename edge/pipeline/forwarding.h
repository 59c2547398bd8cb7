#pragma once
// Header rules for forwarding a message through a proxy (RFC 9110 §7.6). Pure.

#include <string>
#include <string_view>

#include "edge/http/header_list.h"

namespace strata::edge::pipeline {

// Removes the hop-by-hop fields (RFC 9110 §7.6.1): Connection, every field it names,
// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding and Upgrade.
void stripHopByHop(http::HeaderList& headers);

// Appends "1.1 NODE_NAME" to Via (RFC 9110 §7.6.3).
void appendVia(http::HeaderList& headers, const std::string& nodeName);

// True if any Via entry was received by `nodeName` (the request has looped back to this node).
bool viaContains(const http::HeaderList& headers, std::string_view nodeName);

// Appends the client address to X-Forwarded-For and sets X-Forwarded-Proto.
void addForwardedFor(http::HeaderList& headers, const std::string& clientAddress,
                     const std::string& scheme);

}  // namespace strata::edge::pipeline

#pragma once
// Updating stored responses after validation (RFC 9111 §3.2, §4.3.3-§4.3.5). Pure; never
// throws; any input is accepted.

#include "edge/http/header_list.h"

namespace strata::edge::policy {

// True for fields a 304 (or HEAD) response must not copy into a stored response
// (RFC 9111 §3.2): hop-by-hop fields and those named in `connectionOf`'s Connection field
// (§3.1, RFC 9110 §7.6.1), the proxy authentication fields (§3.1), Content-Length (§3.2),
// and the fields the stored bytes depend on or that describe one message only:
// Content-Encoding, Content-Range (§3.2).
bool isExcludedFromUpdate(std::string_view name, const http::HeaderList& connectionOf);

// RFC 9111 §3.2, §4.3.4: the stored response's fields updated with a 304: every field in
// `notModified` (except isExcludedFromUpdate) replaces all same-named stored field lines, at the
// position of the first one (new names go at the end); stored-only fields are kept. The caller
// should strip private="…"/no-cache="…" fields again before storing (see fieldsToStrip).
http::HeaderList mergeNotModified(const http::HeaderList& stored,
                                  const http::HeaderList& notModified);

// RFC 9111 §4.3.4: whether a 304 applies to this stored response (the only one stored for the
// key). If the 304 has an ETag: a strong one must strongly match the stored ETag, a weak one
// must weakly match it. Else if it has a Last-Modified: it must equal the stored one. Else (no
// validators): it applies — the cache sent the conditional request from this response.
bool notModifiedMatchesStored(const http::HeaderList& notModified, const http::HeaderList& stored);

// RFC 9111 §4.3.5: whether a 200 response to HEAD may freshen the stored GET response: it must
// carry at least one validator, every validator it carries (ETag, Last-Modified) must equal the
// stored one, and its Content-Length, when present, must equal the stored Content-Length.
bool headResponseFreshens(const http::HeaderList& headResponse, const http::HeaderList& stored);

}  // namespace strata::edge::policy

#include "edge/security/guard.h"

#include "edge/security/url_signature.h"

namespace strata::edge::security {
namespace {

Verdict refuse(int status, std::string reason, std::string message, std::string detail) {
  Verdict v;
  v.status = status;
  v.reason = std::move(reason);
  v.message = std::move(message);
  v.detail = std::move(detail);
  return v;
}

// RFC 6750 §3: the challenge, with the error code when a token was presented.
std::string bearerChallenge(const char* error, const char* description) {
  std::string value = "Bearer realm=\"strata\"";
  if (error) {
    value += ", error=\"";
    value += error;
    value += "\", error_description=\"";
    value += description;
    value += "\"";
  }
  return value;
}

}  // namespace

std::string httpsLocation(std::string_view host, std::string_view target, int httpsPort) {
  std::string_view name = host;
  const std::size_t bracket = host.rfind(']');
  const std::size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    name = host.substr(0, colon);
  }
  std::string location = "https://";
  location.append(name);
  if (httpsPort != 443) location += ":" + std::to_string(httpsPort);
  if (target.empty() || target.front() != '/') location.push_back('/');
  location.append(target);
  return location;
}

std::string routingTarget(std::string_view target) {
  const std::size_t question = target.find('?');
  const std::string_view rawPath = target.substr(0, question);
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string decoded;
  for (std::size_t i = 0; i < rawPath.size(); ++i) {
    if (rawPath[i] == '%' && i + 2 < rawPath.size() && hex(rawPath[i + 1]) >= 0 &&
        hex(rawPath[i + 2]) >= 0) {
      const char c = static_cast<char>(hex(rawPath[i + 1]) * 16 + hex(rawPath[i + 2]));
      const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                              c == '~' || c == '/';
      if (unreserved) {
        decoded.push_back(c);
        i += 2;
        continue;
      }
    }
    decoded.push_back(rawPath[i]);
  }
  // Segments without empty, "." and ".." ones (".." drops the one before it).
  std::vector<std::string_view> segments;
  std::string_view rest = decoded;
  bool trailingSlash = false;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    trailingSlash = slash != std::string_view::npos || segment == "." || segment == "..";
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  for (const auto& segment : segments) {
    out.push_back('/');
    out.append(segment);
  }
  if (out.empty() || trailingSlash) out.push_back('/');
  if (question != std::string_view::npos) out.append(target.substr(question));
  return out;
}

std::string hstsValue(std::int64_t maxAgeSeconds, bool includeSubdomains, bool preload) {
  std::string value = "max-age=" + std::to_string(maxAgeSeconds);
  if (includeSubdomains) value += "; includeSubDomains";
  if (preload) value += "; preload";
  return value;
}

Guard::Guard(GuardOptions options, std::unique_ptr<JwtVerifier> jwt, Clock clock,
             MillisClock millisClock)
    : options_(std::move(options)), jwt_(std::move(jwt)), clock_(std::move(clock)) {
  if (options_.rateLimit) {
    nodeLimiter_ =
        std::make_unique<RateLimiter>(*options_.rateLimit, options_.rateCapacity, millisClock);
  }
  for (const auto& route : options_.routes) {
    routeLimiters_.push_back(
        route.rate == RoutePolicy::Rate::kOwn
            ? std::make_unique<RateLimiter>(route.ownRate, options_.rateCapacity, millisClock)
            : nullptr);
  }
}

Guard::~Guard() = default;

std::size_t Guard::trackedClients() const { return nodeLimiter_ ? nodeLimiter_->size() : 0; }

Verdict Guard::check(const RequestFacts& request, std::optional<std::size_t> route) const {
  const RoutePolicy* policy =
      route && *route < options_.routes.size() ? &options_.routes[*route] : nullptr;
  Verdict admitted;
  if (policy && request.scheme == "https") admitted.hsts = policy->hsts;
  auto refused = [&admitted](Verdict v) {
    v.hsts = admitted.hsts;  // HSTS goes on every https answer of the route, refusals too.
    return v;
  };

  if (policy && !permits(policy->access, request.clientAddress)) {
    return refused(refuse(403, "Forbidden",
                          "access to this resource is not allowed from your address", "forbidden"));
  }

  RateLimiter* limiter = nodeLimiter_.get();
  if (policy && policy->rate != RoutePolicy::Rate::kNodeWide) {
    limiter = routeLimiters_[*route].get();  // nullptr when kOff.
  }
  if (limiter) {
    const RateDecision decision = limiter->take(request.clientAddress);
    if (!decision.allowed) {
      Verdict v =
          refuse(429, "Too Many Requests", "too many requests; retry later", "rate-limited");
      v.headers.emplace_back("Retry-After", std::to_string(decision.retryAfterSeconds));
      return refused(std::move(v));
    }
  }
  if (!policy) return admitted;

  if (policy->httpsRedirect && request.scheme == "http") {
    // RFC 9110 §15.4.2/§15.4.9: 308 keeps the method and body; 301 is for GET and HEAD.
    const bool safe = request.method == "GET" || request.method == "HEAD";
    Verdict v = safe ? refuse(301, "Moved Permanently", "this resource is served over https",
                              "https-redirect")
                     : refuse(308, "Permanent Redirect", "this resource is served over https",
                              "https-redirect");
    v.headers.emplace_back("Location",
                           httpsLocation(request.host, request.target, policy->httpsPort));
    return v;
  }

  if (policy->signedUrls) {
    const SignatureCheck check = checkSignedUrl(request.target, options_.signingKeys, clock_());
    switch (check.outcome) {
      case SignatureOutcome::kValid:
        admitted.target = check.canonicalTarget;
        break;
      case SignatureOutcome::kExpired:
        return refused(refuse(403, "Forbidden", "this link has expired", "signature-expired"));
      case SignatureOutcome::kMissing:
      case SignatureOutcome::kMalformed:
      case SignatureOutcome::kBadSignature:
        return refused(refuse(403, "Forbidden", "this link is not validly signed",
                              std::string("signature-") + toString(check.outcome)));
    }
  }

  if (policy->jwt) {
    const auto token = bearerToken(request.authorization);
    const JwtOutcome outcome = !token ? JwtOutcome::kMissing
                                      : (jwt_ ? jwt_->verify(*token, policy->jwtExpect, clock_())
                                              : JwtOutcome::kBadSignature);
    switch (outcome) {
      case JwtOutcome::kValid:
        admitted.stripAuthorization = !policy->forwardAuthorization;
        break;
      case JwtOutcome::kWrongAudience: {
        Verdict v = refuse(403, "Forbidden", "the token is not valid for this resource",
                           "jwt-wrong-audience");
        v.headers.emplace_back("WWW-Authenticate",
                               bearerChallenge("insufficient_scope", "wrong audience"));
        return refused(std::move(v));
      }
      case JwtOutcome::kMissing: {
        Verdict v = refuse(401, "Unauthorized", "a bearer token is required", "jwt-missing");
        v.headers.emplace_back("WWW-Authenticate", bearerChallenge(nullptr, nullptr));
        return refused(std::move(v));
      }
      default: {
        Verdict v = refuse(401, "Unauthorized", "the bearer token is not valid",
                           std::string("jwt-") + toString(outcome));
        v.headers.emplace_back("WWW-Authenticate",
                               bearerChallenge("invalid_token", toString(outcome)));
        return refused(std::move(v));
      }
    }
  }
  return admitted;
}

}  // namespace strata::edge::security

// The admin API's purge body parser (purge/purge_request.h), fed untrusted JSON, plus the URL
// normalization and tag extraction it relies on. Invariants from the header's contract:
//   - exactly one of: a request with status 200 and no error, or no request with 400 or 413 and
//     a short one-line printable error;
//   - a request purges everything or names something, never both; its lists hold no
//     duplicates; its urls and prefixes are cache keys (purgeKeyForUrl of a key is the key, its
//     host is allowed); its tags are valid; it respects the item limits;
//   - purgeKeyForUrl is idempotent and agrees with hostOfPurgeKey.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "purge/purge_request.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using strata::purge::PurgeLimits;

void checkNoDuplicates(const std::vector<std::string>& list) {
  FUZZ_CHECK(std::set<std::string>(list.begin(), list.end()).size() == list.size());
}

void checkKey(const std::string& key, const PurgeLimits& limits) {
  const auto again = strata::purge::purgeKeyForUrl(key);
  FUZZ_CHECK(again && *again == key);
  const auto host = strata::purge::hostOfPurgeKey(key);
  FUZZ_CHECK(!host.empty());
  if (!limits.allowedHosts.empty()) {
    FUZZ_CHECK(std::find(limits.allowedHosts.begin(), limits.allowedHosts.end(), host) !=
               limits.allowedHosts.end());
  }
}

void checkParse(std::string_view body, const PurgeLimits& limits) {
  const auto result = strata::purge::parsePurgeRequest(body, limits);
  if (!result.request) {
    FUZZ_CHECK(result.httpStatus == 400 || result.httpStatus == 413);
    FUZZ_CHECK(!result.error.empty() && result.error.size() <= 512);
    for (unsigned char c : result.error) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    if (result.httpStatus == 413) FUZZ_CHECK(body.size() > limits.maxBodyBytes);
    return;
  }
  FUZZ_CHECK(result.httpStatus == 200 && result.error.empty());
  FUZZ_CHECK(body.size() <= limits.maxBodyBytes);
  const auto& r = *result.request;
  const bool lists = !r.urls.empty() || !r.prefixes.empty() || !r.tags.empty();
  FUZZ_CHECK(r.all != lists);
  FUZZ_CHECK(r.urls.size() + r.prefixes.size() + r.tags.size() <= limits.maxItems);
  checkNoDuplicates(r.urls);
  checkNoDuplicates(r.prefixes);
  checkNoDuplicates(r.tags);
  for (const auto& key : r.urls) checkKey(key, limits);
  for (const auto& key : r.prefixes) checkKey(key, limits);
  for (const auto& tag : r.tags) FUZZ_CHECK(strata::purge::isValidTag(tag));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  checkParse(input, PurgeLimits{});
  PurgeLimits tight;
  tight.maxBodyBytes = 512;
  tight.maxItems = 3;
  tight.maxItemBytes = 40;
  tight.allowedHosts = {"example.com", "127.0.0.1"};
  checkParse(input, tight);

  // The input as a URL, and as purge-tag headers.
  if (const auto key = strata::purge::purgeKeyForUrl(input)) checkKey(*key, PurgeLimits{});
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Surrogate-Key", std::string(input)}, {"cache-tag", std::string(input)}};
  const auto tags = strata::purge::tagsFromHeaders(headers);
  checkNoDuplicates(tags);
  for (const auto& tag : tags) FUZZ_CHECK(strata::purge::isValidTag(tag));
  return 0;
}

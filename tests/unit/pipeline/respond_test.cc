// The fields of served responses and the protecting sink that hides origin-identifying ones.

#include "edge/pipeline/respond.h"

#include <gtest/gtest.h>

#include "edge/pipeline/proxy_pipeline.h"

namespace strata::edge::pipeline {
namespace {

using http::HeaderList;

std::vector<std::string> names(const HeaderList& headers) {
  std::vector<std::string> out;
  for (const auto& field : headers.fields()) out.push_back(field.first);
  return out;
}

TEST(ServedHeadersTest, DropsComputedTagAndHiddenFieldsInOrderThenAddsAgeViaCacheStatus) {
  const HeaderList base({{"Server", "nginx"},
                         {"Content-Type", "text/plain"},
                         {"content-length", "5"},
                         {"Surrogate-Key", "a b"},
                         {"ETag", "\"x\""},
                         {"cache-tag", "t"},
                         {"AGE", "7"},
                         {"x-powered-by", "php"},
                         {"Cache-Status", "up; hit"},
                         {"Vary", "Accept"}});
  policy::CacheStatus status;
  status.hit = true;
  const auto served = servedHeaders(base, "edge1", status, 12, {"Server", "X-Powered-By"});
  EXPECT_EQ(names(served), (std::vector<std::string>{"Content-Type", "ETag", "Cache-Status", "Vary",
                                                     "Age", "Via", "Cache-Status"}));
  EXPECT_EQ(served.get("Age").value_or(""), "12");
  EXPECT_EQ(served.get("Via").value_or(""), "1.1 edge1");
  EXPECT_EQ(served.getAll("Cache-Status").back(), status.format("edge1"));

  // Without an age the upstream Age stays; without a hidden list Server stays.
  const auto kept = servedHeaders(base, "edge1", status, std::nullopt, {});
  EXPECT_EQ(kept.get("Age").value_or(""), "7");
  EXPECT_EQ(kept.get("Server").value_or(""), "nginx");
  EXPECT_FALSE(kept.has("Content-Length"));
  EXPECT_FALSE(kept.has("Surrogate-Key"));
  EXPECT_FALSE(kept.has("Cache-Tag"));
}

struct RecordingSink : ResponseSink {
  const HeaderList* seen = nullptr;
  HeaderList copy;
  void sendHead(int, const std::string&, const HeaderList& headers, std::int64_t) override {
    seen = &headers;
    copy = headers;
  }
  bool write(const char*, std::size_t) override { return true; }
  void finish() override {}
  void abort() override {}
};

TEST(ProtectingSinkTest, HidesListedFieldsAndPassesACleanHeadThroughUncopied) {
  const std::vector<std::string> hidden = {"Server", "X-Powered-By"};
  RecordingSink inner;
  ProtectingSink sink(inner, hidden);

  const HeaderList dirty({{"server", "nginx"}, {"ETag", "\"x\""}, {"X-POWERED-BY", "php"}});
  sink.sendHead(200, "OK", dirty, 0);
  EXPECT_NE(inner.seen, &dirty);
  EXPECT_EQ(names(inner.copy), (std::vector<std::string>{"ETag"}));

  const HeaderList clean({{"ETag", "\"x\""}, {"Vary", "Accept"}});
  sink.sendHead(200, "OK", clean, 0);
  EXPECT_EQ(inner.seen, &clean);  // Nothing to hide: the same list, not a copy.
  EXPECT_EQ(names(inner.copy), (std::vector<std::string>{"ETag", "Vary"}));

  sink.setHsts("max-age=60");
  sink.sendHead(200, "OK", clean, 0);
  EXPECT_NE(inner.seen, &clean);
  EXPECT_EQ(inner.copy.get("Strict-Transport-Security").value_or(""), "max-age=60");
  EXPECT_EQ(inner.copy.fields().size(), 3u);
}

}  // namespace
}  // namespace strata::edge::pipeline

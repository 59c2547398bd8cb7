// Route selection, table-driven, with origins that only record which pool answered.

#include "edge/origin/origin_router.h"

#include <gtest/gtest.h>

namespace strata::edge::origin {
namespace {

TEST(OriginRouterTest, ExactHostThenLongestPrefixWins) {
  std::vector<std::unique_ptr<OriginPool>> pools;
  for (const char* name : {"any", "any-api", "www", "www-static"}) {
    pools.push_back(std::make_unique<OriginPool>(name, std::vector<std::unique_ptr<Origin>>{}));
  }
  std::vector<RouteSpec> routes = {
      {"", "/", {pools[0].get()}},
      {"", "/api/", {pools[1].get()}},
      {"www.example.com", "/", {pools[2].get()}},
      {"www.example.com", "/static/", {pools[3].get()}},
  };
  OriginRouter router(std::move(pools), std::move(routes));
  struct Case {
    const char* host;
    const char* target;
    const char* pool;
  };
  const std::vector<Case> cases = {
      {"other.test", "/", "any"},
      {"other.test", "/api/v1", "any-api"},
      {"other.test", "/apix", "any"},
      {"www.example.com", "/api/v1", "www"},
      {"WWW.Example.COM:8080", "/static/a.css", "www-static"},
      {"www.example.com", "/index.html", "www"},
      {"", "/api/", "any-api"},
  };
  for (const auto& c : cases) {
    const RouteSpec* r = router.route(c.host, c.target);
    ASSERT_NE(r, nullptr) << c.host << c.target;
    EXPECT_EQ(r->pools.front()->name(), c.pool) << c.host << c.target;
  }
}

TEST(OriginRouterTest, NoMatchingRouteIsAnError) {
  std::vector<std::unique_ptr<OriginPool>> pools;
  pools.push_back(std::make_unique<OriginPool>("p", std::vector<std::unique_ptr<Origin>>{}));
  std::vector<RouteSpec> routes = {{"only.test", "/", {pools[0].get()}}};
  OriginRouter router(std::move(pools), std::move(routes));
  EXPECT_EQ(router.route("else.test", "/"), nullptr);
  OriginRequest request;
  request.method = "GET";
  request.target = "/";
  FetchFailure failure = FetchFailure::kNone;
  std::string error;
  EXPECT_EQ(router.fetch("else.test", request, &failure, &error), nullptr);
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace strata::edge::origin

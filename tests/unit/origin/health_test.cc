// Health hysteresis with an injected clock: no sockets, no sleeps.

#include "edge/origin/health.h"

#include <gtest/gtest.h>

namespace strata::edge::origin {
namespace {

TEST(HealthStateTest, ActiveChecksNeedFallFailuresToGoDownAndRiseSuccessesToComeBack) {
  HealthState h(/*rise=*/2, /*fall=*/3, PassiveOptions{0, 0});
  EXPECT_TRUE(h.healthy(0));
  h.onProbe(false, 0);
  h.onProbe(false, 0);
  EXPECT_TRUE(h.healthy(0));  // Two of three.
  h.onProbe(true, 0);         // A good probe resets the streak.
  h.onProbe(false, 0);
  h.onProbe(false, 0);
  EXPECT_TRUE(h.healthy(0));
  h.onProbe(false, 0);
  EXPECT_FALSE(h.healthy(0));
  h.onProbe(true, 0);
  EXPECT_FALSE(h.healthy(0));  // One of two.
  h.onProbe(false, 0);
  h.onProbe(true, 0);
  EXPECT_FALSE(h.healthy(0));  // The streak restarted.
  h.onProbe(true, 0);
  EXPECT_TRUE(h.healthy(0));
}

TEST(HealthStateTest, PassiveFailuresCoolABackendDownForAWhile) {
  HealthState h(1, 1, PassiveOptions{3, 10000});
  h.onRequestFailure(1000);
  h.onRequestFailure(1001);
  h.onRequestSuccess();  // Consecutive failures only.
  EXPECT_FALSE(h.onRequestFailure(1002));
  EXPECT_FALSE(h.onRequestFailure(1003));
  EXPECT_TRUE(h.healthy(1003));
  EXPECT_TRUE(h.onRequestFailure(1004));
  EXPECT_FALSE(h.healthy(1004));
  EXPECT_FALSE(h.healthy(11003));
  EXPECT_FALSE(h.onRequestFailure(5000));  // Late failures of in-flight requests: no extension.
  EXPECT_TRUE(h.healthy(11004));
  // After the cool-down it takes `failures` new failures to go down again.
  EXPECT_FALSE(h.onRequestFailure(12000));
  EXPECT_TRUE(h.healthy(12000));
}

TEST(HealthStateTest, PassiveChecksCanBeTurnedOff) {
  HealthState h(1, 1, PassiveOptions{0, 10000});
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(h.onRequestFailure(i));
  EXPECT_TRUE(h.healthy(100));
}

TEST(HealthStateTest, ActiveRecoveryEndsAPassiveCoolDown) {
  HealthState h(2, 1, PassiveOptions{1, 60000});
  h.onRequestFailure(0);
  EXPECT_FALSE(h.healthy(1));
  h.onProbe(false, 0);  // Down by the probes too.
  h.onProbe(true, 0);
  h.onProbe(true, 0);
  EXPECT_TRUE(h.healthy(2));  // Probes proved it up: no need to wait out the minute.
}

TEST(HealthStateTest, RiseGoodProbesEndAPassiveCoolDownEarly) {
  HealthState h(2, 3, PassiveOptions{1, 60000});
  h.onRequestFailure(0);  // Probes never saw it down: the requests did.
  EXPECT_FALSE(h.healthy(10));
  h.onProbe(true, 10);
  h.onProbe(false, 20);  // The streak must be unbroken.
  h.onProbe(true, 30);
  EXPECT_FALSE(h.healthy(30));
  h.onProbe(true, 40);
  EXPECT_TRUE(h.healthy(40));
}

TEST(HealthStateTest, DownByProbesStaysDownWhateverRequestsSay) {
  HealthState h(1, 1, PassiveOptions{3, 1000});
  h.onProbe(false, 0);
  h.onRequestSuccess();
  EXPECT_FALSE(h.healthy(0));
  EXPECT_FALSE(h.healthy(1000000));
}

}  // namespace
}  // namespace strata::edge::origin

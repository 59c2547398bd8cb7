#pragma once
// Backend health as a pure state machine with an injected clock (milliseconds on any monotonic
// scale), so the hysteresis is unit-tested without sockets or sleeps.
//
//  - Active checks (when configured): `fall` consecutive failed probes mark a backend down;
//    `rise` consecutive good probes bring it back. A backend starts up, so a node serves at once.
//  - Passive checks: `failures` consecutive failed requests (connect errors, resets, timeouts,
//    502/503/504) take it out of rotation for `cooldown`; any success resets the count. After
//    the cool-down it gets traffic again and the count starts afresh. With active checks, `rise`
//    good probes in a row end a cool-down early: probes decide when a backend is back.
// healthy(now) is "active says up and no passive cool-down is running".
//
// Thread-safety: none; the owner (OriginPool's backend entry) guards it with a mutex.

#include <cstdint>

namespace strata::edge::origin {

struct PassiveOptions {
  int failures = 3;                 // Default: 3; 0 turns passive checks off.
  std::int64_t cooldownMs = 10000;  // Default: 10s
};

class HealthState {
 public:
  HealthState(int rise, int fall, PassiveOptions passive)
      : rise_(rise < 1 ? 1 : rise), fall_(fall < 1 ? 1 : fall), passive_(passive) {}

  // The result of one active probe.
  void onProbe(bool ok, std::int64_t nowMs);
  // The outcome of one proxied request. Returns true when this failure started a cool-down.
  bool onRequestFailure(std::int64_t nowMs);
  void onRequestSuccess();

  bool healthy(std::int64_t nowMs) const { return activeUp_ && nowMs >= downUntilMs_; }
  bool activeUp() const { return activeUp_; }
  bool coolingDown(std::int64_t nowMs) const { return nowMs < downUntilMs_; }
  int consecutiveFailures() const { return failures_; }

 private:
  int rise_;
  int fall_;
  PassiveOptions passive_;
  bool activeUp_ = true;
  int probeStreak_ = 0;   // Consecutive probes disagreeing with activeUp_.
  int failures_ = 0;      // Consecutive failed requests.
  int coolDownGood_ = 0;  // Consecutive good probes during a cool-down.
  std::int64_t downUntilMs_ = 0;
};

}  // namespace strata::edge::origin

#include "edge/origin/health.h"

namespace strata::edge::origin {

void HealthState::onProbe(bool ok, std::int64_t nowMs) {
  if (nowMs < downUntilMs_) {
    coolDownGood_ = ok ? coolDownGood_ + 1 : 0;
    if (coolDownGood_ >= rise_) {
      downUntilMs_ = 0;
      coolDownGood_ = 0;
      failures_ = 0;
    }
  }
  if (ok == activeUp_) {
    probeStreak_ = 0;
    return;
  }
  ++probeStreak_;
  if (probeStreak_ >= (activeUp_ ? fall_ : rise_)) {
    activeUp_ = ok;
    probeStreak_ = 0;
    if (ok) {
      failures_ = 0;
      downUntilMs_ = 0;  // Proven up by probes: no cool-down left over.
    }
  }
}

bool HealthState::onRequestFailure(std::int64_t nowMs) {
  if (passive_.failures <= 0) return false;
  if (nowMs < downUntilMs_) return false;  // Already cooling down (requests still in flight).
  if (++failures_ < passive_.failures) return false;
  failures_ = 0;
  coolDownGood_ = 0;
  downUntilMs_ = nowMs + passive_.cooldownMs;
  return true;
}

void HealthState::onRequestSuccess() { failures_ = 0; }

}  // namespace strata::edge::origin

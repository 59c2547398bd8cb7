#pragma once
// A hint from code about to wait for a long or unknown time (the origin, a fill being written, a
// slow client) to the server running it. The proxy server runs requests on a few event threads,
// as many as there are cores; a thread that is about to wait first hands its event duty to a
// standby thread, so hits keep flowing while misses wait. One hint per request is enough: the
// hook clears itself.

namespace strata::edge::pipeline {

struct BlockingHook {
  void (*release)(void* context) = nullptr;
  void* context = nullptr;
};

inline thread_local BlockingHook tlsBlockingHook;

inline void mayBlock() {
  if (auto* release = tlsBlockingHook.release) {
    tlsBlockingHook.release = nullptr;
    release(tlsBlockingHook.context);
  }
}

}  // namespace strata::edge::pipeline

#pragma once
// FUZZ_CHECK(cond): an invariant of a fuzz target. A violation prints where and aborts, which
// libFuzzer reports as a crash (and saves the input) and the ctest replay as a failed test.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

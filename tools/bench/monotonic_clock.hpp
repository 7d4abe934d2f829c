#pragma once
// CLOCK_MONOTONIC in nanoseconds. One clock for every process of a run: the parent fixes the
// start and end times before forking and the children compare against the same clock.

#include <time.h>

#include <cstdint>

namespace portico::bench {

[[nodiscard]] inline int64_t monotonic_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace portico::bench

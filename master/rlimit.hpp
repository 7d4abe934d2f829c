#pragma once
// worker_rlimit_nofile: applied in each process that serves (every worker after fork, or the
// single process), so that a reload's new generation runs with the new value, and before the
// worker is built, because it sizes its tables (and the file cache) from the limit.

#include <cstdint>

namespace portico::master {

/// Sets RLIMIT_NOFILE's soft limit to `nofile` (0: leave it alone), raising the hard limit too if
/// it is lower (which needs root, so call it before dropping privileges). Logs a warning naming
/// the value if the kernel refuses; never throws.
void apply_nofile_limit(uint32_t nofile) noexcept;

}  // namespace portico::master

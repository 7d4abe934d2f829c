#pragma once
// worker_rlimit_nofile: applied in each process that serves (every worker after fork, or the
// single process), so that a reload's new generation runs with the new value, and before the
// worker is built, because it sizes its tables (and the file cache) from the limit.

#include <cstdint>

namespace portico::conf {
struct Config;
}

namespace portico::master {

/// The descriptors one worker of `cfg` can use: a connection each, the file cache's open files and
/// a reserve for listeners, logs and the channel.
[[nodiscard]] uint64_t wanted_nofile(const conf::Config& cfg) noexcept;

/// Sets RLIMIT_NOFILE's soft limit for this process. With worker_rlimit_nofile set, to that value,
/// raising the hard limit too if it is lower (which needs root, so call it before dropping
/// privileges). With 0 (the default), raises the soft limit towards wanted_nofile() but never
/// past the hard limit, as systemd advises for programs that need many descriptors (its default
/// soft limit, 1024, exists for select() users; portico uses epoll). Never lowers the soft limit.
/// Logs a warning naming the value if the kernel refuses; never throws.
void apply_nofile_limit(const conf::Config& cfg) noexcept;

}  // namespace portico::master

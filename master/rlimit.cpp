#include "master/rlimit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace portico::master {

void apply_nofile_limit(uint32_t nofile) noexcept {
    if (nofile == 0) return;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_max = nofile;
    // Lowering the hard limit could never be undone by an unprivileged worker: keep it unless it
    // is below what is asked for.
    rl.rlim_cur = nofile;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < nofile) rl.rlim_max = nofile;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        spdlog::warn("setrlimit(RLIMIT_NOFILE, {}) failed: {}", nofile, std::strerror(errno));
}

}  // namespace portico::master

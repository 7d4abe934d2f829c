#include "master/rlimit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "conf/config.hpp"

namespace portico::master {
namespace {

constexpr uint64_t kReserve = 64;  // listeners, log files, the channel, epoll, signalfd, a margin

void set_soft_limit(rlimit rl, uint64_t nofile) noexcept {
    rl.rlim_cur = nofile;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        spdlog::warn("setrlimit(RLIMIT_NOFILE, {}) failed: {}", nofile, std::strerror(errno));
}

}  // namespace

uint64_t wanted_nofile(const conf::Config& cfg) noexcept {
    return uint64_t{cfg.worker_connections} + cfg.http.open_file_cache.max + kReserve;
}

void apply_nofile_limit(const conf::Config& cfg) noexcept {
    rlimit rl{};
    bool known = getrlimit(RLIMIT_NOFILE, &rl) == 0;
    if (uint32_t nofile = cfg.worker_rlimit_nofile; nofile != 0) {
        if (!known) rl.rlim_max = nofile;
        // Lowering the hard limit could never be undone by an unprivileged worker: keep it unless
        // it is below what is asked for.
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < nofile) rl.rlim_max = nofile;
        return set_soft_limit(rl, nofile);
    }
    if (!known) return;
    uint64_t want = wanted_nofile(cfg);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        uint64_t to = rl.rlim_max == RLIM_INFINITY ? want : std::min<uint64_t>(want, rl.rlim_max);
        if (to > rl.rlim_cur) set_soft_limit(rl, to);
    }
}

}  // namespace portico::master

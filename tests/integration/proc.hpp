#pragma once
// Processes and sockets as /proc shows them, for tests of a master and the workers it forks
// (which are not the test's children, so it cannot wait for them the usual way).

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace portico::test {

/// /proc/PID/cmdline with the NULs as spaces and trailing ones dropped; "" if there is no such process.
[[nodiscard]] std::string process_title(pid_t pid);
/// The children of `pid` (from /proc/PID/task/PID/children), in no particular order.
[[nodiscard]] std::vector<pid_t> children_of(pid_t pid);

struct ProcStat {
    char state = '?';
    pid_t ppid = 0, pgrp = 0, session = 0;
    uint64_t cpu_ticks = 0;  ///< utime + stime, in clock ticks
};
/// /proc/PID/stat, or nothing if there is no such process.
[[nodiscard]] std::optional<ProcStat> proc_stat(pid_t pid);
/// True while the process exists and is not a zombie.
[[nodiscard]] bool is_alive(pid_t pid);
/// Real, effective, saved and filesystem uid from /proc/PID/status.
[[nodiscard]] std::array<uid_t, 4> uids_of(pid_t pid);
/// /proc/PID/status's Cpus_allowed_list ("0", "0-1", ...).
[[nodiscard]] std::string cpus_allowed(pid_t pid);
/// /proc/PID/status's VmRSS, in KiB (0 if there is no such process).
[[nodiscard]] uint64_t resident_kib(pid_t pid);
/// Waits on a pidfd until `pid` (not necessarily our child) has exited; false if it has not within `limit`.
bool wait_gone(pid_t pid, milliseconds limit);

/// The accept-queue length of every socket listening on 127.0.0.1:port (/proc/net/tcp), one
/// entry per socket however many descriptors (a worker's, the master's) share it.
[[nodiscard]] std::vector<uint32_t> listen_queues(uint16_t port);

/// Stops a process with SIGSTOP (returning once it is stopped), and kills it on destruction
/// unless resumed, so that a failing test leaves nothing stopped behind.
class Stopped {
public:
    explicit Stopped(pid_t pid);
    ~Stopped();
    Stopped(const Stopped&) = delete;
    Stopped& operator=(const Stopped&) = delete;

    /// Sends SIGCONT.
    void resume();

private:
    pid_t pid_;
    bool resumed_ = false;
};

}  // namespace portico::test

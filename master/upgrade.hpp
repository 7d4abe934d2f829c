#pragma once
// Binary upgrade (SIGUSR2, `-s upgrade`): the running master starts its own binary anew and hands
// it the listening sockets, so that no connection is refused or reset on the way.
//
//   old master                                      new master (a child of the old one)
//   fork + exec(binary path resolved at start) -->  reads PORTICO_LISTENERS: "ADDRESS SLOT FD;..."
//     the listeners' fds, one end of a                adopts them as its slots' sockets, starts
//     socketpair (PORTICO_UPGRADE_CHANNEL) and a      its workers on them, with the session-
//     memfd of the session-ticket keys                ticket keys read from the memfd (so
//     (PORTICO_UPGRADE_TICKETS) stay open             tickets issued before resume after)
//     across exec                                    once they all serve: takes the pid file and
//                                                    the control socket, writes "ready PID\n"
//   "ready": retires its workers (they take what     (or "error REASON\n" if it cannot start)
//     is queued and close their duplicates), then
//     exits; the pid file already names the new one
//
// If the new master exits, reports an error or does not serve in time, the old one keeps
// serving and says why. Sockets are shared, not moved: until the old workers close theirs, both
// generations accept from the same queues, like a reload's.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace portico::master {

struct HandedSocket {
    std::string address;  ///< conf::ListenAddress::to_string()
    uint32_t slot = 0;
    int fd = -1;
};

/// What a master started by an upgrade inherits (empty when it was started normally).
struct Inheritance {
    core::UniqueFd channel;             ///< to the old master; invalid if not an upgrade
    uint32_t last_generation = 0;       ///< the old master's last generation number
    std::vector<HandedSocket> sockets;  ///< now owned by the new master (close-on-exec set again)
    core::UniqueFd tickets;             ///< the old master's ticket keys (export_keys), if handed
    [[nodiscard]] bool upgrading() const noexcept { return channel.valid(); }
};

/// Reads and removes the upgrade variables from the environment, so the workers do not see them.
/// Throws std::runtime_error on a malformed value.
Inheritance take_inheritance();

/// The path of the running binary (/proc/self/exe resolved now, so that a binary installed over
/// it later is the one an upgrade executes). "" if it cannot be resolved.
std::string own_binary_path();

/// Forks and executes `binary` with `argv` and the variables that hand over `sockets`,
/// `channel` (the child's end) and `tickets` (a memfd of the ticket keys, or -1). Returns the
/// child's pid, or -1 with errno set if fork failed; an exec that fails shows as the child's exit
/// code 127 (and a line in the error log).
pid_t start_successor(const std::string& binary, const std::vector<std::string>& argv,
                      const std::vector<HandedSocket>& sockets, int channel, int tickets,
                      uint32_t last_generation);

}  // namespace portico::master

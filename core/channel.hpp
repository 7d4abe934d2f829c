#pragma once
// The control channel between the master and one worker: a SOCK_SEQPACKET socketpair, so every
// message arrives whole. A worker reports the listener sockets it created (their descriptors
// travel with SCM_RIGHTS, so the master keeps each slot's socket alive across worker deaths and
// reloads) and then that it is ready. The master may send a worker another slot's listener to
// adopt while that slot has no worker (a crash loop backing off), so its queue is not stranded,
// and tells it to give the listener back once the slot has a worker again.

#include <cstdint>

#include "core/fd.hpp"

namespace portico::core {

struct ChannelMessage {
    enum class Type : uint8_t {
        kListener = 1,          ///< worker -> master: a listener it bound (fd attached)
        kReady = 2,             ///< worker -> master: its listeners are in its epoll set
        kAdopt = 3,             ///< master -> worker: accept from this listener too (fd attached)
        kGiveBack = 4,          ///< master -> worker: the slot has a worker again; stop accepting for it
        kStoppedAccepting = 5,  ///< worker -> master: stopping, it took its queues and closed its listeners
        kFailed = 6,            ///< worker -> master: it cannot start, and `reason` says why; it exits next
    };
    Type type;
    uint32_t address_index = 0;  ///< kListener: the master's group; kAdopt: the index in the
                                 ///< worker's conf::distinct_listen_addresses()
    uint32_t slot = 0;           ///< kListener, kAdopt, kGiveBack: the slot the socket belongs to
    char reason[200] = {};       ///< kFailed: NUL-terminated, cut to fit
};

/// Creates the pair: [0] for the master, [1] for the worker. Both close-on-exec.
bool make_channel(UniqueFd& master_end, UniqueFd& worker_end) noexcept;

/// Sends `msg`, with `fd` attached when fd >= 0. Returns false on failure (errno set).
bool send_message(int channel, const ChannelMessage& msg, int fd = -1) noexcept;

/// Receives one message. Returns 1 on success (an attached descriptor lands in `fd`, else -1),
/// 0 when the peer closed, -1 on error or when nothing is pending (errno EAGAIN).
int receive_message(int channel, ChannelMessage& msg, UniqueFd& fd) noexcept;

}  // namespace portico::core

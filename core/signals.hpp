#pragma once
// Signals arrive through a signalfd, so no real work ever runs in a handler.

#include <csignal>
#include <initializer_list>

#include "core/fd.hpp"

namespace portico::core {

/// Blocks `signals` in this thread and returns a non-blocking signalfd that reports them.
/// Returns an invalid fd on failure (errno set).
UniqueFd block_and_open_signalfd(std::initializer_list<int> signals) noexcept;

/// Reads one pending signal from a signalfd; 0 when none is pending.
int read_signal(int sfd) noexcept;

/// SIGPIPE would kill the process on a write to a closed socket; writes report EPIPE instead.
void ignore_sigpipe() noexcept;

}  // namespace portico::core

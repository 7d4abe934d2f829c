#pragma once
// Listening sockets.

#include <cstdint>
#include <string>
#include <system_error>

#include "core/fd.hpp"

namespace portico::core {

struct ListenOptions {
    int backlog = 4096;      ///< negative: bind only, do not listen
    bool reuse_port = true;  ///< SO_REUSEPORT: one listener per worker, the kernel spreads connections
};

/// Creates a non-blocking, close-on-exec TCP listener bound to host:port (numeric host;
/// IPv6 sockets are IPV6_V6ONLY). On failure returns an invalid fd and sets `ec`, and `what`
/// names the call that failed ("bind()").
UniqueFd open_listener(const std::string& host, uint16_t port, bool ipv6, const ListenOptions& opts,
                       std::error_code& ec, const char*& what) noexcept;

/// Formats the peer address of a connected socket ("127.0.0.1", "::1") into out; returns its length.
size_t peer_address(int fd, char* out, size_t cap) noexcept;

}  // namespace portico::core

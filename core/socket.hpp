#pragma once
// Listening sockets.

#include <array>
#include <cstdint>
#include <string>
#include <system_error>

#include "core/fd.hpp"

struct sockaddr;

namespace portico::core {

/// A client's address as accept4() reported it, kept with its connection so that access rules,
/// logs and X-Forwarded-For need no getpeername() per request. An IPv4 address is stored in its
/// IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one 16-byte compare serves both families.
struct PeerAddress {
    std::array<uint8_t, 16> bytes{};
    uint16_t port = 0;  ///< host byte order; 0 when unknown
    bool v4 = false;    ///< the socket is IPv4 (bytes hold the mapped form)

    /// From an AF_INET or AF_INET6 address; any other family (or null) gives the unspecified one.
    static PeerAddress from(const sockaddr* sa) noexcept;
    /// Writes "127.0.0.1" or "::1" to out[0, cap) and returns its length (0 if it does not fit).
    size_t format(char* out, size_t cap) const noexcept;
};

struct ListenOptions {
    int backlog = 4096;      ///< negative: bind only, do not listen
    bool reuse_port = true;  ///< SO_REUSEPORT: one listener per worker, the kernel spreads connections
};

/// TCP_DEFER_ACCEPT on a listener: accept() reports a connection once its first bytes have come
/// (or after about a second of silence, when the kernel accepts it anyway), not at the handshake's
/// last ACK. False with errno if the kernel refused.
bool set_defer_accept(int listener_fd, bool on) noexcept;

/// Creates a non-blocking, close-on-exec TCP listener bound to host:port (numeric host;
/// IPv6 sockets are IPV6_V6ONLY). On failure returns an invalid fd and sets `ec`, and `what`
/// names the call that failed ("bind()").
UniqueFd open_listener(const std::string& host, uint16_t port, bool ipv6, const ListenOptions& opts,
                       std::error_code& ec, const char*& what) noexcept;


}  // namespace portico::core

#include "core/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace portico::core {
namespace {

bool set_int_option(int fd, int level, int name, int value) noexcept {
    return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

UniqueFd fail(std::error_code& ec, const char*& what, const char* call) noexcept {
    ec.assign(errno, std::generic_category());
    what = call;
    return UniqueFd{};
}

}  // namespace

bool set_defer_accept(int listener_fd, bool on) noexcept {
    // Seconds, which the kernel turns into SYN-ACK retransmissions: 1 is one retransmission, so a
    // client that connects and stays silent is accepted after the first timeout (1 s).
    return set_int_option(listener_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, on ? 1 : 0);
}

UniqueFd open_listener(const std::string& host, uint16_t port, bool ipv6, const ListenOptions& opts,
                       std::error_code& ec, const char*& what) noexcept {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (ipv6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
            errno = EINVAL;
            return fail(ec, what, "inet_pton()");
        }
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
            errno = EINVAL;
            return fail(ec, what, "inet_pton()");
        }
        len = sizeof *a;
    }
    UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(ec, what, "socket()");
    if (!set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1)) return fail(ec, what, "setsockopt(SO_REUSEADDR)");
    if (opts.reuse_port && !set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1))
        return fail(ec, what, "setsockopt(SO_REUSEPORT)");
    if (ipv6 && !set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1))
        return fail(ec, what, "setsockopt(IPV6_V6ONLY)");
    // Accepted sockets inherit TCP_NODELAY, so no per-connection setsockopt is needed. Responses
    // are written whole (one writev), so Nagle would only add latency.
    if (!set_int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1)) return fail(ec, what, "setsockopt(TCP_NODELAY)");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return fail(ec, what, "bind()");
    if (opts.backlog >= 0 && ::listen(fd.get(), opts.backlog) != 0) return fail(ec, what, "listen()");
    ec.clear();
    return fd;
}

PeerAddress PeerAddress::from(const sockaddr* sa) noexcept {
    PeerAddress p;
    if (!sa) return p;
    if (sa->sa_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
        p.bytes[10] = p.bytes[11] = 0xff;
        std::memcpy(&p.bytes[12], &a->sin_addr, 4);
        p.port = ntohs(a->sin_port);
        p.v4 = true;
    } else if (sa->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
        std::memcpy(p.bytes.data(), &a->sin6_addr, 16);
        p.port = ntohs(a->sin6_port);
    }
    return p;
}

size_t PeerAddress::format(char* out, size_t cap) const noexcept {
    if (cap == 0) return 0;
    out[0] = '\0';
    if (v4 && cap >= 16) {
        // Dotted quad by hand: glibc's inet_ntop formats IPv4 through sprintf, which the proxy
        // (X-Forwarded-For, X-Real-IP) and the access log would pay on every request.
        char* at = out;
        for (size_t i = 12; i < 16; ++i) {
            if (i > 12) *at++ = '.';
            at = std::to_chars(at, out + cap, bytes[i]).ptr;
        }
        *at = '\0';
        return static_cast<size_t>(at - out);
    }
    const void* addr = v4 ? static_cast<const void*>(&bytes[12]) : static_cast<const void*>(bytes.data());
    if (!inet_ntop(v4 ? AF_INET : AF_INET6, addr, out, static_cast<socklen_t>(cap))) return 0;
    return std::strlen(out);
}

}  // namespace portico::core

#include "server_sockets.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portico::bench {
namespace {

// A filter run by the kernel for each socket, so the dump carries only the server's sockets
// and not the whole machine's: local port >= P and local port <= P. An op's `yes` and `no`
// are byte offsets to the next op; landing exactly on the end accepts, 4 past it rejects.
struct PortFilter {
    nlattr attr;
    inet_diag_bc_op ops[4];
};

PortFilter port_filter(uint16_t port) {
    PortFilter f{};
    f.attr.nla_len = sizeof(PortFilter);
    f.attr.nla_type = INET_DIAG_REQ_BYTECODE;
    f.ops[0] = {INET_DIAG_BC_S_GE, 8, 20};  // no: past the end of all four ops
    f.ops[1] = {0, 0, port};
    f.ops[2] = {INET_DIAG_BC_S_LE, 8, 12};
    f.ops[3] = {0, 0, port};
    return f;
}

struct DumpRequest {
    nlmsghdr header;
    inet_diag_req_v2 request;
    PortFilter filter;
};

}  // namespace

ServerSockets::ServerSockets(const Target& server) {
    family_ = server.address.ss_family;
    if (family_ == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(server.address);
        port_ = ntohs(a.sin_port);
        std::memcpy(address_, &a.sin_addr, 4);
    } else {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(server.address);
        port_ = ntohs(a.sin6_port);
        std::memcpy(address_, &a.sin6_addr, 16);
    }
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

ServerSockets::~ServerSockets() {
    if (fd_ >= 0) ::close(fd_);
}

bool ServerSockets::dump(Peers& peers) noexcept {
    peers.established.reset();
    peers.held.reset();
    return valid() && send_request() && read_replies(peers);
}

bool ServerSockets::send_request() noexcept {
    DumpRequest msg{};
    msg.header.nlmsg_len = sizeof(msg);
    msg.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.request.sdiag_family = static_cast<uint8_t>(family_);
    msg.request.sdiag_protocol = IPPROTO_TCP;
    msg.request.idiag_states = 0xfffu & ~(1u << TCP_LISTEN);  // every state of a connection
    msg.filter = port_filter(port_);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (;;) {
        const ssize_t n =
            ::sendto(fd_, &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
        if (n == static_cast<ssize_t>(sizeof(msg))) return true;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
}

bool ServerSockets::read_replies(Peers& peers) noexcept {
    alignas(nlmsghdr) char buffer[32 * 1024];
    const size_t address_len = family_ == AF_INET ? 4 : 16;
    for (;;) {
        const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        auto len = static_cast<unsigned>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) return true;
            if (h->nlmsg_type == NLMSG_ERROR) return false;
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
            const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
            // The kernel filtered on the port; the address tells our server from another one
            // on the same port of another address.
            if (std::memcmp(m->id.idiag_src, address_, address_len) != 0) continue;
            const uint16_t port = ntohs(m->id.idiag_dport);
            if (m->idiag_state == TCP_ESTABLISHED) peers.established.set(port);
            // An orphan (closed by the server, still sending or timing out) has no inode.
            if (m->idiag_inode != 0) peers.held.set(port);
        }
    }
}

}  // namespace portico::bench

#pragma once
// The server's side of our connections, read from the kernel's socket table (sock_diag over
// netlink, what `ss` uses). A slow reader cannot see the server give up on it: a server that
// closes a connection with unsent data queues its FIN behind that data, and the data waits for
// the reader's window, so nothing reaches the reader for minutes. The server's own socket
// leaves ESTABLISHED at once, though, and on loopback its socket is in our table too.

#include "target.hpp"

#include <bitset>
#include <cstdint>

namespace portico::bench {

class ServerSockets {
public:
    /// A set of peer ports: our connections' local ports.
    using PortSet = std::bitset<65536>;

    /// What the table says of the server's sockets, by peer port.
    struct Peers {
        PortSet established;  ///< the server's socket is ESTABLISHED
        /// The server still holds a descriptor of it (it is not an orphan). A socket reset
        /// while its descriptor is open leaves the table, so this can miss such a one.
        PortSet held;
    };

    /// Watches the server at `server`'s address and port. valid() says whether the kernel
    /// let us open the netlink socket.
    explicit ServerSockets(const Target& server);
    ~ServerSockets();
    ServerSockets(const ServerSockets&) = delete;
    ServerSockets& operator=(const ServerSockets&) = delete;

    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }

    /// Dumps the server's TCP sockets (local address and port = the server's) and sets the
    /// remote port of each in `peers`. Returns false when the dump failed; `peers` is then
    /// incomplete and must not be trusted.
    bool dump(Peers& peers) noexcept;

private:
    bool send_request() noexcept;
    bool read_replies(Peers& peers) noexcept;

    int fd_ = -1;
    int family_ = 0;
    uint16_t port_ = 0;               // host order
    unsigned char address_[16] = {};  // network order; 4 bytes for IPv4
};

}  // namespace portico::bench

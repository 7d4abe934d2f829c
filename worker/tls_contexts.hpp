#pragma once
// A worker's TLS, built once at start-up (after fork, before serving) from its generation's
// config: for every ssl address, one core::tls::Context per server on it (in config order, so the
// first is the default, as for Host) and the SniSelector that picks between them by the
// ClientHello's server_name. Connections on a listener start from its address's initial context.
//
// Per address rather than per server: the selector installs its callback on the default
// server's SSL_CTX, so a server that is the default on one address and not on another needs an
// SSL_CTX for each.

#include <memory>
#include <vector>

#include "conf/config.hpp"
#include "core/tls/context.hpp"
#include "core/tls/sni_selector.hpp"

namespace portico::core::tls {
class TicketKeyRing;
}

namespace portico::worker {

class TlsContexts {
public:
    /// Loads every ssl address's certificates. `tickets` (the master's ring, or nullptr for
    /// OpenSSL's per-process keys) must outlive this object. Throws std::runtime_error naming
    /// the server, the address and the file when a context cannot be built.
    TlsContexts(const conf::Config& config, core::tls::TicketKeyRing* tickets);
    TlsContexts(const TlsContexts&) = delete;
    TlsContexts& operator=(const TlsContexts&) = delete;

    /// The context a connection accepted on `address` starts its handshake from (its
    /// SniSelector's initial context), or nullptr for a plain address. Owned by this object.
    [[nodiscard]] SSL_CTX* initial_context(const conf::ListenAddress& address) const noexcept;

    /// How many ssl addresses there are.
    [[nodiscard]] size_t size() const noexcept { return addresses_.size(); }

private:
    struct Address {
        conf::ListenAddress address;
        std::vector<std::unique_ptr<core::tls::Context>> contexts;  // the selector points at them
        std::unique_ptr<core::tls::SniSelector> selector;
    };
    void add_address(const conf::Config& config, const conf::ListenAddress& address,
                     core::tls::TicketKeyRing* tickets);
    std::vector<Address> addresses_;
};

}  // namespace portico::worker

#pragma once
// SNI: on one listen address, the server_name the client sent chooses the server, and with it
// the certificate. A name that matches no server, or no name at all, gets the first server on
// the address, as nginx does. The chosen server is the context's (Context::server()), so the
// connection can later check the Host header against the server that the handshake chose.

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::core::tls {

class Context;

class SniSelector {
public:
    struct Entry {
        Context* context;                ///< not owned; outlives the selector
        std::vector<std::string> names;  ///< lower-case server names; may be empty
    };

    /// `entries` in config order, at least one; the first is the default.
    explicit SniSelector(std::vector<Entry> entries);
    SniSelector(const SniSelector&) = delete;
    SniSelector& operator=(const SniSelector&) = delete;

    /// The context connections on this address start from (the default server's), with the
    /// ClientHello callback installed. The selector must outlive every SSL made from it.
    [[nodiscard]] SSL_CTX* initial_context() const noexcept;

    /// The entry for `name` (case ignored, one trailing dot ignored), else the default.
    [[nodiscard]] const Entry& select(std::string_view name) const noexcept;

    /// The server the handshake of `ssl` chose: Context::server() of its current context.
    static uint32_t chosen_server(const SSL* ssl) noexcept;

private:
    static int on_client_hello(SSL* ssl, int* alert, void* arg);
    static std::string_view host_name(const unsigned char* data, size_t length) noexcept;
    std::vector<Entry> entries_;
};

}  // namespace portico::core::tls

#pragma once
// One server's SSL_CTX, built from its Settings: protocols, ciphers, one certificate per key
// type, no renegotiation, buffers released while idle, ALPN http/1.1, session cache and
// tickets. Built once per config generation in each worker; the connections of the server's
// listeners make their SSL objects from it.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/tls/openssl.hpp"
#include "core/tls/settings.hpp"

namespace portico::core::tls {

class TicketKeyRing;

class Context {
public:
    struct Options {
        uint32_t server = 0;  ///< the index of the server in the config, reported after SNI
        /// Names the server for session resumption: a session is only resumed by a context with
        /// the same identity, so a ticket from one server cannot skip another's certificate.
        std::string identity;
        TicketKeyRing* ring = nullptr;  ///< tickets' keys; nullptr: OpenSSL's per-process keys
        bool ktls = false;              ///< SSL_OP_ENABLE_KTLS (see ktls_available())
    };

    /// Loads the certificates and applies `settings`. Returns nullptr and sets `error` (which
    /// file, what went wrong) on failure. `ring`, when given, must outlive the context.
    static std::unique_ptr<Context> create(const Settings& settings, const Options& options,
                                           std::string& error);

    /// Whether OpenSSL accepts `ciphers` as a TLS 1.2 cipher list with at least one cipher in
    /// it; `error` says why not.
    static bool check_ciphers(const std::string& ciphers, std::string& error);
    /// Whether OpenSSL accepts `suites` as a TLS 1.3 ciphersuite list (names it knows, ':' between).
    static bool check_ciphersuites(const std::string& suites, std::string& error);

    /// The context that made `ctx`, or nullptr for a foreign one.
    static Context* from(const SSL_CTX* ctx) noexcept;

    [[nodiscard]] SSL_CTX* get() const noexcept { return ctx_.get(); }
    [[nodiscard]] uint32_t server() const noexcept { return server_; }
    /// Whether `session` was made by a context with this one's identity.
    [[nodiscard]] bool issued(const SSL_SESSION* session) const noexcept;

private:
    Context() = default;
    bool configure(const Settings& settings, const Options& options, std::string& error);
    bool add_certificates(const Settings& settings, std::string& error);
    SslCtxPtr ctx_;
    uint32_t server_ = 0;
    std::array<unsigned char, 32> session_id_{};  ///< SHA-256 of Options::identity
};

}  // namespace portico::core::tls

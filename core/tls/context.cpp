// Building a server's SSL_CTX. Every choice here is one the issue (TLS, issue 10) asks for or
// one nginx makes by default; each says why.

#include "core/tls/context.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <fmt/format.h>

#include <cstring>

#include "core/tls/certificate.hpp"
#include "core/tls/ticket_key_ring.hpp"

namespace portico::core::tls {
namespace {

constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
// TLS 1.3 sends tickets after the handshake; one is enough for an HTTP/1.1 client to resume,
// and each costs an encryption in the handshake.
constexpr size_t kTicketsPerHandshake = 1;
// Sessions kept per worker for stateful resumption when tickets are off.
constexpr long kSessionCacheSize = 4096;

int context_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// ALPN: http/1.1 only, until HTTP/2 exists. A client that offers protocols but not http/1.1
// gets the no_application_protocol alert (RFC 7301, 3.2), as nginx does.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                unsigned int in_length, void*) {
    for (unsigned int i = 0; i < in_length;) {
        unsigned int length = in[i];
        if (i + 1 + length > in_length) break;
        if (length == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, length) == 0) {
            *out = in + i + 1;
            *out_length = static_cast<unsigned char>(length);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + length;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

bool set_protocols(SSL_CTX* ctx, uint8_t protocols) {
    int min = (protocols & kTls12) != 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    int max = (protocols & kTls13) != 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
    return SSL_CTX_set_min_proto_version(ctx, min) == 1 && SSL_CTX_set_max_proto_version(ctx, max) == 1;
}

// The session id context is bounded at 32 bytes; a digest of the identity fits any name.
bool set_identity(SSL_CTX* ctx, const std::string& identity, std::array<unsigned char, 32>& digest) {
    static_assert(SHA256_DIGEST_LENGTH == 32 && SHA256_DIGEST_LENGTH <= SSL_MAX_SID_CTX_LENGTH);
    SHA256(reinterpret_cast<const unsigned char*>(identity.data()), identity.size(), digest.data());
    return SSL_CTX_set_session_id_context(ctx, digest.data(), digest.size()) == 1;
}

}  // namespace

std::unique_ptr<Context> Context::create(const Settings& settings, const Options& options,
                                         std::string& error) {
    ERR_clear_error();
    std::unique_ptr<Context> context(new Context());
    context->ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!context->ctx_) {
        error = "SSL_CTX_new() failed: " + take_openssl_errors();
        return nullptr;
    }
    context->server_ = options.server;
    if (!context->configure(settings, options, error) || !context->add_certificates(settings, error)) {
        return nullptr;
    }
    return context;
}

bool Context::configure(const Settings& settings, const Options& options, std::string& error) {
    SSL_CTX* ctx = ctx_.get();
    // The server's cipher order decides (testssl.sh rates a client-chosen order HIGH): both
    // lists put AES-128-GCM first, which these CPUs do in hardware, and ECDSA before RSA.
    // A peer's FIN without close_notify is the end of its input, as nginx takes it: HTTP frames
    // its own messages, and OpenSSL 3 would otherwise call it a fatal error (an alert, and a
    // session dropped from the cache).
    uint64_t ssl_options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                           SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (!settings.session_tickets) ssl_options |= SSL_OP_NO_TICKET;
    if (options.ktls) ssl_options |= SSL_OP_ENABLE_KTLS;
    SSL_CTX_set_options(ctx, ssl_options);
    // A connection starts cold: its record buffers go back whenever they empty (one that keeps
    // making requests is made warm and keeps them, see Transport::keep_buffers). Partial writes
    // and a moving buffer let the connection retry a write from wherever its output now lives.
    SSL_CTX_set_mode(
        ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // With tickets the client carries its session, so the worker stores none (memory per
    // handshake, as nginx's default); without them a per-worker cache still resumes on the same
    // worker (and serves TLS 1.3's stateful tickets).
    SSL_CTX_set_session_cache_mode(ctx, settings.session_tickets
                                            ? SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL
                                            : SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);
    SSL_CTX_set_timeout(ctx, static_cast<long>(settings.session_timeout.count()));
    SSL_CTX_set_num_tickets(ctx, kTicketsPerHandshake);  // stateful ones when session_tickets is off
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
    SSL_CTX_set_ex_data(ctx, context_index(), this);
    if (!set_protocols(ctx, settings.protocols) || !set_identity(ctx, options.identity, session_id_)) {
        error = "cannot set the protocols: " + take_openssl_errors();
        return false;
    }
    if (SSL_CTX_set_cipher_list(ctx, settings.ciphers.c_str()) != 1) {
        error = fmt::format("ciphers '{}': {}", settings.ciphers, take_openssl_errors());
        return false;
    }
    if (SSL_CTX_set_ciphersuites(ctx, settings.ciphersuites.c_str()) != 1) {
        error = fmt::format("ciphersuites '{}': {}", settings.ciphersuites, take_openssl_errors());
        return false;
    }
    // Installed even with tickets off: OpenSSL calls the first context's callback for every
    // server on the address, and SSL_OP_NO_TICKET (copied per server after SNI) decides.
    if (options.ring != nullptr && !options.ring->install(ctx)) {
        error = "cannot install the session-ticket keys: " + take_openssl_errors();
        return false;
    }
    return true;
}

// One certificate per key type: OpenSSL keeps a slot for each and picks the one the client's
// signature_algorithms allow, preferring the order the cipher list gives.
bool Context::add_certificates(const Settings& settings, std::string& error) {
    if (settings.certificates.empty()) {
        error = "no certificate";
        return false;
    }
    for (const auto& paths : settings.certificates) {
        Certificate::Loaded loaded = Certificate::load(paths.certificate, paths.certificate_key);
        if (!loaded.certificate) {
            bool key_failed = loaded.failure != Certificate::Failure::kCertificate;
            error =
                fmt::format("{}: {}", key_failed ? paths.certificate_key : paths.certificate, loaded.reason);
            return false;
        }
        const Certificate& c = *loaded.certificate;
        if (SSL_CTX_use_cert_and_key(ctx_.get(), c.leaf(), c.key(), c.chain(), 1) != 1) {
            error = fmt::format("{}: {}", paths.certificate, take_openssl_errors());
            return false;
        }
    }
    return true;
}

namespace {

// A throwaway context to try a list on: OpenSSL checks one only by setting it.
SslCtxPtr scratch_context(std::string& error) {
    ERR_clear_error();
    SslCtxPtr ctx{SSL_CTX_new(TLS_server_method())};
    if (!ctx) error = take_openssl_errors();
    return ctx;
}

}  // namespace

bool Context::check_ciphers(const std::string& ciphers, std::string& error) {
    SslCtxPtr ctx = scratch_context(error);
    if (!ctx) return false;
    if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
        error = "OpenSSL knows none of these ciphers (" + take_openssl_errors() + ")";
        return false;
    }
    return true;
}

bool Context::check_ciphersuites(const std::string& suites, std::string& error) {
    SslCtxPtr ctx = scratch_context(error);
    if (!ctx) return false;
    // OpenSSL takes an empty list (no TLS 1.3 suites at all), which would fail every TLS 1.3
    // handshake: refused here, as a list of unknown names is.
    if (suites.empty() || SSL_CTX_set_ciphersuites(ctx.get(), suites.c_str()) != 1) {
        std::string why = take_openssl_errors();
        error = "OpenSSL knows none of these TLS 1.3 suites" + (why.empty() ? std::string() : " (" + why + ")");
        return false;
    }
    return true;
}

bool Context::issued(const SSL_SESSION* session) const noexcept {
    unsigned int length = 0;
    const unsigned char* id = SSL_SESSION_get0_id_context(session, &length);
    return length == session_id_.size() && std::memcmp(id, session_id_.data(), length) == 0;
}

Context* Context::from(const SSL_CTX* ctx) noexcept {
    return static_cast<Context*>(SSL_CTX_get_ex_data(ctx, context_index()));
}

}  // namespace portico::core::tls

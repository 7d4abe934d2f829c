#pragma once
// An OpenSSL client in the test's own thread, talking to a server Transport over a non-blocking
// socketpair: both sides step in turn, so handshakes and resumption are checked without a
// second process. (The transport's tests against a real peer use Python's ssl module.)

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

#include "core/tls/openssl.hpp"
#include "core/tls/transport.hpp"
#include "tests/unit/core/tls/test_certificates.hpp"

namespace portico::test {

using core::tls::SessionPtr;
using core::tls::SslCtxPtr;
using core::tls::SslPtr;

/// A client context that trusts the test certificates.
inline SslCtxPtr client_context(int max_version = TLS1_3_VERSION) {
    SslCtxPtr ctx{SSL_CTX_new(TLS_client_method())};
    REQUIRE(ctx);
    REQUIRE(SSL_CTX_load_verify_locations(ctx.get(), TestCertificates::get().path("ca.pem").c_str(),
                                          nullptr) == 1);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    return ctx;
}

/// One connection: the server side is a Transport over fds[0], the client an SSL over fds[1].
class Connection {
public:
    Connection(SSL_CTX* server, SSL_CTX* client, const char* servername = nullptr,
               SSL_SESSION* session = nullptr) {
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_) == 0);
        transport_ = std::make_unique<core::tls::Transport>(server, fds_[0]);
        REQUIRE(transport_->valid());
        client_.reset(SSL_new(client));
        SSL_set_fd(client_.get(), fds_[1]);
        SSL_set_connect_state(client_.get());
        if (servername != nullptr) SSL_set_tlsext_host_name(client_.get(), servername);
        if (session != nullptr) SSL_set_session(client_.get(), session);
    }
    ~Connection() {
        transport_.reset();
        client_.reset();
        close(fds_[0]);
        close(fds_[1]);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Steps both sides until both finished the handshake (true) or one failed (false).
    bool handshake() {
        for (int i = 0; i < 100; ++i) {
            int c = SSL_do_handshake(client_.get());
            if (c <= 0 && SSL_get_error(client_.get(), c) != SSL_ERROR_WANT_READ) return false;
            core::tls::IoStatus s = transport_->handshake();
            if (s == core::tls::IoStatus::kError || s == core::tls::IoStatus::kClosed) return false;
            if (c == 1 && s == core::tls::IoStatus::kOk) return true;
        }
        return false;
    }

    /// The client's session, after one server byte delivered TLS 1.3's NewSessionTicket.
    SessionPtr session() {
        REQUIRE(transport_->write("x", 1).bytes == 1);
        char byte = 0;
        size_t n = 0;
        REQUIRE(SSL_read_ex(client_.get(), &byte, 1, &n) == 1);
        return SessionPtr{SSL_get1_session(client_.get())};
    }

    [[nodiscard]] bool reused() const { return SSL_session_reused(client_.get()) == 1; }
    [[nodiscard]] SSL* client() const { return client_.get(); }
    [[nodiscard]] core::tls::Transport& server() const { return *transport_; }

private:
    int fds_[2] = {-1, -1};
    std::unique_ptr<core::tls::Transport> transport_;
    SslPtr client_;
};

/// The CN of the certificate the client got.
inline std::string peer_name(SSL* client) {
    X509* cert = SSL_get0_peer_certificate(client);
    REQUIRE(cert != nullptr);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn;
}

}  // namespace portico::test

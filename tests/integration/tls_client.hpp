#pragma once
// A blocking OpenSSL client for the TLS tests: connects to 127.0.0.1, verifies the server's
// certificate against a CA file, and reads responses the way Client does (whole heads, bodies by
// Content-Length). Every read waits at most kWait. It also tells what the handshake was: the
// certificate shown, its key type, whether the session was resumed, and how the server ended.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/fd.hpp"
#include "tests/integration/harness.hpp"

namespace portico::test {

struct SslSessionFree {
    void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};
using SslSession = std::unique_ptr<SSL_SESSION, SslSessionFree>;

struct TlsOptions {
    std::string servername;          ///< sent as SNI; empty: none
    std::string ca_file;             ///< the certificates to trust; the peer's must verify
    int max_version = 0;             ///< TLS1_2_VERSION to stay below 1.3; 0: the library's best
    std::string sigalgs;             ///< e.g. "ECDSA+SHA256", to make the server pick a key type
    SSL_SESSION* session = nullptr;  ///< offered for resumption (not owned)
};

/// How the server ended the stream (read_until_close()).
struct TlsEnd {
    std::string bytes;          ///< what came before the end
    bool close_notify = false;  ///< the server sent close_notify before its FIN
    bool reset = false;         ///< ECONNRESET
};

class TlsClient {
public:
    /// Connects and completes the handshake; fails the test if it does not.
    TlsClient(uint16_t port, const TlsOptions& options);
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    void send_raw(std::string_view bytes);
    /// Reads about `n` bytes of whatever the server sends (records whole), and returns them.
    std::string read_some(size_t n);
    /// Leaves abruptly: SO_LINGER 0 and close, so the server's next write meets a reset.
    void reset();
    /// Ends the sending side with a bare FIN (shutdown(SHUT_WR)), without close_notify.
    void shutdown_write();
    /// One response, as Client::read_response parses it.
    Response read_response(bool to_head = false);
    /// Everything until the server ends the connection; fails if it does not within kWait.
    TlsEnd read_until_close();

    [[nodiscard]] bool reused() const;
    /// The CN of the certificate the server showed.
    [[nodiscard]] std::string peer_name() const;
    /// EVP_PKEY_RSA or EVP_PKEY_EC.
    [[nodiscard]] int peer_key_type() const;
    /// The SHA-256 of the certificate the server showed, in hex.
    [[nodiscard]] std::string peer_fingerprint() const;
    /// The ALPN protocol agreed on, or "".
    [[nodiscard]] std::string alpn() const;
    /// The session to resume later (read a response first: TLS 1.3 tickets follow the handshake).
    [[nodiscard]] SslSession session() const;

private:
    size_t fill();  // reads once more into buffered_; 0 at the end (close_notify or EOF)

    std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx_;
    std::unique_ptr<SSL, void (*)(SSL*)> ssl_;
    core::UniqueFd fd_;
    std::string buffered_;
    bool close_notify_ = false;
    bool reset_ = false;
    bool write_shut_ = false;  // shutdown_write(): no close_notify can follow
};

/// What a shell command printed (stdout and stderr together) and its exit status.
struct CommandResult {
    int status = -1;
    std::string out;
};
/// Runs `command` with /bin/sh, `input` on its standard input.
CommandResult run_command(const std::string& command, const std::string& input = {});

}  // namespace portico::test

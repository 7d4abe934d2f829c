// The TLS tests' client: OpenSSL over a blocking socket with receive and send timeouts.

#include "tests/integration/tls_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <catch2/catch.hpp>

namespace portico::test {
namespace {

std::string openssl_errors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        text += std::string(text.empty() ? "" : "; ") + buf;
    }
    return text;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

void set_timeouts(int fd) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(kWait.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(kWait.count() % 1000 * 1000);
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
}

SSL_CTX* client_context(const TlsOptions& o) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    REQUIRE(ctx != nullptr);
    REQUIRE(SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx, o.max_version);
    if (!o.sigalgs.empty()) REQUIRE(SSL_CTX_set1_sigalgs_list(ctx, o.sigalgs.c_str()) == 1);
    static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
    return ctx;
}

}  // namespace

TlsClient::TlsClient(uint16_t port, const TlsOptions& options)
    : ctx_(client_context(options), SSL_CTX_free), ssl_(SSL_new(ctx_.get()), SSL_free) {
    REQUIRE(ssl_);
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd_.valid());
    set_timeouts(fd_.get());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    SSL_set_fd(ssl_.get(), fd_.get());
    if (!options.servername.empty()) {
        SSL_set_tlsext_host_name(ssl_.get(), options.servername.c_str());
        SSL_set1_host(ssl_.get(), options.servername.c_str());
    }
    if (options.session != nullptr) SSL_set_session(ssl_.get(), options.session);
    ERR_clear_error();
    int rc = SSL_connect(ssl_.get());
    INFO("TLS handshake with port " << port << ": " << openssl_errors());
    REQUIRE(rc == 1);
}

TlsClient::~TlsClient() {
    // A client that leaves without close_notify makes OpenSSL forget its session as
    // not resumable; a polite one keeps it (and the server sees a clean end).
    if (ssl_ && !reset_ && !write_shut_) SSL_shutdown(ssl_.get());
}

std::string TlsClient::read_some(size_t n) {
    while (buffered_.size() < n && fill() > 0) {
    }
    return std::exchange(buffered_, {});
}

void TlsClient::reset() {
    linger hard{1, 0};
    REQUIRE(::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
    reset_ = true;
    ssl_.reset();
    fd_.reset();
}

void TlsClient::shutdown_write() {
    REQUIRE(::shutdown(fd_.get(), SHUT_WR) == 0);
    write_shut_ = true;
}

void TlsClient::send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
        size_t n = 0;
        ERR_clear_error();
        if (SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &n) != 1)
            FAIL("SSL_write failed: " << openssl_errors() << " (" << std::strerror(errno) << ")");
        bytes.remove_prefix(n);
    }
}

size_t TlsClient::fill() {
    char buf[65536];
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    if (SSL_read_ex(ssl_.get(), buf, sizeof buf, &n) == 1) {
        buffered_.append(buf, n);
        return n;
    }
    int error = SSL_get_error(ssl_.get(), 0);
    if (error == SSL_ERROR_ZERO_RETURN) {
        close_notify_ = true;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) FAIL("no answer within " << kWait.count() << " ms");
    reset_ = errno == ECONNRESET;
    return 0;  // EOF without close_notify, or a reset
}

Response TlsClient::read_response(bool to_head) {
    size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
        if (fill() == 0) FAIL("the connection ended before a whole response head; received:\n" << buffered_);
    }
    Response r;
    std::string_view head(buffered_.data(), end + 2);
    INFO("response head:\n" << head);
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    REQUIRE(status_line.size() >= 13);
    REQUIRE(status_line.starts_with("HTTP/1."));
    r.version = status_line.substr(0, 8);
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    r.reason = status_line.substr(13);
    for (size_t pos = eol + 2; pos < head.size();) {
        size_t next = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, next - pos);
        size_t colon = line.find(':');
        REQUIRE(colon != std::string_view::npos);
        r.headers.emplace(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
        pos = next + 2;
    }
    bool bodiless = to_head || r.status / 100 == 1 || r.status == 204 || r.status == 304;
    size_t body_length = bodiless ? 0 : std::stoull(r.header("Content-Length"));
    size_t total = end + 4 + body_length;
    while (buffered_.size() < total) {
        if (fill() == 0)
            FAIL("the connection ended after " << buffered_.size() - end - 4 << " of " << body_length);
    }
    r.raw = buffered_.substr(0, total);
    r.body = r.raw.substr(end + 4);
    buffered_.erase(0, total);
    return r;
}

TlsEnd TlsClient::read_until_close() {
    while (fill() > 0) {
    }
    TlsEnd e;
    e.bytes = std::move(buffered_);
    buffered_.clear();
    e.close_notify = close_notify_;
    e.reset = reset_;
    return e;
}

bool TlsClient::reused() const {
    return SSL_session_reused(ssl_.get()) == 1;
}

std::string TlsClient::peer_name() const {
    X509* cert = SSL_get0_peer_certificate(ssl_.get());
    REQUIRE(cert != nullptr);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn;
}

int TlsClient::peer_key_type() const {
    X509* cert = SSL_get0_peer_certificate(ssl_.get());
    REQUIRE(cert != nullptr);
    return EVP_PKEY_get_base_id(X509_get0_pubkey(cert));
}

std::string TlsClient::peer_fingerprint() const {
    X509* cert = SSL_get0_peer_certificate(ssl_.get());
    REQUIRE(cert != nullptr);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(X509_digest(cert, EVP_sha256(), md, &length) == 1);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        char two[3];
        std::snprintf(two, sizeof two, "%02x", md[i]);
        hex += two;
    }
    return hex;
}

std::string TlsClient::alpn() const {
    const unsigned char* data = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_.get(), &data, &length);
    return std::string(reinterpret_cast<const char*>(data), length);
}

SslSession TlsClient::session() const {
    return SslSession(SSL_get1_session(ssl_.get()));
}

CommandResult run_command(const std::string& command, const std::string& input) {
    TempDir scratch;
    std::string in = scratch / "stdin";
    write_file(in, input);
    std::string line = "(" + command + ") < '" + in + "' 2>&1";
    FILE* p = ::popen(line.c_str(), "r");
    REQUIRE(p != nullptr);
    CommandResult r;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
    int status = ::pclose(p);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

}  // namespace portico::test

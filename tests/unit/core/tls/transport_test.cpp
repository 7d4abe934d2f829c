// Transport against a real peer (Python's ssl module, tls_peer.py) over loopback TCP with small
// socket buffers: handshake, 1 MiB each way through WANT_READ and WANT_WRITE, the file fallback,
// plaintext that only SSL_pending knows about, and close_notify in both directions.

#include "core/tls/transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/tls/context.hpp"
#include "core/tls/ktls.hpp"
#include "core/tls/sni_selector.hpp"
#include "core/tls/ticket_key_ring.hpp"
#include "tests/unit/core/tls/test_certificates.hpp"

using namespace portico::core::tls;
using portico::test::TestCertificates;

namespace {

constexpr int kWaitMs = 30'000;  // generous: the machine may be loaded or under a sanitizer

std::vector<char> pattern() {
    std::vector<char> data(1 << 20);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 256);
    return data;
}

// Waits for what the transport asked for; fails the test on a timeout.
void wait_for(int fd, IoStatus status) {
    REQUIRE((status == IoStatus::kWantRead || status == IoStatus::kWantWrite));
    pollfd p{fd, static_cast<short>(status == IoStatus::kWantRead ? POLLIN : POLLOUT), 0};
    REQUIRE(poll(&p, 1, kWaitMs) == 1);
}

// The Python client, connected to one accepted socket of ours.
class Peer {
public:
    /// tls_peer.py in `mode`.
    explicit Peer(const char* mode, const char* version = "1.3")
        : Peer({"python3", std::string{PORTICO_SOURCE_DIR} + "/tests/unit/core/tls/tls_peer.py", mode,
                "{port}", TestCertificates::get().path("ca.pem"), version}) {}

    /// Any client command; "{port}" in an argument becomes our port.
    explicit Peer(std::vector<std::string> argv) {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof addr;
        REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(listen(listener_, 1) == 0);
        REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
        int out[2];
        int in[2];
        REQUIRE(pipe2(out, O_CLOEXEC) == 0);
        REQUIRE(pipe2(in, O_CLOEXEC) == 0);
        std::string port = std::to_string(ntohs(addr.sin_port));
        for (std::string& arg : argv) {
            if (size_t at = arg.find("{port}"); at != std::string::npos) arg.replace(at, 6, port);
        }
        std::vector<char*> args;
        for (std::string& arg : argv) args.push_back(arg.data());
        args.push_back(nullptr);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            dup2(out[1], 1);
            dup2(in[0], 0);
            if (std::string_view{args[0]} == "openssl") {
                dup2(open("/dev/null", O_WRONLY), 2);  // s_client's chatter is not the test's business
            }
            execvp(args[0], args.data());
            _exit(127);
        }
        close(out[1]);
        close(in[0]);
        output_ = out[0];
        input_ = in[1];
        accept_next();
    }

    /// Closes the current connection, if any, and accepts the client's next one.
    void accept_next() {
        if (fd_ >= 0) close(fd_);
        pollfd p{listener_, POLLIN, 0};
        REQUIRE(poll(&p, 1, kWaitMs) == 1);
        fd_ = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        REQUIRE(fd_ >= 0);
        int small = 4096;
        setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    }
    ~Peer() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);  // only if finish() was not reached
            waitpid(pid_, nullptr, 0);
        }
        for (int fd : {fd_, listener_, output_})
            if (fd >= 0) close(fd);
    }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    [[nodiscard]] int fd() const { return fd_; }

    /// Tells the client (once) to start reading, through its stdin.
    void let_read() {
        if (input_ < 0) return;
        REQUIRE(write(input_, "go\n", 3) == 3);
        close(input_);
        input_ = -1;
    }

    /// Closes our socket, waits for the client and returns what it printed, with its status.
    std::string finish() {
        close(fd_);
        fd_ = -1;
        std::string text;
        char buf[256];
        ssize_t n = 0;
        while ((n = read(output_, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
        int status = 0;
        REQUIRE(waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        return text + (WIFEXITED(status) ? " exit " + std::to_string(WEXITSTATUS(status)) : " killed");
    }

private:
    int listener_ = -1;
    int fd_ = -1;
    int output_ = -1;
    int input_ = -1;
    pid_t pid_ = -1;
};

std::unique_ptr<Context> server_context(bool ktls = false, TicketKeyRing* ring = nullptr) {
    Settings s;
    s.certificates.push_back(
        {TestCertificates::get().path("a-ecdsa.pem"), TestCertificates::get().path("a-ecdsa.key")});
    std::string error;
    auto context = Context::create(s, Context::Options{0, "a", ring, ktls}, error);
    REQUIRE(context);
    return context;
}

void handshake(Transport& t, int fd) {
    for (IoStatus s = t.handshake(); s != IoStatus::kOk; s = t.handshake()) {
        INFO(t.error());
        wait_for(fd, s);
    }
    REQUIRE(t.handshake_done());
}

}  // namespace

TEST_CASE("tls transport: 1 MiB each way with a real peer, through WANT_READ and WANT_WRITE", "[tls]") {
    // Where the kernel has the tls ULP the file half goes by SSL_sendfile; here it has not, and
    // the same test covers the read-and-SSL_write fallback.
    auto context = server_context(ktls_available());
    Peer peer("echo");
    Transport t(context->get(), peer.fd());
    REQUIRE(t.valid());
    handshake(t, peer.fd());

    const std::vector<char> expected = pattern();
    std::vector<char> got;
    char buf[16384];
    // The client sends nothing before our "g": the socket is empty, so reading must wait.
    CHECK(t.read(buf, sizeof buf).status == IoStatus::kWantRead);
    REQUIRE(t.write("g", 1).bytes == 1);
    while (got.size() < expected.size()) {
        IoResult r = t.read(buf, sizeof buf);
        if (r.status == IoStatus::kOk) {
            got.insert(got.end(), buf, buf + r.bytes);
            continue;
        }
        INFO(t.error());
        wait_for(peer.fd(), r.status);
    }
    CHECK(got == expected);

    // The first half by write(), the second by send_file() from a file (the non-kTLS fallback
    // here), each retried after WANT_WRITE as the header asks.
    const size_t half = expected.size() / 2;
    int write_waits = 0;
    for (size_t sent = 0; sent < half;) {
        IoResult r = t.write(expected.data() + sent, half - sent);
        if (r.status == IoStatus::kOk) {
            sent += r.bytes;
            continue;
        }
        ++write_waits;
        peer.let_read();  // the client reads nothing until now, so this wait is certain
        wait_for(peer.fd(), r.status);
    }
    peer.let_read();
    std::string file = TestCertificates::get().path("body.bin");
    std::ofstream(file, std::ios::binary).write(expected.data() + half, static_cast<std::streamsize>(half));
    int body = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(body >= 0);
    if (!ktls_available()) CHECK_FALSE(t.kernel_sends());  // else either path may carry it
    for (off_t offset = 0; static_cast<size_t>(offset) < half;) {
        IoResult r = t.send_file(body, offset, half - static_cast<size_t>(offset));
        if (r.status == IoStatus::kOk) {
            offset += static_cast<off_t>(r.bytes);
            continue;
        }
        INFO(t.error());
        ++write_waits;
        wait_for(peer.fd(), r.status);
    }
    close(body);
    CHECK(write_waits > 0);
    for (IoStatus s = t.shutdown(); s != IoStatus::kOk; s = t.shutdown()) wait_for(peer.fd(), s);
    CHECK(peer.finish() == "ok\n exit 0");
}

TEST_CASE("tls transport: plaintext held by OpenSSL is drained without a socket event", "[tls]") {
    auto context = server_context();
    Peer peer("pending");
    Transport t(context->get(), peer.fd());
    handshake(t, peer.fd());

    char small[100];
    IoResult first{};
    for (first = t.read(small, sizeof small); first.status != IoStatus::kOk;
         first = t.read(small, sizeof small)) {
        wait_for(peer.fd(), first.status);
    }
    CHECK(first.bytes == sizeof small);
    // The whole 8000-byte record left the socket: epoll would never report the rest.
    pollfd p{peer.fd(), POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0);
    REQUIRE(t.has_buffered_input());
    size_t total = first.bytes;
    for (IoResult r = t.read(small, sizeof small); r.status == IoStatus::kOk;
         r = t.read(small, sizeof small)) {
        total += r.bytes;
    }
    CHECK(total == 8000);
    CHECK_FALSE(t.has_buffered_input());

    for (IoResult r = t.write("k", 1); r.bytes != 1; r = t.write("k", 1)) wait_for(peer.fd(), r.status);
    // The peer's close_notify arrives as kClosed; ours answers it.
    IoResult end{};
    for (end = t.read(small, sizeof small); end.status == IoStatus::kWantRead;
         end = t.read(small, sizeof small)) {
        wait_for(peer.fd(), end.status);
    }
    CHECK(end.status == IoStatus::kClosed);
    CHECK(t.error() == "the peer sent close_notify");
    for (IoStatus s = t.shutdown(); s != IoStatus::kOk; s = t.shutdown()) wait_for(peer.fd(), s);
    CHECK(peer.finish() == "ok\n exit 0");
}

TEST_CASE("tls transport: plain HTTP and garbage end the handshake cleanly", "[tls]") {
    auto context = server_context();
    for (std::string input : {std::string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n"}, std::string(64, '\x16')}) {
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        REQUIRE(write(fds[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
        shutdown(fds[1], SHUT_WR);
        Transport t(context->get(), fds[0]);
        IoStatus s = t.handshake();
        CHECK((s == IoStatus::kError || s == IoStatus::kClosed));
        CHECK(t.plain_http() == (input[0] == 'G'));
        CHECK_FALSE(t.error().empty());
        close(fds[0]);
        close(fds[1]);
    }
}

TEST_CASE("tls transport: Python's client resumes on a second worker's context sharing the ring", "[tls]") {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring);
    auto worker1 = server_context(false, ring.get());
    auto worker2 = server_context(false, ring.get());
    for (const char* version : {"1.2", "1.3"}) {
        INFO("TLS " << version);
        Peer peer("resume", version);
        {
            Transport first(worker1->get(), peer.fd());
            handshake(first, peer.fd());
            CHECK(SSL_session_reused(first.ssl()) == 0);
            for (IoResult r = first.write("x", 1); r.bytes != 1; r = first.write("x", 1))
                wait_for(peer.fd(), r.status);
        }
        peer.accept_next();
        Transport second(worker2->get(), peer.fd());
        handshake(second, peer.fd());
        CHECK(SSL_session_reused(second.ssl()) == 1);
        for (IoResult r = second.write("x", 1); r.bytes != 1; r = second.write("x", 1))
            wait_for(peer.fd(), r.status);
        for (IoStatus s = second.shutdown(); s != IoStatus::kOk; s = second.shutdown())
            wait_for(peer.fd(), s);
        CHECK(peer.finish() == "ok\n exit 0");
    }
}

// 1000 random byte strings as ClientHellos, half of them starting like a handshake record so
// they get past the first byte: each ends the handshake (error, close, or a wait for more that a
// timeout would end), and none crashes (this also runs under ASan).
TEST_CASE("tls transport: random ClientHellos end the handshake cleanly", "[tls]") {
    auto context = server_context();
    std::mt19937 random(20261202);  // fixed seed: a failure reproduces
    int ended = 0;
    for (int i = 0; i < 1000; ++i) {
        std::string input(1 + random() % 600, '\0');
        for (char& c : input) c = static_cast<char>(random());
        if (i % 2 == 0 && input.size() > 5) {
            input[0] = 0x16;  // handshake record, TLS 1.0 record version, then noise
            input[1] = 0x03;
            input[2] = 0x01;
        }
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        REQUIRE(write(fds[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
        shutdown(fds[1], SHUT_WR);
        Transport t(context->get(), fds[0]);
        IoStatus s = t.handshake();
        CHECK(s != IoStatus::kOk);
        ended += s == IoStatus::kError || s == IoStatus::kClosed ? 1 : 0;
        close(fds[0]);
        close(fds[1]);
    }
    // The peer shut its side, so OpenSSL sees EOF after the noise: every attempt ends.
    CHECK(ended == 1000);
}

// openssl s_client as the peer: -servername picks the server and its certificate.
TEST_CASE("tls transport: openssl s_client -servername gets that server's certificate", "[tls]") {
    Settings a;
    a.certificates.push_back(
        {TestCertificates::get().path("a-rsa.pem"), TestCertificates::get().path("a-rsa.key")});
    Settings b;
    b.certificates.push_back(
        {TestCertificates::get().path("b-ecdsa.pem"), TestCertificates::get().path("b-ecdsa.key")});
    std::string error;
    auto context_a = Context::create(a, Context::Options{0, "a", nullptr, false}, error);
    auto context_b = Context::create(b, Context::Options{1, "b", nullptr, false}, error);
    REQUIRE(context_a);
    REQUIRE(context_b);
    SniSelector selector({{context_a.get(), {"a.test"}}, {context_b.get(), {"b.test"}}});
    for (const char* name : {"b.test", "a.test", "unknown.test"}) {
        INFO("-servername " << name);
        Peer peer({"openssl", "s_client", "-connect", "127.0.0.1:{port}", "-servername", name, "-CAfile",
                   TestCertificates::get().path("ca.pem"), "-verify_return_error", "-ign_eof"});
        Transport t(selector.initial_context(), peer.fd());
        handshake(t, peer.fd());
        uint32_t expected = std::string_view{name} == "b.test" ? 1 : 0;
        CHECK(SniSelector::chosen_server(t.ssl()) == expected);
        for (IoResult r = t.write("hello\n", 6); r.bytes != 6; r = t.write("hello\n", 6)) {
            wait_for(peer.fd(), r.status);
        }
        for (IoStatus s = t.shutdown(); s != IoStatus::kOk; s = t.shutdown()) wait_for(peer.fd(), s);
        peer.let_read();  // closes s_client's stdin
        std::string out = peer.finish();
        CHECK_THAT(out, Catch::Matchers::Contains(expected == 1 ? "CN = b.test" : "CN = a.test"));
        CHECK_THAT(out, Catch::Matchers::Contains("Verify return code: 0 (ok)"));
        CHECK_THAT(out, Catch::Matchers::Contains("hello"));
    }
}

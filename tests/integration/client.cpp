// A raw-bytes HTTP/1.1 client: it sends exactly what a test writes and parses strictly what
// comes back, so a sloppy response fails the test rather than being papered over.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

namespace portico::test {
namespace {

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// What a test prints when a wait fails: the bytes, with CR and LF made visible.
std::string visible(std::string_view bytes) {
    std::string out;
    for (char c : bytes.substr(0, 2048)) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n\n";
        else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) out += '.';
        else out += c;
    }
    if (bytes.size() > 2048) out += "... (" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

enum class Got { kData, kEof, kReset, kTimeout };

/// One recv() after waiting (at most until `deadline`) for the socket to become readable.
Got receive(int fd, Clock::time_point deadline, size_t max, std::string& into) {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Got::kTimeout;
        char buf[65536];
        ssize_t r = ::recv(fd, buf, std::min(max, sizeof buf), 0);
        if (r > 0) {
            into.append(buf, static_cast<size_t>(r));
            return Got::kData;
        }
        if (r == 0) return Got::kEof;
        if (errno == EINTR || errno == EAGAIN) continue;
        if (errno == ECONNRESET) return Got::kReset;
        FAIL("recv() failed: " << std::strerror(errno));
    }
}

}  // namespace

bool have_ipv6_loopback() {
    core::UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    return fd.valid() && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

bool Caseless::operator()(std::string_view a, std::string_view b) const noexcept {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
    });
}

std::string Response::header(std::string_view name) const {
    INFO("response head:\n" << visible(std::string_view(raw).substr(0, raw.size() - body.size())));
    INFO("header: " << name);
    REQUIRE(headers.count(name) == 1);
    return headers.find(name)->second;
}

Client::Client(uint16_t port, int rcvbuf, milliseconds timeout, bool ipv6) : timeout_(timeout) {
    fd_.reset(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd_.valid());
    if (rcvbuf > 0) REQUIRE(::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    sockaddr_storage ss{};
    socklen_t len;
    if (ipv6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    // A loopback connect to a listening socket completes at once; the kernel finishes the handshake.
    int rc = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len);
    INFO("connect() to port " << port << (ipv6 ? " on [::1]: " : " on 127.0.0.1: ") << std::strerror(errno));
    REQUIRE(rc == 0);
}

void Client::send_raw(std::string_view bytes) {
    auto deadline = Clock::now() + timeout_;
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            bytes.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) FAIL("send() failed: " << std::strerror(errno));
        pollfd p{fd_.get(), POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) == 0)
            FAIL("send() blocked for " << timeout_.count() << " ms with " << bytes.size() << " bytes left");
    }
}

void Client::send_dribbled(std::string_view bytes) {
    int one = 1;
    REQUIRE(::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    for (char c : bytes) send_raw(std::string_view(&c, 1));
}

size_t Client::fill(Clock::time_point deadline, size_t max) {
    size_t before = buffered_.size();
    switch (receive(fd_.get(), deadline, max, buffered_)) {
        case Got::kData: return buffered_.size() - before;
        case Got::kEof: return 0;
        case Got::kReset:
            FAIL("connection reset by the server; received so far:\n" << visible(buffered_));
            break;
        case Got::kTimeout:
            FAIL("no answer within " << timeout_.count() << " ms; received so far:\n" << visible(buffered_));
    }
    return 0;
}

Response Client::read_response(bool to_head, size_t piece) {
    size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
        if (fill(Clock::now() + timeout_) == 0)
            FAIL("connection closed before a whole response head; received:\n" << visible(buffered_));
    }
    Response r;
    std::string_view head(buffered_.data(), end + 2);
    INFO("response head:\n" << visible(head));
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.1 200 OK": version, a space, three digits, a space, a reason (maybe empty).
    REQUIRE(status_line.size() >= 13);
    REQUIRE((status_line.starts_with("HTTP/1.1 ") || status_line.starts_with("HTTP/1.0 ")));
    std::string_view code = status_line.substr(9, 3);
    REQUIRE(std::all_of(code.begin(), code.end(), [](char ch) { return ch >= '0' && ch <= '9'; }));
    REQUIRE(status_line[12] == ' ');
    r.version = status_line.substr(0, 8);
    r.status = std::stoi(std::string(code));
    r.reason = status_line.substr(13);
    for (size_t pos = eol + 2; pos < head.size();) {
        size_t next = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, next - pos);
        size_t colon = line.find(':');
        REQUIRE(colon != std::string_view::npos);
        REQUIRE(colon > 0);
        r.headers.emplace(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
        pos = next + 2;
    }
    size_t body_length = 0;
    bool bodiless = to_head || r.status / 100 == 1 || r.status == 204 || r.status == 304;
    if (!bodiless) body_length = std::stoull(r.header("Content-Length"));
    size_t total = end + 4 + body_length;
    while (buffered_.size() < total) {
        if (fill(Clock::now() + timeout_, piece) == 0)
            FAIL("connection closed after " << buffered_.size() - end - 4 << " of " << body_length
                                            << " body bytes");
    }
    r.raw = buffered_.substr(0, total);
    r.body = r.raw.substr(end + 4);
    buffered_.erase(0, total);
    return r;
}

std::string Client::read_exact(size_t n, size_t piece) {
    while (buffered_.size() < n) {
        if (fill(Clock::now() + timeout_, piece) == 0)
            FAIL("connection closed after " << buffered_.size() << " of " << n << " bytes");
    }
    std::string out = buffered_.substr(0, n);
    buffered_.erase(0, n);
    return out;
}

Closed Client::read_until_close() {
    Closed c;
    for (;;) {
        Got g = receive(fd_.get(), Clock::now() + timeout_, 65536, buffered_);
        if (g == Got::kData) continue;
        if (g == Got::kTimeout)
            FAIL("the server kept the connection open for " << timeout_.count() << " ms; received:\n"
                                                            << visible(buffered_));
        c.reset = g == Got::kReset;
        c.bytes = std::move(buffered_);
        buffered_.clear();
        return c;
    }
}

void Client::expect_closed() {
    Closed c = read_until_close();
    INFO("after the end:\n" << visible(c.bytes));
    CHECK(c.bytes.empty());
    CHECK_FALSE(c.reset);
}

bool Client::quiet_for(milliseconds d) {
    if (!buffered_.empty()) return false;
    pollfd p{fd_.get(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(d.count())) == 0;
}

milliseconds Client::time_until_close() {
    auto start = Clock::now();
    expect_closed();
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

void Client::set_rcvbuf(int bytes) {
    REQUIRE(::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0);
}

void Client::shutdown_write() { REQUIRE(::shutdown(fd_.get(), SHUT_WR) == 0); }

void check_common_headers(const Response& r) {
    INFO("response:\n" << visible(r.raw.substr(0, r.raw.size() - r.body.size())));
    CHECK(r.header("Server") == "portico");
    CHECK(is_http_date(r.header("Date")));
    // A 304 may leave out Content-Length (RFC 9110 8.6); a 1xx has none.
    if (r.status != 304 && r.status / 100 != 1) CHECK(r.has("Content-Length"));
}

}  // namespace portico::test

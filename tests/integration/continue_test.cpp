// Expect: 100-continue under back-pressure: the interim "100 Continue" is output like any other,
// so when the socket cannot take it whole it is neither dropped nor cut, and it always comes
// right before its final response.
//
// The client advertises a small MSS and a small receive window, which keeps the server's send
// buffer small (its autotuning follows the segment size), and it reads in tiny pieces, so the
// server's writes outrun it and the socket fills again and again: with tens of thousands of
// pipelined requests, some of those moments fall inside an interim response. (Measured: the
// unchecked send() this replaced fails this test in 13 runs of 14, with a "HTT" cut short.)

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

portico::core::UniqueFd connect_narrow(uint16_t port) {
    portico::core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    int rcvbuf = 4096, mss = 536;
    REQUIRE(::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    REQUIRE(::setsockopt(fd.get(), IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss) == 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

// Sends everything, blocking; records the errno of a failure instead of asserting (Catch2's
// assertions are not thread-safe).
void send_all(int fd, std::string bytes, std::atomic<int>& error) {
    for (size_t off = 0; off < bytes.size();) {
        ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n < 0 ? errno : -1;
            return;
        }
        off += static_cast<size_t>(n);
    }
}

// Reads more into `in`, a few bytes at a time (a slow reader), waiting at most kWait; false on
// EOF, error or timeout.
bool read_more(int fd, std::string& in) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kWait.count())) != 1) return false;
    char buf[16];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    return true;
}

}  // namespace

TEST_CASE("100 Continue is queued like any output: once, whole, before its final response",
          "[connection][expect]") {
    SiteServer s("keepalive_requests = 100000;");
    constexpr int kRequests = 60000;
    const std::string head =
        "HEAD /missing.txt HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\n"
        "Expect: 100-continue\r\n\r\n";
    portico::core::UniqueFd fd = connect_narrow(s.server.port());

    // All but the last request with their bodies, sent at once. The last body is sent only once
    // its 100 Continue arrived, as a client that waits for it does: if the interim response had
    // to wait for the socket, only the server's own write can bring it.
    std::string requests;
    for (int i = 0; i < kRequests - 1; ++i) requests += head + "x";
    requests += head;
    std::atomic<int> send_error{0};
    std::thread sender(send_all, fd.get(), std::move(requests), std::ref(send_error));
    // A failed REQUIRE leaves early: unblock and join the sender first.
    struct Joiner {
        std::thread& t;
        int fd;
        ~Joiner() {
            if (!t.joinable()) return;
            ::shutdown(fd, SHUT_RDWR);
            t.join();
        }
    } joiner{sender, fd.get()};

    std::string in;
    size_t pos = 0;
    int finals = 0;
    bool ok = true;
    for (int i = 0; i < kRequests && ok; ++i) {
        INFO("request " << i << ", at byte " << pos);
        while (in.size() - pos < kContinue.size() && (ok = read_more(fd.get(), in))) {
        }
        REQUIRE(ok);
        REQUIRE(std::string_view(in).substr(pos, kContinue.size()) == kContinue);
        pos += kContinue.size();
        if (i == kRequests - 1) {
            sender.join();
            REQUIRE(send_error == 0);
            REQUIRE(::send(fd.get(), "x", 1, MSG_NOSIGNAL) == 1);
        }
        size_t end;
        while ((end = in.find("\r\n\r\n", pos)) == std::string::npos && (ok = read_more(fd.get(), in))) {
        }
        REQUIRE(ok);
        std::string_view final_head = std::string_view(in).substr(pos, end + 4 - pos);
        INFO(final_head);
        REQUIRE(final_head.starts_with("HTTP/1.1 404 Not Found\r\n"));
        CHECK(final_head.find("Connection:") == std::string_view::npos);  // still keep-alive
        pos = end + 4;
        ++finals;
        if (pos > (1u << 20)) {  // keep the buffer small
            in.erase(0, pos);
            pos = 0;
        }
    }
    CHECK(finals == kRequests);
    CHECK(in.size() == pos);  // nothing more than the answers
    fd.reset();
    s.server.stop_and_check();
}

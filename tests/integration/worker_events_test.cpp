// A worker's loop at its limits, without a master: an event left over from a connection shed
// earlier in the same epoll batch, and a graceful stop while connections wait to be accepted.
//
// Both use SIGSTOP to line events up: while the server is stopped, the kernel still completes
// handshakes and queues segments, so when it continues, one epoll_wait() returns them together.

#include <sys/socket.h>

#include <csignal>
#include <memory>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace {

/// Waits until `n` connections wait in the accept queues of 127.0.0.1:port.
void wait_queued(uint16_t port, size_t n) {
    auto deadline = Clock::now() + kWait;
    for (;;) {
        auto queues = listen_queues(port);
        if (std::accumulate(queues.begin(), queues.end(), size_t{0}) >= n) return;
        INFO("waiting for " << n << " queued connections");
        REQUIRE(Clock::now() < deadline);
        pace_retry();
    }
}

/// Closes with a RST (SO_LINGER 0), so the server's side of the socket reports EPOLLERR.
void reset(Client& c) {
    linger l{1, 0};
    REQUIRE(::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
    c.close();
}

}  // namespace

// At worker_connections = 3 with a, x and y idle: b and c arrive, then a's client resets. The
// batch holds [listener, a's EPOLLERR]. Accepting b sheds a (closing its fd), accepting c reuses
// a's fd number (the lowest free one) and sheds x; then comes a's event. Dispatched by fd alone,
// it closed c before c was ever read.
TEST_CASE("an event of a connection shed earlier in the batch does not reach the one that reused its fd",
          "[worker][capacity]") {
    SiteServer s({}, "worker_connections = 3;");
    const uint16_t port = s.server.port();
    auto a = idle_client(port, s.site.small);
    auto x = idle_client(port, s.site.small);
    auto y = idle_client(port, s.site.small);
    {
        Stopped stopped(s.server.pid());
        Client b(port), c(port);
        b.send_raw(get("/small.txt"));
        c.send_raw(get("/"));
        wait_queued(port, 2);  // the listener is ready before a's connection is
        reset(*a);
        stopped.resume();
        Response rb = b.read_response();
        CHECK(rb.status == 200);
        CHECK(rb.body == s.site.small);
        Response rc = c.read_response();  // fails with a reset if a's error closed c
        CHECK(rc.status == 200);
        CHECK(rc.body == s.site.index_html);
    }
    x->expect_closed();  // shed to make room for c
    y->send_raw(get("/small.txt"));
    CHECK(y->read_response().body == s.site.small);
    y.reset();
    s.server.stop_and_check();
}

// Busy connections fill worker_connections, so the server leaves new ones in the listener's
// queue. Without a master the worker's descriptor is the listener's only one: closing it without
// taking the queue first reset every waiting client.
TEST_CASE("without a master, a graceful stop at worker_connections answers the connections still queued",
          "[worker][signal]") {
    SiteServer s({}, "worker_connections = 2;");
    const uint16_t port = s.server.port();
    const std::string& huge = write_huge_file(s.site);
    std::vector<std::unique_ptr<Client>> busy;
    for (int i = 0; i < 2; ++i) busy.push_back(slow_download(port, huge));
    std::vector<std::unique_ptr<Client>> queued;
    for (int i = 0; i < 3; ++i) {
        queued.push_back(std::make_unique<Client>(port));
        queued.back()->send_raw(get("/small.txt"));
    }
    wait_queued(port, queued.size());
    REQUIRE(::kill(s.server.pid(), SIGQUIT) == 0);
    INFO(s.server.logs());
    REQUIRE(s.server.wait_for_log("received SIGQUIT"));
    for (auto& c : queued) {
        Response r = c->read_response();  // fails on a reset
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
        CHECK(r.header("Connection") == "close");
    }
    for (auto& d : busy) finish_download(*d, huge);
    queued.clear();
    busy.clear();
    CHECK(s.server.wait_exit(kWait) == 0);
    s.server.check_logs();
}

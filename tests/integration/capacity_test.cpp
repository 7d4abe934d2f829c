// Many connections, too many connections, and clients that go away at awkward moments.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "core/fd.hpp"
#include "tests/integration/harness.hpp"

using namespace portico::test;
namespace core = portico::core;


TEST_CASE("200 connections at once are all served", "[capacity]") {
    SiteServer s;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 200; ++i) clients.push_back(std::make_unique<Client>(s.server.port()));
    for (size_t i = 0; i < clients.size(); ++i)
        clients[i]->send_raw(get(i % 2 ? "/small.txt" : "/medium.bin"));
    for (size_t i = 0; i < clients.size(); ++i) {
        Response r = clients[i]->read_response();
        CHECK(r.status == 200);
        CHECK(r.body == (i % 2 ? s.site.small : s.site.medium));
    }
    clients.clear();
    s.server.stop_and_check();
}

// At the limit exactly one idle connection (the oldest) makes room for each new one: the
// shedding must not run for the accept4() that only returns EAGAIN.
TEST_CASE("at worker_connections, only the oldest idle connection makes room", "[capacity]") {
    SiteServer s({}, "worker_connections = 3;");
    const uint16_t port = s.server.port();
    auto a = idle_client(port, s.site.small);
    auto b = idle_client(port, s.site.small);
    auto c = idle_client(port, s.site.small);
    auto d = idle_client(port, s.site.small);  // a goes to make room
    a->expect_closed();
    for (Client* kept : {b.get(), c.get(), d.get()}) {
        kept->send_raw(get("/"));
        CHECK(kept->read_response().body == s.site.index_html);
    }
    a.reset();
    b.reset();
    c.reset();
    d.reset();
    s.server.stop_and_check();
}

TEST_CASE("at worker_connections with none idle, a new connection waits until one closes", "[capacity]") {
    SiteServer s({}, "worker_connections = 3;");
    const uint16_t port = s.server.port();
    std::vector<std::unique_ptr<Client>> busy;
    for (int i = 0; i < 3; ++i) {
        busy.push_back(std::make_unique<Client>(port));
        busy.back()->send_raw("GET / HTTP/1.1\r\n");  // half a head: busy, not idle
    }
    // The accept queue is FIFO, so the server takes the three busy ones first.
    Client late(port);  // the kernel completes the handshake; the server does not accept yet
    late.send_raw(get("/small.txt"));
    CHECK(late.quiet_for(milliseconds(300)));
    busy.front()->close();
    Response r = late.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == s.site.small);
    for (size_t i = 1; i < busy.size(); ++i) {  // the other two were left alone
        busy[i]->send_raw("Host: a.test\r\n\r\n");
        CHECK(busy[i]->read_response().body == s.site.index_html);
    }
    busy.clear();
    late.close();
    s.server.stop_and_check();
}

// The request and the FIN arrive together: a short read must not be taken as proof that the
// socket is drained, or the EOF is never read (edge-triggered epoll sends no new event).
TEST_CASE("a client that sends its request and half-closes gets the answer, then the close",
          "[capacity]") {
    SiteServer s;
    Client c(s.server.port(), 0, milliseconds(2000));
    c.send_raw(get("/medium.bin"));
    c.shutdown_write();
    Response r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == s.site.medium);
    c.expect_closed();
    s.server.stop_and_check();
}

TEST_CASE("a client that resets mid-download does not disturb the others", "[capacity]") {
    SiteServer s;
    Client other(s.server.port());
    {
        Client quitter(s.server.port(), 4096);
        quitter.send_raw(get("/large.bin"));
        REQUIRE(quitter.read_response(true).status == 200);
        // SO_LINGER with a zero timeout turns close() into a reset.
        linger hard{1, 0};
        REQUIRE(::setsockopt(quitter.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
    }
    {
        Client quitter(s.server.port());
        quitter.send_raw("GET /index.html HTTP/1.1\r\nHost: a.te");  // mid-head
        linger hard{1, 0};
        REQUIRE(::setsockopt(quitter.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
    }
    for (int i = 0; i < 3; ++i) {
        other.send_raw(get("/medium.bin"));
        Response r = other.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.medium);
    }
    other.close();
    s.server.stop_and_check();
}

TEST_CASE("out of file descriptors, the oldest idle connections make room", "[capacity]") {
    SiteServer s({}, "worker_rlimit_nofile = 32;");
    std::vector<std::unique_ptr<Client>> clients;
    // More connections than descriptors: each new one is answered, the oldest idle ones go.
    for (int i = 0; i < 48; ++i) {
        INFO("connection " << i);
        clients.push_back(idle_client(s.server.port(), s.site.small));
    }
    clients.front()->expect_closed();
    // Only as many as needed were shed: the most recent connections all still work.
    for (size_t i = clients.size() - 8; i < clients.size(); ++i) {
        INFO("connection " << i);
        clients[i]->send_raw(get("/"));
        CHECK(clients[i]->read_response().body == s.site.index_html);
    }
    clients.clear();
    s.server.stop_and_check();
}

namespace {

// A backend whose kernel completes the handshakes and takes the requests; nobody answers.
struct SilentBackend {
    SilentBackend() {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd.get(), 16) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    }
    /// Waits (5 s at most) for the proxy's next connection and takes it.
    core::UniqueFd take() {
        pollfd p{fd.get(), POLLIN, 0};
        REQUIRE(::poll(&p, 1, 5000) == 1);
        core::UniqueFd c(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        REQUIRE(c.get() >= 0);
        return c;
    }
    /// A config whose /api/ location passes to this backend.
    std::string config(std::string_view top_extra) const {
        std::string c = "master_process = false;\nworker_processes = 1;\n";
        c.append(top_extra);
        c += "\nerror_log = \"@DIR@/error.log\";\nlog_level = \"info\";\n"
             "http = { access_log = \"@DIR@/access.log\"; };\n"
             "servers = ( { listen = [\"127.0.0.1:@PORT@\"]; server_name = [\"a.test\"];\n"
             "  root = \"@DIR@/www\"; locations = ( { match = \"/api/\"; proxy_pass = \"http://" +
             address + "\"; } ); } );\n";
        return c;
    }

    core::UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    std::string address;
};

}  // namespace

// nginx counts the sockets to upstreams in worker_connections, so one limit bounds every
// descriptor of the loop: two clients, each waiting on an upstream that never answers, fill a
// limit of 4, and a third connection waits until one of them goes.
TEST_CASE("upstream sockets count against worker_connections", "[capacity]") {
    SilentBackend backend;
    Site site;
    Server server(site.dir, backend.config("worker_connections = 4;"));
    const uint16_t port = server.port();
    std::vector<std::unique_ptr<Client>> waiting;
    std::vector<core::UniqueFd> upstreams;
    for (int i = 0; i < 2; ++i) {
        waiting.push_back(std::make_unique<Client>(port));
        waiting.back()->send_raw(get("/api/slow"));
        upstreams.push_back(backend.take());
    }
    Client late(port);
    late.send_raw(get("/small.txt"));
    CHECK(late.quiet_for(milliseconds(300)));
    waiting.front()->close();  // its upstream socket goes with it
    Response r = late.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == site.small);
    waiting.clear();
    late.close();
    server.stop_and_check();
}

// As nginx does, a client that closes while its proxied answer is still awaited has given up:
// the upstream connection is closed at once (not at proxy_read_timeout) and the request is
// logged 499.
TEST_CASE("a client that goes away while the upstream thinks closes the upstream connection",
          "[capacity]") {
    SilentBackend backend;
    Site site;
    Server server(site.dir, backend.config(""));
    auto client = std::make_unique<Client>(server.port());
    client->send_raw(get("/api/slow"));
    core::UniqueFd upstream = backend.take();
    client->close();
    pollfd p{upstream.get(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(upstream.get(), buf, sizeof buf)) > 0) {}  // the request, then the EOF
    CHECK(n == 0);
    server.stop_and_check();
    CHECK(read_file(server.access_log_path()).find("\"GET /api/slow HTTP/1.1\" 499 ") != std::string::npos);
}

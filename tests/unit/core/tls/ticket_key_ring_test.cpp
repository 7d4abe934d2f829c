// TicketKeyRing: tickets from one context resume on another sharing the ring (two workers),
// survive one rotation and not two, and the keys a forked child sees follow the master's.

#include "core/tls/ticket_key_ring.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "core/tls/context.hpp"
#include "tests/unit/core/tls/in_process_client.hpp"

using namespace portico::core::tls;
using portico::test::client_context;
using portico::test::Connection;
using portico::test::TestCertificates;

namespace {

// What one worker builds for the server: its own SSL_CTX, the shared ring.
std::unique_ptr<Context> worker_context(TicketKeyRing* ring, int version_max = TLS1_3_VERSION) {
    Settings s;
    s.certificates.push_back(
        {TestCertificates::get().path("a-ecdsa.pem"), TestCertificates::get().path("a-ecdsa.key")});
    s.protocols = version_max == TLS1_3_VERSION ? kTls12 | kTls13 : kTls12;
    std::string error;
    auto context = Context::create(s, Context::Options{0, "a", ring, false}, error);
    REQUIRE(context);
    return context;
}

// A full handshake on `issuer`, then an attempt to resume on `resumer`.
bool resumes(SSL_CTX* issuer, SSL_CTX* resumer, SSL_CTX* client) {
    Connection first(issuer, client);
    REQUIRE(first.handshake());
    REQUIRE_FALSE(first.reused());
    auto session = first.session();
    Connection second(resumer, client, nullptr, session.get());
    REQUIRE(second.handshake());
    return second.reused();
}

}  // namespace

TEST_CASE("tls tickets: a session resumes on another worker's context that shares the ring", "[tls]") {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring);
    auto worker1 = worker_context(ring.get());
    auto worker2 = worker_context(ring.get());
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("version " << std::hex << version);
        auto client = client_context(version);
        CHECK(resumes(worker1->get(), worker2->get(), client.get()));
    }
    // Without the ring each context has OpenSSL's own random keys: no resumption across them.
    auto alone1 = worker_context(nullptr);
    auto alone2 = worker_context(nullptr);
    auto client = client_context();
    CHECK_FALSE(resumes(alone1->get(), alone2->get(), client.get()));
}

TEST_CASE("tls tickets: accepted after one rotation, refused after two", "[tls]") {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring);
    auto server = worker_context(ring.get());
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("version " << std::hex << version);
        auto client = client_context(version);
        Connection first(server->get(), client.get());
        REQUIRE(first.handshake());
        auto ticket_n = first.session();

        REQUIRE(ring->rotate());
        Connection after_one(server->get(), client.get(), nullptr, ticket_n.get());
        REQUIRE(after_one.handshake());
        CHECK(after_one.reused());

        REQUIRE(ring->rotate());
        Connection after_two(server->get(), client.get(), nullptr, ticket_n.get());
        REQUIRE(after_two.handshake());
        CHECK_FALSE(after_two.reused());
    }
}

TEST_CASE("tls tickets: a child forked before a rotation sees the new keys", "[tls]") {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring);
    int to_child[2];
    int to_parent[2];
    REQUIRE(pipe(to_child) == 0);
    REQUIRE(pipe(to_parent) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The worker: wait for the master's rotation, then report the key it now sees.
        ring->make_read_only();
        char go = 0;
        if (read(to_child[0], &go, 1) != 1) _exit(2);
        TicketKeyRing::Key current{};
        TicketKeyRing::Key previous{};
        bool has_previous = false;
        ring->snapshot(current, previous, has_previous);
        ssize_t n = write(to_parent[1], current.name.data(), current.name.size());
        _exit(n == static_cast<ssize_t>(current.name.size()) && has_previous ? 0 : 3);
    }
    REQUIRE(ring->rotate());
    REQUIRE(write(to_child[1], "g", 1) == 1);
    std::array<unsigned char, 16> seen{};
    REQUIRE(read(to_parent[0], seen.data(), seen.size()) == static_cast<ssize_t>(seen.size()));
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    TicketKeyRing::Key current{};
    TicketKeyRing::Key previous{};
    bool has_previous = false;
    ring->snapshot(current, previous, has_previous);
    CHECK(seen == current.name);
    CHECK(ring->generation() == 1);
    for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

TEST_CASE("tls tickets: the master's timer rotates once per interval", "[tls]") {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring);
    using namespace std::chrono;
    const seconds hour{3600};
    steady_clock::time_point t0{seconds{1000}};
    CHECK(ring->next_rotation(hour) == steady_clock::time_point::max());
    CHECK_FALSE(ring->rotate_if_due(t0, hour));  // the first call starts the clock
    CHECK(ring->next_rotation(hour) == t0 + hour);
    CHECK_FALSE(ring->rotate_if_due(t0 + hour - seconds{1}, hour));
    CHECK(ring->generation() == 0);
    CHECK(ring->rotate_if_due(t0 + hour, hour));
    CHECK(ring->generation() == 1);
    CHECK_FALSE(ring->rotate_if_due(t0 + hour + seconds{1}, hour));
    CHECK(ring->next_rotation(hour) == t0 + 2 * hour);
}

TEST_CASE("tls tickets: a reload's rotation restarts the timer, so the key before it lasts an interval", "[tls]") {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring);
    using namespace std::chrono;
    const seconds hour{3600};
    steady_clock::time_point t0{seconds{1000}};
    CHECK_FALSE(ring->rotate_if_due(t0, hour));
    // A reload just before the timer was due: without the restart the timer would rotate a
    // second time a minute later, and the key current until the reload would be forgotten.
    CHECK(ring->rotate_now(t0 + hour - minutes{1}));
    CHECK(ring->generation() == 1);
    CHECK(ring->next_rotation(hour) == t0 + 2 * hour - minutes{1});
    CHECK_FALSE(ring->rotate_if_due(t0 + hour, hour));
    CHECK(ring->generation() == 1);
    CHECK(ring->rotate_if_due(t0 + 2 * hour - minutes{1}, hour));
    CHECK(ring->generation() == 2);
}

TEST_CASE("tls tickets: with session_tickets off a session resumes on the same worker only", "[tls]") {
    Settings s;
    s.certificates.push_back(
        {TestCertificates::get().path("a-ecdsa.pem"), TestCertificates::get().path("a-ecdsa.key")});
    s.session_tickets = false;
    std::string error;
    auto worker1 = Context::create(s, Context::Options{0, "a", nullptr, false}, error);
    auto worker2 = Context::create(s, Context::Options{0, "a", nullptr, false}, error);
    REQUIRE(worker1);
    REQUIRE(worker2);
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("version " << std::hex << version);
        auto client = client_context(version);
        CHECK(resumes(worker1->get(), worker1->get(), client.get()));
        CHECK_FALSE(resumes(worker1->get(), worker2->get(), client.get()));
    }
}

// A worker that exits through its destructors (a retired generation, a graceful stop) must not
// wipe the page it shares with the master and every other worker.
TEST_CASE("tls tickets: a child that destroys its ring leaves the shared keys intact", "[tls]") {
    auto ring = TicketKeyRing::create();
    REQUIRE(ring);
    TicketKeyRing::Key before{};
    TicketKeyRing::Key previous{};
    bool has_previous = false;
    ring->snapshot(before, previous, has_previous);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ring->make_read_only();
        ring.reset();
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    TicketKeyRing::Key after{};
    ring->snapshot(after, previous, has_previous);
    CHECK(after.name == before.name);
    CHECK(after.aes == before.aes);
    CHECK(after.hmac == before.hmac);
    CHECK(after.aes != decltype(after.aes){});
}

TEST_CASE("tls tickets: a ring imported from export_keys resumes the tickets of both live keys", "[tls]") {
    auto old_ring = TicketKeyRing::create();
    REQUIRE(old_ring);
    auto old_server = worker_context(old_ring.get());
    auto client = client_context(TLS1_3_VERSION);
    Connection before(old_server->get(), client.get());
    REQUIRE(before.handshake());
    auto ticket_previous = before.session();  // sealed with the key that becomes the previous one
    REQUIRE(old_ring->rotate());
    Connection after(old_server->get(), client.get());
    REQUIRE(after.handshake());
    auto ticket_current = after.session();

    const int fd = old_ring->export_keys();
    REQUIRE(fd >= 0);
    CHECK(::write(fd, "x", 1) == -1);  // sealed: nobody changes what the new master reads
    auto new_ring = TicketKeyRing::import_keys(fd);
    ::close(fd);
    REQUIRE(new_ring);
    auto new_server = worker_context(new_ring.get());
    for (auto* ticket : {ticket_previous.get(), ticket_current.get()}) {
        Connection resumed(new_server->get(), client.get(), nullptr, ticket);
        REQUIRE(resumed.handshake());
        CHECK(resumed.reused());
    }
    // The imported ring rotates on: after two more rotations the old tickets are gone.
    REQUIRE(new_ring->rotate());
    REQUIRE(new_ring->rotate());
    Connection gone(new_server->get(), client.get(), nullptr, ticket_current.get());
    REQUIRE(gone.handshake());
    CHECK_FALSE(gone.reused());
}

TEST_CASE("tls tickets: import_keys refuses a descriptor that holds no exported keys", "[tls]") {
    const int empty = ::memfd_create("not-keys", MFD_CLOEXEC);
    REQUIRE(empty >= 0);
    CHECK_FALSE(TicketKeyRing::import_keys(empty));
    std::vector<unsigned char> junk(1024, 0xab);
    REQUIRE(::write(empty, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
    CHECK_FALSE(TicketKeyRing::import_keys(empty));
    ::close(empty);
    CHECK_FALSE(TicketKeyRing::import_keys(-1));
}

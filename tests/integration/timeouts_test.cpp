// Timeouts, configured below a second so the tests stay fast. A timer may fire a little late but
// never early: each test asserts a lower bound of 0.8x the setting (client and server clocks
// start a hair apart) and a generous upper bound.

#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

constexpr milliseconds kSetting{300};
constexpr milliseconds kAtLeast{240};
constexpr milliseconds kAtMost{3000};

const char* const kShortTimeouts =
    "client_header_timeout = 0.3;\n"
    "client_body_timeout = 0.3;\n"
    "keepalive_timeout = 0.3;\n";

milliseconds since(Clock::time_point t) { return std::chrono::duration_cast<milliseconds>(Clock::now() - t); }

}  // namespace

TEST_CASE("client_header_timeout", "[timeout]") {
    SiteServer s(kShortTimeouts);

    SECTION("a connection that sends nothing is closed silently") {
        Client c(s.server.port());
        milliseconds took = c.time_until_close();  // asserts: no bytes, clean EOF
        CHECK(took >= kAtLeast);
        CHECK(took < kAtMost);
    }
    SECTION("half a request head gets 408, then the connection closes") {
        Client c(s.server.port());
        auto start = Clock::now();
        c.send_raw("GET /index.html HTTP/1.1\r\nHost: a.te");
        Response r = c.read_response();
        milliseconds took = since(start);
        CHECK(r.status == 408);
        CHECK(r.header("Connection") == "close");
        CHECK(r.header("Content-Type") == "text/html");
        check_common_headers(r);
        c.expect_closed();
        CHECK(took >= kAtLeast);
        CHECK(took < kAtMost);
    }
    SECTION("a client that keeps trickling after its 408 is let go within about a second") {
        // A slowloris does not stop at the answer. The server lingers after an error so that a
        // client's unread bytes cannot reset the answer away, but after a timeout only briefly
        // (1 s, not the 5 s of other errors), so trickling clients hold no descriptors longer.
        Client c(s.server.port());
        c.send_raw("GET /index.html HTTP/1.1\r\nHost: a.te");
        REQUIRE(c.read_response().status == 408);
        c.expect_closed();  // the server's write side is shut; it still reads what we send
        auto answered = Clock::now();
        bool refused = false;
        while (!refused && since(answered) < milliseconds(8000)) {
            refused = ::send(c.fd(), "x", 1, MSG_NOSIGNAL) < 0;  // EPIPE/ECONNRESET once it closed
            if (!refused) pace_retry();
        }
        milliseconds held = since(answered);
        INFO("the server let the connection go " << held.count() << " ms after its 408");
        CHECK(refused);
        CHECK(held < milliseconds(3000));
    }
    SECTION("a head dribbled slower than the timeout allows as a whole gets 408") {
        // The timeout covers the whole head, not the gap between bytes (slowloris).
        Client c(s.server.port());
        auto start = Clock::now();
        std::string head = get("/index.html", "X-Slow: 1\r\n");
        size_t sent = 0;
        bool answered = false;
        while (sent < head.size() - 2 && since(start) < kSetting * 3) {
            c.send_raw(head.substr(sent++, 1));
            answered = !c.quiet_for(milliseconds(50));  // the server answered (or closed)
            if (answered) break;
        }
        CHECK(answered);  // while bytes were still arriving
        Response r = c.read_response();
        CHECK(r.status == 408);
        c.expect_closed();
        CHECK(since(start) >= kAtLeast);
    }
    s.server.stop_and_check();
}

TEST_CASE("keepalive_timeout closes an idle connection", "[timeout]") {
    SiteServer s(kShortTimeouts);
    Client c(s.server.port());
    c.send_raw(get("/small.txt"));
    Response r = c.read_response();
    CHECK(r.status == 200);
    CHECK_FALSE(r.has("Connection"));
    milliseconds took = c.time_until_close();
    CHECK(took >= kAtLeast);
    CHECK(took < kAtMost);
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("client_body_timeout: a body that stops coming gets 408", "[timeout]") {
    SiteServer s(kShortTimeouts);
    Client c(s.server.port());
    auto start = Clock::now();
    c.send_raw(get("/small.txt", "Content-Length: 10\r\n") + "01234");
    Response r = c.read_response();
    milliseconds took = since(start);
    CHECK(r.status == 408);
    CHECK(r.header("Connection") == "close");
    c.expect_closed();
    CHECK(took >= kAtLeast);
    CHECK(took < kAtMost);
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("a busy connection is not cut by the keep-alive or header timeout", "[timeout]") {
    SiteServer s(kShortTimeouts);
    Client c(s.server.port());
    // Requests spaced at about half the timeout for three timeouts' worth of time: each new
    // request must restart the clock.
    auto start = Clock::now();
    int n = 0;
    while (since(start) < kSetting * 3) {
        c.send_raw(get("/small.txt"));
        Response r = c.read_response();
        REQUIRE(r.status == 200);
        ++n;
        REQUIRE(c.quiet_for(kSetting / 2));
    }
    CHECK(n >= 4);
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("send_timeout: a client that stops reading is dropped", "[timeout]") {
    SiteServer s("send_timeout = 0.3;");
    // Bigger than the socket buffers can hold, so the server's writes do block.
    const std::string body = pattern(8 << 20, 5);
    write_file(s.site.www + "/huge.bin", body);
    Client c(s.server.port(), 4096);
    auto start = Clock::now();
    c.send_raw(get("/huge.bin"));
    REQUIRE(c.read_response(true).status == 200);
    REQUIRE(s.server.wait_for_log("timed out sending response"));
    CHECK(since(start) >= kAtLeast);
    c.set_rcvbuf(1 << 20);
    Closed cut = c.read_until_close();
    CHECK(cut.bytes.size() < body.size());
    c.close();
    s.server.stop_and_check();
}

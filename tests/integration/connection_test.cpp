// Connection handling: keep-alive rules, pipelining, bodies that must be consumed to stay in
// step, Expect: 100-continue, slow clients.

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

/// A request line and Host only, in the given HTTP version, plus `extra` header lines.
std::string request(std::string_view target, std::string_view version, std::string_view extra = {}) {
    std::string r = "GET ";
    r.append(target).append(" ").append(version).append("\r\nHost: a.test\r\n").append(extra).append("\r\n");
    return r;
}

}  // namespace

TEST_CASE("keep-alive follows the HTTP/1.0 and HTTP/1.1 rules", "[connection][keepalive]") {
    SiteServer s;
    Client c(s.server.port());

    SECTION("HTTP/1.1: five requests on one connection, which stays open") {
        for (int i = 0; i < 5; ++i) {
            c.send_raw(get(i % 2 ? "/small.txt" : "/"));
            Response r = c.read_response();
            CHECK(r.status == 200);
            CHECK(r.body == (i % 2 ? s.site.small : s.site.index_html));
            CHECK_FALSE(r.has("Connection"));
        }
        CHECK(c.quiet_for(milliseconds(200)));  // neither closed nor talking
        c.send_raw(get("/"));
        CHECK(c.read_response().status == 200);
    }
    SECTION("HTTP/1.0 closes by default") {
        c.send_raw(request("/", "HTTP/1.0"));
        Response r = c.read_response();
        CHECK(r.version == "HTTP/1.1");
        CHECK(r.status == 200);
        CHECK(r.body == s.site.index_html);
        CHECK(r.header("Connection") == "close");
        c.expect_closed();
    }
    SECTION("HTTP/1.0 with Connection: keep-alive stays open and says so") {
        for (int i = 0; i < 3; ++i) {
            c.send_raw(request("/small.txt", "HTTP/1.0", "Connection: keep-alive\r\n"));
            Response r = c.read_response();
            CHECK(r.status == 200);
            CHECK(r.body == s.site.small);
            CHECK(r.header("Connection") == "keep-alive");
        }
    }
    SECTION("HTTP/1.1 with Connection: close ends cleanly after the response") {
        c.send_raw(get("/small.txt", "Connection: close\r\n"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
        CHECK(r.header("Connection") == "close");
        c.expect_closed();
    }
    SECTION("Connection: close among other tokens, any case") {
        c.send_raw(get("/small.txt", "Connection: TE, Close\r\n"));
        CHECK(c.read_response().header("Connection") == "close");
        c.expect_closed();
    }
    SECTION("Connection: close on a pipelined request: later requests are not answered") {
        c.send_raw(get("/small.txt", "Connection: close\r\n") + get("/"));
        Response r = c.read_response();
        CHECK(r.body == s.site.small);
        c.expect_closed();  // clean, even though the server left a request unread
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("keepalive_requests caps the requests on one connection", "[connection][keepalive]") {
    SiteServer s("keepalive_requests = 3;");
    Client c(s.server.port());
    for (int i = 1; i <= 3; ++i) {
        INFO("request " << i);
        c.send_raw(get("/small.txt"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
        if (i < 3) CHECK_FALSE(r.has("Connection"));
        else CHECK(r.header("Connection") == "close");
    }
    c.expect_closed();
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("three requests pipelined in one write are answered in order", "[connection][pipeline]") {
    SiteServer s;
    Client c(s.server.port());
    c.send_raw(get("/small.txt") + get("/medium.bin", {}, "HEAD") + get("/medium.bin"));
    Response a = c.read_response();
    Response b = c.read_response(true);
    Response d = c.read_response();
    CHECK(a.status == 200);
    CHECK(a.body == s.site.small);
    CHECK(b.status == 200);
    CHECK(b.header("Content-Length") == "102400");
    CHECK(d.status == 200);
    CHECK(d.body == s.site.medium);

    SECTION("a head larger than the first buffer, with another request behind it") {
        std::string fields;
        for (int i = 0; i < 40; ++i)
            fields += "X-Long-" + std::to_string(i) + ": " + std::string(70, 'v') + "\r\n";
        c.send_raw(get("/small.txt", fields) + get("/index.html") + get("/small.txt", fields));
        CHECK(c.read_response().body == s.site.small);
        CHECK(c.read_response().body == s.site.index_html);
        CHECK(c.read_response().body == s.site.small);
    }
    SECTION("400 requests in one write, more than any head buffer holds") {
        std::string burst;
        for (int i = 0; i < 400; ++i) burst += get(i % 3 ? "/small.txt" : "/index.html");
        REQUIRE(burst.size() > 16 * 1024);
        c.send_raw(burst);
        for (int i = 0; i < 400; ++i) {
            INFO("response " << i);
            Response r = c.read_response();
            REQUIRE(r.status == 200);
            CHECK(r.body == (i % 3 ? s.site.small : s.site.index_html));
        }
    }
    SECTION("many small requests in one write") {
        std::string burst;
        for (int i = 0; i < 50; ++i) burst += get(i % 2 ? "/small.txt" : "/missing");
        c.send_raw(burst);
        for (int i = 0; i < 50; ++i) {
            Response r = c.read_response();
            CHECK(r.status == (i % 2 ? 200 : 404));
            if (i % 2) CHECK(r.body == s.site.small);
        }
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("405 for other methods, with their body consumed so keep-alive stays in step",
          "[connection][405]") {
    SiteServer s;
    Client c(s.server.port());

    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
        INFO(method);
        c.send_raw(get("/index.html", "Content-Length: 0\r\n", method));
        Response r = c.read_response();
        CHECK(r.status == 405);
        CHECK(r.header("Allow") == "GET, HEAD");
        CHECK(r.header("Content-Type") == "text/html");
        check_common_headers(r);
        CHECK_FALSE(r.has("Connection"));
    }
    SECTION("a Content-Length body, then a pipelined GET") {
        c.send_raw(get("/index.html", "Content-Length: 5\r\n", "POST") + "hello" + get("/small.txt"));
        CHECK(c.read_response().status == 405);
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
    }
    SECTION("a chunked body with a trailer, then a pipelined GET") {
        c.send_raw(get("/index.html", "Transfer-Encoding: chunked\r\n", "POST") +
                   "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n" + get("/small.txt"));
        CHECK(c.read_response().status == 405);
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
    }
    SECTION("a body that arrives after the head, in pieces") {
        c.send_raw(get("/index.html", "Content-Length: 10\r\n", "PUT"));
        c.send_raw("01234");
        c.send_raw("56789" + get("/"));
        CHECK(c.read_response().status == 405);
        CHECK(c.read_response().body == s.site.index_html);
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("Expect: 100-continue", "[connection][expect]") {
    SiteServer s;
    Client c(s.server.port());

    SECTION("on a GET with a body: 100 Continue, then the body is read, then 200") {
        c.send_raw(get("/small.txt", "Content-Length: 5\r\nExpect: 100-continue\r\n"));
        Response interim = c.read_response();
        CHECK(interim.status == 100);
        CHECK(interim.raw == "HTTP/1.1 100 Continue\r\n\r\n");
        c.send_raw("hello");
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
        c.send_raw(get("/"));  // still in step
        CHECK(c.read_response().body == s.site.index_html);
    }
    SECTION("on a POST: 405 at once, without 100 Continue") {
        c.send_raw(get("/small.txt", "Content-Length: 5\r\nExpect: 100-continue\r\n", "POST"));
        Response r = c.read_response();
        CHECK(r.status == 405);
        CHECK(r.header("Allow") == "GET, HEAD");
        // The client may or may not send the body now, so the framing is in doubt: close.
        CHECK(r.header("Connection") == "close");
        c.send_raw("hello");
        c.expect_closed();
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("slow clients: a request dribbled byte by byte, a response read in small pieces",
          "[connection][slow]") {
    SiteServer s;

    SECTION("one byte per send") {
        Client c(s.server.port());
        c.send_dribbled(get("/small.txt", "User-Agent: dribble\r\nAccept: */*\r\n"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
        c.send_dribbled(get("/index.html", {}, "HEAD"));  // and the next one too
        CHECK(c.read_response(true).header("Content-Length") == std::to_string(s.site.index_html.size()));
    }
    SECTION("a 100 KiB sendfile response through a small window, read 512 bytes at a time") {
        Client c(s.server.port(), 4096);
        c.send_raw(get("/medium.bin"));
        Response r = c.read_response(false, 512);
        CHECK(r.status == 200);
        CHECK(r.body.size() == s.site.medium.size());
        CHECK(r.body == s.site.medium);
        c.send_raw(get("/small.txt"));
        CHECK(c.read_response().body == s.site.small);
    }
    SECTION("a 2 MiB response through a small window") {
        Client c(s.server.port(), 4096);
        c.send_raw(get("/large.bin"));
        Response r = c.read_response(false, 4096);
        CHECK(r.status == 200);
        CHECK(r.body == s.site.large);
    }
    s.server.stop_and_check();
}

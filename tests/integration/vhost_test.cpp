// Virtual hosts: two servers on one address, told apart by Host; the first is the default.

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

TEST_CASE("the Host header chooses the virtual server", "[vhost]") {
    SiteServer s;
    const std::string port = std::to_string(s.server.port());
    Client c(s.server.port());
    struct Case {
        std::string host;
        const std::string* body;
    };
    const Case cases[] = {
        {"a.test", &s.site.index_html},
        {"b.test", &s.site.b_index},
        {"unknown.test", &s.site.index_html},  // no match: the first server is the default
        {"B.TEST:" + port, &s.site.b_index},   // names compare without case; the port is ignored
        {"b.test:" + port, &s.site.b_index},
        {"b.test.", &s.site.b_index},          // the root-label dot names the same host
        {"127.0.0.1:" + port, &s.site.index_html},
        {"b.TeSt", &s.site.b_index},
    };
    for (const Case& k : cases) {
        INFO("Host: " << k.host);
        c.send_raw(get("/", {}, "GET", k.host));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == *k.body);
    }
    SECTION("a file that exists only in a.test's root is 404 on b.test") {
        c.send_raw(get("/small.txt", {}, "GET", "b.test"));
        CHECK(c.read_response().status == 404);
    }
    SECTION("an absolute-form target's host wins over the Host header (RFC 9112 3.2.2)") {
        c.send_raw("GET http://b.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
        CHECK(c.read_response().body == s.site.b_index);
    }
    SECTION("HTTP/1.0 without Host goes to the default server") {
        c.send_raw("GET / HTTP/1.0\r\n\r\n");
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.index_html);
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("a server listens on IPv4 and IPv6 at once", "[vhost][ipv6]") {
    if (!have_ipv6_loopback()) {
        WARN("no IPv6 loopback here; skipped");
        return;
    }
    Site site;
    std::string config = site_config();
    const std::string v4 = "listen = [\"127.0.0.1:@PORT@\"]; server_name = [\"a.test\"]";
    REQUIRE(config.find(v4) != std::string::npos);
    config.replace(config.find(v4), v4.size(),
                   "listen = [\"127.0.0.1:@PORT@\", \"[::1]:@PORT@\"]; server_name = [\"a.test\"]");
    Server server(site.dir, config);
    for (bool ipv6 : {false, true}) {
        INFO((ipv6 ? "[::1]" : "127.0.0.1"));
        Client c(server.port(), 0, kWait, ipv6);
        c.send_raw(get("/small.txt"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == site.small);
        c.send_raw(get("/", {}, "GET", "[::1]:" + std::to_string(server.port())));
        CHECK(c.read_response().body == site.index_html);  // an IPv6 literal Host: the default server
        c.close();
    }
    server.stop_and_check();
}

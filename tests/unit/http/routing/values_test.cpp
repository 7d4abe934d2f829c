// expires, access rules and the dotfile rule.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "http/routing/access_list.hpp"
#include "http/routing/dotfiles.hpp"
#include "http/routing/expires.hpp"

using namespace portico::http::routing;
using Catch::Matchers::Contains;

namespace {

std::string lines(const char* setting, time_t now) {
    std::string problem;
    auto e = Expires::parse(setting, problem);
    INFO(problem);
    REQUIRE(e);
    char out[128];
    size_t n = e->write(now, out, sizeof out);
    REQUIRE(n != std::string_view::npos);
    return std::string(out, n);
}

AccessList rules(std::initializer_list<const char*> texts) {
    AccessList list;
    for (const char* t : texts) {
        std::string problem;
        INFO(t);
        REQUIRE(list.add(t, problem));
    }
    return list;
}

bool allows(const AccessList& list, const char* peer) {
    auto a = Address::parse(peer);
    REQUIRE(a);
    return list.allows(*a);
}

}  // namespace

TEST_CASE("expires: nginx's header lines", "[routing][expires]") {
    constexpr time_t kNow = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
    CHECK(lines("30d", kNow) ==
          "Expires: Tue, 06 Dec 1994 08:49:37 GMT\r\nCache-Control: max-age=2592000\r\n");
    CHECK(lines("1h30m", kNow) ==
          "Expires: Sun, 06 Nov 1994 10:19:37 GMT\r\nCache-Control: max-age=5400\r\n");
    CHECK(lines("90", kNow) == "Expires: Sun, 06 Nov 1994 08:51:07 GMT\r\nCache-Control: max-age=90\r\n");
    CHECK(lines("0", kNow) == "Expires: Sun, 06 Nov 1994 08:49:37 GMT\r\nCache-Control: max-age=0\r\n");
    CHECK(lines("-1", kNow) == "Expires: Sun, 06 Nov 1994 08:49:36 GMT\r\nCache-Control: no-cache\r\n");
    CHECK(lines("max", kNow) ==
          "Expires: Thu, 31 Dec 2037 23:55:55 GMT\r\nCache-Control: max-age=315360000\r\n");
    CHECK(lines("epoch", kNow) == "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\n");
    CHECK(lines("off", kNow).empty());
    std::string problem;
    CHECK(Expires::parse("1y", problem)->seconds() == 365 * 24 * 3600);
    CHECK(Expires::parse("2M", problem)->seconds() == 60 * 24 * 3600);
    CHECK(Expires::parse("1w2d3h4m5s", problem)->seconds() == ((7 + 2) * 24 + 3) * 3600 + 4 * 60 + 5);
}

TEST_CASE("expires and add_headers apply to nginx's list of codes", "[routing][expires]") {
    for (uint16_t code : {200, 201, 204, 206, 301, 302, 303, 304, 307, 308}) CHECK(route_headers_apply(code));
    for (uint16_t code : {100, 202, 300, 400, 403, 404, 416, 500, 503})
        CHECK_FALSE(route_headers_apply(code));
}

TEST_CASE("expires: bad values are refused", "[routing][expires]") {
    for (const char* bad :
         {"", "30x", "d", "1h30", "--1", "1.5h", "11y", "99999999999999999999", "Max", "30 d"}) {
        INFO(bad);
        std::string problem;
        CHECK_FALSE(Expires::parse(bad, problem));
        CHECK_THAT(problem, Contains("is not \"off\", \"epoch\", \"max\" or a duration"));
    }
}

TEST_CASE("expires: a buffer too small is reported, not overrun", "[routing][expires]") {
    std::string problem;
    auto e = Expires::parse("30d", problem);
    char out[128];
    size_t n = e->write(0, out, sizeof out);
    REQUIRE(n != std::string_view::npos);
    CHECK(e->write(0, out, n) == n);
    CHECK(e->write(0, out, n - 1) == std::string_view::npos);
    CHECK(Expires::parse("max", problem)->write(0, out, 10) == std::string_view::npos);
}

TEST_CASE("access: the first matching rule decides, IPv4 and IPv6", "[routing][access]") {
    AccessList admin = rules({"allow 127.0.0.1", "allow ::1", "deny all"});
    CHECK(allows(admin, "127.0.0.1"));
    CHECK(allows(admin, "::1"));
    CHECK_FALSE(allows(admin, "127.0.0.2"));
    CHECK_FALSE(allows(admin, "::2"));
    CHECK_FALSE(allows(admin, "10.0.0.1"));

    AccessList nets = rules({"deny 10.1.0.0/16", "allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all"});
    CHECK_FALSE(allows(nets, "10.1.2.3"));
    CHECK(allows(nets, "10.2.2.3"));
    CHECK(allows(nets, "2001:db8:ffff::1"));
    CHECK_FALSE(allows(nets, "2001:db9::1"));
    CHECK_FALSE(allows(nets, "11.0.0.1"));
}

TEST_CASE("access: no rule matching allows, and all / prefix edges", "[routing][access]") {
    CHECK(allows(rules({}), "192.0.2.1"));
    CHECK(allows(rules({"deny 192.0.2.0/24"}), "192.0.3.1"));
    CHECK_FALSE(allows(rules({"deny all"}), "::"));
    CHECK_FALSE(allows(rules({"deny 0.0.0.0/0"}), "203.0.113.9"));
    CHECK(allows(rules({"deny 0.0.0.0/0"}), "2001:db8::1"));        // an IPv4 rule is not about IPv6 clients
    CHECK_FALSE(allows(rules({"deny ::/0"}), "203.0.113.9"));       // but ::/0 is every address
    CHECK_FALSE(allows(rules({"deny 10.1.2.3/8"}), "10.200.0.1"));  // host bits ignored, as nginx
    CHECK_FALSE(allows(rules({"deny 2001:db8::1/127"}), "2001:db8::"));
    CHECK(allows(rules({"deny 2001:db8::1/128"}), "2001:db8::"));
    CHECK_FALSE(allows(rules({"deny 2001:db8::/65"}), "2001:db8::7fff:ffff:ffff:ffff"));
    CHECK(allows(rules({"deny 2001:db8::/65"}), "2001:db8::8000:0:0:0"));
}

TEST_CASE("access: an IPv4 client on a dual-stack socket matches IPv4 rules", "[routing][access]") {
    AccessList list = rules({"allow 127.0.0.0/8", "deny all"});
    CHECK(allows(list, "::ffff:127.0.0.1"));
    CHECK_FALSE(allows(list, "::ffff:10.0.0.1"));
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.9.9.9", &v4.sin_addr);
    auto a = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4));
    REQUIRE(a);
    CHECK(list.allows(*a));
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
    a = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6));
    REQUIRE(a);
    CHECK(list.allows(*a));
}

TEST_CASE("access: bad rules are refused", "[routing][access]") {
    for (const char* bad : {"permit all", "allow", "deny ", "allow 10.0.0.0/33", "allow ::/129",
                            "allow 10.0.0/8", "allow 10.0.0.0/", "allow 10.0.0.0/x", "allow localhost",
                            "ALLOW all", "allow all,", "allow 1.2.3.4/-1"}) {
        INFO(bad);
        AccessList list;
        std::string problem;
        CHECK_FALSE(list.add(bad, problem));
        CHECK_FALSE(problem.empty());
        CHECK(list.empty());
    }
}

TEST_CASE("dotfiles: hidden segments are refused, /.well-known/ is not", "[routing][dotfiles]") {
    for (const char* hidden : {"/.env", "/.git/config", "/a/.git/HEAD", "/a/.htaccess", "/.well-knownx",
                               "/a/.well-known/x", "/..x", "/a/.b/c"}) {
        INFO(hidden);
        CHECK(is_hidden_path(hidden));
    }
    for (const char* visible :
         {"/", "/index.html", "/a.b/c", "/a/b.", "/a/b/", "/.well-known/acme-challenge/t", "/.well-known",
          "/.well-known/", "/x/y.z/"}) {
        INFO(visible);
        CHECK_FALSE(is_hidden_path(visible));
    }
}

// PeerAddress: what the access log, X-Forwarded-For and the access rules see of a client.

#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <string>

#include "core/socket.hpp"

using portico::core::PeerAddress;

namespace {

std::string formatted(const PeerAddress& p, size_t cap = 64) {
    std::string out(cap, 'x');
    size_t n = p.format(out.data(), cap);
    return n == 0 ? std::string() : out.substr(0, n);
}

PeerAddress v4(const char* text) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text, &a.sin_addr) == 1);
    return PeerAddress::from(reinterpret_cast<const sockaddr*>(&a));
}

PeerAddress v6(const char* text) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text, &a.sin6_addr) == 1);
    return PeerAddress::from(reinterpret_cast<const sockaddr*>(&a));
}

}  // namespace

TEST_CASE("PeerAddress formats IPv4 as inet_ntop does, digits by hand", "[socket]") {
    for (const char* text : {"0.0.0.0", "127.0.0.1", "10.20.30.40", "192.168.0.255", "255.255.255.255", "1.0.10.100"}) {
        CHECK(formatted(v4(text)) == text);
    }
    // NUL-terminated, and 0 when it does not fit (as before).
    PeerAddress p = v4("255.255.255.255");
    char out[16];
    REQUIRE(p.format(out, sizeof out) == 15);
    CHECK(std::string(out) == "255.255.255.255");
    CHECK(formatted(p, 15).empty());
}

TEST_CASE("PeerAddress formats IPv6 with inet_ntop", "[socket]") {
    CHECK(formatted(v6("::1")) == "::1");
    CHECK(formatted(v6("2001:db8::8:800:200c:417a")) == "2001:db8::8:800:200c:417a");
}

// SniSelector: the server_name a client sends chooses the server and its certificate; anything
// else gets the first server on the address.

#include "core/tls/sni_selector.hpp"

#include <catch2/catch.hpp>

#include "core/tls/context.hpp"
#include "tests/unit/core/tls/in_process_client.hpp"

using namespace portico::core::tls;
using portico::test::client_context;
using portico::test::Connection;
using portico::test::peer_name;
using portico::test::TestCertificates;

namespace {

std::unique_ptr<Context> server(const char* cert, uint32_t index) {
    Settings s;
    s.certificates.push_back({TestCertificates::get().path(std::string{cert} + ".pem"),
                              TestCertificates::get().path(std::string{cert} + ".key")});
    std::string error;
    auto context = Context::create(s, Context::Options{index, cert, nullptr, false}, error);
    REQUIRE(context);
    return context;
}

}  // namespace

TEST_CASE("tls sni: the name chooses the server, anything else the first one", "[tls]") {
    auto a = server("a-ecdsa", 0);
    auto b = server("b-ecdsa", 1);
    SniSelector selector({{a.get(), {"a.test", "www.a.test"}}, {b.get(), {"b.test"}}});
    auto client = client_context();
    struct Case {
        const char* sent;
        uint32_t server;
        const char* cn;
    };
    for (Case c : {Case{"b.test", 1, "b.test"}, Case{"B.Test.", 1, "b.test"}, Case{"www.a.test", 0, "a.test"},
                   Case{"other.test", 0, "a.test"}, Case{nullptr, 0, "a.test"}}) {
        INFO("server_name " << (c.sent != nullptr ? c.sent : "(none)"));
        Connection conn(selector.initial_context(), client.get(), c.sent);
        REQUIRE(conn.handshake());
        CHECK(SniSelector::chosen_server(conn.server().ssl()) == c.server);
        CHECK(peer_name(conn.client()) == c.cn);
    }
    CHECK(&selector.select("B.TEST") != &selector.select("a.test"));
    CHECK(selector.select("").context == a.get());
}

// Fails when the context is switched in the servername callback: OpenSSL has then already
// accepted the ticket under the first server's session id context.
TEST_CASE("tls sni: a session of one server does not resume on another", "[tls]") {
    auto a = server("a-ecdsa", 0);
    auto b = server("b-ecdsa", 1);
    SniSelector selector({{a.get(), {"a.test"}}, {b.get(), {"b.test"}}});
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("version " << std::hex << version);
        auto client = client_context(version);
        Connection first(selector.initial_context(), client.get(), "a.test");
        REQUIRE(first.handshake());
        auto session = first.session();
        Connection same(selector.initial_context(), client.get(), "a.test", session.get());
        REQUIRE(same.handshake());
        CHECK(same.reused());
        Connection other(selector.initial_context(), client.get(), "b.test", session.get());
        REQUIRE(other.handshake());
        CHECK_FALSE(other.reused());
        CHECK(peer_name(other.client()) == "b.test");
        CHECK(SniSelector::chosen_server(other.server().ssl()) == 1);
    }
}

// The context is chosen before the version is, so each server's protocols hold on a shared address.
TEST_CASE("tls sni: the chosen server's protocols apply", "[tls]") {
    auto a = server("a-ecdsa", 0);
    Settings only13;
    only13.certificates.push_back(
        {TestCertificates::get().path("b-ecdsa.pem"), TestCertificates::get().path("b-ecdsa.key")});
    only13.protocols = kTls13;
    std::string error;
    auto b = Context::create(only13, Context::Options{1, "b", nullptr, false}, error);
    REQUIRE(b);
    SniSelector selector({{a.get(), {"a.test"}}, {b.get(), {"b.test"}}});
    auto client12 = client_context(TLS1_2_VERSION);
    Connection to_a(selector.initial_context(), client12.get(), "a.test");
    CHECK(to_a.handshake());
    Connection to_b(selector.initial_context(), client12.get(), "b.test");
    CHECK_FALSE(to_b.handshake());
}

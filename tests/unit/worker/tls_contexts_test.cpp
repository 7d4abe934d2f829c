// TlsContexts: what a worker builds at start-up for its ssl addresses. SNI picks the server (and
// its certificate) among those on the address, RSA or ECDSA by the client's signature
// algorithms, a session resumes on another worker's contexts sharing the ring but not on
// another server's name, and a certificate gone between the config check and the worker's
// start is an error naming the file. Handshakes run in-process (in_process_client.hpp).

#include "worker/tls_contexts.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include "conf/config.hpp"
#include "core/tls/sni_selector.hpp"
#include "core/tls/ticket_key_ring.hpp"
#include "tests/unit/core/tls/in_process_client.hpp"

using namespace portico;
using Catch::Matchers::Contains;
using test::client_context;
using test::peer_name;
using test::TestCertificates;
using TlsConnection = test::Connection;

namespace {

const std::string kServerA =
    "{ server_name = [\"a.test\"]; root = \".\"; listen = [ @A@ ];\n"
    "  tls = { certificate = [\"a-rsa.pem\", \"a-ecdsa.pem\"]; certificate_key = [\"a-rsa.key\", "
    "\"a-ecdsa.key\"]; }; }";
const std::string kServerB =
    "{ server_name = [\"b.test\"]; root = \".\"; listen = [ @B@ ];\n"
    "  tls = { certificate = \"b-ecdsa.pem\"; certificate_key = \"b-ecdsa.key\"; }; }";

std::string replace(std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
}

// Servers `first` and `second` (kServerA/kServerB with their listen lists), in that order.
conf::Config load(const std::string& first, const std::string& second, const std::string& dir) {
    std::string text = "servers = (\n" + first + ",\n" + second + "\n);\n";
    return conf::load_config_from_string(text, dir + "/test.conf");
}

conf::ListenAddress address(uint16_t port, bool ssl = true) {
    conf::ListenAddress a;
    a.host = "127.0.0.1";
    a.port = port;
    a.ssl = ssl;
    return a;
}

struct Handshake {
    std::string certificate;  // the CN the client saw
    uint32_t server = 0;      // the server the handshake chose
    int key_type = 0;         // EVP_PKEY_RSA or EVP_PKEY_EC
    bool reused = false;
};

Handshake connect(SSL_CTX* server, SSL_CTX* client, const char* name, SSL_SESSION* session = nullptr,
                  core::tls::SessionPtr* out = nullptr) {
    TlsConnection c(server, client, name, session);
    REQUIRE(c.handshake());
    Handshake h;
    h.certificate = peer_name(c.client());
    h.server = core::tls::SniSelector::chosen_server(c.server().ssl());
    h.key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_get0_peer_certificate(c.client())));
    h.reused = c.reused();
    if (out != nullptr) *out = c.session();
    // A client freed without close_notify marks its session not resumable (OpenSSL's
    // ssl_clear_bad_session), which a real client that keeps its session does not do.
    SSL_shutdown(c.client());
    return h;
}

}  // namespace

TEST_CASE("worker tls: SNI picks the server on an ssl address; a plain address has no context",
          "[worker][tls]") {
    const std::string dir = TestCertificates::get().dir().string();
    conf::Config config = load(replace(kServerA, "@A@", "\"127.0.0.1:8443 ssl\", \"127.0.0.1:8080\""),
                               replace(kServerB, "@B@", "\"127.0.0.1:8443 ssl\""), dir);
    worker::TlsContexts tls(config, nullptr);
    CHECK(tls.size() == 1);
    CHECK(tls.initial_context(address(8080, false)) == nullptr);
    SSL_CTX* ctx = tls.initial_context(address(8443));
    REQUIRE(ctx != nullptr);
    auto client = client_context();
    Handshake b = connect(ctx, client.get(), "b.test");
    CHECK(b.certificate == "b.test");
    CHECK(b.server == 1);
    Handshake upper = connect(ctx, client.get(), "B.TEST.");
    CHECK(upper.server == 1);
    for (const char* name : {"a.test", "unknown.test"}) {
        INFO(name);
        Handshake a = connect(ctx, client.get(), name);
        CHECK(a.certificate == "a.test");
        CHECK(a.server == 0);
    }
}

TEST_CASE("worker tls: a server with RSA and ECDSA certificates shows the one the client can verify",
          "[worker][tls]") {
    const std::string dir = TestCertificates::get().dir().string();
    conf::Config config = load(replace(kServerA, "@A@", "\"127.0.0.1:8443 ssl\""),
                               replace(kServerB, "@B@", "\"127.0.0.1:8443 ssl\""), dir);
    worker::TlsContexts tls(config, nullptr);
    SSL_CTX* ctx = tls.initial_context(address(8443));
    REQUIRE(ctx != nullptr);
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("version " << std::hex << version);
        auto rsa_only = client_context(version);
        REQUIRE(SSL_CTX_set1_sigalgs_list(rsa_only.get(), "rsa_pss_rsae_sha256:RSA+SHA256") == 1);
        CHECK(connect(ctx, rsa_only.get(), "a.test").key_type == EVP_PKEY_RSA);
        auto ecdsa_only = client_context(version);
        REQUIRE(SSL_CTX_set1_sigalgs_list(ecdsa_only.get(), "ECDSA+SHA256") == 1);
        CHECK(connect(ctx, ecdsa_only.get(), "a.test").key_type == EVP_PKEY_EC);
    }
}

// One SSL_CTX per server would carry one ClientHello callback, the last address's: on the first
// address SNI would then pick among the second address's servers.
TEST_CASE("worker tls: a server on two ssl addresses, the default on one only, is chosen right on both",
          "[worker][tls]") {
    const std::string dir = TestCertificates::get().dir().string();
    conf::Config config =
        load(replace(kServerB, "@B@", "\"127.0.0.1:8444 ssl\""),
             replace(kServerA, "@A@", "\"127.0.0.1:8443 ssl\", \"127.0.0.1:8444 ssl\""), dir);
    worker::TlsContexts tls(config, nullptr);
    CHECK(tls.size() == 2);
    SSL_CTX* only_a = tls.initial_context(address(8443));
    SSL_CTX* both = tls.initial_context(address(8444));
    REQUIRE(only_a != nullptr);
    REQUIRE(both != nullptr);
    auto client = client_context();
    CHECK(connect(only_a, client.get(), "b.test").server == 1);  // b does not listen there
    CHECK(connect(only_a, client.get(), nullptr).server == 1);
    CHECK(connect(both, client.get(), "a.test").server == 1);
    CHECK(connect(both, client.get(), nullptr).server == 0);
    CHECK(connect(both, client.get(), "b.test").certificate == "b.test");
}

TEST_CASE("worker tls: another worker's contexts resume a session, another server's name does not",
          "[worker][tls]") {
    const std::string dir = TestCertificates::get().dir().string();
    conf::Config config = load(replace(kServerA, "@A@", "\"127.0.0.1:8443 ssl\""),
                               replace(kServerB, "@B@", "\"127.0.0.1:8443 ssl\""), dir);
    auto ring = core::tls::TicketKeyRing::create();
    REQUIRE(ring);
    worker::TlsContexts worker1(config, ring.get());
    worker::TlsContexts worker2(config, ring.get());
    SSL_CTX* one = worker1.initial_context(address(8443));
    SSL_CTX* two = worker2.initial_context(address(8443));
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("version " << std::hex << version);
        auto client = client_context(version);
        core::tls::SessionPtr ticket;
        REQUIRE_FALSE(connect(one, client.get(), "a.test", nullptr, &ticket).reused);
        CHECK(connect(two, client.get(), "a.test", ticket.get()).reused);
        // A reload: a new generation builds new contexts, the master rotates the key.
        REQUIRE(ring->rotate());
        worker::TlsContexts next_generation(config, ring.get());
        CHECK(connect(next_generation.initial_context(address(8443)), client.get(), "a.test", ticket.get())
                  .reused);
        Handshake other = connect(two, client.get(), "b.test", ticket.get());
        CHECK_FALSE(other.reused);
        CHECK(other.certificate == "b.test");
    }
}

TEST_CASE("worker tls: a key gone between the config check and the worker's start names the file",
          "[worker][tls]") {
    namespace fs = std::filesystem;
    const fs::path dir = TestCertificates::get().dir() / "vanishing";
    fs::create_directories(dir);
    for (const char* name :
         {"b-ecdsa.pem", "b-ecdsa.key", "a-rsa.pem", "a-rsa.key", "a-ecdsa.pem", "a-ecdsa.key"})
        fs::copy_file(TestCertificates::get().dir() / name, dir / name, fs::copy_options::overwrite_existing);
    conf::Config config = load(replace(kServerA, "@A@", "\"127.0.0.1:8443 ssl\""),
                               replace(kServerB, "@B@", "\"127.0.0.1:8443 ssl\""), dir.string());
    fs::remove(dir / "b-ecdsa.key");
    CHECK_THROWS_WITH(worker::TlsContexts(config, nullptr), Contains("servers[1] on 127.0.0.1:8443 ssl") &&
                                                                Contains((dir / "b-ecdsa.key").string()));
    fs::remove_all(dir);
}

// The `ssl` listen flag and the `tls` group: defaults, both key types, and an error that names
// file, line and setting for each way a certificate can be unusable. Certificates are made by
// the openssl command line (tests/unit/core/tls/test_certificates.hpp).

#include <catch2/catch.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "conf/config.hpp"
#include "conf/tls.hpp"
#include "tests/unit/core/tls/test_certificates.hpp"

namespace fs = std::filesystem;
using namespace portico::conf;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using portico::test::TestCertificates;

namespace {

// One server on 127.0.0.1:8443 ssl, with `tls` as its group's body, in the certificates' directory
// (so relative paths name them). The config line of `tls` is line 3.
std::string config_with(const std::string& tls, const std::string& listen = "\"127.0.0.1:8443 ssl\"") {
    return "servers = ( {\n  listen = " + listen + ";\n  tls = { " + tls + " };\n  root = \".\";\n} );\n";
}

std::string conf_file() {
    return TestCertificates::get().path("test.conf");
}

Config load_tls(const std::string& text) {
    return load_config_from_string(text, conf_file());
}

std::string error_of_tls(const std::string& text) {
    try {
        load_tls(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("no ConfigError for:\n" << text);
    return {};
}

const std::string kRsa = "certificate = \"a-rsa.pem\"; certificate_key = \"a-rsa.key\";";

}  // namespace

TEST_CASE("conf: a listen address takes the ssl flag", "[conf][tls]") {
    Config c = load_tls(config_with(kRsa, "[ \"127.0.0.1:8080\", \"127.0.0.1:8443 ssl\" ]"));
    REQUIRE(c.servers[0].listen.size() == 2);
    CHECK_FALSE(c.servers[0].listen[0].ssl);
    CHECK(c.servers[0].listen[1].ssl);
    CHECK(c.servers[0].listen[1].to_string() == "127.0.0.1:8443");
    CHECK_THAT(error_of_tls(config_with(kRsa, "\"127.0.0.1:8443 tls\"")),
               Contains("test.conf:2: setting 'servers[0].listen': bad listen address '127.0.0.1:8443 tls': "
                        "unknown flag"));
}

TEST_CASE("conf: the tls group's defaults", "[conf][tls]") {
    Config c = load_tls(config_with(kRsa));
    REQUIRE(c.servers[0].tls);
    const auto& t = *c.servers[0].tls;
    REQUIRE(t.certificates.size() == 1);
    CHECK(t.certificates[0].certificate == TestCertificates::get().path("a-rsa.pem"));
    CHECK(t.certificates[0].certificate_key == TestCertificates::get().path("a-rsa.key"));
    CHECK(t.protocols == (portico::core::tls::kTls12 | portico::core::tls::kTls13));
    CHECK(t.ciphers == portico::core::tls::kDefaultCiphers);
    CHECK(t.ciphersuites == portico::core::tls::kDefaultCiphersuites);
    CHECK(t.session_tickets);
    CHECK(t.session_timeout == std::chrono::hours{1});
}

TEST_CASE("conf: a server may give one RSA and one ECDSA pair, not two of a kind", "[conf][tls]") {
    Config c =
        load_tls(config_with("certificate = [\"a-rsa.pem\", \"a-ecdsa.pem\"]; "
                             "certificate_key = [\"a-rsa.key\", \"a-ecdsa.key\"]; "
                             "protocols = \"TLSv1.3\"; session_tickets = false; session_timeout = \"5m\";"));
    const auto& t = *c.servers[0].tls;
    REQUIRE(t.certificates.size() == 2);
    CHECK(t.protocols == portico::core::tls::kTls13);
    CHECK_FALSE(t.session_tickets);
    CHECK(t.session_timeout == std::chrono::minutes{5});
    CHECK_THAT(error_of_tls(config_with("certificate = [\"a-ecdsa.pem\", \"b-ecdsa.pem\"]; "
                                        "certificate_key = [\"a-ecdsa.key\", \"b-ecdsa.key\"];")),
               Contains("test.conf:3: setting 'servers[0].tls.certificate[1]': a second ECDSA certificate"));
    CHECK_THAT(error_of_tls(config_with("certificate = [\"a-rsa.pem\", \"a-ecdsa.pem\"]; "
                                        "certificate_key = \"a-rsa.key\";")),
               Contains("setting 'servers[0].tls.certificate_key': gives 1 key(s) for 2 certificate(s)"));
}

TEST_CASE("conf: an unusable certificate or key names file, line and setting", "[conf][tls]") {
    const auto& certs = TestCertificates::get();
    std::ofstream(certs.path("garbage.pem")) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                                                "-----END CERTIFICATE-----\n";
    SECTION("a missing certificate file") {
        CHECK_THAT(error_of_tls(config_with("certificate = \"nope.pem\"; certificate_key = \"a-rsa.key\";")),
                   Contains("test.conf:3: setting 'servers[0].tls.certificate': cannot use '" +
                            certs.path("nope.pem") + "': No such file or directory"));
    }
    SECTION("a certificate that does not parse") {
        CHECK_THAT(
            error_of_tls(config_with("certificate = \"garbage.pem\"; certificate_key = \"a-rsa.key\";")),
            Contains("setting 'servers[0].tls.certificate': cannot use '" + certs.path("garbage.pem") +
                     "': no PEM certificate"));
    }
    SECTION("a key file that holds a certificate") {
        CHECK_THAT(error_of_tls(config_with("certificate = \"a-rsa.pem\"; certificate_key = \"a-rsa.pem\";")),
                   Contains("setting 'servers[0].tls.certificate_key': cannot use '" +
                            certs.path("a-rsa.pem") + "': no readable unencrypted PEM private key"));
    }
    SECTION("a key that belongs to another certificate") {
        CHECK_THAT(
            error_of_tls(config_with("certificate = \"a-rsa.pem\"; certificate_key = \"b-ecdsa.key\";")),
            Contains("test.conf:3: setting 'servers[0].tls.certificate_key': '" + certs.path("b-ecdsa.key") +
                     "' is not the key of the certificate '" + certs.path("a-rsa.pem") + "'"));
    }
    SECTION("no tls group on a server with an ssl listener") {
        std::string text = "servers = ( {\n  listen = \"127.0.0.1:8443 ssl\";\n  root = \".\";\n} );\n";
        CHECK_THAT(error_of_tls(text), Contains("test.conf:1: setting 'servers[0].tls': missing"));
    }
    SECTION("bad protocols, ciphers, keys") {
        CHECK_THAT(error_of_tls(config_with(kRsa + " protocols = [\"TLSv1.2\", \"TLSv1.1\"];")),
                   Contains("setting 'servers[0].tls.protocols[1]': 'TLSv1.1' is not offered"));
        CHECK_THAT(error_of_tls(config_with(kRsa + " ciphers = \"NO-SUCH-CIPHER\";")),
                   Contains("setting 'servers[0].tls.ciphers': 'NO-SUCH-CIPHER': OpenSSL knows none"));
        CHECK_THAT(error_of_tls(config_with(kRsa + " ciphersuites = \"TLS_NO_SUCH\";")),
                   Contains("setting 'servers[0].tls.ciphersuites': 'TLS_NO_SUCH': OpenSSL knows none"));
        CHECK_THAT(
            error_of_tls(config_with(kRsa + " certificat = \"x\";")),
            Contains("setting 'servers[0].tls.certificat': unknown setting; did you mean 'certificate'?"));
        CHECK_THAT(error_of_tls(config_with(kRsa + " session_timeout = \"10ms\";")),
                   Contains("setting 'servers[0].tls.session_timeout': must be at least 1000ms"));
    }
}

TEST_CASE("conf: an expired certificate loads with a warning naming the file and the date", "[conf][tls]") {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
    Config c = load_tls(config_with("certificate = \"expired.pem\"; certificate_key = \"expired.key\";"));
    spdlog::set_default_logger(previous);
    CHECK(c.servers[0].tls);
    auto lines = sink->last_formatted();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Contains("[warning]") && Contains(TestCertificates::get().path("expired.pem")) &&
                             Contains("expired on 2020-01-02 00:00:00 UTC"));
}

TEST_CASE("conf: servers on one address agree on ssl, not necessarily on protocols", "[conf][tls]") {
    std::string two =
        "servers = (\n"
        "  { listen = \"127.0.0.1:8443 ssl\"; server_name = \"a.test\"; root = \".\"; tls = { " +
        kRsa +
        " }; },\n"
        "  { listen = \"127.0.0.1:8443\"; server_name = \"b.test\"; root = \".\"; }\n);\n";
    CHECK_THAT(error_of_tls(two),
               Contains("test.conf:3: setting 'servers[1].listen': 127.0.0.1:8443 is plain "
                        "here but ssl in servers[0]"));
    std::string protocols =
        "servers = (\n"
        "  { listen = \"127.0.0.1:8443 ssl\"; server_name = \"a.test\"; root = \".\"; tls = { " +
        kRsa +
        " }; },\n"
        "  { listen = \"127.0.0.1:8443 ssl\"; server_name = \"b.test\"; root = \".\"; tls = { "
        "certificate = \"b-ecdsa.pem\"; certificate_key = \"b-ecdsa.key\"; protocols = "
        "\"TLSv1.3\"; }; }\n);\n";
    // Protocols may differ: the server is chosen from the ClientHello before the version is.
    CHECK(load_tls(protocols).servers[1].tls->protocols == portico::core::tls::kTls13);
}

TEST_CASE("conf: the loader takes ssl listeners once their tls group is checked", "[conf][tls]") {
    std::string text =
        "servers = ( {\n  listen = [ \"127.0.0.1:8080\",\n  \"127.0.0.1:8443 ssl\" ];\n  tls = { " + kRsa +
        " };\n  root = \".\";\n} );\n";
    Config served = load_config_from_string(text, conf_file());
    CHECK(served.servers[0].listen[1].ssl);
    REQUIRE(served.servers[0].tls);
    // A broken tls group is reported as such, not hidden behind the refusal.
    try {
        load_config_from_string(
            config_with("certificate = \"a-rsa.pem\"; certificate_key = \"b-ecdsa.key\";"), conf_file());
        FAIL("a mismatched key was accepted");
    } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Contains("is not the key of the certificate"));
    }
    // A tls group without an ssl listener is checked, and serves nothing: plain HTTP loads.
    Config c = load_config_from_string(config_with(kRsa, "\"127.0.0.1:8080\""), conf_file());
    CHECK(c.servers[0].tls);
}

// The `tls` group of a server:
//
//     tls = {
//       certificate = [ "certs/rsa.pem", "certs/ecdsa.pem" ];   // or one string
//       certificate_key = [ "certs/rsa.key", "certs/ecdsa.key" ];
//       protocols = [ "TLSv1.2", "TLSv1.3" ];
//       ciphers = "...";                 // TLS 1.2
//       ciphersuites = "...";            // TLS 1.3
//       session_tickets = true;
//       session_timeout = "1h";
//     };
//
// certificate and certificate_key pair up by position, at most one pair per key type.

#include "conf/tls.hpp"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "conf/defaults.hpp"
#include "conf/parse.hpp"
#include "conf/sections.hpp"
#include "core/tls/certificate.hpp"
#include "core/tls/context.hpp"

namespace portico::conf::detail {
namespace {

using core::tls::Certificate;
using libconfig::Setting;

constexpr std::array kTlsKeys{"certificate"sv,  "certificate_key"sv, "protocols"sv,    "ciphers"sv,
                              "ciphersuites"sv, "session_tickets"sv, "session_timeout"sv};
constexpr std::array kProtocolNames{"TLSv1.2"sv, "TLSv1.3"sv};
constexpr std::array kInsecureProtocols{"SSLv2"sv, "SSLv3"sv, "TLSv1"sv, "TLSv1.1"sv};
constexpr Millis kMinSessionTimeout = std::chrono::seconds{1};

std::vector<std::pair<Element, std::string>> read_paths(const GroupReader& tls, std::string_view key,
                                                        const std::filesystem::path& dir) {
    if (tls.find(key) == nullptr) {
        tls.fail(key, fmt::format("missing; a tls group needs {} = \"file.pem\";", key));
    }
    std::vector<std::pair<Element, std::string>> paths;
    for (const Element& e : tls.elements(key)) {
        std::string value = tls.string_of(e);
        if (value.empty()) tls.fail_at(*e.setting, e.name, "must not be empty");
        paths.emplace_back(e, resolve_path(dir, value));
    }
    if (paths.empty()) tls.fail(key, "must name at least one file");
    return paths;
}

// Loads each pair as a worker will and reports the first problem at the setting to blame.
void check_pair(const GroupReader& tls, const Element& cert, const std::string& cert_path, const Element& key,
                const std::string& key_path, std::vector<core::tls::KeyType>& seen) {
    Certificate::Loaded loaded = Certificate::load(cert_path, key_path);
    switch (loaded.failure) {
        case Certificate::Failure::kNone:
            break;
        case Certificate::Failure::kCertificate:
            tls.fail_at(*cert.setting, cert.name,
                        fmt::format("cannot use '{}': {}", cert_path, loaded.reason));
        case Certificate::Failure::kKey:
            tls.fail_at(*key.setting, key.name, fmt::format("cannot use '{}': {}", key_path, loaded.reason));
        case Certificate::Failure::kMismatch:
            tls.fail_at(*key.setting, key.name,
                        fmt::format("'{}' is not the key of the certificate '{}'", key_path, cert_path));
    }
    const Certificate& c = *loaded.certificate;
    if (std::find(seen.begin(), seen.end(), c.key_type()) != seen.end()) {
        tls.fail_at(*cert.setting, cert.name,
                    fmt::format("a second {} certificate; give at most one per key type (RSA, ECDSA)",
                                core::tls::key_type_name(c.key_type())));
    }
    seen.push_back(c.key_type());
    if (c.expired()) {
        // A warning, not an error: refusing to start would turn an expired certificate (which
        // clients can still be told to accept) into an outage of every server in the config.
        spdlog::warn("certificate '{}' (setting '{}') expired on {}", cert_path, cert.name, c.not_after());
    }
}

std::vector<core::tls::CertificatePaths> read_certificates(const GroupReader& tls,
                                                           const std::filesystem::path& dir) {
    auto certs = read_paths(tls, "certificate", dir);
    auto keys = read_paths(tls, "certificate_key", dir);
    if (certs.size() != keys.size()) {
        tls.fail("certificate_key",
                 fmt::format("gives {} key(s) for {} certificate(s); they pair up by position", keys.size(),
                             certs.size()));
    }
    std::vector<core::tls::CertificatePaths> result;
    std::vector<core::tls::KeyType> seen;
    for (size_t i = 0; i < certs.size(); ++i) {
        check_pair(tls, certs[i].first, certs[i].second, keys[i].first, keys[i].second, seen);
        result.push_back({certs[i].second, keys[i].second});
    }
    return result;
}

uint8_t read_protocols(const GroupReader& tls) {
    if (tls.find("protocols") == nullptr) return kDefaults.tls_protocols;
    uint8_t protocols = 0;
    for (const Element& e : tls.elements("protocols")) {
        std::string name = tls.string_of(e);
        auto known = std::find(kProtocolNames.begin(), kProtocolNames.end(), name);
        if (known != kProtocolNames.end()) {
            protocols |= known == kProtocolNames.begin() ? core::tls::kTls12 : core::tls::kTls13;
            continue;
        }
        bool insecure =
            std::find(kInsecureProtocols.begin(), kInsecureProtocols.end(), name) != kInsecureProtocols.end();
        tls.fail_at(
            *e.setting, e.name,
            insecure ? fmt::format("'{}' is not offered: it is broken; use \"TLSv1.2\" and \"TLSv1.3\"", name)
                     : fmt::format("must be \"TLSv1.2\" or \"TLSv1.3\" (got '{}')", name));
    }
    if (protocols == 0) tls.fail("protocols", "must name at least one protocol");
    return protocols;
}

// `ciphers` (TLS 1.2) or `ciphersuites` (TLS 1.3), refused at load when OpenSSL takes none of it.
std::string read_cipher_list(const GroupReader& tls, std::string_view key, std::string_view fallback,
                             bool (*check)(const std::string&, std::string&)) {
    std::string list = tls.string(key, fallback);
    std::string why;
    if (!check(list, why)) tls.fail(key, fmt::format("'{}': {}", list, why));
    return list;
}

core::tls::Settings read_tls_group(const GroupReader& tls, const std::filesystem::path& dir) {
    tls.reject_unknown(kTlsKeys, {});
    core::tls::Settings s;
    s.certificates = read_certificates(tls, dir);
    s.protocols = read_protocols(tls);
    s.ciphers = read_cipher_list(tls, "ciphers", core::tls::kDefaultCiphers, &core::tls::Context::check_ciphers);
    s.ciphersuites = read_cipher_list(tls, "ciphersuites", core::tls::kDefaultCiphersuites,
                                      &core::tls::Context::check_ciphersuites);
    s.session_tickets = tls.boolean("session_tickets", kDefaults.tls_session_tickets);
    Millis timeout = tls.duration("session_timeout", kDefaults.tls_session_timeout, kMinSessionTimeout);
    s.session_timeout = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    return s;
}

}  // namespace

std::optional<core::tls::Settings> read_tls(const GroupReader& server, const std::filesystem::path& dir,
                                            bool needs_tls) {
    const Setting* group = server.find("tls");
    if (group == nullptr) {
        if (needs_tls) {
            server.fail("tls",
                        "missing; a server with an ssl listener needs "
                        "tls = { certificate = \"x.pem\"; certificate_key = \"x.key\"; };");
        }
        return std::nullopt;
    }
    if (!group->isGroup()) server.fail("tls", "expected a group: tls = { certificate = ...; ... };");
    return read_tls_group(server.nested(*group, server.full_name("tls")), dir);
}

void check_tls_addresses(const GroupReader& server, const ServerConfig& config,
                         const std::vector<ServerConfig>& earlier) {
    for (const ListenAddress& address : config.listen) {
        for (size_t i = 0; i < earlier.size(); ++i) {
            for (const ListenAddress& other : earlier[i].listen) {
                if (other.host != address.host || other.port != address.port || other.ipv6 != address.ipv6)
                    continue;
                if (other.ssl != address.ssl) {
                    server.fail("listen",
                                fmt::format("{} is {} here but {} in servers[{}]; every server on an "
                                            "address must agree on 'ssl'",
                                            address.to_string(), address.ssl ? "ssl" : "plain",
                                            other.ssl ? "ssl" : "plain", i));
                }
            }
        }
    }
}

}  // namespace portico::conf::detail

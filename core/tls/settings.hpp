#pragma once
// What one server's TLS is made of, as conf/ reads it and Context builds it. Plain data, no
// OpenSSL, so conf/config.hpp can hold it without pulling libssl's headers into every file.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::core::tls {

/// One certificate chain (leaf first) and its private key, both absolute paths.
struct CertificatePaths {
    std::string certificate;
    std::string certificate_key;
    bool operator==(const CertificatePaths&) const = default;
};

/// The protocol versions a server offers, as bits.
enum Protocols : uint8_t {
    kTls12 = 1,
    kTls13 = 2,
};

/// The TLS 1.2 cipher list when the config gives none: Mozilla's "intermediate" list
/// (https://wiki.mozilla.org/Security/Server_Side_TLS, v5.7) without its DHE suites, since
/// portico loads no DH parameters. Forward secret AEAD suites only, ECDSA before RSA so a
/// server with both keys prefers the cheaper handshake.
inline constexpr std::string_view kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// The TLS 1.3 suites, in the same order as the TLS 1.2 list (and Mozilla's). The server's
/// order decides, so OpenSSL's own default (AES-256 first) would give every client AES-256,
/// which costs both ends 14 AES rounds per block instead of 10.
inline constexpr std::string_view kDefaultCiphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

struct Settings {
    /// One or two pairs, at most one per key type (RSA, ECDSA): the client's signature
    /// algorithms choose between them during the handshake.
    std::vector<CertificatePaths> certificates;
    uint8_t protocols = kTls12 | kTls13;
    std::string ciphers{kDefaultCiphers};
    std::string ciphersuites{kDefaultCiphersuites};
    bool session_tickets = true;
    std::chrono::seconds session_timeout{3600};
    bool operator==(const Settings&) const = default;
};

}  // namespace portico::core::tls

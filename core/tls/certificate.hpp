#pragma once
// A certificate chain and its private key, read from PEM files and checked to belong together.
// The config check (-t, reload) and Context both load through here, so both see one truth.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/tls/openssl.hpp"

namespace portico::core::tls {

enum class KeyType : uint8_t { kRsa, kEcdsa, kOther };

/// "RSA", "ECDSA", or the key's OpenSSL name.
std::string_view key_type_name(KeyType type) noexcept;

class Certificate {
public:
    /// Which part of a load failed, so the config can point at the right setting.
    enum class Failure : uint8_t { kNone, kCertificate, kKey, kMismatch };

    struct Loaded;

    /// Reads `certificate_path` (PEM: the leaf first, then its chain) and `key_path` (a PEM
    /// private key, unencrypted: portico never prompts for a pass phrase) and checks that the
    /// key is the leaf's.
    static Loaded load(const std::string& certificate_path, const std::string& key_path);

    [[nodiscard]] X509* leaf() const noexcept { return leaf_.get(); }
    /// The rest of the certificate file, possibly empty. Owned by this object.
    [[nodiscard]] STACK_OF(X509) * chain() const noexcept { return chain_.get(); }
    [[nodiscard]] EVP_PKEY* key() const noexcept { return key_.get(); }
    [[nodiscard]] KeyType key_type() const noexcept { return key_type_; }
    /// True when the leaf's notAfter lies in the past.
    [[nodiscard]] bool expired() const noexcept { return expired_; }
    /// The leaf's notAfter as "2026-01-31 12:00:00 UTC".
    [[nodiscard]] const std::string& not_after() const noexcept { return not_after_; }

private:
    X509Ptr leaf_;
    X509StackPtr chain_;
    PkeyPtr key_;
    KeyType key_type_ = KeyType::kOther;
    bool expired_ = false;
    std::string not_after_;
};

struct Certificate::Loaded {
    std::optional<Certificate> certificate;  ///< set when failure is kNone
    Failure failure = Failure::kNone;
    std::string reason;  ///< why, for a message: "No such file or directory", "no certificate"
};

}  // namespace portico::core::tls

#pragma once
// Owning handles for OpenSSL objects and the one helper every caller needs: the error queue as
// text. Header-only; the deleters are OpenSSL's own free functions.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace portico::core::tls {

struct SslCtxFree {
    void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct SslFree {
    void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct X509Free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct X509StackFree {
    void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_pop_free(p, X509_free); }
};
struct BioFree {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct SessionFree {
    void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

/// Empties this thread's OpenSSL error queue into one line ("reason; reason"), or `fallback`
/// when it holds nothing. Call right after the failing call, before anything else touches the
/// queue.
inline std::string take_openssl_errors(const char* fallback = "unknown OpenSSL error") {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        // "error:0A000086:SSL routines::certificate verify failed": keep what follows "::" or
        // the last ':' so messages stay readable.
        std::string line = buf;
        size_t colon = line.rfind(':');
        const char* reason = ERR_reason_error_string(code);
        if (!text.empty()) text += "; ";
        text += reason != nullptr ? std::string{reason} : line.substr(colon + 1);
    }
    return text.empty() ? std::string{fallback} : text;
}

}  // namespace portico::core::tls

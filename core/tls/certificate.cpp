// Reading PEM certificates and keys without ever blocking on a pass-phrase prompt, and the
// facts the config check reports: key type, expiry, whether key and certificate belong together.

#include "core/tls/certificate.hpp"

#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

namespace portico::core::tls {
namespace {

// OpenSSL's default asks the terminal for a pass phrase; a server must fail instead.
int refuse_pass_phrase(char*, int, int, void*) {
    return -1;
}

// BIO_new_file's failure leaves errno from fopen(); a message from it reads better than
// OpenSSL's "system library" line.
BioPtr open_file(const std::string& path, std::string& reason) {
    errno = 0;
    BioPtr bio{BIO_new_file(path.c_str(), "r")};
    if (!bio) {
        int error = errno;
        ERR_clear_error();
        reason = error != 0 ? std::generic_category().message(error) : "cannot open";
    }
    return bio;
}

KeyType type_of(const EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
        case EVP_PKEY_RSA_PSS:
            return KeyType::kRsa;
        case EVP_PKEY_EC:
            return KeyType::kEcdsa;
        default:
            return KeyType::kOther;
    }
}

std::string format_time(const ASN1_TIME* time) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(time, &tm) != 1) {
        return "an unreadable date";
    }
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

// The leaf, then every further certificate of the file as its chain.
bool read_chain(BIO* bio, X509Ptr& leaf, X509StackPtr& chain, std::string& reason) {
    leaf.reset(PEM_read_bio_X509_AUX(bio, nullptr, refuse_pass_phrase, nullptr));
    if (!leaf) {
        reason = "no PEM certificate in the file (" + take_openssl_errors() + ")";
        return false;
    }
    chain.reset(sk_X509_new_null());
    while (X509* next = PEM_read_bio_X509(bio, nullptr, refuse_pass_phrase, nullptr)) {
        sk_X509_push(chain.get(), next);
    }
    // The loop ends on "no start line" at the end of the file; anything else is a broken PEM block.
    unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        return true;
    }
    reason = "a broken certificate after the first (" + take_openssl_errors() + ")";
    return false;
}

}  // namespace

std::string_view key_type_name(KeyType type) noexcept {
    switch (type) {
        case KeyType::kRsa:
            return "RSA";
        case KeyType::kEcdsa:
            return "ECDSA";
        case KeyType::kOther:
            break;
    }
    return "other";
}

Certificate::Loaded Certificate::load(const std::string& certificate_path, const std::string& key_path) {
    ERR_clear_error();
    Loaded result;
    Certificate c;
    BioPtr cert_bio = open_file(certificate_path, result.reason);
    if (!cert_bio || !read_chain(cert_bio.get(), c.leaf_, c.chain_, result.reason)) {
        result.failure = Failure::kCertificate;
        return result;
    }
    BioPtr key_bio = open_file(key_path, result.reason);
    if (key_bio) {
        c.key_.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, refuse_pass_phrase, nullptr));
        if (!c.key_) {
            result.reason = "no readable unencrypted PEM private key (" + take_openssl_errors() + ")";
        }
    }
    if (!c.key_) {
        result.failure = Failure::kKey;
        return result;
    }
    if (X509_check_private_key(c.leaf_.get(), c.key_.get()) != 1) {
        ERR_clear_error();
        result.failure = Failure::kMismatch;
        result.reason = "the key does not belong to the certificate";
        return result;
    }
    c.key_type_ = type_of(c.key_.get());
    const ASN1_TIME* not_after = X509_get0_notAfter(c.leaf_.get());
    c.expired_ = X509_cmp_current_time(not_after) < 0;
    c.not_after_ = format_time(not_after);
    result.certificate = std::move(c);
    return result;
}

}  // namespace portico::core::tls

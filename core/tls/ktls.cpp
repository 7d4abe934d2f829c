// kTLS detection at start-up.

#include "core/tls/ktls.hpp"

#include <openssl/opensslconf.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace portico::core::tls {

KtlsSupport detect_ktls(const std::string& ulp_list_file) {
#ifdef OPENSSL_NO_KTLS
    (void)ulp_list_file;
    return {false, "this OpenSSL was built without kTLS"};
#else
    std::ifstream in(ulp_list_file);
    if (!in) {
        return {false, ulp_list_file + " cannot be read (no tls module loaded?)"};
    }
    std::string all;
    std::string word;
    while (in >> word) {
        if (word == "tls") {
            return {true, "the kernel offers the tls ULP"};
        }
        all += all.empty() ? word : " " + word;
    }
    return {false, "the kernel's ULPs are: " + (all.empty() ? std::string{"none"} : all)};
#endif
}

bool ktls_available() {
    static const bool available = [] {
        KtlsSupport support = detect_ktls();
        spdlog::info("kTLS {}: {}",
                     support.available ? "on, file bodies go by sendfile"
                                       : "off, file bodies go "
                                         "by read and SSL_write",
                     support.reason);
        return support.available;
    }();
    return available;
}

}  // namespace portico::core::tls

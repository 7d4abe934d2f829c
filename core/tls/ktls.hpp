#pragma once
// Kernel TLS: whether the kernel can take over record encryption, so a file body goes out by
// sendfile() (SSL_sendfile) instead of being read into user space and written by SSL_write.

#include <string>

namespace portico::core::tls {

/// What start-up found, and why, for one log line.
struct KtlsSupport {
    bool available = false;
    std::string reason;  ///< "the kernel offers the tls ULP", "... lists only: mptcp", ...
};

/// Looks for "tls" in `ulp_list_file` (the kernel's list of TCP upper-layer protocols) and at
/// whether this OpenSSL was built with kTLS. Reads a file; no socket is touched.
KtlsSupport detect_ktls(const std::string& ulp_list_file = "/proc/sys/net/ipv4/tcp_available_ulp");

/// detect_ktls() once per process, logged once at info; later calls return the first answer.
/// Contexts enable SSL_OP_ENABLE_KTLS only when this is true: where the kernel lacks the ULP,
/// OpenSSL would otherwise spend a failing setsockopt(TCP_ULP) on every handshake.
bool ktls_available();

}  // namespace portico::core::tls

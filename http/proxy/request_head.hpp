#pragma once
// Builds the head of the request the proxy sends upstream, from the client's parsed request,
// into a buffer the caller supplies (no allocation):
//
//   METHOD SP URI SP HTTP/1.1            URI by nginx's proxy_pass rules (below)
//   Host: $host                          unless proxy_set_headers names Host
//   ...the client's end-to-end fields... hop-by-hop ones dropped
//   X-Forwarded-For: <client's>, $remote_addr
//   X-Real-IP: $remote_addr
//   X-Forwarded-Proto: $scheme
//   ...proxy_set_headers...              each replaces any field of its name
//   Content-Length: N | Transfer-Encoding: chunked    the body as the proxy will send it
//   Connection: keep-alive | Upgrade: <client's> + Connection: upgrade
//
// The URI: proxy_pass with a path replaces the part of the normalised URI that the location's
// prefix matched ("/api/" + proxy_pass "http://app/v1/": /api/x?q -> /v1/x?q), escaping again
// what the normalisation decoded; without a path the URI goes exactly as the client sent it
// (an absolute-form target in its origin-form).
//
// Dropped from the client's fields: Connection and every field it names, Keep-Alive, TE,
// Trailer, Upgrade (kept for an upgrade), Proxy-*, Host, Content-Length, Transfer-Encoding and
// Expect (the proxy frames the body itself and answers 100-continue itself), and the fields the
// proxy sets: X-Forwarded-For (its values are kept, then appended to), X-Real-IP,
// X-Forwarded-Proto.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "conf/proxy.hpp"
#include "http/parser.hpp"
#include "http/routing/value_template.hpp"

namespace portico::http::proxy {

/// How the request body goes upstream.
enum class UpstreamBody : uint8_t { kNone, kLength, kChunked };

struct UpstreamRequest {
    const char* head = nullptr;  ///< the client's request head; `request`'s spans point into it
    size_t head_length = 0;      ///< CRLFCRLF included
    const Request* request = nullptr;
    /// For templates and the forwarding fields: host ($host), remote_addr, scheme, uri, args.
    const routing::RequestVars* vars = nullptr;
    /// Host when $host is empty (an HTTP/1.0 request without one): the proxy_pass authority.
    std::string_view upstream_host;
    /// proxy_pass's path, or empty to pass the URI unchanged.
    std::string_view pass_path;
    size_t location_prefix = 0;  ///< bytes of vars->uri the location's prefix matched
    std::span<const conf::ProxyHeader> set_headers;
    UpstreamBody body = UpstreamBody::kNone;
    uint64_t body_length = 0;  ///< for kLength
    bool upgrade = false;      ///< forward the client's Upgrade and ask for Connection: upgrade
};

struct BuiltHead {
    size_t length = 0;       ///< bytes written; 0 on error
    const char* error = "";  ///< why not: "upstream request head too large", ...
    [[nodiscard]] bool ok() const noexcept { return length != 0; }
};

/// Writes the upstream request head to out[0, cap). Does not allocate.
BuiltHead build_request_head(const UpstreamRequest& in, char* out, size_t cap) noexcept;

/// Whether the client asks for a protocol upgrade the proxy can tunnel: HTTP/1.1 GET with an
/// Upgrade field and "upgrade" among the Connection options (RFC 9110 7.8).
bool is_upgrade_request(const char* head, size_t head_length, const Request& request) noexcept;

/// Whether the method may be sent twice with the effect of once (RFC 9110 9.2.2).
constexpr bool is_idempotent(Method m) noexcept {
    return m == Method::kGet || m == Method::kHead || m == Method::kPut || m == Method::kDelete ||
           m == Method::kOptions || m == Method::kTrace;
}

}  // namespace portico::http::proxy

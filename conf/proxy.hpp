#pragma once
// The reverse proxy's part of the configuration: the top-level `upstreams` groups, and the
// `proxy_*` settings of the http group, a server or a location (ProxySettings, inside
// RouteSettings and inherited with it). Checked at -t and on reload; the proxy itself reads
// only these structs.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/routing/value_template.hpp"

namespace portico::conf {

using Millis = std::chrono::milliseconds;  // as in conf/config.hpp, which includes this file

/// One entry of an upstream's `servers`: "127.0.0.1:9001 weight=3", "unix:/run/app.sock backup".
struct UpstreamServer {
    std::string host;  ///< numeric, canonical ("127.0.0.1", "::1"); empty for a unix socket
    uint16_t port = 0;
    bool ipv6 = false;
    std::string unix_path;   ///< absolute; set for "unix:/path"
    uint32_t weight = 1;     ///< 1..1000
    uint32_t max_fails = 1;  ///< 0: failures never take it out
    Millis fail_timeout = std::chrono::seconds{10};
    bool backup = false;

    /// "127.0.0.1:9001", "[::1]:9001", "unix:/run/app.sock": for logs, $upstream_addr, the hash ring.
    [[nodiscard]] std::string address() const;
};

enum class Balance : uint8_t { kRoundRobin, kLeastConn, kHashRemoteAddr, kHashRequestUri };

struct Upstream {
    std::string name;
    std::string where;  ///< "FILE:LINE: setting 'upstreams[0].name'", for messages
    std::vector<UpstreamServer> servers;
    Balance balance = Balance::kRoundRobin;
    uint32_t keepalive = 32;  ///< idle connections kept per worker, per server; 0 keeps none
    Millis keepalive_timeout = std::chrono::seconds{4};
};

/// proxy_pass = "http://NAME[/path]" or "http://ADDRESS[:PORT][/path]".
struct ProxyPass {
    std::string text;      ///< as written
    std::string where;     ///< "FILE:LINE: setting '...proxy_pass'"
    std::string upstream;  ///< the name after "http://"; resolved against `upstreams` at load
    /// Set when the name was not an upstream's but an address: a group of one server.
    std::optional<UpstreamServer> address;
    int upstream_index = -1;  ///< into Config::upstreams once resolved; -1 for an address
    /// The URI part, from its '/' on: it replaces the location's matched prefix (nginx's rule).
    /// Empty when there is none, and the request's URI goes to the upstream unchanged.
    std::string path;
    [[nodiscard]] bool has_path() const noexcept { return !path.empty(); }
};

/// proxy_set_headers = [ "Host: $host", "X-Request-Start: ..." ]: sent instead of the client's
/// field of the same name (and of the proxy's own Host or X-Forwarded-*); a value that expands to
/// nothing removes the field.
struct ProxyHeader {
    std::string name;
    std::string lower_name;
    http::routing::ValueTemplate value;
};

/// The proxy_* settings one level writes; unset ones come from the enclosing level.
struct ProxySettings {
    std::optional<ProxyPass> pass;  ///< only in a location
    std::optional<std::vector<ProxyHeader>> set_headers;
    std::optional<Millis> connect_timeout;
    std::optional<Millis> read_timeout;
    std::optional<Millis> send_timeout;
    std::optional<uint32_t> next_upstream_tries;  ///< 0: as many as the upstream has servers

    /// Takes every setting this level leaves unset from `parent`, but never proxy_pass: as in
    /// nginx, a location proxies only if it says so.
    void inherit(const ProxySettings& parent);
    [[nodiscard]] bool empty() const noexcept {
        return !pass && !set_headers && !connect_timeout && !read_timeout && !send_timeout &&
               !next_upstream_tries;
    }
};

namespace detail {

/// Parses "ADDRESS[:PORT] [weight=N] [max_fails=N] [fail_timeout=DURATION] [backup]" where
/// ADDRESS is a numeric IPv4 address, "[IPv6]", or "unix:/absolute/path". The port defaults to
/// 80. Names are not resolved: write the address. nullopt and `problem` set when it is wrong.
std::optional<UpstreamServer> parse_upstream_server(std::string_view text, std::string& problem);

/// Parses "http://NAME-OR-ADDRESS[:PORT][/path]" into a ProxyPass without `where`; `upstream`
/// holds the authority as written, `address` is set when it reads as an address.
std::optional<ProxyPass> parse_proxy_pass(std::string_view text, std::string& problem);

}  // namespace detail

}  // namespace portico::conf

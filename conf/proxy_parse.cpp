// The text forms of the proxy's settings: an upstream server ("127.0.0.1:9001 weight=3 backup")
// and a proxy_pass ("http://app/v1/"). Pure parsing; the readers (conf/upstreams.cpp,
// conf/proxy_settings.cpp) turn a problem into a ConfigError with the file, line and setting.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "conf/parse.hpp"
#include "conf/proxy.hpp"

namespace portico::conf {

std::string UpstreamServer::address() const {
    if (!unix_path.empty()) return "unix:" + unix_path;
    return ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

namespace detail {
namespace {

using namespace std::string_view_literals;

constexpr uint32_t kMaxWeight = 1000;
constexpr uint32_t kMaxFails = 1000;

bool parse_number(std::string_view text, uint32_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

std::optional<std::string> canonical(std::string_view host, int family) {
    unsigned char binary[sizeof(in6_addr)];
    char text[INET6_ADDRSTRLEN];
    const std::string copy(host);
    if (inet_pton(family, copy.c_str(), binary) != 1 || !inet_ntop(family, binary, text, sizeof text))
        return std::nullopt;
    return std::string(text);
}

bool looks_like_name(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
    });
}

// "127.0.0.1", "127.0.0.1:9001", "[::1]:9001", "[::1]"; the port defaults to 80 as in nginx.
std::optional<UpstreamServer> parse_inet(std::string_view text, std::string& problem) {
    UpstreamServer server;
    std::string_view host = text, port;
    bool has_port = false;
    if (!text.empty() && text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos) {
            problem = fmt::format("'{}': missing ']' after the IPv6 address", text);
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            problem = fmt::format("'{}': expected ':port' after ']'", text);
            return std::nullopt;
        }
        has_port = !rest.empty();
        port = has_port ? rest.substr(1) : rest;
        server.ipv6 = true;
    } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        has_port = true;
    }
    auto canonical_host = canonical(host, server.ipv6 ? AF_INET6 : AF_INET);
    if (!canonical_host) {
        problem = looks_like_name(host) ? fmt::format(
                                              "'{}' is not a numeric address (host names are not "
                                              "resolved: write \"127.0.0.1:9001\", \"[::1]:9001\" "
                                              "or \"unix:/path\")",
                                              host)
                                        : fmt::format("'{}' is not an address", text);
        return std::nullopt;
    }
    uint32_t port_number = 80;
    if (has_port && (!parse_number(port, port_number) || port_number < 1 || port_number > 65535)) {
        problem = fmt::format("'{}': the port must be a number between 1 and 65535", text);
        return std::nullopt;
    }
    server.host = std::move(*canonical_host);
    server.port = static_cast<uint16_t>(port_number);
    return server;
}

std::optional<UpstreamServer> parse_unix(std::string_view path, std::string& problem) {
    if (path.empty() || path.front() != '/') {
        problem = fmt::format("'unix:{}': the socket path must be absolute", path);
        return std::nullopt;
    }
    if (path.size() >= sizeof(sockaddr_un::sun_path)) {
        problem = fmt::format("'unix:{}': the socket path is longer than {} bytes", path,
                              sizeof(sockaddr_un::sun_path) - 1);
        return std::nullopt;
    }
    UpstreamServer server;
    server.unix_path = std::string(path);
    return server;
}

// "weight=3", "max_fails=0", "fail_timeout=30s", "backup"; each at most once.
bool apply_option(std::string_view word, UpstreamServer& server, uint8_t& seen, std::string& problem) {
    const size_t eq = word.find('=');
    const std::string_view key = word.substr(0, eq),
                           value = eq == std::string_view::npos ? "" : word.substr(eq + 1);
    constexpr std::array kKeys{"weight"sv, "max_fails"sv, "fail_timeout"sv, "backup"sv};
    const auto at = std::find(kKeys.begin(), kKeys.end(), key);
    if (at == kKeys.end() || (key == "backup") != (eq == std::string_view::npos)) {
        problem = fmt::format(
            "unknown option '{}' (the options are weight=N, max_fails=N, "
            "fail_timeout=DURATION and backup)",
            word);
        return false;
    }
    const auto bit = static_cast<uint8_t>(1u << (at - kKeys.begin()));
    if (seen & bit) {
        problem = fmt::format("'{}' is given twice", key);
        return false;
    }
    seen |= bit;
    uint32_t n = 0;
    if (key == "weight") {
        if (!parse_number(value, n) || n < 1 || n > kMaxWeight) {
            problem = fmt::format("weight must be a number between 1 and {} (got '{}')", kMaxWeight, value);
            return false;
        }
        server.weight = n;
    } else if (key == "max_fails") {
        if (!parse_number(value, n) || n > kMaxFails) {
            problem = fmt::format("max_fails must be a number between 0 and {} (got '{}')", kMaxFails, value);
            return false;
        }
        server.max_fails = n;
    } else if (key == "fail_timeout") {
        auto d = parse_duration(value);
        if (!d.value || d.value->count() == 0) {
            problem =
                fmt::format("fail_timeout '{}': {}", value, d.value ? "must be greater than 0" : d.problem);
            return false;
        }
        server.fail_timeout = *d.value;
    } else {
        server.backup = true;
    }
    return true;
}

}  // namespace

std::optional<UpstreamServer> parse_upstream_server(std::string_view text, std::string& problem) {
    std::vector<std::string_view> words;
    for (size_t i = 0; i < text.size();) {
        const size_t start = text.find_first_not_of(' ', i);
        if (start == std::string_view::npos) break;
        const size_t end = std::min(text.find(' ', start), text.size());
        words.push_back(text.substr(start, end - start));
        i = end;
    }
    if (words.empty()) {
        problem = "is empty; write an address, e.g. \"127.0.0.1:9001\"";
        return std::nullopt;
    }
    auto server = words[0].starts_with("unix:") ? parse_unix(words[0].substr(5), problem)
                                                : parse_inet(words[0], problem);
    if (!server) return std::nullopt;
    uint8_t seen = 0;
    for (size_t i = 1; i < words.size(); ++i)
        if (!apply_option(words[i], *server, seen, problem)) return std::nullopt;
    return server;
}

// nginx's proxy_pass without variables: "http://" then an upstream's name or an address, then
// the path that replaces the location's prefix, if any.
std::optional<ProxyPass> parse_proxy_pass(std::string_view text, std::string& problem) {
    constexpr std::string_view kScheme = "http://";
    if (!text.starts_with(kScheme)) {
        problem = text.starts_with("https://")
                      ? "https:// upstreams are not supported; the proxy speaks plain HTTP to upstreams"
                      : "must start with \"http://\", e.g. \"http://app\" or \"http://127.0.0.1:9100/v1/\"";
        return std::nullopt;
    }
    ProxyPass pass;
    pass.text = std::string(text);
    const std::string_view rest = text.substr(kScheme.size());
    const size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) pass.path = std::string(rest.substr(slash));
    for (char c : pass.path) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= ' ' || u >= 0x7f || c == '?' || c == '#' || c == '$') {
            problem = fmt::format("the path '{}' may not hold spaces, control bytes, '?', '#' or variables",
                                  pass.path);
            return std::nullopt;
        }
    }
    if (authority.empty()) {
        problem = "names no upstream or address after \"http://\"";
        return std::nullopt;
    }
    if (authority.starts_with("unix:")) {
        problem =
            "a unix socket goes in an upstream's servers: \"unix:/path\", then proxy_pass = \"http://NAME\"";
        return std::nullopt;
    }
    // A name of letters, digits, '-', '_' and '.' that does not start with a digit names an
    // upstream; anything else must be an address.
    const bool name = looks_like_name(authority) && !(authority.front() >= '0' && authority.front() <= '9');
    if (!name) {
        auto server = parse_inet(authority, problem);
        if (!server) return std::nullopt;
        pass.address = std::move(*server);
    }
    pass.upstream = std::string(authority);
    return pass;
}

}  // namespace detail
}  // namespace portico::conf

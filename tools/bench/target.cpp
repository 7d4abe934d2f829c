#include "target.hpp"

#include "options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <strings.h>
#include <charconv>
#include <cstring>

namespace portico::bench {
namespace {

[[noreturn]] void bad_url(std::string_view url, std::string_view why) {
    throw UsageError("bad URL '" + std::string(url) + "': " + std::string(why));
}

uint16_t parse_port(std::string_view url, std::string_view text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
        value > 65535) {
        bad_url(url, "the port must be 1..65535");
    }
    return static_cast<uint16_t>(value);
}

// Fills target.address from a host (brackets already removed) and a port.
void set_address(Target& target, std::string_view url, const std::string& host, bool bracketed,
                 uint16_t port) {
    if (!bracketed) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&target.address);
        const std::string numeric = strcasecmp(host.c_str(), "localhost") == 0 ? "127.0.0.1" : host;
        if (inet_pton(AF_INET, numeric.c_str(), &v4->sin_addr) != 1) {
            bad_url(url, "the host must be a numeric address or localhost");
        }
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        target.address_len = sizeof(sockaddr_in);
        return;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&target.address);
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) != 1) {
        bad_url(url, "the host in brackets must be a numeric IPv6 address");
    }
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    target.address_len = sizeof(sockaddr_in6);
}

}  // namespace

Target parse_target(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    if (url.size() < kScheme.size() || strncasecmp(url.data(), kScheme.data(), kScheme.size()) != 0) {
        bad_url(url, "only http:// URLs are supported");
    }
    std::string_view rest = url.substr(kScheme.size());
    rest = rest.substr(0, rest.find('#'));
    const size_t path_at = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_at);
    std::string_view path = path_at == std::string_view::npos ? std::string_view() : rest.substr(path_at);

    std::string_view host = authority;
    std::string_view port_text;
    bool bracketed = false;
    if (!authority.empty() && authority.front() == '[') {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) bad_url(url, "unclosed '['");
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') bad_url(url, "junk after ']'");
        port_text = after.empty() ? std::string_view() : after.substr(1);
        bracketed = true;
        if (!after.empty() && port_text.empty()) bad_url(url, "empty port");
    } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port_text = authority.substr(colon + 1);
        if (port_text.empty()) bad_url(url, "empty port");
    }
    if (host.empty()) bad_url(url, "no host");

    Target target;
    set_address(target, url, std::string(host), bracketed,
                port_text.empty() ? 80 : parse_port(url, port_text));
    target.host = std::string(authority);
    target.path =
        path.empty() ? "/" : (path.front() == '?' ? std::string("/").append(path) : std::string(path));
    if (target.path.find_first_of(" \r\n") != std::string::npos) bad_url(url, "spaces in the path");
    return target;
}

}  // namespace portico::bench

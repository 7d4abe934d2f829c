// Listen addresses: "127.0.0.1:8080", "*:8080", "[::1]:8080", "8080"; and the distinct ones of
// a whole config.

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>

#include "conf/parse.hpp"

namespace portico::conf {

std::string ListenAddress::to_string() const {
    std::string port_text = std::to_string(port);
    return ipv6 ? "[" + host + "]:" + port_text : host + ":" + port_text;
}

namespace detail {
namespace {

using Result = Parsed<ListenAddress>;

constexpr std::string_view kBadPort = "the port must be a number between 1 and 65535";

std::optional<uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(value);
}

// The canonical spelling of a numeric host, so "[0:0::1]" and "[::1]" compare equal later;
// nullopt when inet_pton() does not take it.
std::optional<std::string> canonical_host(const std::string& host, int family) {
    unsigned char binary[sizeof(in6_addr)];
    char text[INET6_ADDRSTRLEN];
    if (inet_pton(family, host.c_str(), binary) != 1 || !inet_ntop(family, binary, text, sizeof text)) {
        return std::nullopt;
    }
    return std::string{text};
}

Result make(std::string_view host, std::string_view port_text, bool ipv6) {
    auto port = parse_port(port_text);
    if (!port) {
        return Result::error(kBadPort);
    }
    auto host_text = canonical_host(std::string{host}, ipv6 ? AF_INET6 : AF_INET);
    if (!host_text) {
        return Result::error(ipv6 ? "not a numeric IPv6 address"
                                  : "the host must be a numeric IPv4 address or '*' "
                                    "(host names are not resolved)");
    }
    return Result::ok(ListenAddress{*host_text, *port, ipv6});
}

// "[::1]:8080"
Result parse_bracketed(std::string_view text) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
        return Result::error("missing ']' after the IPv6 address");
    }
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) {
        return Result::error("missing ':port' after the address");
    }
    if (rest[0] != ':') {
        return Result::error("expected ':port' after ']'");
    }
    return make(text.substr(1, close - 1), rest.substr(1), true);
}

// The words after the address: only "ssl" so far (nginx's spelling).
Result apply_flags(Result address, std::string_view flags) {
    while (address.value && !flags.empty()) {
        size_t start = flags.find_first_not_of(' ');
        if (start == std::string_view::npos) break;
        flags.remove_prefix(start);
        std::string_view word = flags.substr(0, flags.find(' '));
        flags.remove_prefix(word.size());
        if (word != "ssl") {
            return Result::error("unknown flag after the address; the only one is 'ssl'");
        }
        address.value->ssl = true;
    }
    return address;
}

Parsed<ListenAddress> parse_address(std::string_view text);

}  // namespace

// "127.0.0.1:8443 ssl": an address, then flags separated by spaces.
Parsed<ListenAddress> parse_listen_address(std::string_view text) {
    size_t space = text.find(' ');
    if (space == std::string_view::npos) {
        return parse_address(text);
    }
    return apply_flags(parse_address(text.substr(0, space)), text.substr(space));
}

namespace {

Parsed<ListenAddress> parse_address(std::string_view text) {
    if (text.empty()) {
        return Result::error("the address is empty");
    }
    if (text[0] == '[') {
        return parse_bracketed(text);
    }
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        // A bare port: all IPv4 interfaces, as "*:8080".
        if (text.find_first_not_of("0123456789") == std::string_view::npos) {
            return make("0.0.0.0", text, false);
        }
        return Result::error("missing ':port', e.g. \"127.0.0.1:8080\"");
    }
    if (text.find(':') != colon) {
        return Result::error("an IPv6 address goes in brackets, e.g. \"[::1]:8080\"");
    }
    std::string_view host = text.substr(0, colon);
    return make(host == "*" ? "0.0.0.0" : host, text.substr(colon + 1), false);
}

}  // namespace
}  // namespace detail

std::vector<ListenAddress> distinct_listen_addresses(const Config& config) {
    // Configs name a few addresses, so a linear search is cheap and keeps the first-seen order.
    std::vector<ListenAddress> result;
    for (const auto& server : config.servers) {
        for (const auto& address : server.listen) {
            if (std::find(result.begin(), result.end(), address) == result.end()) {
                result.push_back(address);
            }
        }
    }
    return result;
}

}  // namespace portico::conf

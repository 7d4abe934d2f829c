#include "http/routing/access_list.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace portico::http::routing {
namespace {

constexpr uint64_t kMappedPrefix = 0x0000ffffULL << 32;  // the low half of ::ffff:a.b.c.d, before a.b.c.d

Address from_bytes(const uint8_t (&b)[16]) noexcept {
    Address a;
    for (int i = 0; i < 8; ++i) a.hi = (a.hi << 8) | b[i];
    for (int i = 8; i < 16; ++i) a.lo = (a.lo << 8) | b[i];
    return a;
}

Address from_ipv4(uint32_t host_order) noexcept {
    return Address{0, kMappedPrefix | host_order};
}

// The mask of the first `bits` of 128.
Address prefix_mask(unsigned bits) noexcept {
    auto half = [](unsigned n) { return n == 0 ? 0 : n >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - n); };
    return Address{half(bits > 64 ? 64 : bits), half(bits > 64 ? bits - 64 : 0)};
}

bool parse_bits(std::string_view text, unsigned max, unsigned& bits) noexcept {
    if (text.empty() || text.size() > 3) return false;
    bits = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        bits = bits * 10 + static_cast<unsigned>(c - '0');
    }
    return bits <= max;
}

}  // namespace

std::optional<Address> Address::parse(std::string_view text) noexcept {
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    in_addr v4{};
    if (inet_pton(AF_INET, buf, &v4) == 1) return from_ipv4(ntohl(v4.s_addr));
    in6_addr v6{};
    if (inet_pton(AF_INET6, buf, &v6) == 1) return from_bytes(v6.s6_addr);
    return std::nullopt;
}

std::optional<Address> Address::from_sockaddr(const sockaddr* sa) noexcept {
    if (sa->sa_family == AF_INET) {
        return from_ipv4(ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6)
        return from_bytes(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr);
    return std::nullopt;
}

bool AccessList::add(std::string_view rule, std::string& problem) {
    size_t space = rule.find(' ');
    std::string_view verb = rule.substr(0, space);
    std::string_view what = space == std::string_view::npos ? std::string_view() : rule.substr(space + 1);
    while (!what.empty() && what.front() == ' ') what.remove_prefix(1);
    if (verb != "allow" && verb != "deny") {
        problem = fmt::format("'{}' must start with \"allow\" or \"deny\"", rule);
        return false;
    }
    Rule r;
    r.allow = verb == "allow";
    if (what == "all") {
        rules_.push_back(r);  // a zero mask matches every address
        return true;
    }
    size_t slash = what.find('/');
    std::string_view host = what.substr(0, slash);
    auto net = Address::parse(host);
    bool v4 = host.find(':') == std::string_view::npos;
    unsigned bits = 128;
    if (net && slash != std::string_view::npos && !parse_bits(what.substr(slash + 1), v4 ? 32 : 128, bits))
        net.reset();
    if (!net) {
        problem = fmt::format("'{}' is not \"all\", an address or a CIDR (\"10.0.0.0/8\", \"2001:db8::/32\")",
                              what);
        return false;
    }
    if (v4 && slash != std::string_view::npos) bits += 96;
    r.mask = prefix_mask(bits);
    r.net = Address{net->hi & r.mask.hi, net->lo & r.mask.lo};
    rules_.push_back(r);
    return true;
}

bool AccessList::allows(const Address& peer) const noexcept {
    for (const Rule& r : rules_) {
        if ((peer.hi & r.mask.hi) == r.net.hi && (peer.lo & r.mask.lo) == r.net.lo) return r.allow;
    }
    return true;
}

}  // namespace portico::http::routing

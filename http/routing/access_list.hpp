#pragma once
// nginx's allow/deny: "allow 10.0.0.0/8", "deny 2001:db8::/32", "allow all", "deny all", tried in
// order, the first rule that matches decides; no rule matching allows.
//
// Every address is kept as 128 bits, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so an
// IPv4 client seen on a dual-stack socket matches IPv4 rules, and one rule test is two masked
// 64-bit compares whatever the family.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace portico::http::routing {

struct Address {
    uint64_t hi = 0;
    uint64_t lo = 0;

    /// "127.0.0.1", "::1", "::ffff:10.0.0.1". Returns nullopt when `text` is not a numeric address.
    static std::optional<Address> parse(std::string_view text) noexcept;
    /// From an AF_INET or AF_INET6 socket address; nullopt for any other family.
    static std::optional<Address> from_sockaddr(const sockaddr* sa) noexcept;
};

class AccessList {
public:
    /// Appends a rule. Returns false and sets `problem` when `rule` is not "allow|deny all|ADDR[/BITS]".
    /// Host bits below the prefix are ignored, as nginx does ("10.1.2.3/8" is 10.0.0.0/8).
    bool add(std::string_view rule, std::string& problem);

    /// Whether `peer` may be served. Allocation-free; linear in the rules, first match wins.
    [[nodiscard]] bool allows(const Address& peer) const noexcept;
    [[nodiscard]] bool empty() const noexcept { return rules_.empty(); }
    [[nodiscard]] size_t size() const noexcept { return rules_.size(); }

private:
    struct Rule {
        Address net;
        Address mask;
        bool allow = false;
    };
    std::vector<Rule> rules_;
};

}  // namespace portico::http::routing

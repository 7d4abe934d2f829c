// The top-level `upstreams` list: named groups of servers the proxy balances over.
//
//   upstreams = ( { name = "app"; servers = [ "127.0.0.1:9001 weight=3", "unix:/run/app.sock backup" ];
//                   balance = "least_conn"; keepalive = 32; keepalive_timeout = "4s"; } );

#include <fmt/format.h>

#include <algorithm>

#include "conf/defaults.hpp"
#include "conf/sections.hpp"

namespace portico::conf::detail {
namespace {

using libconfig::Setting;

// As http/proxy/balancer.hpp's kMaxPeers: a request's tried servers are a bitset of this size.
constexpr size_t kMaxServers = 256;
constexpr uint32_t kMaxKeepalive = 65535;

const std::array<OtherGroup, 1> kNotInUpstream{{
    {kLocationKeys, "inside a location; an upstream holds only name, servers, balance and keepalive"},
}};

void read_name(const GroupReader& g, const std::vector<Upstream>& earlier, Upstream& upstream) {
    if (g.find("name") == nullptr) g.fail("name", "missing; every upstream needs one, e.g. name = \"app\";");
    upstream.name = g.string("name", "");
    const std::string& name = upstream.name;
    const bool letters = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
    });
    if (!letters || (name.front() >= '0' && name.front() <= '9')) {
        g.fail("name",
               fmt::format("'{}' is not a name: letters, digits, '-', '_' and '.', not starting with a "
                           "digit (so that proxy_pass can tell it from an address)",
                           name));
    }
    for (size_t i = 0; i < earlier.size(); ++i) {
        if (earlier[i].name == name)
            g.fail("name", fmt::format("upstream '{}' is already defined by upstreams[{}]", name, i));
    }
    upstream.where = where_is(g, "name");
}

void read_upstream_servers(const GroupReader& g, Upstream& upstream) {
    if (g.find("servers") == nullptr)
        g.fail("servers", "missing; list at least one, e.g. servers = [ \"127.0.0.1:9001\" ];");
    const auto elements = g.elements("servers");
    if (elements.empty()) g.fail("servers", "must name at least one server");
    if (elements.size() > kMaxServers)
        g.fail("servers", fmt::format("lists more than {} servers", kMaxServers));
    for (const Element& element : elements) {
        const std::string text = g.string_of(element);
        std::string problem;
        auto server = parse_upstream_server(text, problem);
        if (!server) g.fail_at(*element.setting, element.name, problem);
        const std::string address = server->address();
        const auto same = [&](const UpstreamServer& s) { return s.address() == address; };
        if (std::any_of(upstream.servers.begin(), upstream.servers.end(), same))
            g.fail_at(*element.setting, element.name, fmt::format("'{}' is listed twice", address));
        upstream.servers.push_back(std::move(*server));
    }
    const bool all_backup = std::all_of(upstream.servers.begin(), upstream.servers.end(),
                                        [](const UpstreamServer& s) { return s.backup; });
    if (all_backup) g.fail("servers", "every server is a backup; at least one must not be");
}

Balance read_balance(const GroupReader& g) {
    const std::string value = g.string("balance", kDefaults.upstream_balance);
    if (value == "round_robin") return Balance::kRoundRobin;
    if (value == "least_conn") return Balance::kLeastConn;
    if (value == "hash $remote_addr") return Balance::kHashRemoteAddr;
    if (value == "hash $request_uri") return Balance::kHashRequestUri;
    g.fail("balance", fmt::format("must be \"round_robin\", \"least_conn\", \"hash $remote_addr\" or "
                                  "\"hash $request_uri\" (got '{}')",
                                  value));
}

Upstream read_upstream(const GroupReader& g, const std::vector<Upstream>& earlier) {
    g.reject_unknown(kUpstreamKeys, kNotInUpstream);
    Upstream upstream;
    read_name(g, earlier, upstream);
    read_upstream_servers(g, upstream);
    upstream.balance = read_balance(g);
    const bool hash =
        upstream.balance == Balance::kHashRemoteAddr || upstream.balance == Balance::kHashRequestUri;
    const auto backup = std::find_if(upstream.servers.begin(), upstream.servers.end(),
                                     [](const UpstreamServer& s) { return s.backup; });
    if (hash && backup != upstream.servers.end()) {
        // A key must keep its server; a backup that takes keys while primaries are up would not.
        g.fail("balance",
               fmt::format("hash cannot be used with backup servers ('{}'), as in nginx", backup->address()));
    }
    upstream.keepalive = g.integer("keepalive", kDefaults.upstream_keepalive, 0, kMaxKeepalive);
    upstream.keepalive_timeout = g.duration("keepalive_timeout", kDefaults.upstream_keepalive_timeout);
    return upstream;
}

}  // namespace

std::vector<Upstream> read_upstreams(const GroupReader& top) {
    const Setting* list = top.find("upstreams");
    if (list == nullptr) return {};
    if (!list->isList())
        top.fail("upstreams",
                 "expected a list of groups: upstreams = ( { name = \"app\"; servers = [ ... ]; } );");
    std::vector<Upstream> upstreams;
    for (int i = 0; i < list->getLength(); ++i) {
        const Setting& group = (*list)[i];
        std::string name = fmt::format("upstreams[{}]", i);
        if (!group.isGroup())
            top.fail_at(group, name, "expected a group: { name = \"app\"; servers = [ ... ]; }");
        upstreams.push_back(read_upstream(top.nested(group, name), upstreams));
    }
    return upstreams;
}

}  // namespace portico::conf::detail

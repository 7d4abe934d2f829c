#include "http/proxy/upstream_group.hpp"

#include <string>
#include <vector>

namespace portico::http::proxy {
namespace {

BalanceMode mode_of(conf::Balance balance) {
    switch (balance) {
        case conf::Balance::kLeastConn:
            return BalanceMode::kLeastConn;
        case conf::Balance::kHashRemoteAddr:
        case conf::Balance::kHashRequestUri:
            return BalanceMode::kHash;
        case conf::Balance::kRoundRobin:
            break;
    }
    return BalanceMode::kRoundRobin;
}

PeerSpec spec_of(const conf::UpstreamServer& server, const std::string& name) {
    return PeerSpec{name, server.weight, server.max_fails, server.fail_timeout.count(), server.backup};
}

}  // namespace

Balancer make_balancer(const conf::Upstream& upstream) {
    // The names only have to live while the ring is built: the Balancer keeps none of them.
    std::vector<std::string> names;
    names.reserve(upstream.servers.size());
    for (const conf::UpstreamServer& server : upstream.servers) names.push_back(server.address());
    std::vector<PeerSpec> specs;
    specs.reserve(names.size());
    for (size_t i = 0; i < names.size(); ++i) specs.push_back(spec_of(upstream.servers[i], names[i]));
    return Balancer(specs, mode_of(upstream.balance));
}

Balancer make_balancer(const conf::UpstreamServer& server) {
    const std::string name = server.address();
    const PeerSpec spec = spec_of(server, name);
    return Balancer(std::span<const PeerSpec>(&spec, 1), BalanceMode::kRoundRobin);
}

uint32_t balance_key(conf::Balance balance, const routing::RequestVars& vars) noexcept {
    switch (balance) {
        case conf::Balance::kHashRemoteAddr:
            return Balancer::hash_key(vars.remote_addr);
        case conf::Balance::kHashRequestUri:
            return Balancer::hash_key(vars.request_uri);
        case conf::Balance::kRoundRobin:
        case conf::Balance::kLeastConn:
            break;
    }
    return 0;
}

}  // namespace portico::http::proxy

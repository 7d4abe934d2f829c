#pragma once
// From the config's view of an upstream (conf::Upstream) to the proxy's: the Balancer over its
// servers, and the key a hash balancer hashes for a request. Built once per worker and config
// generation; balance_key() runs per request and does not allocate.

#include <cstdint>

#include "conf/proxy.hpp"
#include "http/proxy/balancer.hpp"
#include "http/routing/value_template.hpp"

namespace portico::http::proxy {

/// A Balancer over `upstream.servers`, in their order (peer i is servers[i]), with their weights,
/// max_fails, fail_timeout and backup flags. The hash ring is seeded with each server's address().
Balancer make_balancer(const conf::Upstream& upstream);

/// A single-server balancer for proxy_pass to a literal address.
Balancer make_balancer(const conf::UpstreamServer& server);

/// The key hash for pick(): of $remote_addr or $request_uri for the hash modes, 0 otherwise.
uint32_t balance_key(conf::Balance balance, const routing::RequestVars& vars) noexcept;

}  // namespace portico::http::proxy

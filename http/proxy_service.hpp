#pragma once
// The reverse proxy as the router sees it. The implementation (http/proxy/) builds on http, so
// the router reaches it through this interface, which the worker fills in (Context::proxy) when
// some location proxies.

#include <cstddef>

#include "conf/proxy.hpp"
#include "conf/route.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"
#include "http/routing/value_template.hpp"

namespace portico::http {

struct Context;
struct VirtualServer;

class ProxyService {
public:
    /// Answers `ex` by passing it upstream as the location's `route.proxy` says (its pass is set):
    /// fills `reply` with a stream that writes the head once the upstream's arrives (with the
    /// location's add_headers and expires), and reads the request body. `vars` are the request's
    /// variables; `prefix` is how many bytes of vars.uri the location's prefix matched (for a
    /// proxy_pass with a path). Everything it needs from them it copies; `vs` (whose error pages
    /// answer the proxy's own failures) and `route` live with the worker's configuration.
    virtual void handle(Context& ctx, const Exchange& ex, const VirtualServer& vs, const conf::RouteSettings& route,
                        const routing::RequestVars& vars, size_t prefix, HeaderWriter& hw, Reply& reply) noexcept = 0;

protected:
    ~ProxyService() = default;
};

}  // namespace portico::http

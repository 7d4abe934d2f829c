#pragma once
// One worker's reverse proxy: for each upstream group (and each proxy_pass to a literal address)
// its balancer, its servers' socket addresses and their pools of idle keep-alive connections; and
// the upstream connections themselves, which the worker's loop drives as EventTargets.
//
//   ProxyRuntime ── Group (per upstream) ── Peer (per server): address, IdlePool of fds
//        │
//        └── UpstreamConn (per open upstream socket): owned by an exchange while it carries a
//            request, by the runtime while it waits in a pool
//
// Built once per worker and config generation, only when some location proxies.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/config.hpp"
#include "http/context.hpp"
#include "http/event_target.hpp"
#include "http/proxy/balancer.hpp"
#include "http/proxy/idle_pool.hpp"
#include "http/proxy/response_parser.hpp"
#include "http/proxy_service.hpp"

namespace portico::http::proxy {

class ProxyExchange;
class ProxyRuntime;
class UpstreamConn;

struct Peer {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    std::string name;  ///< "127.0.0.1:9001", for logs
    std::unique_ptr<IdlePool> idle;
    /// Idle connections beyond `keepalive`, kept for ProxyRuntime::kSurplusGraceMs only: under
    /// load more requests are in flight than the pool keeps idle, so each burst of responses
    /// finds it full, and the next burst of requests, a moment later, would open again the
    /// connections just closed (a handshake and a close on both sides, each time). Once a burst
    /// has passed, no pool holds more than its `keepalive` for longer than the grace.
    std::vector<UpstreamConn*> surplus;
};

struct Group {
    std::unique_ptr<Balancer> balancer;
    std::vector<Peer> peers;
    conf::Balance balance = conf::Balance::kRoundRobin;
    int64_t keepalive_timeout_ms = 4000;
    std::string host;  ///< the proxy_pass authority, for an HTTP/1.0 request without Host
};

/// One socket to an upstream server.
class UpstreamConn final : public EventTarget {
public:
    UpstreamConn(ProxyRuntime& rt, Group& group, int peer, int fd) noexcept
        : rt_(rt), group_(group), peer_(peer), fd_(fd) {}

    void on_event(Context& ctx, uint32_t events) noexcept override;
    void on_timeout(Context& ctx) noexcept override;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] int peer() const noexcept { return peer_; }
    [[nodiscard]] Group& group() const noexcept { return group_; }

    ProxyExchange* owner = nullptr;  ///< null while idle in its peer's pool
    bool connecting = false;         ///< connect() in progress
    bool reused = false;             ///< came from the pool for the current request
    uint32_t surplus_at = kNotSurplus;  ///< its index in its peer's surplus, while it is there
    static constexpr uint32_t kNotSurplus = UINT32_MAX;

private:
    ProxyRuntime& rt_;
    Group& group_;
    int peer_;
    int fd_;
};

class ProxyRuntime final : public ProxyService {
public:
    static constexpr int64_t kSurplusGraceMs = 100;

    ProxyRuntime(const conf::Config& config, Context& ctx);
    ~ProxyRuntime();

    void handle(Context& ctx, const Exchange& ex, const VirtualServer& vs, const conf::RouteSettings& route,
                const routing::RequestVars& vars, size_t prefix, HeaderWriter& hw, Reply& reply) noexcept override;

    /// The group proxy_pass names (an upstream, or a one-server group made for its address).
    Group* group_for(const conf::ProxyPass& pass) noexcept;
    /// An idle connection to `peer` of `group`, taken out of its pool, or null.
    UpstreamConn* take_idle(Group& group, int peer) noexcept;
    /// A new connection to `peer` of `group`, connecting (registered, not yet connected), or
    /// null with errno set.
    UpstreamConn* connect(Group& group, int peer) noexcept;
    /// A connection whose response ended cleanly goes back to its pool (or is closed when the pool
    /// is full); `upstream_timeout_s` is the response's Keep-Alive timeout, -1 without one.
    void park(UpstreamConn* c, int64_t upstream_timeout_s) noexcept;
    /// Closes and frees `c` (registered or not, idle or owned).
    void close(UpstreamConn* c) noexcept;
    /// An idle connection saw an event (its server closed it) or its idle time ran out.
    void drop_idle(UpstreamConn* c) noexcept;


    [[nodiscard]] Context& ctx() noexcept { return ctx_; }

    // What an exchange allocates per request, handed back when it ends and handed out again,
    // so that a busy worker does not allocate (and clear) a 2 KiB response head and two strings
    // for every proxied request. At most kSpareHeads heads are kept, and strings of at most
    // kSpareStringBytes together: enough for every exchange of a burst of a few hundred.
    /// A response head (its contents are the parser's to reset), or null without memory.
    std::unique_ptr<ResponseHead> take_response_head() noexcept;
    /// An empty string, with the capacity an earlier request left in it.
    std::string take_string() noexcept;
    void give_back(std::unique_ptr<ResponseHead> head) noexcept;
    void give_back(std::string s) noexcept;
    /// Room for building one upstream request head, at least `bytes` of it (not cleared: the
    /// head is built in it and copied out), or null without memory. Valid until the next call.
    char* head_scratch(size_t bytes) noexcept;
    static constexpr size_t kSpareHeads = 128;              // 256 KiB
    static constexpr size_t kSpareStringMax = 16 * 1024;    // a larger one is freed
    static constexpr size_t kSpareStringBytes = 1024 * 1024;

private:
    Group make_group(const conf::Upstream& upstream);
    void close_surplus(Group& group) noexcept;
    /// The pooled connection on `fd`, no longer mapped, or null.
    UpstreamConn* forget_idle(int fd) noexcept;

    Context& ctx_;
    std::vector<Group> upstreams_;  ///< by Config::upstreams index
    std::unordered_map<const conf::ProxyPass*, Group> literal_;
    std::vector<UpstreamConn*> idle_by_fd_;  ///< a pooled connection by its descriptor, else null
    std::vector<std::unique_ptr<ResponseHead>> spare_heads_;
    std::vector<std::string> spare_strings_;
    size_t spare_string_bytes_ = 0;  ///< the capacity of spare_strings_ together
    std::unique_ptr<char[]> head_scratch_;
    size_t head_scratch_size_ = 0;
};

}  // namespace portico::http::proxy

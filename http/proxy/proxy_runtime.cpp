#include "http/proxy/proxy_runtime.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

#include "http/proxy/proxy_exchange.hpp"
#include "http/proxy/upstream_group.hpp"

namespace portico::http::proxy {
namespace {

bool to_sockaddr(const conf::UpstreamServer& s, Peer& p) noexcept {
    if (!s.unix_path.empty()) {
        auto* a = reinterpret_cast<sockaddr_un*>(&p.addr);
        if (s.unix_path.size() >= sizeof a->sun_path) return false;
        a->sun_family = AF_UNIX;
        std::memcpy(a->sun_path, s.unix_path.c_str(), s.unix_path.size() + 1);
        p.addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + s.unix_path.size() + 1);
        return true;
    }
    if (s.ipv6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&p.addr);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(s.port);
        p.addr_len = sizeof *a;
        return inet_pton(AF_INET6, s.host.c_str(), &a->sin6_addr) == 1;
    }
    auto* a = reinterpret_cast<sockaddr_in*>(&p.addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(s.port);
    p.addr_len = sizeof *a;
    return inet_pton(AF_INET, s.host.c_str(), &a->sin_addr) == 1;
}

Peer make_peer(const conf::UpstreamServer& s, uint32_t keepalive) {
    Peer p;
    if (!to_sockaddr(s, p)) spdlog::error("upstream address {} cannot be used", s.address());
    p.name = s.address();
    p.idle = std::make_unique<IdlePool>(keepalive);
    return p;
}

int64_t ms_of(conf::Millis d) noexcept { return static_cast<int64_t>(d.count()); }

}  // namespace

ProxyRuntime::ProxyRuntime(const conf::Config& config, Context& ctx) : ctx_(ctx) {
    upstreams_.reserve(config.upstreams.size());
    for (const conf::Upstream& u : config.upstreams) upstreams_.push_back(make_group(u));
}

ProxyRuntime::~ProxyRuntime() {
    for (Group& g : upstreams_) close_surplus(g);
    for (auto& [pass, g] : literal_) close_surplus(g);
    for (UpstreamConn* c : idle_by_fd_) {
        if (!c) continue;
        ctx_.wheel.unlink(*c);
        ::close(c->fd());
        delete c;
    }
}

Group ProxyRuntime::make_group(const conf::Upstream& upstream) {
    Group g;
    g.balancer = std::make_unique<Balancer>(make_balancer(upstream));
    g.balance = upstream.balance;
    g.keepalive_timeout_ms = ms_of(upstream.keepalive_timeout);
    g.host = upstream.name;
    for (const conf::UpstreamServer& s : upstream.servers) g.peers.push_back(make_peer(s, upstream.keepalive));
    return g;
}

Group* ProxyRuntime::group_for(const conf::ProxyPass& pass) noexcept {
    if (!pass.address) {
        if (pass.upstream_index < 0 || static_cast<size_t>(pass.upstream_index) >= upstreams_.size()) return nullptr;
        return &upstreams_[static_cast<size_t>(pass.upstream_index)];
    }
    auto it = literal_.find(&pass);
    if (it != literal_.end()) return &it->second;
    try {
        // A literal address: one server, nginx's default of keeping no idle connections unless an
        // upstream says so would cost a handshake per request; portico keeps 32, as for upstreams.
        Group g;
        g.balancer = std::make_unique<Balancer>(make_balancer(*pass.address));
        g.host = pass.upstream;
        g.peers.push_back(make_peer(*pass.address, 32));
        return &literal_.emplace(&pass, std::move(g)).first->second;
    } catch (const std::exception&) {
        return nullptr;
    }
}

UpstreamConn* ProxyRuntime::take_idle(Group& group, int peer) noexcept {
    IdlePool& pool = *group.peers[static_cast<size_t>(peer)].idle;
    for (;;) {
        int fd = pool.take(static_cast<int64_t>(ctx_.now_ms));
        if (fd < 0) break;
        UpstreamConn* c = forget_idle(fd);
        if (!c) continue;  // cannot happen: every pooled fd is mapped
        ctx_.wheel.unlink(*c);
        c->reused = true;
        return c;
    }
    std::vector<UpstreamConn*>& surplus = group.peers[static_cast<size_t>(peer)].surplus;
    if (surplus.empty()) return nullptr;
    UpstreamConn* c = surplus.back();
    surplus.pop_back();
    c->surplus_at = UpstreamConn::kNotSurplus;
    ctx_.wheel.unlink(*c);
    c->reused = true;
    return c;
}

// At the runtime's end only, as the destructor treats the pooled ones (the loop may be gone).
void ProxyRuntime::close_surplus(Group& group) noexcept {
    for (Peer& p : group.peers) {
        for (UpstreamConn* c : p.surplus) {
            ctx_.wheel.unlink(*c);
            ::close(c->fd());
            delete c;
        }
        p.surplus.clear();
    }
}

UpstreamConn* ProxyRuntime::connect(Group& group, int peer) noexcept {
    const Peer& p = group.peers[static_cast<size_t>(peer)];
    int fd = ::socket(p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    if (p.addr.ss_family != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&p.addr), p.addr_len);
    if (r != 0 && errno != EINPROGRESS) {
        int err = errno;
        ::close(fd);
        errno = err;
        return nullptr;
    }
    auto* c = new (std::nothrow) UpstreamConn(*this, group, peer, fd);
    if (!c || !ctx_.poller->watch(fd, *c)) {
        delete c;
        ::close(fd);
        errno = ENOMEM;
        return nullptr;
    }
    c->connecting = r != 0;
    group.balancer->on_connect(peer);
    return c;
}

void ProxyRuntime::park(UpstreamConn* c, int64_t upstream_timeout_s) noexcept {
    Group& g = c->group();
    auto now = static_cast<int64_t>(ctx_.now_ms);
    int64_t deadline = idle_deadline(now, g.keepalive_timeout_ms, upstream_timeout_s);
    c->owner = nullptr;
    if (deadline <= now) return close(c);
    Peer& p = g.peers[static_cast<size_t>(c->peer())];
    IdlePool& pool = *p.idle;
    if (pool.capacity() > 0 && pool.size() == pool.capacity()) {
        try {
            p.surplus.push_back(c);  // for a moment only (see Peer::surplus)
        } catch (const std::bad_alloc&) {
            return close(c);
        }
        c->surplus_at = static_cast<uint32_t>(p.surplus.size() - 1);
        ctx_.wheel.link(*c, static_cast<uint64_t>(std::min(deadline, now + kSurplusGraceMs)));
        return;
    }
    const auto slot = static_cast<size_t>(c->fd());
    if (slot >= idle_by_fd_.size()) {
        try {
            idle_by_fd_.resize(std::max<size_t>(slot + 1, idle_by_fd_.size() * 2), nullptr);
        } catch (const std::bad_alloc&) {
            return close(c);
        }
    }
    int evicted = pool.put(c->fd(), deadline);
    if (evicted == c->fd()) return close(c);
    idle_by_fd_[slot] = c;
    ctx_.wheel.link(*c, static_cast<uint64_t>(deadline));
    if (evicted >= 0) {
        if (UpstreamConn* old = forget_idle(evicted)) close(old);
    }
}

void ProxyRuntime::drop_idle(UpstreamConn* c) noexcept {
    Peer& p = c->group().peers[static_cast<size_t>(c->peer())];
    if (c->surplus_at != UpstreamConn::kNotSurplus) {
        UpstreamConn* last = p.surplus.back();
        p.surplus[c->surplus_at] = last;
        last->surplus_at = c->surplus_at;
        p.surplus.pop_back();
    } else {
        p.idle->remove(c->fd());
        forget_idle(c->fd());
    }
    close(c);
}


void ProxyRuntime::close(UpstreamConn* c) noexcept {
    ctx_.wheel.unlink(*c);
    ctx_.poller->unwatch(c->fd());
    ::close(c->fd());
    c->group().balancer->on_release(c->peer());
    delete c;
}

UpstreamConn* ProxyRuntime::forget_idle(int fd) noexcept {
    const auto slot = static_cast<size_t>(fd);
    if (fd < 0 || slot >= idle_by_fd_.size()) return nullptr;
    return std::exchange(idle_by_fd_[slot], nullptr);
}

std::unique_ptr<ResponseHead> ProxyRuntime::take_response_head() noexcept {
    if (spare_heads_.empty()) return std::unique_ptr<ResponseHead>(new (std::nothrow) ResponseHead);
    std::unique_ptr<ResponseHead> h = std::move(spare_heads_.back());
    spare_heads_.pop_back();
    return h;
}

char* ProxyRuntime::head_scratch(size_t bytes) noexcept {
    if (bytes > head_scratch_size_) {
        head_scratch_.reset(new (std::nothrow) char[bytes]);  // default-initialised: not cleared
        head_scratch_size_ = head_scratch_ ? bytes : 0;
    }
    return head_scratch_.get();
}

std::string ProxyRuntime::take_string() noexcept {
    if (spare_strings_.empty()) return {};
    std::string s = std::move(spare_strings_.back());
    spare_strings_.pop_back();
    spare_string_bytes_ -= s.capacity();
    return s;
}

void ProxyRuntime::give_back(std::unique_ptr<ResponseHead> head) noexcept {
    if (!head || spare_heads_.size() >= kSpareHeads) return;
    try {
        spare_heads_.push_back(std::move(head));
    } catch (const std::bad_alloc&) {
    }
}

void ProxyRuntime::give_back(std::string s) noexcept {
    // A string that grew past kSpareStringMax (a large body went through it) is not kept, and
    // the spares hold kSpareStringBytes at most per worker.
    const size_t bytes = s.capacity();
    if (bytes <= 15 || bytes > kSpareStringMax || spare_string_bytes_ + bytes > kSpareStringBytes) return;
    s.clear();
    try {
        spare_strings_.push_back(std::move(s));
        spare_string_bytes_ += bytes;
    } catch (const std::bad_alloc&) {
    }
}

void ProxyRuntime::handle(Context& ctx, const Exchange& ex, const VirtualServer& vs, const conf::RouteSettings& route,
                          const routing::RequestVars& vars, size_t prefix, HeaderWriter& hw, Reply& reply) noexcept {
    ProxyExchange::start(ctx, *this, ex, vs, route, vars, prefix, hw, reply);
}

void UpstreamConn::on_event(Context& ctx, uint32_t events) noexcept {
    if (owner) return owner->on_upstream_event(ctx, events);
    rt_.drop_idle(this);  // readable while idle: the server closed it (or broke the protocol)
}

void UpstreamConn::on_timeout(Context& ctx) noexcept {
    if (owner) return owner->on_upstream_timeout(ctx);
    rt_.drop_idle(this);  // idle too long
}

}  // namespace portico::http::proxy

// ProxyExchange, the tunnel: after the upstream's 101 the client connection and the upstream
// connection carry the new protocol (a WebSocket), and the exchange relays bytes between them.
//
//   client ── Connection::tunnel_read ──> from_client_ ── write ──> upstream
//   client <── Connection::tunnel_write ── in_ <── read ────────── upstream
//
// Each direction moves through one buffer: it reads its source only once the buffer is empty, so
// a side that does not read slows the other through its TCP window, and memory stays two buffers.
// Any event on either socket relays both directions (each until its source or its destination
// would block), which covers TLS, whose reads may wait for writability and writes for
// readability. One side's end is passed on as a half-close; the tunnel ends when both directions
// have ended, on an error, or after proxy_read_timeout without a byte either way.

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "http/connection.hpp"
#include "http/proxy/proxy_exchange.hpp"

namespace portico::http::proxy {
namespace {

constexpr size_t kTunnelBuffer = 16 * 1024;
// Most bytes one direction moves per relay, so that a busy tunnel takes turns with the others.
constexpr size_t kTunnelBudget = 256 * 1024;
constexpr int64_t kDefaultIdleMs = 60'000;  // proxy_read_timeout's default, as in nginx

enum class Flow : uint8_t {
    kBlocked,  ///< the source has nothing now, or the destination takes nothing now
    kDone,     ///< the source ended and its end was passed on
    kYield,    ///< the budget ran out with more to move
    kBroken,   ///< a socket failed
};

bool transient(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

// Moves bytes from a source to a destination through `buf` (see the top of the file).
template <class Read, class Write, class Shut>
Flow move_bytes(core::Buffer& buf, bool& source_eof, bool& dest_shut, size_t& moved, Read read, Write write,
                Shut shut) noexcept {
    size_t budget = kTunnelBudget;
    for (;;) {
        if (buf.readable() > 0) {
            iovec iov{buf.read_ptr(), buf.readable()};
            ssize_t n = write(&iov);
            if (n > 0) {
                buf.consume(static_cast<size_t>(n));
                moved += static_cast<size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            return n < 0 && transient(errno) ? Flow::kBlocked : Flow::kBroken;
        }
        if (source_eof) {
            if (!dest_shut) {
                shut();
                dest_shut = true;
            }
            return Flow::kDone;
        }
        if (budget == 0) return Flow::kYield;
        buf.clear();
        ssize_t n = read(buf.write_ptr(), buf.writable());
        if (n > 0) {
            buf.commit(static_cast<size_t>(n));
            budget -= std::min(budget, static_cast<size_t>(n));
            continue;
        }
        if (n == 0) {
            source_eof = true;
            continue;
        }
        if (errno == EINTR) continue;
        return transient(errno) ? Flow::kBlocked : Flow::kBroken;
    }
}

}  // namespace

TunnelStep ProxyExchange::tunnel(Context& ctx, core::Buffer& early) noexcept {
    phase_ = Phase::kTunnel;
    spdlog::debug("upstream {} switched protocols: tunnel for fd {}",
                  group_.peers[static_cast<size_t>(up_->peer())].name, client_->fd());
    // What the client sent after its request (it should wait for the 101, but may not) goes first.
    if (early.readable() > kTunnelBuffer) {
        from_client_ = std::move(early);
    } else {
        from_client_ = ctx.pool.acquire(kTunnelBuffer);
        if (!from_client_.allocated()) return TunnelStep::kEnd;
        from_client_.append(early.view());
    }
    if (!in_.allocated()) return TunnelStep::kEnd;  // it holds the 101 head: always allocated
    in_.compact();
    return relay(ctx);
}

TunnelStep ProxyExchange::relay(Context& ctx) noexcept {
    if (!up_) return TunnelStep::kEnd;
    const int fd = up_->fd();
    Connection& client = *client_;
    size_t moved = 0;
    Flow up = Flow::kDone;
    if (!upstream_shut_) {
        up = move_bytes(
            from_client_, client_eof_, upstream_shut_, moved,
            [&](void* p, size_t n) { return client.tunnel_read(p, n); },
            [&](const iovec* iov) { return ::writev(fd, iov, 1); }, [&] { ::shutdown(fd, SHUT_WR); });
    }
    Flow down = Flow::kDone;
    if (up != Flow::kBroken && !client_shut_) {  // a broken tunnel ends: errno says why, below
        down = move_bytes(
            in_, upstream_eof_, client_shut_, moved, [&](void* p, size_t n) { return ::read(fd, p, n); },
            [&](const iovec* iov) { return client.tunnel_write(ctx, iov, 1); }, [&] { client.tunnel_shutdown(); });
    }
    if (up == Flow::kBroken || down == Flow::kBroken) {
        spdlog::info("tunnel between fd {} and upstream {} broke: {}", client.fd(),
                     group_.peers[static_cast<size_t>(up_->peer())].name, std::strerror(errno));
        return TunnelStep::kEnd;
    }
    if (up == Flow::kDone && down == Flow::kDone) return TunnelStep::kEnd;  // both sides said all
    if (moved > 0 || !up_->linked()) {
        int64_t idle = settings_.read_timeout ? static_cast<int64_t>(settings_.read_timeout->count()) : kDefaultIdleMs;
        ctx.wheel.link(*up_, ctx.now_ms + static_cast<uint64_t>(idle));
    }
    return up == Flow::kYield || down == Flow::kYield ? TunnelStep::kYield : TunnelStep::kGoOn;
}

void ProxyExchange::tunnel_timeout(Context& ctx) noexcept {
    spdlog::info("tunnel between fd {} and upstream {} idle past proxy_read_timeout; closing", client_->fd(),
                 group_.peers[static_cast<size_t>(up_->peer())].name);
    Connection* client = client_;
    client->tunnel_step(ctx, TunnelStep::kEnd);  // closes the client, which destroys us
}

}  // namespace portico::http::proxy

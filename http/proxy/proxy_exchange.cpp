#include "http/proxy/proxy_exchange.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <new>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/strings.hpp"
#include "http/connection.hpp"
#include "http/proxy/upstream_group.hpp"
#include "http/handlers/error_response.hpp"
#include "http/routed_request.hpp"
#include "http/routing/expires.hpp"
#include "http/status.hpp"

namespace portico::http::proxy {
namespace {

constexpr size_t kResponseBuffer = 16 * 1024;  // also the longest response head accepted
constexpr int64_t kDefaultTimeoutMs = 60'000;  // nginx's proxy_*_timeout defaults

int64_t timeout_ms(const std::optional<conf::Millis>& setting) noexcept {
    return setting ? static_cast<int64_t>(setting->count()) : kDefaultTimeoutMs;
}

bool transient(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

void ProxyExchange::start(Context& ctx, ProxyRuntime& rt, const Exchange& ex, const VirtualServer& vs,
                          const conf::RouteSettings& route, const routing::RequestVars& vars, size_t prefix,
                          HeaderWriter& hw, Reply& reply) noexcept {
    bool head_only = ex.req.method == Method::kHead;
    const conf::ProxySettings& settings = *route.proxy;
    Group* group = settings.pass ? rt.group_for(*settings.pass) : nullptr;
    if (!group || group->peers.empty()) return build_error(ctx, 502, head_only, {}, hw, reply);
    std::unique_ptr<ProxyExchange> x(new (std::nothrow) ProxyExchange(rt, *group, vs, route));
    if (!x) return build_error(ctx, 500, head_only, {}, hw, reply);
    UpstreamRequest in;
    in.head = ex.head.data();
    in.head_length = ex.head.size();
    in.request = &ex.req;
    in.vars = &vars;
    in.upstream_host = group->host;
    in.pass_path = settings.pass->path;
    in.location_prefix = prefix;
    if (settings.set_headers) in.set_headers = *settings.set_headers;
    in.upgrade = is_upgrade_request(ex.head.data(), ex.head.size(), ex.req);
    if (ex.req.chunked) {
        in.body = UpstreamBody::kChunked;
    } else if (ex.req.content_length > 0) {
        in.body = UpstreamBody::kLength;
        in.body_length = static_cast<uint64_t>(ex.req.content_length);
    }
    x->framing_ = in.body;
    x->peer_ = ex.peer;
    // Built in the runtime's scratch and copied out: sizing head_ to the worst case first would
    // clear 2 KiB or more on every request to keep a few hundred bytes.
    const size_t room = ex.head.size() + 1024 + 256 * (in.set_headers.size() + 4);
    char* scratch = rt.head_scratch(room);
    if (!scratch) return build_error(ctx, 500, head_only, {}, hw, reply);
    BuiltHead built = build_request_head(in, scratch, room);
    if (!built.ok()) {
        spdlog::warn("cannot build the upstream request: {}", built.error);
        return build_error(ctx, 500, head_only, {}, hw, reply);
    }
    x->head_ = rt.take_string();
    if (in.body != UpstreamBody::kNone) x->send_ = rt.take_string();
    try {
        x->head_.assign(scratch, built.length);
    } catch (const std::bad_alloc&) {
        return build_error(ctx, 500, head_only, {}, hw, reply);
    }
    x->upgrade_asked_ = in.upgrade;
    x->idempotent_ = is_idempotent(ex.req.method);
    x->head_request_ = head_only;
    x->body_complete_ = !ex.req.has_body();
    uint32_t tries = settings.next_upstream_tries.value_or(0);
    x->max_tries_ = tries == 0 ? static_cast<uint32_t>(group->peers.size()) : tries;
    x->key_hash_ = balance_key(group->balance, vars);
    reply.status = 0;  // counted when the head is known
    reply.head_from_stream = true;
    if (ex.req.has_body()) reply.body_reader = x.get();
    reply.stream = std::move(x);
}

ProxyExchange::ProxyExchange(ProxyRuntime& rt, Group& group, const VirtualServer& vs,
                             const conf::RouteSettings& route) noexcept
    : rt_(rt), group_(group), vs_(vs), route_(route), settings_(*route.proxy) {}

ProxyExchange::~ProxyExchange() { release_all(); }

// An upstream still in use cannot be reused; buffers and strings go back to the runtime.
void ProxyExchange::release_all() noexcept {
    if (up_) {
        up_->owner = nullptr;
        rt_.close(up_);
        up_ = nullptr;
    }
    if (error_page_) FileCache::release(error_page_);
    error_page_ = nullptr;
    rt_.ctx().pool.release(in_);
    rt_.ctx().pool.release(from_client_);
    rt_.give_back(std::move(response_));
    rt_.give_back(std::exchange(head_, {}));
    rt_.give_back(std::exchange(send_, {}));
}

// The client is done with us, perhaps from inside one of our calls into it (on_body_wanted can
// answer a bad chunk with a 400, or finish the response): every such call is followed by a look at
// client_ or up_, both null from here, and nothing else is touched on the way out. What we hold
// goes now; the empty shell is deleted after the event.
bool ProxyExchange::detach(Context&) noexcept {
    client_ = nullptr;
    release_all();
    return true;
}

void ProxyExchange::attach(Connection& conn) noexcept {
    if (client_) return;  // attached as a stream and as a reader: start once
    client_ = &conn;
    response_ = rt_.take_response_head();
    if (!response_) return give_up(rt_.ctx(), 500);
    attaching_ = true;
    next_try(rt_.ctx());
    attaching_ = false;
}

// Picks a server and starts a try on a pooled connection to it, or a new one.
void ProxyExchange::next_try(Context& ctx) noexcept {
    auto now = static_cast<int64_t>(ctx.now_ms);
    for (;;) {
        if (tries_ >= max_tries_) return give_up(ctx, 502);
        int peer = group_.balancer->pick(key_hash_, now, tried_);
        if (peer == Balancer::kNone) {
            spdlog::warn("no live upstream server left for this request ({} tried)", tries_);
            return give_up(ctx, 502);
        }
        tried_.set(static_cast<size_t>(peer));
        ++tries_;
        UpstreamConn* c = rt_.take_idle(group_, peer);
        if (!c) c = rt_.connect(group_, peer);
        if (!c) {
            spdlog::warn("connect() to upstream {} failed: {}", group_.peers[static_cast<size_t>(peer)].name,
                         std::strerror(errno));
            group_.balancer->on_failure(peer, now);
            continue;
        }
        return begin_on(ctx, c);
    }
}

void ProxyExchange::begin_on(Context& ctx, UpstreamConn* c) noexcept {
    up_ = c;
    c->owner = this;
    sent_ = 0;
    write_broken_ = false;
    phase_ = Phase::kSending;
    in_.clear();
    parser_.reset(head_request_);
    arm(ctx, c->connecting ? timeout_ms(settings_.connect_timeout) : timeout_ms(settings_.send_timeout));
    // A request body is about to be handed over (the connection is taking the stream): the head
    // waits for it, to leave with the first bytes in one write (on_body_drained at the latest).
    if (attaching_ && !body_complete_) return;
    if (!c->connecting) flush(ctx);
}

void ProxyExchange::arm(Context& ctx, int64_t ms) noexcept {
    if (up_) ctx.wheel.link(*up_, ctx.now_ms + static_cast<uint64_t>(ms));
}

void ProxyExchange::on_upstream_event(Context& ctx, uint32_t events) noexcept {
    if (phase_ == Phase::kTunnel) {
        Connection* client = client_;
        return client->tunnel_step(ctx, relay(ctx));  // its kEnd closes the client, and destroys us
    }
    if (up_->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(up_->fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
            spdlog::warn("connect() to upstream {} failed: {}", group_.peers[static_cast<size_t>(up_->peer())].name,
                         std::strerror(err));
            return fail_try(ctx, TryFailure::kConnect);
        }
        up_->connecting = false;
        arm(ctx, timeout_ms(settings_.send_timeout));
    }
    if (phase_ == Phase::kSending && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        flush(ctx);
        if (!up_) return;
    }
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    if (phase_ == Phase::kSending || phase_ == Phase::kHead) return read_head(ctx);
    if (phase_ == Phase::kBody && waiting_) wake_client(ctx);  // read() goes on from the socket
}

// Writes what is due upstream: the rest of the head, then the body bytes held.
void ProxyExchange::flush(Context& ctx) noexcept {
    bool was_full = full();
    while (up_ && !up_->connecting) {
        iovec iov[2];
        int cnt = 0;
        if (sent_ < head_.size()) iov[cnt++] = {head_.data() + sent_, head_.size() - sent_};
        if (!send_.empty() && !discard_body_) iov[cnt++] = {send_.data(), send_.size()};
        if (cnt == 0) break;
        ssize_t n = ::writev(up_->fd(), iov, cnt);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (!transient(errno)) return write_failed(ctx);
            arm(ctx, timeout_ms(settings_.send_timeout));
            break;  // what went out before may have made room for the client: see below
        }
        auto w = static_cast<size_t>(n);
        size_t from_head = std::min(w, head_.size() - std::min(sent_, head_.size()));
        sent_ += from_head;
        if (w > from_head) {
            send_.erase(0, w - from_head);  // sent body bytes are gone: a retry is no longer possible
            body_sent_any_ = true;
        }
    }
    if (!up_) return;
    if (sent_ >= head_.size() && send_.empty() && body_complete_ && phase_ == Phase::kSending) {
        phase_ = Phase::kHead;
        arm(ctx, timeout_ms(settings_.read_timeout));
    }
    // The client was held back for these bytes: let it send more. Not while the client is calling
    // us (on_body): it goes on by itself then.
    if (was_full && !full() && !in_client_call_ && client_) client_->on_body_wanted(ctx);
}

// A server that answers before the whole body arrived and closes resets the connection over the
// body it left unread, and the write fails; but its answer (an early 413) is still in the socket
// and is what the client should see. With no complete head there, the try failed. (Only the
// sending phase writes: flush() runs in no other.)
void ProxyExchange::write_failed(Context& ctx) noexcept {
    write_broken_ = true;
    read_head(ctx);
}

void ProxyExchange::read_head(Context& ctx) noexcept {
    if (!in_.allocated()) in_ = ctx.pool.acquire(kResponseBuffer);
    if (!in_.allocated()) return fail_try(ctx, TryFailure::kReset);
    for (;;) {
        if (in_.writable() == 0) {
            spdlog::warn("upstream {} sent a response head larger than {} bytes",
                         group_.peers[static_cast<size_t>(up_->peer())].name, kResponseBuffer);
            return fail_try(ctx, TryFailure::kBadResponse);
        }
        ssize_t n = ::read(up_->fd(), in_.write_ptr(), in_.writable());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (transient(errno) && !write_broken_) return;
            return fail_try(ctx, TryFailure::kReset);
        }
        if (n == 0) return fail_try(ctx, TryFailure::kReset);  // closed before the head ended
        in_.commit(static_cast<size_t>(n));
        if (parse_head(ctx)) return;
    }
}

// Parses what in_ holds. True when done with the head (it arrived, or the try failed).
bool ProxyExchange::parse_head(Context& ctx) noexcept {
    for (;;) {
        ParseResult r = parser_.parse_head(in_.read_ptr(), in_.readable(), *response_);
        if (r == ParseResult::kNeedMore) return false;
        if (r == ParseResult::kError) {
            spdlog::warn("upstream {} sent an invalid response ({}), answering 502",
                         group_.peers[static_cast<size_t>(up_->peer())].name, parser_.error_reason());
            fail_try(ctx, TryFailure::kBadResponse);
            return true;
        }
        if (response_->interim) {  // 100 Continue and friends: the final head follows
            in_.consume(parser_.head_length());
            in_.compact();
            parser_.reset(head_request_);
            continue;
        }
        if (response_->upgrade && !upgrade_asked_) {
            spdlog::warn("upstream {} switched protocols though the client asked for no upgrade; answering 502",
                         group_.peers[static_cast<size_t>(up_->peer())].name);
            fail_try(ctx, TryFailure::kBadResponse);
            return true;
        }
        upgrade_granted_ = response_->upgrade;
        break;
    }
    head_ready_ = true;
    phase_ = Phase::kBody;
    group_.balancer->on_success(up_->peer());
    // An answer before the whole request body went up: the rest of the body is dropped, and the
    // connection, out of step now, is not reused.
    if (!body_complete_ || !send_.empty()) discard_body_ = true;
    send_.clear();
    arm(ctx, timeout_ms(settings_.read_timeout));
    wake_client(ctx);
    return true;
}

void ProxyExchange::fail_try(Context& ctx, TryFailure why) noexcept {
    TryOutcome o;
    o.failure = why;
    o.reused = up_->reused;
    o.response_started = in_.allocated() && in_.readable() > 0;
    o.body_started = body_sent_any_;
    o.idempotent = idempotent_;
    o.fresh_retry_done = fresh_retry_done_;
    o.tries = tries_;
    o.max_tries = max_tries_;
    o.servers = static_cast<uint32_t>(group_.peers.size());
    int peer = up_->peer();
    if (counts_as_failure(o)) group_.balancer->on_failure(peer, static_cast<int64_t>(ctx.now_ms));
    up_->owner = nullptr;
    rt_.close(up_);
    up_ = nullptr;
    if (in_.allocated()) in_.clear();
    // Sent body bytes are not kept, so a request whose body partly went up is not sent again.
    RetryDecision d = body_sent_any_ ? RetryDecision::kGiveUp : decide_retry(o);
    if (d == RetryDecision::kFreshSameServer) {
        fresh_retry_done_ = true;
        if (UpstreamConn* c = rt_.connect(group_, peer)) return begin_on(ctx, c);
        d = RetryDecision::kNextServer;
    }
    if (d == RetryDecision::kNextServer) return next_try(ctx);
    give_up(ctx, why == TryFailure::kReadTimeout ? 504 : 502);
}

void ProxyExchange::give_up(Context& ctx, uint16_t status) noexcept {
    phase_ = Phase::kFailed;
    error_status_ = status;
    // The location's error page for it (error_pages = [ "502 504 /50x.html" ]), as nginx sends;
    // without one, or when it is not a file, the built-in page.
    if (!error_page_ && route_.error_pages) error_page_ = error_page_file(ctx, vs_, route_, peer_, status);
    discard_body_ = true;  // the answer does not depend on the rest of the body
    send_.clear();
    wake_client(ctx);
}

void ProxyExchange::wake_client(Context& ctx) noexcept {
    if (!client_) return;
    if (discard_body_) client_->on_body_wanted(ctx);  // a paused body is now drained, not held
    if (!client_) return;                              // which may have ended the response
    if (waiting_) {
        waiting_ = false;
        client_->on_stream_ready(ctx);
    }
}

void ProxyExchange::on_upstream_timeout(Context& ctx) noexcept {
    if (phase_ == Phase::kTunnel) return tunnel_timeout(ctx);
    if (phase_ == Phase::kSending || phase_ == Phase::kHead) {
        bool connecting = up_->connecting;
        spdlog::warn("upstream {} timed out ({})", group_.peers[static_cast<size_t>(up_->peer())].name,
                     connecting ? "connect" : phase_ == Phase::kSending ? "send" : "read");
        return fail_try(ctx, connecting ? TryFailure::kConnect : TryFailure::kReadTimeout);
    }
    // Mid-body: the head went out, so the client can only see a cut connection.
    spdlog::warn("upstream {} timed out sending the response body", group_.peers[static_cast<size_t>(up_->peer())].name);
    up_->owner = nullptr;
    rt_.close(up_);
    up_ = nullptr;
    broken_ = true;
    wake_client(ctx);
}

bool ProxyExchange::head(Context& ctx, HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept {
    if (phase_ == Phase::kFailed) {
        waiting_ = false;
        hw.add(status_line(error_status_)).add(ctx.date.server_and_date_lines());
        if (error_page_) {
            hw.add("Content-Type: ").add(error_page_->content_type).add("\r\n");
            length = error_page_->size;
        } else {
            hw.add("Content-Type: text/html\r\n");
            length = error_page(error_status_).size();
        }
        hw.add("Content-Length: ").add_uint(length).add("\r\n");
        status = error_status_;
        return true;
    }
    if (!head_ready_) {
        waiting_ = true;
        return false;
    }
    waiting_ = false;
    const ResponseHead& h = *response_;
    const char* b = in_.read_ptr();
    std::string_view reason = h.reason.in(b);
    if (reason.empty()) {
        hw.add(status_line(h.status));
    } else {
        hw.add("HTTP/1.1 ").add_uint(h.status).add(" ").add(reason).add("\r\n");
    }
    hw.add(ctx.date.server_and_date_lines());
    // The location's add_headers and expires, for the statuses they apply to, follow these
    // fields (the connection adds them: Reply::route_headers); expires takes the place of the
    // upstream's own Expires and Cache-Control, as nginx's does.
    bool route_headers = routing::route_headers_apply(h.status) && (route_.add_headers || route_.expires);
    bool replace_expiry = route_headers && route_.expires && route_.expires->kind() != routing::Expires::Kind::kOff;
    for (uint16_t i = 0; i < h.field_count; ++i) {
        const ResponseField& f = h.fields[i];
        std::string_view name = f.name.in(b);
        if (f.hop_by_hop || core::iequals(name, "server") || core::iequals(name, "date")) continue;
        if (replace_expiry && (core::iequals(name, "expires") || core::iequals(name, "cache-control"))) continue;
        hw.add(name).add(": ").add(f.value.in(b)).add("\r\n");
    }
    if (upgrade_granted_) {
        // The connection becomes the tunnel once this head is out (Connection::enter_tunnel);
        // the bytes behind the head in in_ are the new protocol's first.
        hw.add("Connection: upgrade\r\n");
        status = 101;
        length = 0;
        in_.consume(parser_.head_length());
        return true;
    }
    // (A 204 states no length, whatever its upstream said: RFC 9110 8.6.)
    if (h.content_length >= 0 && h.framing != BodyFraming::kChunked && h.framing != BodyFraming::kUntilClose &&
        h.status != 204)
        hw.add("Content-Length: ").add_uint(static_cast<uint64_t>(h.content_length)).add("\r\n");
    status = h.status;
    length = h.framing == BodyFraming::kLength ? static_cast<uint64_t>(h.content_length)
             : h.framing == BodyFraming::kNone ? 0
                                                : kUnknownLength;
    in_.consume(parser_.head_length());
    body_.start(h);
    if (body_.done()) finish_upstream(true);
    return true;
}

BodyStream::Chunk ProxyExchange::read(Context& ctx, char* out, size_t cap) noexcept {
    if (phase_ == Phase::kFailed) {
        if (error_page_ && !error_page_->has_body) return read_error_page(out, cap);
        std::string_view page = error_page_ ? std::string_view(error_page_->body) : error_page(error_status_);
        page = page.substr(std::min(error_sent_, page.size()));
        size_t n = std::min(cap, page.size());
        std::memcpy(out, page.data(), n);
        error_sent_ += n;
        return {n, n == page.size() ? Status::kEnd : Status::kData};
    }
    for (;;) {
        if (pending_len_ > 0) {
            size_t n = std::min(cap, pending_len_);
            std::memcpy(out, pending_, n);
            pending_ += n;
            pending_len_ -= n;
            if (pending_len_ == 0 && body_.done()) {
                // The last bytes: release the upstream now (a stated length is not read past).
                finish_upstream(true);
                return {n, Status::kEnd};
            }
            return {n, Status::kData};
        }
        if (body_.done()) {
            finish_upstream(true);
            return {0, Status::kEnd};
        }
        if (broken_) return {0, Status::kError};
        if (in_.readable() > 0) {
            ResponseBody::Piece p;
            ParseResult r = body_.feed(in_.read_ptr(), in_.readable(), p);
            if (r == ParseResult::kError) {
                spdlog::warn("upstream response body broke its framing ({})", body_.error_reason());
                return {0, Status::kError};
            }
            pending_ = in_.read_ptr() + p.off;
            pending_len_ = p.len;
            in_.consume(p.consumed);
            continue;
        }
        if (upstream_eof_) {
            if (body_.finish_at_eof() == ParseResult::kDone) continue;
            spdlog::warn("upstream closed the connection mid-body");
            return {0, Status::kError};
        }
        if (!up_) return {0, Status::kError};
        in_.clear();  // nothing pending points into it now
        ssize_t n = ::read(up_->fd(), in_.write_ptr(), in_.writable());
        if (n > 0) {
            in_.commit(static_cast<size_t>(n));
            arm(ctx, timeout_ms(settings_.read_timeout));
            continue;
        }
        if (n == 0) {
            upstream_eof_ = true;
            continue;
        }
        if (errno == EINTR) continue;
        if (transient(errno)) {
            waiting_ = true;
            return {0, Status::kWait};
        }
        spdlog::warn("read() from upstream failed: {}", std::strerror(errno));
        return {0, Status::kError};
    }
}

// An error page too large for the cache to hold in memory, from its descriptor (a page is small:
// copying it costs less than a sendfile path through the stream).
BodyStream::Chunk ProxyExchange::read_error_page(char* out, size_t cap) noexcept {
    const uint64_t left = error_page_->size - std::min<uint64_t>(error_sent_, error_page_->size);
    const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, left));
    ssize_t n = want == 0 ? 0 : ::pread(error_page_->fd, out, want, static_cast<off_t>(error_sent_));
    if (n < 0 || (n == 0 && want > 0)) {
        spdlog::warn("error page for {} could not be read: {}", error_status_, n < 0 ? std::strerror(errno) : "it shrank");
        return {0, Status::kError};
    }
    error_sent_ += static_cast<size_t>(n);
    return {static_cast<size_t>(n), static_cast<uint64_t>(n) == left ? Status::kEnd : Status::kData};
}

// The response ended: the upstream connection goes back to its pool when it is in step.
void ProxyExchange::finish_upstream(bool reusable) noexcept {
    if (!up_) return;
    reusable = reusable && response_->keep_alive && !discard_body_ && body_complete_ && send_.empty() &&
               sent_ >= head_.size() && !write_broken_ && in_.readable() == 0 && !upstream_eof_;
    UpstreamConn* c = up_;
    up_ = nullptr;
    c->owner = nullptr;
    c->reused = false;
    if (reusable) rt_.park(c, response_->keep_alive_timeout_s);
    else rt_.close(c);
    phase_ = Phase::kDone;
}

void ProxyExchange::on_body(Context& ctx, std::string_view bytes) noexcept {
    if (discard_body_) return;
    try {
        if (framing_ == UpstreamBody::kChunked) {
            char line[24];
            auto r = std::to_chars(line, line + sizeof line - 2, bytes.size(), 16);
            send_.append(line, r.ptr).append("\r\n").append(bytes).append("\r\n");
        } else {
            send_.append(bytes);
        }
    } catch (const std::bad_alloc&) {
        return give_up(ctx, 500);
    }
    // The bytes of one read batch go up together (on_body_drained, on_body_end); only a batch
    // that reaches the bound is sent at once, before the client is paused.
    if (send_.size() < kSendHigh) return;
    in_client_call_ = true;
    if (up_ && phase_ == Phase::kSending) flush(ctx);
    in_client_call_ = false;
}

void ProxyExchange::on_body_drained(Context& ctx) noexcept {
    if (discard_body_ || !up_ || phase_ != Phase::kSending) return;
    in_client_call_ = true;
    flush(ctx);
    in_client_call_ = false;
}

void ProxyExchange::on_body_end(Context& ctx) noexcept {
    body_complete_ = true;
    if (discard_body_) return;
    if (framing_ == UpstreamBody::kChunked) send_.append("0\r\n\r\n");
    in_client_call_ = true;
    if (up_ && phase_ == Phase::kSending) flush(ctx);
    in_client_call_ = false;
}

bool ProxyExchange::full() const noexcept { return !discard_body_ && send_.size() > kSendHigh; }

}  // namespace portico::http::proxy

// Connection, the streamed parts: a response body produced piece by piece (BodyStream), its head
// when the handler learns it late, and a request body handed to the handler's BodyReader. Only
// requests with a stream or a reader come here; the plain file path never does.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>

#include <spdlog/spdlog.h>

#include "http/connection.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"
#include "http/routed_request.hpp"
#include "http/routing/expires.hpp"

namespace portico::http {
namespace {

// The pool buffer a stream is framed in: one chunk per fill.
constexpr size_t kStreamBuffer = 16 * 1024;
// Room before the data for a chunk's size line ("3ff8\r\n": a 16 KiB buffer needs 4 hex digits).
constexpr size_t kChunkHeadRoom = 8;
// Room after it: the CRLF ending the chunk, and the last chunk "0\r\n\r\n".
constexpr std::string_view kChunkEnd = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
// Most streamed bytes one connection sends per loop turn (a stream that never waits, such as a
// listing of a large directory, must not hold the loop).
constexpr uint64_t kStreamBudget = 256 * 1024;

bool has_no_body(uint16_t status) noexcept { return status < 200 || status == 204 || status == 304; }

}  // namespace

bool Connection::take_stream(Context& ctx, Reply& reply, bool head_only) noexcept {
    stream_.reset(new (std::nothrow) StreamState);
    if (!stream_ || (reply.body_reader && !reply.stream)) {  // a reader lives in its stream
        if (stream_) spdlog::error("handler gave a body reader without a stream");
        close(ctx);
        return false;
    }
    StreamState& s = *stream_;
    s.stream = std::move(reply.stream);
    s.reader = reply.body_reader;
    s.left = reply.stream_length;
    s.head_pending = reply.head_from_stream;
    s.route_headers = reply.route_headers;
    s.no_body = head_only || (!s.head_pending && has_no_body(reply.status));
    s.stream->attach(*this);
    if (s.reader) {
        s.reader->attach(*this);
        // A body read 1 KiB at a time would cost a read() per KiB: take a larger buffer for it,
        // and for the next requests' first reads too (body_reads_).
        if (req_.has_body()) {
            body_reads_ = true;
            if (in_.capacity() < kBodyReadBuffer) ctx.pool.grow(in_, kBodyReadBuffer);
        }
        if (!req_.has_body()) s.reader->on_body_end(ctx);  // nothing to read: the end, at once
    }
    return true;
}

// The response is over (or the connection). A stream that calls the connection back may be
// inside such a call now (on_body_wanted): it is kept to the end of the event (BodyStream::detach).
void Connection::retire_stream(Context& ctx) noexcept {
    if (stream_->stream && stream_->stream->detach(ctx)) ctx.retire(std::move(stream_->stream));
    stream_.reset();
}

// The client shut its side while its answer was still being made (a proxied one, waiting for
// its upstream): as nginx does, that is taken as giving up, so the work behind it (the upstream
// connection) stops now rather than at its read timeout. Logged 499 when no head went out.
void Connection::abandon_stream(Context& ctx) noexcept {
    if (log_ && log_->pending && stream_->head_pending) {
        log_->status = 499;
        log_->body_length = 0;
    }
    spdlog::info("client on fd {} closed its connection before the response was complete", fd_);
    close(ctx);
}

// The 101 head went out: from here the connection is a tunnel that its stream relays. The input
// read past the request head already belongs to the new protocol, and goes to the stream.
void Connection::enter_tunnel(Context& ctx) noexcept {
    state_ = State::kTunnel;
    ctx.wheel.unlink(*this);  // the stream times the tunnel's idleness
    if (warmth_ != Warmth::kCold) {
        // A tunnel may sit idle for hours between messages: it keeps no TLS buffers between them.
        warmth_ = Warmth::kCold;
        transport_->keep_buffers(false);
    }
    ctx.pool.release(out_);
    TunnelStep step = stream_->stream->tunnel(ctx, in_);
    ctx.pool.release(in_);  // whatever the stream did not take
    tunnel_step(ctx, step);
}

// Every event of a tunnel's client socket, and the closed connection's stale ones (dropped).
void Connection::on_tunnel_event(Context& ctx, uint32_t events) noexcept {
    if (state_ != State::kTunnel) return;
    if (events & EPOLLERR) return close(ctx);
    tunnel_step(ctx, stream_->stream->relay(ctx));
}

void Connection::tunnel_step(Context& ctx, TunnelStep step) noexcept {
    if (state_ != State::kTunnel) return;
    if (step == TunnelStep::kEnd) return close(ctx);
    if (step == TunnelStep::kYield && !resume_queued_) {  // on_resume relays again; no timer
        resume_queued_ = true;
        ctx.resume.push_back(this);
    }
}

ssize_t Connection::tunnel_write(Context& ctx, const iovec* iov, int cnt) noexcept {
    ssize_t n = io_writev(iov, cnt);
    if (n > 0) {
        stream_->written += static_cast<uint64_t>(n);  // the access log's body bytes
        ctx.counters.bytes_out += static_cast<uint64_t>(n);
    }
    return n;
}

void Connection::tunnel_shutdown() noexcept {
    if (transport_) transport_->shutdown();  // TLS: close_notify before the FIN
    ::shutdown(fd_, SHUT_WR);
}

// A streamed response goes out through out_ alone: the head (given by the handler, or made by
// the stream once it knows it) with the first piece of the body behind it, so that both leave in
// one write, then the body piece by piece. What out_ already held (the rest of a 100 Continue,
// a head held back while the request body was read) goes first, counted as head.
void Connection::write_stream(Context& ctx, std::string_view header) noexcept {
    StreamState& s = *stream_;
    if (!s.started) {
        s.started = true;
        if (!header.empty()) {
            size_t queued = out_.allocated() ? out_.readable() : 0;
            if (!ctx.pool.grow(out_, std::max(kStreamBuffer, queued + header.size())) || !out_.append(header))
                return close(ctx);
        }
        s.head_left = out_.allocated() ? out_.readable() : 0;
    }
    if (s.head_pending && !take_stream_head(ctx)) return;
    if (send_stream(ctx)) finish_response(ctx);
}

// The head from the stream, once it knows it, queued in out_ (behind what is left there).
bool Connection::take_stream_head(Context& ctx) noexcept {
    StreamState& s = *stream_;
    HeaderWriter hw(ctx.header_scratch.data(), ctx.header_scratch.size());
    uint16_t status = 0;
    uint64_t length = kUnknownLength;
    if (!s.stream->head(ctx, hw, status, length)) {
        if (s.stream->head_in_steps()) {
            queue_resume(ctx);  // more work, not a wait: the next step after the others' turns
            return false;
        }
        s.waiting = true;
        ctx.wheel.unlink(*this);  // the stream bounds its own wait
        return false;
    }
    // The location's add_headers and expires (Reply::route_headers), before the overflow check.
    if (s.route_headers && routing::route_headers_apply(status)) add_route_headers(*s.route_headers, ctx.date, hw);
    if (status == 0 || hw.overflow()) {
        spdlog::info("response head for fd {} could not be made; closing", fd_);
        close(ctx);
        return false;
    }
    s.head_pending = false;
    s.left = length;
    if (has_no_body(status)) s.no_body = true;
    if (status == 101) {
        // Switching protocols: the stream wrote Upgrade and Connection: upgrade, and after the
        // blank line the connection carries the new protocol, not HTTP.
        s.tunnel = true;
        hw.add("\r\n");
    } else {
        end_head(hw, !s.no_body && length == kUnknownLength);
    }
    if (status >= 500) ctx.counters.status_5xx++;
    else if (status >= 400) ctx.counters.status_4xx++;
    if (log_ && log_->pending) {
        log_->status = status;
        log_->head_length += hw.view().size();
    }
    size_t queued = out_.allocated() ? out_.readable() : 0;
    if (!ctx.pool.grow(out_, std::max(kStreamBuffer, queued + hw.view().size())) || !out_.append(hw.view())) {
        close(ctx);
        return false;
    }
    s.head_left += hw.view().size();
    return true;
}

// Sends the streamed part of the response. True when all of it is out; false when waiting (for
// the socket, the stream, or the next turn) or closed.
bool Connection::send_stream(Context& ctx) noexcept {
    StreamState& s = *stream_;
    uint64_t budget = kStreamBudget;
    for (;;) {
        // Only the head is queued: the body's first piece joins it, for one write of both.
        if (s.head_left > 0 && out_.readable() == s.head_left && !s.no_body && !s.tunnel && !s.ended &&
            !s.waiting && !s.head_pending && !fill_stream(ctx))
            return false;
        if (out_.allocated() && out_.readable() > 0) {
            iovec iov{out_.read_ptr(), out_.readable()};
            ssize_t n = io_writev(&iov, 1);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) return close(ctx), false;
                ctx.wheel.link(*this, ctx.now_ms + static_cast<uint64_t>(ctx.config.http.send_timeout.count()));
                return false;
            }
            auto sent = static_cast<size_t>(n);
            size_t head_part = std::min(sent, s.head_left);
            out_.consume(sent);
            s.head_left -= head_part;
            s.written += sent - head_part;
            ctx.counters.bytes_out += sent;
            budget -= std::min<uint64_t>(budget, sent);
            continue;  // a short write ends in EAGAIN on the next try
        }
        if (s.tunnel) [[unlikely]] {
            enter_tunnel(ctx);  // the 101 head is out
            return false;
        }
        if (s.no_body || s.ended) return true;
        if (s.waiting) {
            ctx.wheel.unlink(*this);  // the stream bounds its own wait
            return false;
        }
        if (budget == 0) {
            queue_resume(ctx);
            return false;
        }
        if (!fill_stream(ctx)) return false;
        budget -= std::min<uint64_t>(budget, 4096);  // a stream that gives little still yields
    }
}

// Pulls one piece from the stream into out_, framed. False when the connection closed.
bool Connection::fill_stream(Context& ctx) noexcept {
    StreamState& s = *stream_;
    if (s.left == 0) {  // a known length, all sent
        s.ended = true;
        return true;
    }
    if (!out_.allocated()) out_ = ctx.pool.acquire(kStreamBuffer);
    if (!out_.allocated()) return close(ctx), false;
    bool behind = out_.readable() > 0;  // the piece goes behind the queued head
    if (behind) out_.compact();
    else out_.clear();
    size_t room = s.chunked ? kChunkHeadRoom : 0;
    size_t tail = s.chunked ? kChunkEnd.size() + kLastChunk.size() : 0;
    if (out_.writable() < room + tail + 512) return true;  // a head that nearly fills out_ goes alone
    size_t cap = out_.writable() - room - tail;
    if (s.left != kUnknownLength) cap = static_cast<size_t>(std::min<uint64_t>(cap, s.left));
    BodyStream::Chunk c = s.stream->read(ctx, out_.write_ptr() + room, cap);
    if (c.status == BodyStream::Status::kError || c.bytes > cap) {
        spdlog::info("response body for fd {} failed mid-stream; closing", fd_);
        return close(ctx), false;
    }
    if (c.bytes > 0 && s.chunked) {
        // The size line goes right before the data, so the chunk is one run of bytes.
        char line[kChunkHeadRoom];
        auto r = std::to_chars(line, line + sizeof line - 2, c.bytes, 16);
        size_t len = static_cast<size_t>(r.ptr - line);
        line[len++] = '\r';
        line[len++] = '\n';
        char* base = out_.write_ptr();
        std::memcpy(base + room - len, line, len);
        if (behind) {
            std::memmove(base, base + room - len, len + c.bytes);  // close up to the head
            out_.commit(len + c.bytes);
        } else {
            out_.commit(room + c.bytes);
            out_.consume(room - len);
        }
        out_.append(kChunkEnd);
    } else {
        out_.commit(c.bytes);
    }
    if (s.left != kUnknownLength) s.left -= c.bytes;
    switch (c.status) {
        case BodyStream::Status::kData: break;
        case BodyStream::Status::kWait: s.waiting = true; break;
        case BodyStream::Status::kEnd:
            if (s.left != kUnknownLength && s.left > 0) {
                spdlog::info("response body for fd {} ended {} bytes short; closing", fd_, s.left);
                return close(ctx), false;
            }
            if (s.chunked) out_.append(kLastChunk);
            s.ended = true;
            break;
        case BodyStream::Status::kError: break;  // handled above
    }
    return true;
}

void Connection::on_stream_ready(Context& ctx) noexcept {
    if (state_ == State::kClosed || !stream_ || !stream_->waiting) return;
    stream_->waiting = false;
    if (state_ != State::kWrite) return;  // still reading the request body: the write comes after
    on_writable(ctx);
}

void Connection::on_body_wanted(Context& ctx) noexcept {
    if (state_ != State::kBody || !stream_ || !stream_->reader_paused) return;
    stream_->reader_paused = false;
    process(ctx);
    if (state_ >= State::kWrite) return;  // kWrite, kClosed, kTunnel
    if (state_ == State::kBody && stream_ && stream_->reader_paused) return;
    if (readable_) on_readable(ctx);
    else if (state_ == State::kBody && stream_ && stream_->reader) stream_->reader->on_body_drained(ctx);
}

}  // namespace portico::http

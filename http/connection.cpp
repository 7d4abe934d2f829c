#include "http/connection.hpp"

#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/socket.hpp"
#include "http/header_writer.hpp"
#include "http/static_handler.hpp"
#include "http/status.hpp"

namespace portico::http {
namespace {

// After an error response the write side is shut and input is drained for at most this long, so
// the client reads the response instead of a reset caused by unread bytes.
constexpr uint64_t kLingerMs = 5000;
// After a 408 on a timeout the client has shown it is slow or gone (a slowloris keeps trickling):
// the answer gets a short linger only, so such connections do not hold descriptors 5 s longer.
constexpr uint64_t kTimedOutLingerMs = 1000;
// Most file bytes one connection sends per loop turn. A client that reads as fast as we send
// never makes sendfile return EAGAIN, so without a bound one download would hold the loop until
// it ends; past it the connection yields and is resumed after the epoll batch.
constexpr uint64_t kSendBudget = 1u << 20;
// On a graceful stop, how long an idle keep-alive connection stays open for a racing request.
constexpr uint64_t kDrainGraceMs = 1000;
// A TLS connection idle this long gives OpenSSL's buffers back (see keep_warm()).
constexpr uint64_t kWarmMs = 50;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// The most request-line, Referer and User-Agent bytes a connection keeps between requests.
constexpr size_t kKeptLogText = 1024;

uint64_t ms(conf::Millis d) noexcept { return static_cast<uint64_t>(d.count()); }

bool transient(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

// A transport's result in the syscalls' convention, so that one state machine serves both: bytes
// moved, 0 for the peer's end of input, or -1 with errno (EAGAIN: wait for the next edge).
ssize_t as_syscall(core::IoResult r) noexcept {
    switch (r.status) {
        case core::IoStatus::kOk:
            if (r.bytes > 0) return static_cast<ssize_t>(r.bytes);
            errno = EAGAIN;
            return -1;
        case core::IoStatus::kWantRead:
        case core::IoStatus::kWantWrite: errno = EAGAIN; return -1;
        case core::IoStatus::kClosed: return 0;
        case core::IoStatus::kError: break;
    }
    errno = EPROTO;
    return -1;
}

// The same for a write, where "closed" (the peer reset the connection, or sent close_notify and
// left) is an error as write() gives it: 0 would read as "nothing sent", and a loop that sends
// until the socket is full would spin on it, with no edge ever coming to end the wait.
ssize_t as_syscall_write(core::IoResult r) noexcept {
    if (r.status == core::IoStatus::kClosed) {
        errno = EPIPE;
        return -1;
    }
    return as_syscall(r);
}

}  // namespace

void Connection::open(Context& ctx, int fd, uint16_t listener, const core::PeerAddress& peer,
                      std::unique_ptr<core::Transport> transport) noexcept {
    fd_ = fd;
    peer_ = peer;
    transport_ = std::move(transport);
    handshake_done_ = !transport_;
    listener_ = listener;
    state_ = State::kIdle;
    keep_alive_ = false;
    readable_ = peer_closed_ = peer_shutdown_ = linger_after_ = head_timer_ = timed_out_ = body_reads_ = false;
    resume_queued_ = false;
    warmth_ = Warmth::kCold;
    requests_ = 0;
    parser_ = RequestParser(ctx.limits);
    ctx.wheel.link(*this, ctx.now_ms + ms(ctx.config.http.client_header_timeout));
}

void Connection::on_event(Context& ctx, uint32_t events) noexcept {
    if (state_ >= State::kClosed) [[unlikely]] return on_tunnel_event(ctx, events);
    if (events & EPOLLERR) return close(ctx);
    if (transport_) [[unlikely]] {
        if (!handshake_done_ && !handshake(ctx)) return;
        // A transport's read may wait for writability and its write for readability (TLS): any
        // edge may unblock either direction, so both are tried.
        events |= EPOLLIN | EPOLLOUT;
    }
    // The peer shut its write side: its EOF may sit behind the data, so a short read no longer
    // proves the socket drained (no new edge will come for the EOF).
    if (events & (EPOLLRDHUP | EPOLLHUP)) {
        peer_shutdown_ = true;
        if (stream_ && state_ == State::kWrite && !stream_->ended) [[unlikely]] return abandon_stream(ctx);
    }
    if (events & EPOLLOUT) on_writable(ctx);
    if (state_ == State::kClosed) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
        if (state_ == State::kWrite) readable_ = true;  // back-pressure: read once the response is out
        else on_readable(ctx);
    }
}

void Connection::on_timeout(Context& ctx) noexcept {
    if (warmth_ == Warmth::kCooling) [[unlikely]] return cool_down(ctx);
    switch (state_) {
        case State::kHead:
            if (in_.readable() == 0) return close(ctx);
            timed_out_ = true;
            return respond_error(ctx, 408);
        case State::kBody:
            timed_out_ = true;
            return respond_error(ctx, 408);
        case State::kWrite:
            spdlog::info("client timed out sending response to fd {}", fd_);
            return close(ctx);
        default: return close(ctx);
    }
}

void Connection::drain(Context& ctx) noexcept {
    if (state_ == State::kLinger) return close(ctx);
    if (state_ == State::kIdle) {
        if (warmth_ == Warmth::kCooling) cool_down(ctx);  // the entry then holds the keep-alive deadline
        // A request may already be on its way on this keep-alive connection, and closing under
        // it would lose it. Wait a moment: one that arrives is answered with Connection: close.
        uint64_t grace = ctx.now_ms + kDrainGraceMs;
        if (!linked() || deadline() > grace) ctx.wheel.link(*this, grace);
    }
    // Busy connections see ctx.draining when their response is built or finished.
}

void Connection::close(Context& ctx) noexcept {
    if (state_ == State::kClosed) return;
    if (log_) {
        if (log_->pending && state_ == State::kBody) {
            // The client left while its request body was still due: the response held back for
            // it never went out (only a 100 Continue may have). Logged as nginx does, a 400.
            log_->status = 400;
            log_->body_length = 0;
        }
        if (log_->pending) log_access(ctx);  // a response cut short: logged with the bytes that went out
        log_.reset();
    }
    ctx.wheel.unlink(*this);
    idle_unlink(ctx);
    if (resume_queued_) {
        std::erase(ctx.resume, this);
        resume_queued_ = false;
    }
    drop_response(ctx);
    ctx.pool.release(in_);
    if (transport_) {
        // A clean end tells a TLS peer the response was not cut short; after an error it is a
        // best effort that a broken socket refuses.
        if (handshake_done_ && state_ != State::kLinger) transport_->shutdown();
        transport_.reset();
    }
    state_ = State::kClosed;
    ctx.closing.push_back(this);
}

void Connection::idle_link(Context& ctx) noexcept {
    IdleList& l = ctx.idle;
    idle_prev_ = l.tail;
    idle_next_ = nullptr;
    if (l.tail) l.tail->idle_next_ = this;
    else l.head = this;
    l.tail = this;
    ++l.size;
}

void Connection::idle_unlink(Context& ctx) noexcept {
    IdleList& l = ctx.idle;
    if (!idle_prev_ && l.head != this) return;  // not on the list
    (idle_prev_ ? idle_prev_->idle_next_ : l.head) = idle_next_;
    (idle_next_ ? idle_next_->idle_prev_ : l.tail) = idle_prev_;
    idle_prev_ = idle_next_ = nullptr;
    --l.size;
}

// Reads until the socket is drained (a short read proves it: the next data brings a new edge),
// handing each batch to the state machine.
void Connection::on_readable(Context& ctx) noexcept {
    for (;;) {
        if (!in_.allocated()) {
            // A connection whose requests carry bodies to a reader reads each one whole (see
            // body_reads_); the others start with client_header_buffer_size.
            in_ = ctx.pool.acquire(body_reads_ ? kBodyReadBuffer : ctx.config.http.client_header_buffer_size);
            if (!in_.allocated()) return close(ctx);
        }
        if (in_.writable() == 0 && !make_room(ctx)) {
            // make_room answered 431. Unread bytes must still be drained (lingering), or they
            // would get no new edge and the close would reset the answer away.
            if (state_ == State::kLinger) continue;
            if (state_ == State::kWrite) readable_ = true;
            return;
        }
        size_t want = in_.writable();
        ssize_t n = io_read(in_.write_ptr(), want);
        if (n > 0) {
            in_.commit(static_cast<size_t>(n));
            process(ctx);
            if (state_ >= State::kClosed) return;  // closed, or a tunnel that reads for itself
            // A transport hands out input a record at a time: its short read proves the socket
            // drained only when its own last read of the socket was short (input_drained).
            bool drained = static_cast<size_t>(n) < want && !peer_shutdown_ && (!transport_ || transport_->input_drained());
            if (state_ == State::kWrite) {
                readable_ = !drained;  // more (a pipelined request, the EOF) may wait behind it
                return;
            }
            if (drained) break;
            continue;
        }
        if (n == 0) return on_eof(ctx);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return close(ctx);  // ECONNRESET and friends: nothing to answer
    }
    readable_ = false;
    if (state_ == State::kIdle) {
        if (in_.allocated() && in_.readable() == 0) ctx.pool.release(in_);
    } else if (state_ == State::kHead) {
        // The head is incomplete after all we could read: from now on it must arrive in time.
        if (!head_timer_) arm_head_timer(ctx);
    } else if (state_ == State::kBody && stream_ && stream_->reader) [[unlikely]] {
        stream_->reader->on_body_drained(ctx);  // all the body the socket held is handed over
    }
}

void Connection::on_eof(Context& ctx) noexcept {
    peer_closed_ = true;
    readable_ = false;
    if (state_ == State::kWrite) return;  // finish the response; the close follows it
    close(ctx);
}

// The input buffer is full. While a head is being read it may grow up to the largest header
// buffer; the parser's own limits answer 414/431 before that is exceeded.
bool Connection::make_room(Context& ctx) noexcept {
    in_.compact();
    if (in_.writable() > 0) return true;
    size_t next = in_.capacity() * 2;
    if (state_ == State::kHead && in_.capacity() < ctx.config.http.large_client_header_buffer_size &&
        ctx.pool.grow(in_, next))
        return true;
    if (state_ == State::kBody && stream_ && stream_->reader) {
        readable_ = true;  // a paused reader: the bytes wait in the socket
        return false;
    }
    if (state_ == State::kLinger || state_ == State::kBody) {
        in_.clear();  // discarded bytes
        return true;
    }
    respond_error(ctx, 431);
    return false;
}

// Runs the state machine over the buffered input until it needs more bytes or a write blocks.
// Pipelined requests are served here one after another, iteratively: finish_response() only sets
// the next state, so a buffer full of tiny requests cannot deepen the stack.
void Connection::process(Context& ctx) noexcept {
    for (;;) {
        switch (state_) {
            case State::kIdle:
                if (!in_.allocated() || in_.readable() == 0) return;
                idle_unlink(ctx);
                if (warmth_ == Warmth::kCooling) [[unlikely]] stay_warm(ctx);
                state_ = State::kHead;
                start_ms_ = ctx.now_ms;
                [[fallthrough]];
            case State::kHead:
                if (!process_head(ctx)) return;
                break;
            case State::kBody:
                if (!process_body(ctx)) return;
                break;
            case State::kLinger:
                in_.clear();
                return;
            case State::kWrite:
            case State::kClosed:
            case State::kTunnel: return;
        }
    }
}

// Returns false when the head is still incomplete.
bool Connection::process_head(Context& ctx) noexcept {
    ParseResult r = parser_.parse_head(in_.read_ptr(), in_.readable(), req_);
    if (r == ParseResult::kNeedMore) return false;
    if (r == ParseResult::kError) {
        spdlog::info("client sent invalid request ({}), answering {}", parser_.error_reason(),
                     parser_.error_status());
        respond_error(ctx, parser_.error_status());
        return true;
    }
    const char* head = in_.read_ptr();
    bool head_only = req_.method == Method::kHead;
    HeaderWriter hw(ctx.header_scratch.data(), ctx.header_scratch.size());
    Reply reply;
    int32_t named = transport_ ? transport_->named_server() : -1;
    Exchange ex{req_, {head, parser_.head_length()}, listener_, peer_, named};
    if (ctx.handler) [[unlikely]] ctx.handler(ctx, ex, hw, reply);
    else handle_static(ctx, ex, hw, reply);
    if (hw.overflow()) {
        hw.reset();
        reply = Reply{};
        build_error(ctx, 500, head_only, {}, hw, reply);
    }
    // The request body is consumed before the response goes out (keep-alive needs the framing in
    // sync): read by the handler's reader, or discarded.
    bool read_body = req_.has_body();
    if (read_body && !reply.body_reader && req_.expect_continue && req_.method != Method::kGet && !head_only) {
        // Answer at once instead of inviting a body nobody wants; the body may or may not come,
        // so the framing is in doubt and the connection ends after this response.
        read_body = false;
        linger_after_ = true;
    }
    keep_alive_ = req_.keep_alive && !linger_after_ && !ctx.draining && !peer_closed_ &&
                  ctx.config.http.keepalive_timeout.count() > 0 &&
                  requests_ + 1 < ctx.config.http.keepalive_requests;
    if (!reply.stream && !reply.body_reader) [[likely]] {
        hw.add(keep_alive_ ? (req_.version_minor == 0 ? "Connection: keep-alive\r\n\r\n" : "\r\n")
                           : "Connection: close\r\n\r\n");
    } else {
        if (!take_stream(ctx, reply, head_only)) return true;
        if (!stream_->head_pending) end_head(hw, !stream_->no_body && stream_->left == kUnknownLength);
    }
    if (ctx.access_log.enabled()) {
        size_t interim = read_body && req_.expect_continue ? kContinue.size() : 0;
        begin_log(reply.status, true, interim + hw.view().size(), reply.body_length());
    }
    in_.consume(parser_.head_length());
    if (read_body) {
        // The interim answer is output like any other: queued in front of the final response,
        // so what the socket does not take now goes out first, whole, when it can.
        std::string_view interim = req_.expect_continue ? kContinue : std::string_view();
        out_ = ctx.pool.acquire(interim.size() + hw.view().size());
        if (!out_.allocated()) {
            close(ctx);
            return true;
        }
        out_.append(interim);
        out_.append(hw.view());
        continue_left_ = static_cast<uint8_t>(interim.size());
        respond(ctx, {}, reply);
        if (state_ == State::kClosed) return true;  // the response could not be kept
        state_ = State::kBody;
        ctx.wheel.link(*this, ctx.now_ms + ms(ctx.config.http.client_body_timeout));
        send_continue(ctx);
        return true;
    }
    respond(ctx, hw.view(), reply);
    return true;
}

// Ends a response head: the framing of a stream of unknown length (chunked on HTTP/1.1; on
// HTTP/1.0 the close ends the body), then the Connection field and the blank line.
void Connection::end_head(HeaderWriter& hw, bool unknown_length) noexcept {
    if (unknown_length) [[unlikely]] {
        if (req_.version_minor == 0) {
            keep_alive_ = false;
        } else {
            hw.add("Transfer-Encoding: chunked\r\n");
            stream_->chunked = true;
        }
    }
    hw.add(keep_alive_ ? (req_.version_minor == 0 ? "Connection: keep-alive\r\n\r\n" : "\r\n")
                       : "Connection: close\r\n\r\n");
}

// Returns false when more body bytes are needed, or while the handler's reader is full.
bool Connection::process_body(Context& ctx) noexcept {
    BodyReader* reader = stream_ ? stream_->reader : nullptr;
    for (;;) {
        if (reader && reader->full()) {
            // Back-pressure: stop reading; the reader's consumer bounds the wait, not the body timer.
            stream_->reader_paused = true;
            ctx.wheel.unlink(*this);
            return false;
        }
        size_t consumed = 0;
        std::string_view piece;
        ParseResult r = parser_.parse_body(in_.read_ptr(), in_.readable(), consumed, reader ? &piece : nullptr);
        in_.consume(consumed);  // the piece's bytes stay where they are until the next read
        if (!piece.empty()) reader->on_body(ctx, piece);
        if (r == ParseResult::kNeedMore) {
            if (!piece.empty() && in_.readable() > 0) continue;
            ctx.wheel.link(*this, ctx.now_ms + ms(ctx.config.http.client_body_timeout));
            return false;
        }
        if (r == ParseResult::kError) {
            spdlog::info("client sent invalid body ({}), answering {}", parser_.error_reason(),
                         parser_.error_status());
            respond_error(ctx, parser_.error_status());
            return true;
        }
        break;
    }
    if (reader) reader->on_body_end(ctx);
    state_ = State::kWrite;
    write_out(ctx, {});
    return true;
}

// Takes the body described by `reply` and, unless a request body must be consumed first, starts
// writing `head_bytes` and the body.
void Connection::respond(Context& ctx, std::string_view head_bytes, const Reply& reply) noexcept {
    file_ = reply.file;
    if (file_) FileCache::ref(file_);
    mem_ = reply.mem.data();
    mem_left_ = static_cast<uint32_t>(reply.mem.size());
    file_off_ = reply.file_offset;
    file_left_ = reply.file_length;
    mem_is_scratch_ = reply.mem_is_scratch;
    ++requests_;
    ctx.counters.requests++;
    if (reply.status >= 500) ctx.counters.status_5xx++;
    else if (reply.status >= 400) ctx.counters.status_4xx++;  // a head from the stream: counted then
    if (out_.allocated()) return keep_scratch_body(ctx);  // kBody: written once the body is consumed
    state_ = State::kWrite;
    write_out(ctx, head_bytes);
}

void Connection::respond_error(Context& ctx, uint16_t status) noexcept {
    // A response held back for its request body never went out: only the error is logged.
    if (log_) log_->pending = false;
    char buf[1024];
    HeaderWriter hw(buf, sizeof buf);
    // Part of a "100 Continue" went out: its rest must come first or the stream is garbled.
    // (None of it went out: then it is dropped, which a client waiting for it tolerates.)
    if (state_ == State::kBody && continue_left_ > 0 && continue_left_ < kContinue.size())
        hw.add(kContinue.substr(kContinue.size() - continue_left_));
    continue_left_ = 0;
    drop_response(ctx);
    Reply reply;
    build_error(ctx, status, false, "Connection: close\r\n\r\n", hw, reply);
    if (ctx.access_log.enabled()) {
        if (state_ == State::kBody && log_) {
            // The head was consumed when the body began: keep the request line copied then.
            log_->pending = true;
            log_->status = logged_status(status);
            log_->head_length = hw.view().size();
            log_->body_length = reply.mem.size();
        } else {
            begin_log(logged_status(status), state_ == State::kHead && in_.allocated(), hw.view().size(),
                  reply.mem.size());
        }
    }
    keep_alive_ = false;
    linger_after_ = true;
    ++requests_;
    if (status >= 500) ctx.counters.status_5xx++;
    else ctx.counters.status_4xx++;
    mem_ = reply.mem.data();
    mem_left_ = static_cast<uint32_t>(reply.mem.size());
    state_ = State::kWrite;
    write_out(ctx, hw.view());
}

// Writes the pending header (`header` on the first attempt, then whatever is left in out_) and
// the in-memory body with one writev, then the file range with sendfile.
void Connection::write_out(Context& ctx, std::string_view header) noexcept {
    if (stream_) [[unlikely]] return write_stream(ctx, header);
    if (header.empty() && out_.allocated()) header = out_.view();
    iovec iov[2];
    int cnt = 0;
    if (!header.empty()) iov[cnt++] = {const_cast<char*>(header.data()), header.size()};
    if (mem_left_ > 0) iov[cnt++] = {const_cast<char*>(mem_), mem_left_};
    if (cnt > 0) {
        // The keep-alive small-file path stays a plain writev; the others may hold the tail back.
        ssize_t n = file_left_ == 0 && keep_alive_ ? io_writev(iov, cnt) : write_more(iov, cnt);
        if (n < 0 && !transient(errno)) return close(ctx);
        size_t sent = n > 0 ? static_cast<size_t>(n) : 0;
        ctx.counters.bytes_out += sent;
        size_t from_header = std::min(sent, header.size());
        size_t from_mem = sent - from_header;
        mem_ += from_mem;
        mem_left_ -= static_cast<uint32_t>(from_mem);
        if (out_.allocated()) {
            out_.consume(from_header);
        } else if (from_header < header.size()) {
            out_ = ctx.pool.acquire(header.size() - from_header);  // keep the unsent rest
            if (!out_.allocated()) return close(ctx);
            out_.append(header.substr(from_header));
        }
        if (mem_left_ > 0) keep_scratch_body(ctx);
        if (state_ == State::kClosed) return;
        if (out_.allocated() && out_.readable() == 0) ctx.pool.release(out_);
        if (out_.allocated() || mem_left_ > 0) {
            ctx.wheel.link(*this, ctx.now_ms + ms(ctx.config.http.send_timeout));
            return;  // wait for EPOLLOUT
        }
    }
    if (file_left_ > 0 && !send_body_file(ctx)) return;
    finish_response(ctx);
}

// MSG_MORE keeps the last partial segment back until the next push, at no extra syscall. The
// header of a file response then leaves with the first file bytes (sendfile pushes when it
// ends) instead of in a small segment of its own, which a client wakes and ACKs for; and the last
// response on a connection leaves with the FIN that close() or shutdown() adds. Both are pushes
// that follow in the same loop turn, and later ACK-driven sends ignore the hint, so nothing waits.
ssize_t Connection::write_more(iovec* iov, int cnt) noexcept {
    if (transport_) return as_syscall_write(transport_->write(iov, cnt));  // it frames its own records
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(cnt);
    return ::sendmsg(fd_, &msg, MSG_MORE | MSG_NOSIGNAL);
}

// Returns true when the file range is fully sent; false if waiting for EPOLLOUT or closed.
bool Connection::send_body_file(Context& ctx) noexcept {
    uint64_t budget = kSendBudget;
    while (file_left_ > 0) {
        if (budget == 0) {
            queue_resume(ctx);
            return false;
        }
        ssize_t n = io_sendfile(std::min(file_left_, budget));
        if (n > 0) {
            file_off_ += static_cast<uint64_t>(n);
            file_left_ -= static_cast<uint64_t>(n);
            budget -= static_cast<uint64_t>(n);
            ctx.counters.bytes_out += static_cast<uint64_t>(n);
            continue;
        }
        if (n < 0 && transient(errno)) {
            ctx.wheel.link(*this, ctx.now_ms + ms(ctx.config.http.send_timeout));
            return false;
        }
        // 0: the file shrank under us; the promised length can no longer be kept.
        if (n == 0) spdlog::warn("sendfile(): file shrank while being sent");
        else spdlog::info("sendfile() failed: {}", std::strerror(errno));
        close(ctx);
        return false;
    }
    return true;
}

// The transport's side of the io_* wrappers (connection.hpp), out of line.
ssize_t Connection::transport_read(void* data, size_t size) noexcept {
    return as_syscall(transport_->read(data, size));
}

ssize_t Connection::transport_writev(const iovec* iov, int cnt) noexcept {
    return as_syscall_write(transport_->write(iov, cnt));
}

ssize_t Connection::io_sendfile(uint64_t count) noexcept {
    if (!transport_) [[likely]] {
        auto off = static_cast<off_t>(file_off_);
        return ::sendfile(fd_, file_->fd, &off, count);
    }
    return as_syscall_write(transport_->send_file(file_->fd, static_cast<off_t>(file_off_), count));
}

// One step of the transport's handshake. True once data can flow; false while it waits for an
// edge (the header timer, armed at open(), bounds how long) or after it failed (closed).
bool Connection::handshake(Context& ctx) noexcept {
    switch (transport_->handshake()) {
        case core::IoStatus::kOk: handshake_done_ = true; return true;
        case core::IoStatus::kWantRead:
        case core::IoStatus::kWantWrite: return false;
        case core::IoStatus::kClosed:
        case core::IoStatus::kError: break;
    }
    if (transport_->plain_text_peer()) {
        answer_plain_text(ctx);
        return false;
    }
    close(ctx);
    return false;
}

// Plain HTTP sent to a TLS port gets nginx's courtesy: a plain-text 400 that says so, on the bare
// socket, then the usual linger (the rest of the request is still unread, and closing over it
// would reset the answer away).
void Connection::answer_plain_text(Context& ctx) noexcept {
    transport_.reset();
    handshake_done_ = true;
    respond_error(ctx, kPlainHttpToTls);
}

// The socket is still writable but this turn's budget is spent: let the other connections run
// first, and continue after the epoll batch.
void Connection::queue_resume(Context& ctx) noexcept {
    ctx.wheel.link(*this, ctx.now_ms + ms(ctx.config.http.send_timeout));
    if (resume_queued_) return;
    resume_queued_ = true;
    ctx.resume.push_back(this);
}

void Connection::on_resume(Context& ctx) noexcept {
    if (!resume_queued_) return;  // closed, or already resumed by an EPOLLOUT in this batch
    resume_queued_ = false;
    if (state_ == State::kTunnel) [[unlikely]] return tunnel_step(ctx, stream_->stream->relay(ctx));
    on_writable(ctx);
}

// A body built in per-worker scratch (the status page) would be overwritten by the next request
// of another connection: copy what is still unsent to memory of this connection's own. Not into
// out_: a pool buffer is at most 64 KiB, and a generated body may be any size.
void Connection::keep_scratch_body(Context& ctx) noexcept {
    if (!mem_is_scratch_ || mem_left_ == 0) return;
    own_body_.reset(new (std::nothrow) char[mem_left_]);
    if (!own_body_) return close(ctx);
    std::memcpy(own_body_.get(), mem_, mem_left_);
    mem_ = own_body_.get();
    mem_is_scratch_ = false;
}

// Writes what is left of the "100 Continue" at the front of out_ (kBody only).
void Connection::send_continue(Context& ctx) noexcept {
    while (continue_left_ > 0) {
        iovec iov{out_.read_ptr(), continue_left_};
        ssize_t n = io_writev(&iov, 1);
        if (n > 0) {
            out_.consume(static_cast<size_t>(n));
            continue_left_ = static_cast<uint8_t>(continue_left_ - n);
            ctx.counters.bytes_out += static_cast<uint64_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && transient(errno)) return;  // the rest goes on EPOLLOUT
        return close(ctx);
    }
}

void Connection::on_writable(Context& ctx) noexcept {
    if (state_ != State::kWrite) {
        if (state_ == State::kBody && continue_left_ > 0) send_continue(ctx);
        return;
    }
    write_out(ctx, {});
    process(ctx);  // pipelined requests already buffered
    if (state_ >= State::kWrite) return;  // kWrite, kClosed, kTunnel
    if (readable_) on_readable(ctx);
    else if (state_ == State::kHead && !head_timer_) arm_head_timer(ctx);
    else if (state_ == State::kBody && stream_ && stream_->reader) [[unlikely]] stream_->reader->on_body_drained(ctx);
}

// The response is out: close, linger, or get ready for the next request. Never parses the next
// request itself (see process()).
void Connection::finish_response(Context& ctx) noexcept {
    if (log_ && log_->pending) log_access(ctx);
    drop_response(ctx);
    if (linger_after_) return start_linger(ctx);
    if (!keep_alive_ || peer_closed_ || ctx.draining) {
        // Unread pipelined bytes would turn our close into a reset that can destroy the response.
        if (in_.readable() > 0 || readable_) return start_linger(ctx);
        return close(ctx);
    }
    parser_.reset();
    head_timer_ = false;
    if (in_.readable() > 0) {
        state_ = State::kHead;
        start_ms_ = ctx.now_ms;  // a pipelined request starts when its turn comes
        return;
    }
    become_idle(ctx);
}

void Connection::arm_head_timer(Context& ctx) noexcept {
    head_timer_ = true;
    ctx.wheel.link(*this, ctx.now_ms + ms(ctx.config.http.client_header_timeout));
}

void Connection::become_idle(Context& ctx) noexcept {
    state_ = State::kIdle;
    ctx.pool.release(in_);
    idle_link(ctx);
    uint64_t keepalive = ms(ctx.config.http.keepalive_timeout);
    if (transport_ && keepalive > kWarmMs) [[unlikely]] return keep_warm(ctx);
    ctx.wheel.link(*this, ctx.now_ms + keepalive);
}

// A TLS connection that has just answered a request is likely to make another soon (a page's
// assets, an API client's loop). OpenSSL's mode of freeing its read and write buffers whenever
// they empty costs a malloc and a free of about 17 KiB each per request (5-6% of a keep-alive
// request's instructions), so such a connection keeps them, and gives them back once it has been
// idle for kWarmMs: idle connections hold none, as before. The wheel's entry fires first at that
// moment (kCooling), then at the keep-alive deadline.
void Connection::keep_warm(Context& ctx) noexcept {
    if (warmth_ == Warmth::kCold) transport_->keep_buffers(true);
    warmth_ = Warmth::kCooling;
    ctx.wheel.link(*this, ctx.now_ms + kWarmMs);
}

// A request came before the connection cooled: it stays warm, and its entry goes back to the
// keep-alive deadline, which is what the entry of a plain connection holds during a request.
void Connection::stay_warm(Context& ctx) noexcept {
    warmth_ = Warmth::kWarm;
    link_keepalive_deadline(ctx);
}

// Idle for kWarmMs (or draining): the buffers go back, and the keep-alive deadline stands.
void Connection::cool_down(Context& ctx) noexcept {
    warmth_ = Warmth::kCold;
    transport_->keep_buffers(false);
    link_keepalive_deadline(ctx);
}

// The entry holds (or held, if it just fired) the moment to cool, kWarmMs after the connection
// went idle; the keep-alive deadline counts from when it went idle, as a plain connection's does.
void Connection::link_keepalive_deadline(Context& ctx) noexcept {
    ctx.wheel.link(*this, deadline() - kWarmMs + ms(ctx.config.http.keepalive_timeout));
}

void Connection::start_linger(Context& ctx) noexcept {
    state_ = State::kLinger;
    if (transport_) transport_->shutdown();  // TLS: close_notify before the FIN
    ::shutdown(fd_, SHUT_WR);
    in_.clear();
    ctx.wheel.link(*this, ctx.now_ms + (timed_out_ ? kTimedOutLingerMs : kLingerMs));
    if (peer_closed_) close(ctx);
}

void Connection::drop_response(Context& ctx) noexcept {
    if (file_) FileCache::release(file_);
    file_ = nullptr;
    mem_ = nullptr;
    mem_left_ = 0;
    mem_is_scratch_ = false;
    own_body_.reset();
    if (stream_) [[unlikely]] retire_stream(ctx);
    file_left_ = 0;
    ctx.pool.release(out_);
}

// Copies what the line needs out of the request head. `with_request`: the head (or the part of
// it parsed so far) is still at the front of in_. The line is written by log_access() when the
// response ends, with the bytes that actually went out.
void Connection::begin_log(uint16_t status, bool with_request, uint64_t head_length,
                           uint64_t body_length) noexcept {
    // The record stays with the connection from one request to the next, so that a keep-alive
    // connection pays for its allocation once.
    if (!log_) log_.reset(new (std::nothrow) PendingLog);
    if (!log_) return;  // no memory: this line is lost, the response is not
    PendingLog& e = *log_;
    e.pending = true;
    const char* head = in_.read_ptr();
    Request none;
    const Request& req = with_request ? req_ : none;
    std::string_view line = req.request_line.in(head), referer = req.referer.in(head), agent = req.user_agent.in(head);
    e.text.clear();
    try {
        e.text.reserve(line.size() + referer.size() + agent.size());
    } catch (const std::bad_alloc&) {
        e.pending = false;  // no memory: this line is lost, the connection is not
        return;
    }
    e.text.append(line).append(referer).append(agent);
    e.request_line_len = static_cast<uint32_t>(line.size());
    e.referer_len = static_cast<uint32_t>(referer.size());
    e.status = status;
    e.addr_len = static_cast<uint8_t>(peer_.format(e.addr, sizeof e.addr));
    e.head_length = head_length;
    e.body_length = body_length;
}

// Writes the pending line. Whatever is left in out_, mem_ and the file range did not go out.
void Connection::log_access(Context& ctx) noexcept {
    PendingLog* e = log_.get();
    e->pending = false;
    uint64_t head_left = out_.allocated() ? std::min<uint64_t>(out_.readable(), e->head_length) : 0;
    uint64_t body_left = std::min<uint64_t>(uint64_t{mem_left_} + file_left_, e->body_length);
    LogOutcome o;
    o.body_bytes_sent = e->body_length - body_left;
    if (stream_) o.body_bytes_sent += stream_->written;
    o.bytes_sent = e->head_length - head_left + o.body_bytes_sent;
    o.request_time_ms = ctx.now_ms - std::min(start_ms_, ctx.now_ms);
    o.now = ctx.date.now();
    o.log_time = ctx.date.log_time();
    fmt::memory_buffer line;
    format_access_line(ctx.config.http.access_log_format, *e, o, line);
    ctx.access_log.write({line.data(), line.size()});
    // A huge User-Agent must not stay with an idle connection.
    if (e->text.capacity() > kKeptLogText) std::string().swap(e->text);
}

}  // namespace portico::http

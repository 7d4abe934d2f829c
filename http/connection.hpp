#pragma once
// One client connection: the HTTP/1.1 state machine from bytes in to bytes out.
//
//            first byte              head done           body consumed
//   kIdle ---------------> kHead ---------------> kBody --------------> kWrite
//     ^                      |  (no body) -------------------------------^  |
//     |   keep-alive, no pipelined bytes left                                 |
//     +-----------------------------------------------------------------------+
//   kHead, with pipelined bytes: straight back to kHead.
//   Errors answer and go to kLinger (write side shut, input drained until EOF or timeout).
//   A 101 from a streamed head (the proxy's WebSocket): kWrite -> kTunnel once the head is out,
//   and the stream relays bytes both ways until the tunnel ends and the connection closes.
//
// Registered with epoll once (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET) and never re-armed. An idle
// connection holds no buffer: the input buffer is taken on the first byte and given back when
// it empties. Everything it needs per call comes in through Context, so it stores no pointer to it.

#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/buffer.hpp"
#include "core/socket.hpp"
#include "core/timer_wheel.hpp"
#include "core/transport.hpp"
#include "http/access_line.hpp"
#include "http/body_stream.hpp"
#include "http/context.hpp"
#include "http/parser.hpp"

namespace portico::http {

struct Reply;
class HeaderWriter;

class Connection : public core::TimerEntry {
public:
    /// The input buffer a request body for a reader is read into (and its head, once a
    /// connection has shown it sends such bodies).
    static constexpr size_t kBodyReadBuffer = 16 * 1024;

    // The order is used: from kWrite on, the state machine parses no input (a response is going
    // out, the connection is closed, or it is a tunnel); from kClosed on, it is not HTTP's.
    enum class State : uint8_t { kIdle, kHead, kBody, kLinger, kWrite, kClosed, kTunnel };

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Takes over an accepted, non-blocking socket from `peer` that arrived on listener `listener`.
    /// With a `transport` (TLS) every read and write goes through it; without, to the socket.
    void open(Context& ctx, int fd, uint16_t listener, const core::PeerAddress& peer,
              std::unique_ptr<core::Transport> transport = nullptr) noexcept;
    /// epoll reported `events`.
    void on_event(Context& ctx, uint32_t events) noexcept;
    /// Its timer expired (already unlinked).
    void on_timeout(Context& ctx) noexcept;
    /// The worker calls this, after the epoll batch, for each connection on ctx.resume: it
    /// stopped sending because its turn's budget ran out, not on EAGAIN, so no edge will come.
    void on_resume(Context& ctx) noexcept;
    /// The response's BodyStream, which had answered kWait (or not yet known its head), can go on.
    /// Not from inside the stream's own read() or head().
    void on_stream_ready(Context& ctx) noexcept;
    /// The request's BodyReader, which was full(), can take more body.
    void on_body_wanted(Context& ctx) noexcept;
    /// A graceful stop began: an idle connection closes now; a busy one finishes its response
    /// (sent with Connection: close) and then closes.
    void drain(Context& ctx) noexcept;
    /// Closes at once and queues itself on ctx.closing; the worker closes the fd and frees the
    /// object at the end of the loop iteration, so a stale event in the same batch cannot reach
    /// a new connection that reused the fd.
    void close(Context& ctx) noexcept;

    // The client side of a tunnel (State::kTunnel), for the stream that relays it: reads and
    // writes in the syscalls' convention (through the transport, if any), the end of our output
    // (TLS close_notify, then FIN), and what a relay() run from elsewhere (an upstream event) did.
    ssize_t tunnel_read(void* data, size_t size) noexcept { return io_read(data, size); }
    ssize_t tunnel_write(Context& ctx, const iovec* iov, int cnt) noexcept;
    void tunnel_shutdown() noexcept;
    void tunnel_step(Context& ctx, TunnelStep step) noexcept;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] State state() const noexcept { return state_; }

    // Links of the worker's idle list (oldest first), used to shed idle connections.
    Connection* idle_prev_ = nullptr;
    Connection* idle_next_ = nullptr;

private:
    void on_readable(Context& ctx) noexcept;
    void on_writable(Context& ctx) noexcept;
    void on_eof(Context& ctx) noexcept;
    bool make_room(Context& ctx) noexcept;
    void process(Context& ctx) noexcept;
    bool process_head(Context& ctx) noexcept;
    bool process_body(Context& ctx) noexcept;
    void arm_head_timer(Context& ctx) noexcept;
    [[gnu::always_inline]] inline void respond(Context& ctx, std::string_view head_bytes, const Reply& reply) noexcept;
    void end_head(HeaderWriter& hw, bool unknown_length) noexcept;
    [[gnu::noinline]] bool take_stream(Context& ctx, Reply& reply, bool head_only) noexcept;
    bool take_stream_head(Context& ctx) noexcept;
    void write_stream(Context& ctx, std::string_view header) noexcept;
    bool send_stream(Context& ctx) noexcept;
    bool fill_stream(Context& ctx) noexcept;
    void respond_error(Context& ctx, uint16_t status) noexcept;
    void write_out(Context& ctx, std::string_view header) noexcept;
    ssize_t write_more(iovec* iov, int cnt) noexcept;
    // The transport wrappers: the plain socket directly (inlined, so the plain path is what it
    // was), a transport through its interface, both in the syscalls' convention (as_syscall).
    ssize_t io_read(void* data, size_t size) noexcept {
        if (!transport_) [[likely]] return ::read(fd_, data, size);
        return transport_read(data, size);
    }
    ssize_t io_writev(const iovec* iov, int cnt) noexcept {
        if (!transport_) [[likely]] return ::writev(fd_, iov, cnt);
        return transport_writev(iov, cnt);
    }
    ssize_t transport_read(void* data, size_t size) noexcept;
    ssize_t transport_writev(const iovec* iov, int cnt) noexcept;
    ssize_t io_sendfile(uint64_t count) noexcept;
    bool handshake(Context& ctx) noexcept;
    [[gnu::noinline]] void answer_plain_text(Context& ctx) noexcept;
    bool send_body_file(Context& ctx) noexcept;
    void queue_resume(Context& ctx) noexcept;
    // Rare paths, kept out of line so that inlining them does not tax the common one.
    [[gnu::noinline]] void keep_scratch_body(Context& ctx) noexcept;
    void finish_response(Context& ctx) noexcept;
    void become_idle(Context& ctx) noexcept;
    [[gnu::noinline]] void keep_warm(Context& ctx) noexcept;
    [[gnu::noinline]] void stay_warm(Context& ctx) noexcept;
    void cool_down(Context& ctx) noexcept;
    void link_keepalive_deadline(Context& ctx) noexcept;
    void start_linger(Context& ctx) noexcept;
    [[gnu::noinline]] void send_continue(Context& ctx) noexcept;
    [[gnu::noinline]] void begin_log(uint16_t status, bool with_request, uint64_t head_length,
                                     uint64_t body_length) noexcept;
    [[gnu::noinline]] void log_access(Context& ctx) noexcept;
    void drop_response(Context& ctx) noexcept;
    void retire_stream(Context& ctx) noexcept;
    void abandon_stream(Context& ctx) noexcept;
    void enter_tunnel(Context& ctx) noexcept;
    [[gnu::noinline]] void on_tunnel_event(Context& ctx, uint32_t events) noexcept;
    void idle_link(Context& ctx) noexcept;
    void idle_unlink(Context& ctx) noexcept;

    // A streamed response, or a request body read by its handler: allocated only for the requests
    // that have one, so the others pay one pointer.
    struct StreamState {
        std::unique_ptr<BodyStream> stream;
        BodyReader* reader = nullptr;      // lives in stream
        uint64_t left = kUnknownLength;    // a known length's bytes still due
        uint64_t written = 0;              // bytes of the streamed part sent (framing included)
        size_t head_left = 0;              // head bytes at the front of out_, not yet sent
        bool started = false;              // write_stream() took what was queued as the head
        bool chunked = false;              // framed as chunks (HTTP/1.1, unknown length)
        bool no_body = false;              // HEAD, 1xx, 204, 304: the head is all
        bool waiting = false;              // the stream said kWait, or its head is not known yet
        bool ended = false;                // the last bytes (and the last chunk) are in out_
        bool head_pending = false;         // the head comes from stream->head()
        bool reader_paused = false;        // reader->full(): the socket is not read
        bool tunnel = false;               // the head is a 101: a tunnel once it is out
        const conf::RouteSettings* route_headers = nullptr;  // added to the stream's head (Reply's)
    };

    // kCold: the transport frees its buffers whenever they empty. kWarm: it keeps them. kCooling:
    // kWarm, idle, and the wheel's entry is the moment to turn cold, not the keep-alive deadline.
    enum class Warmth : uint8_t { kCold, kWarm, kCooling };

    int fd_ = -1;
    State state_ = State::kClosed;
    bool keep_alive_ = false;
    bool readable_ = false;        // EPOLLIN arrived while we were not reading
    bool peer_closed_ = false;     // read() saw EOF
    bool peer_shutdown_ = false;   // epoll saw EPOLLRDHUP: read until EOF, not until a short read
    bool linger_after_ = false;    // shut down and drain input once the response is out
    bool head_timer_ = false;      // the header timeout runs for the current request
    bool mem_is_scratch_ = false;  // mem_ points into per-worker scratch (see keep_scratch_body)
    bool resume_queued_ = false;   // on ctx.resume: yielded with the socket still writable
    bool timed_out_ = false;       // answered 408 on a timeout: linger briefly (see start_linger)
    bool handshake_done_ = true;   // the transport carries data (always, without one)
    // A request on this connection had a body for a reader (a proxied POST): the next ones start
    // with a kBodyReadBuffer, so that a head and its body arrive in one read instead of filling
    // the small header buffer first. Held only while a request is in progress, as in_ always is.
    bool body_reads_ = false;
    // kBody: unsent bytes of "100 Continue" at the front of out_. Set on entering kBody and read
    // only there, so it is never reset. (Here, in the padding before listener_.)
    uint8_t continue_left_ = 0;
    // TLS: whether the transport keeps its buffers between requests (see keep_warm()).
    Warmth warmth_ = Warmth::kCold;
    uint16_t listener_ = 0;
    uint32_t requests_ = 0;
    std::unique_ptr<core::Transport> transport_;  // null: the plain socket, read and written directly
    core::PeerAddress peer_;       // from accept4(), for access rules, logs and X-Forwarded-For
    core::Buffer in_;
    core::Buffer out_;             // header bytes still to send, when a write could not finish
    RequestParser parser_;
    Request req_;
    CachedFile* file_ = nullptr;   // referenced while its bytes are being sent
    const char* mem_ = nullptr;    // body bytes in memory still to send
    uint32_t mem_left_ = 0;
    uint64_t file_off_ = 0;        // sendfile range still to send
    uint64_t file_left_ = 0;
    uint64_t start_ms_ = 0;        // when the current request's first byte was read (ctx.now_ms)
    // A generated body (the status page) copied out of per-worker scratch when it could not go
    // out at once; mem_ then points into it. Freed when the response ends.
    std::unique_ptr<char[]> own_body_;
    std::unique_ptr<StreamState> stream_;
    // The access log line of the response in flight, written when it ends (log_->pending). Kept
    // from one request to the next; null when the log is off, so a server without a log pays
    // only this pointer.
    std::unique_ptr<PendingLog> log_;
};

}  // namespace portico::http

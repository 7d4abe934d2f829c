#pragma once
// Bodies produced piece by piece, in either direction:
//   BodyStream   a response body that the connection pulls when the socket can take more: a
//                directory listing, a compressed stream, a proxied response. Its length may be
//                unknown; then it goes out chunked on HTTP/1.1 and close-delimited on HTTP/1.0.
//   BodyReader   a handler that takes the request body as it arrives (the proxy), decoded from
//                Content-Length or chunked framing, with back-pressure.
// Both are owned by the connection for the life of one request, and both may suspend: they keep
// the Connection they are attached to and call it back when they can go on. Such a call may end
// the request (the connection answers an error, or finishes the response), so the connection
// detaches a stream it is done with and the worker deletes it after the event (Context::retire).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.hpp"
#include "http/header_writer.hpp"

namespace portico::http {

struct Context;
class Connection;

/// What a tunnel's relay() did: it goes on by events, it used up its turn (call again after the
/// others' turns, without waiting for an event), or it ended (the connection closes).
enum class TunnelStep : uint8_t { kGoOn, kYield, kEnd };

class BodyStream {
public:
    enum class Status : uint8_t {
        kData,   ///< `bytes` were written; more follow
        kEnd,    ///< `bytes` (possibly 0) were written and they are the last
        kWait,   ///< `bytes` (possibly 0) were written; call Connection::on_stream_ready when more can
        kError,  ///< the body cannot be finished: the connection closes (a chunked one unterminated)
    };
    struct Chunk {
        size_t bytes = 0;
        Status status = Status::kData;
    };

    virtual ~BodyStream() = default;

    /// Called once, when the connection takes the stream. A stream that can return kWait keeps
    /// `conn` to call it back, until detach().
    virtual void attach(Connection& conn) noexcept { (void)conn; }
    /// Writes up to `cap` body bytes (cap > 0) to `out`. A stream that waits bounds its own wait:
    /// the connection runs no timer while it does. Never calls the connection back from inside.
    virtual Chunk read(Context& ctx, char* out, size_t cap) noexcept = 0;
    /// Only for a Reply with head_from_stream (a handler that learns its answer later, such as
    /// the proxy): writes the status line and the header fields, except Connection and the body's
    /// framing, into `hw`; sets `status` and the body's `length` (kUnknownLength when the head
    /// states none). Returns false while the head is not known yet: the stream then calls
    /// Connection::on_stream_ready. A status of 0 fails the response (the connection closes).
    virtual bool head(Context& ctx, HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept {
        (void)ctx, (void)hw, (void)length;
        status = 0;
        return true;
    }
    /// True for a stream whose head() works towards its answer in bounded steps of its own (a
    /// directory listing reading its names): a false from head() then means "call again on the
    /// next turn", and the connection resumes it after the others have had theirs, instead of
    /// waiting for on_stream_ready.
    [[nodiscard]] virtual bool head_in_steps() const noexcept { return false; }

    /// Only for a stream whose head() gave 101 Switching Protocols (the proxy, for a WebSocket):
    /// once that head is out, the connection becomes a byte tunnel (State::kTunnel). tunnel() is
    /// called once, with the input the connection read past the request head (the stream may
    /// take the buffer); relay() then on every event of the client socket. The stream moves bytes
    /// both ways through Connection::tunnel_read/tunnel_write, and bounds the tunnel's idle time.
    virtual TunnelStep tunnel(Context& ctx, core::Buffer& early) noexcept {
        (void)ctx, (void)early;
        return TunnelStep::kEnd;
    }
    virtual TunnelStep relay(Context& ctx) noexcept {
        (void)ctx;
        return TunnelStep::kEnd;
    }

    /// The connection lets go of the stream: the response ended, or the connection closed. From
    /// here the stream calls the connection no more. A stream that calls the connection back (the
    /// proxy) may be inside such a call now: it lets go of what it holds (its upstream, buffers)
    /// and returns true, and is deleted at the end of the loop turn (Context::retire), so that it
    /// returns through its own frames on live memory. The others return false: deleted at once.
    virtual bool detach(Context& ctx) noexcept {
        (void)ctx;
        return false;
    }

private:
    friend struct Context;
    BodyStream* retired_next_ = nullptr;  // Context::retired_
};

class BodyReader {
public:
    virtual ~BodyReader() = default;

    /// Called once, when the connection takes the reader (see BodyStream::attach).
    virtual void attach(Connection& conn) noexcept { (void)conn; }
    /// Decoded request body bytes, in order. The reader takes them all: the connection offers at
    /// most one input buffer's worth per call, and none while full() holds.
    virtual void on_body(Context& ctx, std::string_view bytes) noexcept = 0;
    /// The whole body arrived (for a request without one: at once, with no on_body call).
    virtual void on_body_end(Context& ctx) noexcept = 0;
    /// The connection has handed over every body byte the socket held for now and waits for
    /// more: a reader that gathers the bytes of one read batch into fewer writes sends them now.
    virtual void on_body_drained(Context& ctx) noexcept { (void)ctx; }
    /// While true the connection reads no more from the socket, so a slow consumer slows the
    /// client through the TCP window; the reader calls Connection::on_body_wanted when it drains.
    [[nodiscard]] virtual bool full() const noexcept { return false; }
};

/// A stream's length when it is not known in advance.
inline constexpr uint64_t kUnknownLength = UINT64_MAX;

}  // namespace portico::http

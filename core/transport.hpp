#pragma once
// A byte stream over one connected, non-blocking socket, other than the plain one: TLS now,
// perhaps others later. A connection without one reads and writes the socket directly (that path
// is inlined and costs nothing extra); a connection with one calls through this interface.
//
// Every call returns at once with bytes moved or with what it waits for, shaped for an
// edge-triggered loop. Either direction may need the other (a TLS read may have to write, a write
// may have to read): the caller retries both directions on any readiness event.

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace portico::core {

enum class IoStatus : uint8_t {
    kOk,         ///< done, or bytes moved
    kWantRead,   ///< wait until the socket is readable, then call again
    kWantWrite,  ///< wait until the socket is writable, then call again
    kClosed,     ///< the peer closed: no more input
    kError,      ///< a protocol or socket error: close the connection
};

struct IoResult {
    size_t bytes = 0;
    IoStatus status = IoStatus::kOk;
};

class Transport {
public:
    virtual ~Transport() = default;

    /// Advances the opening handshake: kOk once the transport carries data.
    virtual IoStatus handshake() noexcept = 0;
    /// Up to `size` bytes of input.
    virtual IoResult read(void* data, size_t size) noexcept = 0;
    /// True when input is held by the transport with no socket event to announce it: the caller
    /// must read again before waiting for an edge.
    [[nodiscard]] virtual bool has_buffered_input() const noexcept = 0;
    /// True when the last read from the socket found it drained (it returned less than asked)
    /// and nothing is held: more input will come with a new edge, so a short read() proves the
    /// input drained as it does on a plain socket. False when not known: read until kWantRead.
    [[nodiscard]] virtual bool input_drained() const noexcept { return false; }
    /// Sends from the `count` buffers (a partial count is normal). After kWantWrite the caller
    /// retries with the same bytes first.
    virtual IoResult write(const iovec* iov, int count) noexcept = 0;
    /// Sends up to `count` bytes of `file` from `offset`; the result counts file bytes taken.
    virtual IoResult send_file(int file, off_t offset, size_t count) noexcept = 0;
    /// Whether send_file is the kernel's sendfile (zero-copy) rather than read-and-write.
    [[nodiscard]] virtual bool can_sendfile() const noexcept = 0;
    /// Ends the stream in the transport's own way (TLS: close_notify) before the socket's FIN.
    virtual IoStatus shutdown() noexcept = 0;
    /// After a failed handshake: the peer spoke plain text (an HTTP request) instead, so the caller
    /// may answer in plain text on the bare socket before it closes.
    [[nodiscard]] virtual bool plain_text_peer() const noexcept { return false; }
    /// The server the client named in the handshake (TLS SNI), as an index into the config's
    /// servers, or -1 when it named none. Valid once handshake() returned kOk.
    [[nodiscard]] virtual int32_t named_server() const noexcept { return -1; }
    /// Warm (true): keep the transport's own buffers from one request to the next, for a
    /// connection that is busy. Cold (false, the start): give them back now, and whenever they
    /// empty. A plain socket has none.
    virtual void keep_buffers(bool /*warm*/) noexcept {}
};

}  // namespace portico::core

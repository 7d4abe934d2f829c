#pragma once
// TLS over one non-blocking socket, shaped for an edge-triggered loop: every call returns at
// once with bytes moved or with what it waits for. It is the connection's core::Transport for a
// connection accepted on an ssl listener; nothing here knows HTTP.
//
// Edge-triggered rules the caller must keep:
//   - read() until it returns kWantRead (or kWantWrite). OpenSSL decrypts whole records, so it
//     can hold plaintext that epoll will never report again; if the caller stops early (its
//     buffer is full), has_buffered_input() says more is waiting without any socket event.
//   - After kWantWrite from write() or send_file(), call it again with the same bytes (or more)
//     when the socket is writable; OpenSSL has part of them in flight.
//   - Either direction may want the other: a read may need to write (a post-handshake message)
//     and a write may need to read. Wait for the event the status names, not the one you did.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/tls/openssl.hpp"
#include "core/transport.hpp"

namespace portico::core::tls {

// kClosed: the peer sent close_notify, or EOF. kError: a TLS or socket error; error() says which.
using IoStatus = core::IoStatus;
using IoResult = core::IoResult;

class Transport final : public core::Transport {
public:
    /// Serves TLS on `fd` (non-blocking, connected; not owned) with contexts chosen from
    /// `initial` (an SniSelector's initial context, or a single Context's). valid() is false if
    /// OpenSSL could not make the SSL object.
    Transport(SSL_CTX* initial, int fd) noexcept;
    ~Transport() override;
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    [[nodiscard]] bool valid() const noexcept { return ssl_ != nullptr; }

    /// One step of the server handshake: kOk once it is complete.
    IoStatus handshake() noexcept override;
    [[nodiscard]] bool handshake_done() const noexcept;

    /// Up to `size` decrypted bytes.
    IoResult read(void* data, size_t size) noexcept override;
    /// Decrypted bytes, or a record not yet decrypted, that OpenSSL holds without the socket
    /// being readable.
    [[nodiscard]] bool has_buffered_input() const noexcept override;
    /// OpenSSL reads ahead (a whole socket's worth per read, not a record header and then its
    /// body), and a callback on the socket BIO notes whether its last read came back short.
    [[nodiscard]] bool input_drained() const noexcept override;

    /// Encrypts and sends up to `size` bytes (whole records; a partial count is normal).
    IoResult write(const void* data, size_t size) noexcept;
    /// Sends the `count` buffers until all are taken or the socket is full: a partial count
    /// always means the socket pushed back (an edge follows), never that a record was merely
    /// done. Small buffers are gathered into records of up to kChunkSize (the head and a small
    /// body leave as one record); after kWantWrite or a partial count, call again starting with
    /// the first byte not taken.
    IoResult write(const iovec* iov, int count) noexcept override;

    /// Sends up to `count` bytes of `file` from `offset`: by SSL_sendfile when kTLS carries this
    /// connection's writes, else read in chunks of kFileChunk and written by SSL_write. The
    /// result counts file bytes accepted; advance `offset` by them and call again.
    IoResult send_file(int file, off_t offset, size_t count) noexcept override;
    /// True when the kernel encrypts this connection's writes (kTLS), so send_file is sendfile.
    [[nodiscard]] bool kernel_sends() const noexcept;
    [[nodiscard]] bool can_sendfile() const noexcept override { return kernel_sends(); }

    /// Sends close_notify (once; the peer's is not awaited, as HTTP needs none). kOk when it is
    /// on its way, kWantWrite to retry when writable.
    IoStatus shutdown() noexcept override;

    /// The first bytes were a plain-HTTP request, not a ClientHello: the caller may answer with
    /// a plain-text 400 before closing, as nginx does.
    [[nodiscard]] bool plain_http() const noexcept { return plain_http_; }
    [[nodiscard]] bool plain_text_peer() const noexcept override { return plain_http_; }
    /// The server SNI chose (SniSelector::chosen_server), once the handshake is done and the
    /// client sent a name; -1 without one, when Host alone decides.
    [[nodiscard]] int32_t named_server() const noexcept override;
    /// Warm: OpenSSL keeps its read and write buffers (about 17 KiB each) between records. Cold
    /// (SSL_MODE_RELEASE_BUFFERS, the start): they are freed now, unless they hold bytes, and
    /// again each time they empty, which costs a malloc and a free of each per request.
    void keep_buffers(bool warm) noexcept override;
    /// Why the last call returned kError or kClosed, for an info-level log line.
    [[nodiscard]] const std::string& error() const noexcept { return error_; }

    /// The SSL object, for what this class does not wrap (the chosen server, the protocol).
    [[nodiscard]] SSL* ssl() const noexcept { return ssl_.get(); }

    static constexpr size_t kChunkSize = 16 * 1024;  ///< one full TLS record
    /// The fallback reads files in chunks of up to this (4 records): a quarter of the preads of
    /// record-sized chunks, and still within L2 with the records encrypted from it (128 and
    /// 256 KiB measured slower).
    static constexpr size_t kFileChunk = 64 * 1024;

private:
    IoStatus classify(int ret) noexcept;
    IoResult write_some(const void* data, size_t size) noexcept;
    IoResult send_chunk() noexcept;
    static int read_socket(BIO* bio, char* data, int size);
    static BIO_METHOD* read_method() noexcept;

    SslPtr ssl_;
    int fd_;
    bool plain_http_ = false;
    int16_t first_byte_ = -1;  ///< the first byte read from the socket (-1: none yet)
    bool shutdown_sent_ = false;
    bool socket_drained_ = false;  ///< the socket's last read returned less than it asked for
    std::string error_;
    // The fallback's chunk: read from the file, not yet all accepted by SSL_write. Kept until
    // written, since a retried SSL_write must see the same bytes.
    std::unique_ptr<char[]> chunk_;
    size_t chunk_begin_ = 0;
    size_t chunk_end_ = 0;
    off_t chunk_offset_ = 0;  ///< the file offset of chunk_[chunk_begin_]
    size_t chunk_cap_ = 0;
    bool range_read_ = false;  ///< the chunk holds the last bytes the caller asked for
};

}  // namespace portico::core::tls

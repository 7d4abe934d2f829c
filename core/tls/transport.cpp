// SSL_* calls on a non-blocking socket, with OpenSSL's answers sorted into what a loop does next.

#include "core/tls/transport.hpp"

#include <errno.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/tls/sni_selector.hpp"

namespace portico::core::tls {
namespace {

// Empties this thread's OpenSSL error queue before a call whose result SSL_get_error() reads.
// ERR_clear_error() walks all 16 slots of the queue whatever it holds, two or three times per
// request; the queue is nearly always empty, and ERR_peek_error() is what SSL_get_error()
// itself asks, so when it sees nothing there is nothing to clear.
void clear_errors() noexcept {
    if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

// The read side is OpenSSL's socket BIO with its read wrapped (read_socket), the write side the
// socket BIO itself. A BIO callback would see the reads too, but OpenSSL then calls it before
// and after every operation on the BIO, some thirty per request (flushes, kTLS and pending
// queries), which cost about 1,000 instructions per keep-alive request. Both BIOs keep the
// socket BIO's ctrl, so kTLS (BIO_set_ktls, SSL_sendfile) sees a socket BIO as before.
BIO_METHOD* Transport::read_method() noexcept {
    static BIO_METHOD* const method = [] {
        const BIO_METHOD* socket = BIO_s_socket();
        BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "portico socket reader");
        if (m == nullptr || BIO_meth_set_read(m, &Transport::read_socket) != 1 ||
            BIO_meth_set_write(m, BIO_meth_get_write(socket)) != 1 ||
            BIO_meth_set_puts(m, BIO_meth_get_puts(socket)) != 1 ||
            BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(socket)) != 1 ||
            BIO_meth_set_create(m, BIO_meth_get_create(socket)) != 1 ||
            BIO_meth_set_destroy(m, BIO_meth_get_destroy(socket)) != 1) {
            BIO_meth_free(m);
            return static_cast<BIO_METHOD*>(nullptr);
        }
        return m;
    }();
    return method;
}

// Tells from the read's count whether the socket is now empty, so that the caller need not
// read to EAGAIN. A failed read (EAGAIN) also leaves it empty; EOF and errors end the reading.
int Transport::read_socket(BIO* bio, char* data, int size) {
    static const auto socket_read = BIO_meth_get_read(BIO_s_socket());
    const int n = socket_read(bio, data, size);
    auto* self = reinterpret_cast<Transport*>(BIO_get_callback_arg(bio));
    self->socket_drained_ = n < size;
    if (self->first_byte_ < 0 && n > 0) self->first_byte_ = static_cast<unsigned char>(data[0]);
    return n;
}

Transport::Transport(SSL_CTX* initial, int fd) noexcept : fd_(fd) {
    ssl_.reset(SSL_new(initial));
    BIO_METHOD* reader = read_method();
    BIO* rbio = ssl_ && reader ? BIO_new(reader) : nullptr;
    BIO* wbio = rbio ? BIO_new_socket(fd, BIO_NOCLOSE) : nullptr;
    if (!wbio) {
        BIO_free(rbio);
        ssl_.reset();
    }
    if (ssl_) {
        BIO_set_fd(rbio, fd, BIO_NOCLOSE);
        BIO_set_callback_arg(rbio, reinterpret_cast<char*>(this));  // only read_socket reads it
        SSL_set_bio(ssl_.get(), rbio, wbio);                        // the SSL owns both now
        SSL_set_accept_state(ssl_.get());
        // Read ahead: one read() takes what the socket holds (a request's record, or several),
        // instead of a 5-byte record header and then the record.
        SSL_set_read_ahead(ssl_.get(), 1);
    }
    clear_errors();
}

Transport::~Transport() = default;

// Why every call starts with clear_errors(): SSL_get_error() looks at this thread's error
// queue, and an entry left by an earlier connection would turn a WANT_READ into an error.
IoStatus Transport::classify(int ret) noexcept {
    int code = SSL_get_error(ssl_.get(), ret);
    switch (code) {
        case SSL_ERROR_WANT_READ:
            return IoStatus::kWantRead;
        case SSL_ERROR_WANT_WRITE:
            return IoStatus::kWantWrite;
        case SSL_ERROR_ZERO_RETURN:
            error_ = "the peer sent close_notify";
            return IoStatus::kClosed;
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                int saved = errno;
                if (saved == EAGAIN || saved == EINTR) return IoStatus::kWantRead;
                error_ = saved == 0 ? "the peer closed the connection" : std::strerror(saved);
                return saved == 0 || saved == ECONNRESET || saved == EPIPE ? IoStatus::kClosed
                                                                           : IoStatus::kError;
            }
            break;
        default:
            break;
    }
    unsigned long first = ERR_peek_error();
    // A record starts with its content type (0x14-0x18) and an SSLv2 hello with a set high bit:
    // a first byte that is a capital letter is a method, whatever the method (OpenSSL's own
    // SSL_R_HTTP_REQUEST knows only GET, POST, HEAD and PUT). nginx looks at that byte too.
    if ((ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_HTTP_REQUEST) ||
        (!handshake_done() && first_byte_ >= 'A' && first_byte_ <= 'Z')) {
        plain_http_ = true;
    }
    bool eof =
        ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    error_ = take_openssl_errors();
    return eof ? IoStatus::kClosed : IoStatus::kError;
}

// Bad input ends here (garbage, a plain-HTTP request, a client that gives up): the client's
// doing, so logged at info, as nginx logs "peer closed connection in SSL handshake".
IoStatus Transport::handshake() noexcept {
    clear_errors();
    int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) {
        return IoStatus::kOk;
    }
    IoStatus status = classify(ret);
    if (status == IoStatus::kError || status == IoStatus::kClosed) {
        spdlog::info("TLS handshake on fd {} failed: {}", fd_,
                     plain_http_ ? "the client sent a plain HTTP request" : error_.c_str());
    }
    return status;
}

int32_t Transport::named_server() const noexcept {
    if (SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name) == nullptr) {
        return -1;
    }
    return static_cast<int32_t>(SniSelector::chosen_server(ssl_.get()));
}

bool Transport::handshake_done() const noexcept {
    return SSL_is_init_finished(ssl_.get()) == 1;
}

IoResult Transport::read(void* data, size_t size) noexcept {
    clear_errors();
    // What OpenSSL still held from an earlier read of the socket says nothing of the socket now:
    // more may have come since (its edge taken while a response was being written). Only a read
    // of the socket in this call (read_socket) may say it is empty.
    socket_drained_ = false;
    size_t n = 0;
    int ret = SSL_read_ex(ssl_.get(), data, size, &n);
    return ret == 1 ? IoResult{n, IoStatus::kOk} : IoResult{0, classify(ret)};
}

bool Transport::has_buffered_input() const noexcept {
    return SSL_has_pending(ssl_.get()) == 1;
}

bool Transport::input_drained() const noexcept {
    return socket_drained_ && SSL_has_pending(ssl_.get()) == 0;
}

IoResult Transport::write_some(const void* data, size_t size) noexcept {
    clear_errors();
    size_t n = 0;
    int ret = SSL_write_ex(ssl_.get(), data, size, &n);
    return ret == 1 ? IoResult{n, IoStatus::kOk} : IoResult{0, classify(ret)};
}

IoResult Transport::write(const void* data, size_t size) noexcept {
    return size == 0 ? IoResult{} : write_some(data, size);
}

// With partial writes on, SSL_write returns after each record, not when the socket is full; an
// edge-triggered caller that took a short count for "full" would wait for an edge that never
// comes. So this loops until everything is taken or OpenSSL reports the socket full.
//
// Gathering: a buffer of at least a record, or the last one, goes to OpenSSL as it is; smaller
// ones are copied together into a stack buffer first, so a head and a small body make one record
// and one send instead of two. The copy is safe to drop once SSL_write returns: a record it could
// not send is already encrypted in OpenSSL's own buffer, and the retry (SSL_MODE_ACCEPT_MOVING_
// WRITE_BUFFER) only needs a buffer at least as long, which the same bytes gathered again are.
IoResult Transport::write(const iovec* iov, int count) noexcept {
    size_t done = 0;
    int index = 0;
    size_t skip = 0;  // bytes of iov[index] already taken
    while (index < count) {
        const char* base = static_cast<const char*>(iov[index].iov_base) + skip;
        size_t left = iov[index].iov_len - skip;
        if (left == 0) {
            ++index;
            skip = 0;
            continue;
        }
        IoResult r;
        if (left >= kChunkSize || index + 1 == count) {
            r = write_some(base, left);
        } else {
            char gathered[kChunkSize];
            size_t n = 0;
            for (int i = index; i < count && n < kChunkSize; ++i) {
                size_t from = i == index ? skip : 0;
                size_t take = std::min(iov[i].iov_len - from, kChunkSize - n);
                std::memcpy(gathered + n, static_cast<const char*>(iov[i].iov_base) + from, take);
                n += take;
            }
            r = write_some(gathered, n);
        }
        if (r.status != IoStatus::kOk) {
            return done > 0 ? IoResult{done, IoStatus::kOk} : r;
        }
        done += r.bytes;
        skip += r.bytes;
        while (index < count && skip >= iov[index].iov_len) {
            skip -= iov[index].iov_len;
            ++index;
        }
    }
    return {done, IoStatus::kOk};
}

bool Transport::kernel_sends() const noexcept {
#ifdef OPENSSL_NO_KTLS
    return false;
#else
    return BIO_get_ktls_send(SSL_get_wbio(ssl_.get())) != 0;
#endif
}

IoResult Transport::send_file(int file, off_t offset, size_t count) noexcept {
    if (count == 0) {
        return {};
    }
    if (kernel_sends() && chunk_end_ == chunk_begin_) {
        clear_errors();
        ossl_ssize_t n = SSL_sendfile(ssl_.get(), file, offset, count, 0);
        return n >= 0 ? IoResult{static_cast<size_t>(n), IoStatus::kOk}
                      : IoResult{0, classify(static_cast<int>(n))};
    }
    if (chunk_end_ == chunk_begin_ || chunk_offset_ != offset) {
        // A chunk still pending for another offset means the caller moved on; OpenSSL is owed
        // a retry of it, but a caller that skips one has abandoned the response anyway.
        // One buffer for the whole range, not one per chunk, and not zero-filled: perf put 2.3%
        // of a 1 MiB TLS download in clearing a fresh chunk each time.
        if (!chunk_) {
            chunk_cap_ = std::min(count, kFileChunk);
            chunk_ = std::make_unique_for_overwrite<char[]>(chunk_cap_);
        }
        ssize_t got = pread(file, chunk_.get(), std::min(count, chunk_cap_), offset);
        if (got <= 0) {
            error_ = got == 0 ? "the file ended before its length" : std::strerror(errno);
            return {0, IoStatus::kError};
        }
        chunk_begin_ = 0;
        chunk_end_ = static_cast<size_t>(got);
        chunk_offset_ = offset;
        range_read_ = static_cast<size_t>(got) == count;
    }
    return send_chunk();
}

IoResult Transport::send_chunk() noexcept {
    IoResult result = write(chunk_.get() + chunk_begin_, chunk_end_ - chunk_begin_);
    chunk_begin_ += result.bytes;
    chunk_offset_ += static_cast<off_t>(result.bytes);
    if (chunk_begin_ == chunk_end_) {
        if (range_read_) chunk_.reset();  // an idle connection holds no chunk, as it holds no read buffer
        chunk_begin_ = chunk_end_ = 0;
    }
    return result;
}

void Transport::keep_buffers(bool warm) noexcept {
    if (warm) {
        SSL_clear_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
        return;
    }
    SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
    // Refused (0) while a buffer holds bytes: the mode then frees it once it empties.
    SSL_free_buffers(ssl_.get());
}

IoStatus Transport::shutdown() noexcept {
    if (shutdown_sent_ && SSL_want_write(ssl_.get()) == 0) {
        return IoStatus::kOk;
    }
    clear_errors();
    int ret = SSL_shutdown(ssl_.get());
    if (ret >= 0) {
        shutdown_sent_ = true;  // 0: ours is sent, theirs not awaited; 1: both done
        return IoStatus::kOk;
    }
    return classify(ret);
}

}  // namespace portico::core::tls

#pragma once
// The framing of an upstream's response body: Content-Length, chunked (http/chunked.hpp's
// decoder) or until the upstream closes. Hands back where the body's data lies in each read, so
// the proxy can forward it re-framed for its client (a chunked body may go out with a length, or
// a length-framed one chunked) without copying it. No I/O, no allocation.

#include <cstddef>
#include <cstdint>

#include "http/chunked.hpp"
#include "http/parse_result.hpp"
#include "http/proxy/response_parser.hpp"

namespace portico::http::proxy {

class ResponseBody {
public:
    /// Where feed() found body data: data[off, off + len) of the bytes it was given.
    struct Piece {
        size_t consumed = 0;  ///< bytes of the input used, framing included
        size_t off = 0;
        size_t len = 0;  ///< 0: no data in this call (only framing, or nothing)
    };

    /// Ready for the body the head describes (framing and content_length).
    void start(const ResponseHead& head) noexcept;
    void start(BodyFraming framing, int64_t content_length) noexcept;

    /// Consumes the body from data[0, len) up to and including at most one run of data.
    /// kNeedMore: call again with data + piece.consumed (there may be bytes left) or with the next
    /// read; kDone: the body is complete and what follows piece.consumed is not part of it (for
    /// a keep-alive upstream, a protocol error: nothing was asked for); kError: error_reason().
    ParseResult feed(const char* data, size_t len, Piece& piece) noexcept;

    /// The upstream closed its side: kDone for a body that ends with the close, kError (a
    /// truncated body, which the client must see as a broken connection) for any other unfinished.
    ParseResult finish_at_eof() noexcept;

    [[nodiscard]] bool done() const noexcept { return state_ == State::kDone; }
    /// Data bytes seen so far (without chunked framing).
    [[nodiscard]] uint64_t body_bytes() const noexcept { return body_bytes_; }
    [[nodiscard]] const char* error_reason() const noexcept { return error_reason_; }

private:
    enum class State : uint8_t { kLength, kChunked, kUntilClose, kDone, kError };

    ParseResult fail(const char* reason) noexcept;

    State state_ = State::kDone;
    uint64_t left_ = 0;  // kLength: bytes still to come
    uint64_t body_bytes_ = 0;
    ChunkedDecoder chunked_;
    const char* error_reason_ = "";
};

}  // namespace portico::http::proxy

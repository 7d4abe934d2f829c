#pragma once
// Incremental decoder of the chunked transfer coding (RFC 9112 7.1), for a request body. No
// I/O, no allocation, no logging. It checks the framing byte by byte and counts the data bytes;
// it copies none of them, but can point at each run of data for a caller that wants the body.
// Chunk extensions are validated against the grammar and skipped, trailer fields likewise.
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string
//
// Every split of the input gives the same answer: the state between calls is all in here.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/parse_result.hpp"

namespace portico::http {

class ChunkedDecoder {
public:
    /// `max_body`: the most data bytes the body may carry (413 beyond it); 0 means no limit.
    explicit ChunkedDecoder(uint64_t max_body = 0) noexcept : max_body_(max_body) {}

    /// Consumes chunked framing from data[0, len), right after the last call's bytes. Sets
    /// `consumed` to the bytes used. kDone: the body and its trailer section are complete and
    /// `consumed` may be less than len (what follows belongs to the next request); kNeedMore:
    /// all of len was used; kError: error_status() and error_reason() say why. After kDone or
    /// kError every further call answers the same at once.
    /// With `piece`, the call also returns (kNeedMore) right after a run of chunk data, with
    /// `piece` pointing at it inside data and `consumed` ending with it; call again for the rest.
    ParseResult parse(const char* data, size_t len, size_t& consumed, std::string_view* piece = nullptr) noexcept;

    /// Data bytes (without framing) seen so far.
    [[nodiscard]] uint64_t body_bytes() const noexcept { return body_bytes_; }
    /// 400, 413 or 431 after kError.
    [[nodiscard]] uint16_t error_status() const noexcept { return error_status_; }
    /// A short, static reason for logs, after kError.
    [[nodiscard]] const char* error_reason() const noexcept { return error_reason_; }

private:
    enum class State : uint8_t;  // defined in chunked.cpp

    bool on_size_line_byte(uint8_t c) noexcept;
    bool on_size_digit_end(uint8_t c) noexcept;
    bool on_extension_byte(uint8_t c) noexcept;
    bool on_trailer_byte(uint8_t c) noexcept;
    bool fail(uint16_t status, const char* reason) noexcept;  // enters kError, returns false

    uint64_t max_body_;
    uint64_t size_ = 0;  // the current chunk's size, then its data bytes left
    uint64_t body_bytes_ = 0;
    uint32_t line_bytes_ = 0;  // bytes in the chunk-size line, or in the whole trailer section
    uint16_t error_status_ = 0;
    uint8_t size_digits_ = 0;  // hex digits of the current size
    State state_{};
    const char* error_reason_ = "";
};

}  // namespace portico::http

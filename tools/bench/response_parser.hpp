#pragma once
// An incremental HTTP/1.x response parser for the load generator. It keeps no copy of the
// bytes it is fed: it remembers only its state, the status, the few header values that frame
// the body (Content-Length, Transfer-Encoding, Connection) and how much body is left. So the
// caller can feed it any slicing of the stream, one shared read buffer serves every connection,
// and a 1 MiB body costs a counter, not memory.
//
//   status line  ->  header lines  ->  body: none | Content-Length | chunked | until close
//
// Interim 1xx responses are read and skipped; the final response is the one reported.

#include <array>
#include <cstddef>
#include <cstdint>

namespace portico::bench {

class ResponseParser {
public:
    enum class Result : uint8_t { kNeedMore, kDone, kError };

    /// A head (status line + headers) longer than this is malformed: the stream is not HTTP.
    static constexpr uint64_t kMaxHeadBytes = 64 * 1024;

    /// Prepares for the next response. `head_request` says the request was HEAD, whose
    /// response has headers only, whatever Content-Length says.
    void reset(bool head_request) noexcept;

    /// Consumes bytes from data[0, len). Sets `used` to the count consumed: on kDone that is
    /// where this response ended (the rest belongs to the next one); on kNeedMore it is `len`.
    /// After kError the connection cannot be trusted and must be closed.
    Result feed(const char* data, size_t len, size_t& used) noexcept;

    /// The peer closed the stream. Returns true when that completes the response (a body that
    /// had neither a length nor chunked framing), false when the response was cut short.
    bool finish_at_eof() noexcept;

    [[nodiscard]] int status() const noexcept { return status_; }
    /// Bytes of this response consumed so far, head and body (and skipped 1xx responses).
    [[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }
    /// Whether the server may take another request on this connection after this response.
    [[nodiscard]] bool keep_alive() const noexcept;

private:
    // The states, grouped by phase (the parser compares them with <= to find the phase).
    // clang-format off
    enum class State : uint8_t {
        // head
        kVersion, kStatus, kAfterStatus, kReason, kHeaderStart, kName, kValueStart, kValue,
        kHeadEndLf,
        // body with a known length, or until the peer closes
        kBody, kUntilClose,
        // chunked body
        kChunkSize, kChunkExt, kChunkSizeLf, kChunkData, kChunkDataCr, kChunkDataLf,
        kTrailer, kTrailerLine, kTrailerEndLf,
        // final
        kDone, kError,
    };
    // clang-format on
    enum class Header : uint8_t { kOther, kContentLength, kTransferEncoding, kConnection };

    static constexpr size_t kNameCap = 24;   // longer names are never ones we look at
    static constexpr size_t kValueCap = 64;  // enough to find "chunked", "close", "keep-alive"

    size_t parse_head(const char* data, size_t i, size_t len) noexcept;
    size_t parse_header_value(const char* data, size_t i, size_t len) noexcept;
    size_t parse_body(const char* data, size_t i, size_t len) noexcept;
    size_t parse_chunked(const char* data, size_t i, size_t len) noexcept;
    size_t parse_chunk_size(const char* data, size_t i, size_t len) noexcept;
    bool parse_status_prefix(const char* p) noexcept;
    size_t parse_name(const char* data, size_t i, size_t len) noexcept;
    void classify_header(const char* name, size_t n) noexcept;
    void end_header_line() noexcept;
    void end_of_head() noexcept;
    void end_chunk_size() noexcept;
    void start_response() noexcept;
    [[nodiscard]] bool delimited_by_close() const noexcept;

    State state_ = State::kVersion;
    Header header_ = Header::kOther;
    bool head_request_ = false;
    bool http11_ = false;
    bool chunked_ = false;
    bool close_ = false;
    bool keep_alive_ = false;  // "Connection: keep-alive", for HTTP/1.0
    bool has_length_ = false;
    bool digit_seen_ = false;
    bool value_ended_ = false;  // whitespace after a Content-Length number
    uint8_t pos_ = 0;           // index in "HTTP/1." or in the status code
    uint8_t name_len_ = 0;
    uint8_t value_len_ = 0;
    int status_ = 0;
    uint64_t length_ = 0;     // Content-Length, or the current chunk's size
    uint64_t remaining_ = 0;  // body or chunk bytes still to come
    uint64_t bytes_ = 0;
    std::array<char, kNameCap> name_{};
    std::array<char, kValueCap> value_{};
};

}  // namespace portico::bench

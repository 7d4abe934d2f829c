#pragma once
// Incremental HTTP/1.x request parser (RFC 9112). No I/O, no allocation, no logging.
//
// The caller keeps a request head contiguous in one buffer, starting at the request's first
// byte, and calls parse_head() with all of the bytes it has so far each time more arrive.
// The parser saves its state and resumes where it stopped, even mid-token, so every split of
// the input gives the same result. Header values are spans (offset, length) into that buffer.
// Once the head is done, parse_body() consumes the body framing (Content-Length or chunked,
// with trailers) from whatever bytes follow, in as many calls as it takes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/chunked.hpp"
#include "http/parse_result.hpp"

namespace portico::http {

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kOptions, kTrace, kPatch, kConnect };

/// (offset, length) relative to the first byte of the request head.
struct Span {
    uint32_t off = 0;
    uint32_t len = 0;
    [[nodiscard]] bool empty() const noexcept { return len == 0; }
    [[nodiscard]] std::string_view in(const char* head) const noexcept { return {head + off, len}; }
};

struct ParserLimits {
    uint32_t max_target = 8192;      ///< longer request-target -> 414
    uint32_t max_head = 16384;       ///< longer request head (line + fields) -> 431
    uint32_t max_fields = 100;       ///< more header fields -> 431
    uint64_t max_body = 1u << 20;    ///< larger body -> 413 (0 = no limit)
};

/// What the parser learned from a request head. Only the fields a server acts on are kept;
/// all others are validated and skipped (they stay readable in the caller's buffer).
struct Request {
    Method method = Method::kGet;
    uint8_t version_minor = 1;       ///< HTTP/1.<minor>, 0 or 1
    Span method_text;
    Span target;                     ///< as sent, not decoded
    Span request_line;               ///< without CRLF, for the access log
    Span host;                       ///< empty if absent
    Span connection;                 ///< raw Connection value
    Span if_none_match;
    Span if_modified_since;
    Span range;
    Span if_range;
    Span if_match;
    Span if_unmodified_since;
    Span user_agent;
    Span referer;
    int64_t content_length = -1;     ///< -1: no Content-Length
    bool chunked = false;            ///< Transfer-Encoding ends in chunked
    bool keep_alive = true;          ///< from version and Connection (close / keep-alive)
    bool expect_continue = false;    ///< Expect: 100-continue
    bool connection_seen = false;    ///< a Connection field, even an empty one, was sent
    uint16_t field_count = 0;

    [[nodiscard]] bool has_body() const noexcept { return chunked || content_length > 0; }
};

class RequestParser {
public:
    explicit RequestParser(const ParserLimits& limits = {}) noexcept : limits_(limits) {}

    /// Forgets everything; ready for the next request. Cheap.
    void reset() noexcept;

    /// Parses buf[0, len) which holds the head so far (the same prefix as the last call plus
    /// whatever arrived since). kDone: the head ends at head_length(); kNeedMore: all bytes
    /// are consumed, call again with more; kError: error_status() says what to answer.
    /// Pass the same `req` on every call for one request: the parser fills it as it goes and
    /// clears it on the first call after construction or reset().
    ParseResult parse_head(const char* buf, size_t len, Request& req) noexcept;

    /// Consumes body framing from data[0, len), beginning right after the head (or where the
    /// last call stopped). Sets `consumed` to the bytes used. kDone: the body (with chunked
    /// trailers) is complete and `consumed` may be less than len (pipelined bytes follow);
    /// kNeedMore: everything was consumed; kError: see error_status().
    /// For a request without a body it returns kDone with consumed = 0 at once.
    /// With `piece`, the call also stops right after a run of body data and points `piece` at it
    /// (inside data): kNeedMore then means "call again with what follows consumed", and an empty
    /// piece means no data was in these bytes. Without it, the data is skipped.
    ParseResult parse_body(const char* data, size_t len, size_t& consumed,
                           std::string_view* piece = nullptr) noexcept;

    /// Bytes of the head, CRLFCRLF included; valid after parse_head() returned kDone.
    [[nodiscard]] size_t head_length() const noexcept { return head_length_; }
    /// Decoded body bytes seen so far.
    [[nodiscard]] uint64_t body_bytes() const noexcept { return body_bytes_; }
    /// The status to answer with after kError: 400, 413, 414, 417, 431, 501 or 505.
    [[nodiscard]] uint16_t error_status() const noexcept { return error_status_; }
    /// A short, static reason for logs ("bare CR in header field", ...), after kError.
    [[nodiscard]] const char* error_reason() const noexcept { return error_reason_; }

private:
    enum class HeadState : uint8_t;  // defined in parser.cpp
    enum class BodyState : uint8_t;

    ParseResult parse_request_line(const char* buf, uint32_t end, Request& req) noexcept;
    bool whole_request_line(const char* buf, uint32_t end, Request& req) noexcept;
    bool on_request_target(const char* buf, Request& req) noexcept;
    bool check_absolute_form(std::string_view target) noexcept;
    bool on_request_line(const char* buf, Request& req) noexcept;
    ParseResult parse_fields(const char* buf, uint32_t end, Request& req) noexcept;
    bool on_field(const char* buf, Request& req) noexcept;
    bool on_content_length(std::string_view value, Request& req) noexcept;
    bool on_transfer_encoding(std::string_view value) noexcept;
    void on_connection(std::string_view value) noexcept;
    void on_expect(std::string_view value) noexcept;
    ParseResult finish_head(Request& req) noexcept;
    ParseResult parse_chunked(const char* data, size_t len, size_t& consumed, std::string_view* piece) noexcept;
    ParseResult fail(uint16_t status, const char* reason) noexcept;  // enters kError
    bool reject(uint16_t status, const char* reason) noexcept;       // fail(), returns false

    ParserLimits limits_;
    // Head: positions are offsets into the caller's buffer, which keeps its bytes between calls,
    // so a finished token is read back from there instead of being copied.
    uint32_t pos_ = 0;          // next byte of the head to look at
    uint32_t mark_ = 0;         // start of the current field name
    uint32_t name_end_ = 0;     // its colon
    uint32_t value_start_ = 0;  // value without leading OWS
    uint32_t value_end_ = 0;    // ... and without trailing OWS
    uint32_t head_length_ = 0;
    uint16_t flags_ = 0;  // what the fields said so far (see Flag in parser.cpp)
    uint16_t error_status_ = 0;
    HeadState state_{};
    uint8_t empty_lines_ = 0;    // CRLFs seen before the request line
    uint8_t version_index_ = 0;  // bytes of "HTTP/d.d" matched
    // Body: a body call gets only new bytes, so everything it needs lives here.
    BodyState body_state_{};
    uint64_t body_left_ = 0;   // bytes left of a Content-Length body
    uint64_t body_bytes_ = 0;
    ChunkedDecoder chunked_;   // the framing of a chunked body; set up by finish_head()
    // reset() clears the members above one by one (all but limits_ and chunked_).
    const char* error_reason_ = "";
};

}  // namespace portico::http

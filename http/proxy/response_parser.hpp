#pragma once
// Incremental parser of an upstream's response head (RFC 9112 4 and 6), as strict as the request
// parser: a proxy is where request smuggling and response splitting happen, so every doubt about
// the framing is an error (the proxy answers 502 and closes that upstream connection).
//
// Like RequestParser: the caller keeps the head contiguous in one buffer from its first byte and
// calls parse_head() with all the bytes so far each time more arrive; it resumes at any byte, and
// every split of the input gives the same answer. No I/O, no allocation, no logging. The fields
// come out as spans into that buffer, marked end-to-end or hop-by-hop, for the proxy to copy.

#include <array>
#include <cstddef>
#include <cstdint>

#include "http/parse_result.hpp"
#include "http/parser.hpp"

namespace portico::http::proxy {

/// How the response body is delimited (RFC 9112 6.3).
enum class BodyFraming : uint8_t {
    kNone,        ///< no body: a HEAD request, 1xx, 204, 304
    kLength,      ///< Content-Length bytes (possibly 0)
    kChunked,     ///< Transfer-Encoding: chunked
    kUntilClose,  ///< neither: the body ends when the upstream closes (never kept alive)
};

/// One field line of the head.
struct ResponseField {
    Span name;
    Span value;  ///< without leading and trailing OWS
    /// Not to be copied to the client: Connection, Keep-Alive, TE, Trailer, Proxy-*, the fields
    /// Connection names, Upgrade (except in a 101), and the framing (Content-Length,
    /// Transfer-Encoding), which the proxy writes itself for the client's connection.
    bool hop_by_hop = false;
};

inline constexpr uint16_t kMaxResponseFields = 100;

struct ResponseLimits {
    uint32_t max_head = 16384;                 ///< a longer head is an error
    uint16_t max_fields = kMaxResponseFields;  ///< at most kMaxResponseFields
};

struct ResponseHead {
    uint16_t status = 0;
    uint8_t version_minor = 1;  ///< HTTP/1.<minor>: 0, or 1 for 1.1 and above
    Span reason;                ///< may be empty
    BodyFraming framing = BodyFraming::kNone;
    /// The Content-Length field, -1 without one. Kept for HEAD and 304 too, where it describes
    /// the representation rather than framing a body.
    int64_t content_length = -1;
    bool keep_alive = false;            ///< the connection may carry another request after this response
    bool upgrade = false;               ///< 101 Switching Protocols: the connection becomes a tunnel
    bool interim = false;               ///< 1xx other than 101: the final response follows on the wire
    int32_t keep_alive_timeout_s = -1;  ///< "Keep-Alive: timeout=N", -1 without one
    uint16_t field_count = 0;
    std::array<ResponseField, kMaxResponseFields> fields;
};

class ResponseParser {
public:
    explicit ResponseParser(const ResponseLimits& limits = {}) noexcept;

    /// Ready for the next response; `head_request` says the request was HEAD (no body follows,
    /// whatever the fields say). Call it again after an interim 1xx head, with the bytes after it.
    void reset(bool head_request) noexcept;

    /// Parses buf[0, len), the head so far. kDone: the head ends at head_length(); kNeedMore: call
    /// again with more; kError: error_reason() says why. Pass the same `head` on every call.
    ParseResult parse_head(const char* buf, size_t len, ResponseHead& head) noexcept;

    /// Bytes of the head, final CRLF included; valid after kDone.
    [[nodiscard]] size_t head_length() const noexcept { return head_length_; }
    /// A short, static reason for the error log ("both Content-Length and Transfer-Encoding").
    [[nodiscard]] const char* error_reason() const noexcept { return error_reason_; }

private:
    enum class State : uint8_t;  // defined in response_parser.cpp

    ParseResult parse_status_line(const char* buf, uint32_t end, ResponseHead& head) noexcept;
    ParseResult parse_fields(const char* buf, uint32_t end, ResponseHead& head) noexcept;
    bool on_field(const char* buf, ResponseHead& head) noexcept;
    bool on_content_length(std::string_view value, ResponseHead& head) noexcept;
    bool on_transfer_encoding(std::string_view value) noexcept;
    void on_connection(std::string_view value) noexcept;
    static void on_keep_alive(std::string_view value, ResponseHead& head) noexcept;
    void mark_connection_options(const char* buf, ResponseHead& head) const noexcept;
    ParseResult finish_head(const char* buf, ResponseHead& head) noexcept;
    ParseResult fail(const char* reason) noexcept;
    bool reject(const char* reason) noexcept;

    ResponseLimits limits_;
    uint32_t pos_ = 0;
    uint32_t mark_ = 0;
    uint32_t name_end_ = 0;
    uint32_t value_start_ = 0;
    uint32_t value_end_ = 0;
    uint32_t head_length_ = 0;
    uint16_t flags_ = 0;  // see Flag in response_parser.cpp
    State state_{};
    uint8_t index_ = 0;  // bytes of "HTTP/1.d" or of the status code matched
    bool head_request_ = false;
    const char* error_reason_ = "";
};

}  // namespace portico::http::proxy

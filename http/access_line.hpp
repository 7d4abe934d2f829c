#pragma once
// One access log line, in the combined format or as a JSON object. Pure formatting: the
// connection gathers the fields (see PendingLog) and writes the line when its response ends.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "conf/config.hpp"

namespace portico::http {

/// What is known of a request once its head is read, copied out of the input buffer (which the
/// next request reuses) so that the line can be written when the response has ended.
struct PendingLog {
    /// The request line, the Referer and the User-Agent, one after another (see the lengths).
    std::string text;
    uint32_t request_line_len = 0;
    uint32_t referer_len = 0;
    uint16_t status = 0;
    uint8_t addr_len = 0;
    char addr[47] = {};        ///< the client's address (INET6_ADDRSTRLEN)
    uint64_t head_length = 0;  ///< bytes of interim and final head queued before the body
    uint64_t body_length = 0;  ///< the body as planned
    bool pending = false;      ///< a line is waiting for its response to end

    [[nodiscard]] std::string_view request_line() const noexcept { return {text.data(), request_line_len}; }
    [[nodiscard]] std::string_view referer() const noexcept {
        return {text.data() + request_line_len, referer_len};
    }
    [[nodiscard]] std::string_view user_agent() const noexcept {
        size_t off = request_line_len + referer_len;
        return {text.data() + off, text.size() - off};
    }
};

/// The numbers of a line that are known only at its end.
struct LogOutcome {
    uint64_t body_bytes_sent = 0;  ///< body bytes the socket took
    uint64_t bytes_sent = 0;       ///< the same, with the head bytes
    uint64_t request_time_ms = 0;  ///< from the request's first byte to the end of its response
    time_t now = 0;                ///< wall clock, whole seconds
    std::string_view log_time;     ///< `now` as "10/Oct/2000:13:55:36 +0000"
};

/// Appends the line (without its newline) to `out`.
///
/// combined: `addr - - [time] "request line" status body_bytes "referer" "user agent"`, with each
/// quoted field's control bytes, bytes >= 0x7f, quote and backslash written as \xHH, and an empty
/// field as "-" (what nginx writes and log analysers such as goaccess read).
///
/// json: `{"time":"2000-10-10T13:55:36+00:00","remote_addr":...,"method":...,"uri":...,
/// "protocol":...,"status":200,"bytes_sent":...,"body_bytes_sent":...,"request_time":0.012,
/// "referer":...,"user_agent":...}`; strings are escaped by append_json_string().
void format_access_line(conf::AccessLogFormat format, const PendingLog& entry, const LogOutcome& outcome,
                        fmt::memory_buffer& out);

/// Appends `s` as a JSON string, quotes included, that any strict parser reads: '"' and '\\'
/// escaped, control bytes (0x00-0x1f, 0x7f) as \n, \r, \t or \u00XX, well-formed UTF-8 kept as
/// it is, and every byte that is not part of a well-formed UTF-8 sequence (a stray continuation
/// byte, an overlong form, a surrogate, beyond U+10FFFF, a truncated sequence) as \ufffd.
void append_json_string(fmt::memory_buffer& out, std::string_view s);

}  // namespace portico::http

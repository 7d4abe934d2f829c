#pragma once
// Status codes: reason phrases, ready-made status lines and the small HTML error pages.

#include <cstdint>
#include <string_view>

namespace portico::http {

/// Not a code sent: nginx's internal 497. Its status line is "400 Bad Request" and its page says
/// that a plain HTTP request reached a TLS port; logged as 400.
inline constexpr uint16_t kPlainHttpToTls = 497;

/// The status an access log line shows for `code` (kPlainHttpToTls is a 400).
constexpr uint16_t logged_status(uint16_t code) noexcept { return code == kPlainHttpToTls ? 400 : code; }

/// "Not Found" for 404; "Unknown" for codes portico never sends.
std::string_view reason_phrase(uint16_t code) noexcept;
/// "HTTP/1.1 404 Not Found\r\n".
std::string_view status_line(uint16_t code) noexcept;
/// A small HTML page naming the status, for error responses.
std::string_view error_page(uint16_t code) noexcept;

}  // namespace portico::http

#pragma once
// Status codes: reason phrases, ready-made status lines and the small HTML error pages.

#include <cstdint>
#include <string_view>

namespace portico::http {

/// "Not Found" for 404; "Unknown" for codes portico never sends.
std::string_view reason_phrase(uint16_t code) noexcept;
/// "HTTP/1.1 404 Not Found\r\n".
std::string_view status_line(uint16_t code) noexcept;
/// A small HTML page naming the status, for error responses.
std::string_view error_page(uint16_t code) noexcept;

}  // namespace portico::http

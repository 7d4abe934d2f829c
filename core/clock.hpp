#pragma once
// Clocks and the cached Date header.

#include <cstdint>
#include <ctime>
#include <string_view>

namespace portico::core {

/// Monotonic milliseconds (vDSO, no syscall). The loop reads it once per iteration.
uint64_t monotonic_ms() noexcept;

/// Formats `t` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out[0, 29).
/// Returns the 29 characters written.
std::string_view format_http_date(time_t t, char (&out)[30]) noexcept;

/// Parses an HTTP date (IMF-fixdate, and the obsolete RFC 850 and asctime forms).
/// Returns false if `s` is none of them.
bool parse_http_date(std::string_view s, time_t& out) noexcept;

/// The current wall-clock second formatted for responses and logs, refreshed at most once per
/// second. Single-threaded: one per worker.
class DateCache {
public:
    DateCache() noexcept { refresh(); }
    /// Re-reads the wall clock (coarse, vDSO) and reformats only if the second changed.
    void refresh() noexcept;
    /// "Server: portico\r\nDate: <IMF-fixdate>\r\n": the two lines every response starts with.
    [[nodiscard]] std::string_view server_and_date_lines() const noexcept { return {lines_, lines_len_}; }
    /// "10/Oct/2000:13:55:36 +0000", for the combined access log.
    [[nodiscard]] std::string_view log_time() const noexcept { return {log_, 26}; }
    [[nodiscard]] time_t now() const noexcept { return sec_; }

private:
    time_t sec_ = -1;
    char lines_[64] = {};
    uint32_t lines_len_ = 0;
    char log_[32] = {};
};

}  // namespace portico::core

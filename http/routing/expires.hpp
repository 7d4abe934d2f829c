#pragma once
// nginx's `expires`: "30d", "1h30m", "-1", "max", "epoch", "off", turned into the Expires and
// Cache-Control header lines nginx sends for them.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace portico::http::routing {

/// Whether `expires` and `add_headers` apply to a response with `status`: as nginx (without
/// add_header's "always"), the successful, redirect and not-modified codes, never errors.
constexpr bool route_headers_apply(uint16_t status) noexcept {
    switch (status) {
        case 200:
        case 201:
        case 204:
        case 206:
        case 301:
        case 302:
        case 303:
        case 304:
        case 307:
        case 308:
            return true;
        default:
            return false;
    }
}

class Expires {
public:
    enum class Kind : uint8_t { kOff, kEpoch, kMax, kAfter };

    Expires() = default;

    /// Parses the setting. A duration is a number of seconds or numbers with units (y M w d h m s,
    /// M = 30 days, y = 365 days), optionally negative ("-1h": already expired). Up to 10 years.
    static std::optional<Expires> parse(std::string_view text, std::string& problem);

    /// Writes the header lines ("Expires: ...\r\nCache-Control: ...\r\n"; nothing for off) for a
    /// response sent at `now` to out[0, cap). Returns the length, or std::string_view::npos when
    /// they do not fit. No allocation.
    size_t write(time_t now, char* out, size_t cap) const noexcept;

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    [[nodiscard]] int64_t seconds() const noexcept { return seconds_; }
    /// The Cache-Control line, fixed at config time ("Cache-Control: max-age=2592000\r\n").
    [[nodiscard]] const std::string& cache_control() const noexcept { return cache_control_; }

private:
    Kind kind_ = Kind::kOff;
    int64_t seconds_ = 0;
    std::string cache_control_;
};

}  // namespace portico::http::routing

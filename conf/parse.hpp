#pragma once
// Internal to conf/: parsers for the text forms of setting values (durations, sizes, listen
// addresses). They know nothing of libconfig or of where the text came from; the caller turns a
// problem into a ConfigError that names the file, line and setting.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace portico::conf::detail {

/// A parsed value, or the reason there is none (a static string, e.g. "must not be negative").
template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string_view problem;

    static Parsed ok(T v) { return {std::move(v), {}}; }
    static Parsed error(std::string_view why) { return {std::nullopt, why}; }
};

/// What a duration or a size may look like, for "wrong type" and "bad text" messages alike.
inline constexpr std::string_view kDurationExpected =
    "expected a duration: a number of seconds (30, 0.25) or a string with a unit "
    "(\"500ms\", \"30s\", \"5m\", \"1h\")";
inline constexpr std::string_view kSizeExpected =
    "expected a size: a number of bytes (1024) or a string with a unit (\"16k\", \"1m\", \"1g\")";

/// The longest duration any setting accepts. Well under 2^31 ms, so a timeout fits any
/// 32-bit millisecond counter the timer code may choose.
inline constexpr Millis kMaxDuration = std::chrono::hours{24 * 24};

/// A number of seconds, from a config number: rejects negatives, NaN, infinities, values above
/// kMaxDuration, and positive values that would round down to 0 ms.
Parsed<Millis> duration_from_seconds(double seconds);

/// "30" or "0.25" (seconds), or a decimal number with a unit: "500ms", "1.5s", "5m", "1h".
Parsed<Millis> parse_duration(std::string_view text);

/// "512" (bytes) or an integer with a binary unit, either case: "16k", "8K", "1m", "1g".
Parsed<uint64_t> parse_size(std::string_view text);

/// "127.0.0.1:8080", "*:8080" (0.0.0.0), "[::1]:8080", "[::]:80", or a bare port "8080"
/// (0.0.0.0), each optionally followed by " ssl". Hosts must be numeric; the host is stored in its
/// canonical inet_ntop() form.
Parsed<ListenAddress> parse_listen_address(std::string_view text);

/// Renders a byte count the way a config would say it: "64k", "1m", or plain bytes.
std::string format_size(uint64_t bytes);

}  // namespace portico::conf::detail

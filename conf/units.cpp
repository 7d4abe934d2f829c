// Durations and sizes written as text in the config: "500ms", "30s", "16k", "1m".

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "conf/parse.hpp"

namespace portico::conf::detail {
namespace {

constexpr std::string_view kNegative = "must not be negative";

struct DurationUnit {
    std::string_view suffix;
    double millis;
};

// A bare number means seconds, as it does for numbers that are not strings.
constexpr std::array kDurationUnits{
    DurationUnit{"", 1000.0}, DurationUnit{"ms", 1.0},   DurationUnit{"s", 1000.0},
    DurationUnit{"m", 60e3},  DurationUnit{"h", 3600e3},
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

size_t count_digits(std::string_view text, size_t from) {
    size_t i = from;
    while (i < text.size() && is_digit(text[i])) {
        ++i;
    }
    return i - from;
}

// Length of the plain decimal that starts `text` ("1.5" of "1.5ms"): digits and an optional
// fraction. Signs, exponents, hex, "inf" and "nan" are left out on purpose: from_chars would
// accept most of them, and none of them belongs in a config.
size_t decimal_prefix(std::string_view text) {
    size_t n = count_digits(text, 0);
    if (n > 0 && n < text.size() && text[n] == '.') {
        size_t fraction = count_digits(text, n + 1);
        if (fraction > 0) {
            n += 1 + fraction;
        }
    }
    return n;
}

Parsed<Millis> duration_from_millis(double millis) {
    if (std::isnan(millis)) {
        return Parsed<Millis>::error("is not a number");
    }
    if (millis < 0) {
        return Parsed<Millis>::error(kNegative);
    }
    if (millis > static_cast<double>(kMaxDuration.count())) {
        return Parsed<Millis>::error("must be at most 24 days");
    }
    auto rounded = std::llround(millis);
    if (rounded == 0 && millis > 0) {
        // A timer cannot be shorter than a millisecond; silently making it 0 could mean "off".
        return Parsed<Millis>::error("must be at least 1ms, or 0");
    }
    return Parsed<Millis>::ok(Millis{rounded});
}

uint64_t size_unit_scale(std::string_view unit) {
    if (unit.empty()) {
        return 1;
    }
    if (unit.size() != 1) {
        return 0;
    }
    switch (unit[0]) {
        case 'k':
        case 'K': return uint64_t{1} << 10;
        case 'm':
        case 'M': return uint64_t{1} << 20;
        case 'g':
        case 'G': return uint64_t{1} << 30;
        default: return 0;
    }
}

}  // namespace

Parsed<Millis> duration_from_seconds(double seconds) {
    if (std::isnan(seconds)) {
        return Parsed<Millis>::error("is not a number");
    }
    return duration_from_millis(seconds * 1000.0);
}

Parsed<Millis> parse_duration(std::string_view text) {
    if (!text.empty() && text[0] == '-') {
        // Say "negative" only when what follows the sign is otherwise a good duration.
        auto rest = parse_duration(text.substr(1));
        return rest.value ? Parsed<Millis>::error(kNegative) : rest;
    }
    size_t n = decimal_prefix(text);
    if (n == 0) {
        return Parsed<Millis>::error(kDurationExpected);
    }
    double number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + n, number, std::chars_format::fixed);
    if (ec == std::errc::result_out_of_range) {
        return Parsed<Millis>::error("must be at most 24 days");
    }
    if (ec != std::errc{} || end != text.data() + n) {
        return Parsed<Millis>::error(kDurationExpected);
    }
    std::string_view suffix = text.substr(n);
    for (const auto& unit : kDurationUnits) {
        if (unit.suffix == suffix) {
            return duration_from_millis(number * unit.millis);
        }
    }
    return Parsed<Millis>::error(kDurationExpected);
}

Parsed<uint64_t> parse_size(std::string_view text) {
    if (!text.empty() && text[0] == '-') {
        auto rest = parse_size(text.substr(1));
        return rest.value ? Parsed<uint64_t>::error(kNegative) : rest;
    }
    size_t n = count_digits(text, 0);
    uint64_t scale = size_unit_scale(text.substr(n));
    if (n == 0 || scale == 0) {
        return Parsed<uint64_t>::error(kSizeExpected);
    }
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + n, number);
    if (ec == std::errc::result_out_of_range || number > std::numeric_limits<uint64_t>::max() / scale) {
        return Parsed<uint64_t>::error("is too large");
    }
    if (ec != std::errc{} || end != text.data() + n) {
        return Parsed<uint64_t>::error(kSizeExpected);
    }
    return Parsed<uint64_t>::ok(number * scale);
}

std::string format_size(uint64_t bytes) {
    constexpr std::array<std::pair<uint64_t, char>, 3> kUnits{
        {{1u << 30, 'g'}, {1u << 20, 'm'}, {1u << 10, 'k'}}};
    for (auto [scale, letter] : kUnits) {
        if (bytes != 0 && bytes % scale == 0) {
            return std::to_string(bytes / scale) + letter;
        }
    }
    return std::to_string(bytes);
}

}  // namespace portico::conf::detail

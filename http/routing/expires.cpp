#include "http/routing/expires.hpp"

#include <fmt/format.h>

#include <cstring>

#include "core/clock.hpp"

namespace portico::http::routing {
namespace {

constexpr int64_t kMaxSeconds = int64_t{10} * 365 * 24 * 3600;

// nginx's fixed values for the two keywords.
constexpr std::string_view kEpochLines =
    "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\n";
constexpr std::string_view kMaxLines =
    "Expires: Thu, 31 Dec 2037 23:55:55 GMT\r\nCache-Control: max-age=315360000\r\n";

int64_t unit_seconds(char unit) noexcept {
    switch (unit) {
        case 'y':
            return 365 * 24 * 3600;
        case 'M':
            return 30 * 24 * 3600;
        case 'w':
            return 7 * 24 * 3600;
        case 'd':
            return 24 * 3600;
        case 'h':
            return 3600;
        case 'm':
            return 60;
        case 's':
            return 1;
        default:
            return 0;
    }
}

// "30d", "1h30m", "90": seconds, or -1 when the text is not a duration or exceeds kMaxSeconds.
int64_t parse_seconds(std::string_view text) noexcept {
    if (text.empty()) return -1;
    int64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        int64_t number = 0;
        size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && number <= kMaxSeconds) {
            number = number * 10 + (text[i++] - '0');
        }
        if (i == start || number > kMaxSeconds) return -1;
        int64_t unit = 1;
        if (i < text.size()) {
            unit = unit_seconds(text[i++]);
            if (unit == 0) return -1;
        } else if (start != 0) {
            return -1;  // "1h30": a bare number only on its own
        }
        if (number > (kMaxSeconds - total) / unit) return -1;
        total += number * unit;
    }
    return total;
}

}  // namespace

std::optional<Expires> Expires::parse(std::string_view text, std::string& problem) {
    Expires e;
    if (text == "off") return e;
    if (text == "epoch" || text == "max") {
        e.kind_ = text == "epoch" ? Kind::kEpoch : Kind::kMax;
        return e;
    }
    bool negative = !text.empty() && text.front() == '-';
    int64_t seconds = parse_seconds(negative ? text.substr(1) : text);
    if (seconds < 0) {
        problem = fmt::format(
            "'{}' is not \"off\", \"epoch\", \"max\" or a duration like \"30d\", \"12h\", \"1h30m\", \"-1\" "
            "(units y M w d h m s, at most 10 years)",
            text);
        return std::nullopt;
    }
    e.kind_ = Kind::kAfter;
    e.seconds_ = negative ? -seconds : seconds;
    // As nginx: a time in the past means "do not cache", otherwise max-age says how long.
    e.cache_control_ = e.seconds_ < 0 ? std::string("Cache-Control: no-cache\r\n")
                                      : fmt::format("Cache-Control: max-age={}\r\n", e.seconds_);
    return e;
}

size_t Expires::write(time_t now, char* out, size_t cap) const noexcept {
    std::string_view fixed;
    switch (kind_) {
        case Kind::kOff:
            return 0;
        case Kind::kEpoch:
            fixed = kEpochLines;
            break;
        case Kind::kMax:
            fixed = kMaxLines;
            break;
        case Kind::kAfter:
            break;
    }
    if (!fixed.empty()) {
        if (fixed.size() > cap) return std::string_view::npos;
        std::memcpy(out, fixed.data(), fixed.size());
        return fixed.size();
    }
    char date[30];
    std::string_view when = core::format_http_date(now + static_cast<time_t>(seconds_), date);
    constexpr std::string_view kName = "Expires: ";
    size_t total = kName.size() + when.size() + 2 + cache_control_.size();
    if (total > cap) return std::string_view::npos;
    char* p = out;
    std::memcpy(p, kName.data(), kName.size());
    p += kName.size();
    std::memcpy(p, when.data(), when.size());
    p += when.size();
    std::memcpy(p, "\r\n", 2);
    p += 2;
    std::memcpy(p, cache_control_.data(), cache_control_.size());
    return total;
}

}  // namespace portico::http::routing

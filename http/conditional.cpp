#include "http/conditional.hpp"

#include "core/clock.hpp"

namespace portico::http {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool parse_u64(std::string_view s, uint64_t& out) noexcept {
    // 19 digits always fit in 64 bits; a longer number is refused rather than wrapped.
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    out = v;
    return true;
}

}  // namespace

int parse_range(std::string_view value, uint64_t size, uint64_t& first, uint64_t& last) noexcept {
    value = trim(value);
    if (!value.starts_with("bytes=")) return 0;  // an unknown unit: ignore the header
    std::string_view spec = trim(value.substr(6));
    if (spec.find(',') != std::string_view::npos) return 0;  // several ranges: answer with the whole file
    size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return 0;
    std::string_view a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
    uint64_t x = 0, y = 0;
    if (a.empty()) {  // suffix: the last y bytes
        if (!parse_u64(b, y)) return 0;
        if (y == 0 || size == 0) return -1;
        first = y >= size ? 0 : size - y;
        last = size - 1;
        return 1;
    }
    if (!parse_u64(a, x)) return 0;
    if (!b.empty() && (!parse_u64(b, y) || y < x)) return 0;
    if (x >= size) return -1;
    first = x;
    last = b.empty() || y >= size ? size - 1 : y;
    return 1;
}

bool etag_list_matches(std::string_view list, std::string_view etag) noexcept {
    auto weak = [](std::string_view s) { return s.starts_with("W/") ? s.substr(2) : s; };
    list = trim(list);
    if (list == "*") return true;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        if (weak(item) == weak(etag)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

bool preconditions_hold(std::string_view if_match, std::string_view if_unmodified_since, std::string_view etag,
                        time_t mtime) noexcept {
    if (!if_match.empty()) {
        std::string_view list = trim(if_match);
        if (list == "*") return true;
        while (!list.empty()) {
            size_t comma = list.find(',');
            if (trim(list.substr(0, comma)) == etag && !etag.starts_with("W/")) return true;
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
        return false;
    }
    time_t since;
    if (!if_unmodified_since.empty() && core::parse_http_date(trim(if_unmodified_since), since)) return mtime <= since;
    return true;  // no field, or a date that does not parse: ignored, as RFC 9110 13.1.4 says
}

bool if_range_matches(std::string_view value, std::string_view etag, time_t mtime) noexcept {
    std::string_view v = trim(value);
    if (!v.empty() && (v.front() == '"' || v.starts_with("W/"))) return v == etag;
    time_t t;
    return core::parse_http_date(v, t) && t == mtime;
}

}  // namespace portico::http

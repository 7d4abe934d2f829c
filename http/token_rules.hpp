#pragma once
// The byte classes and small text rules of RFC 9110 / 9112 that both of portico's HTTP parsers
// apply: the request parser (http/parser.cpp) and the upstream response parser
// (http/proxy/response_parser.cpp). One copy, so the two directions stay equally strict.
// Everything is constexpr or inline: the tables are computed at compile time and cost nothing to
// share.

#include <array>
#include <cstdint>
#include <string_view>

namespace portico::http::token {

inline constexpr uint8_t kTchar = 1 << 0;       ///< token character
inline constexpr uint8_t kTargetChar = 1 << 1;  ///< visible ASCII, 0x21-0x7E
inline constexpr uint8_t kValueChar = 1 << 2;   ///< VCHAR or obs-text: field value without SP/HTAB
inline constexpr uint8_t kHostChar = 1 << 3;    ///< reg-name: unreserved, pct-encoded, sub-delims

inline constexpr std::array<uint8_t, 256> kByteClass = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0x21; c <= 0x7e; ++c) t[c] |= kTargetChar | kValueChar;
    for (int c = 0x80; c <= 0xff; ++c) t[c] |= kValueChar;
    for (int c = '0'; c <= '9'; ++c) t[c] |= kTchar;
    for (int c = 'a'; c <= 'z'; ++c) t[c] |= kTchar;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kTchar;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<uint8_t>(c)] |= kTchar;
    for (int c = '0'; c <= '9'; ++c) t[c] |= kHostChar;
    for (int c = 'a'; c <= 'z'; ++c) t[c] |= kHostChar;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kHostChar;
    for (char c : std::string_view("-._~%!$&'()*+,;=")) t[static_cast<uint8_t>(c)] |= kHostChar;
    return t;
}();

inline constexpr std::array<uint8_t, 256> kLower = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return t;
}();

constexpr bool has(uint8_t c, uint8_t cls) noexcept {
    return (kByteClass[c] & cls) != 0;
}
constexpr bool is_ows(uint8_t c) noexcept {
    return c == ' ' || c == '\t';
}
constexpr bool is_digit(uint8_t c) noexcept {
    return c >= '0' && c <= '9';
}

/// First index in [from, end) whose byte is not in `cls`, or end.
inline uint32_t skip(const char* buf, uint32_t from, uint32_t end, uint8_t cls) noexcept {
    while (from < end && has(static_cast<uint8_t>(buf[from]), cls)) ++from;
    return from;
}

/// Case-insensitive equality; `lower` must be lowercase already.
constexpr bool iequals(std::string_view s, std::string_view lower) noexcept {
    if (s.size() != lower.size()) return false;
    for (size_t i = 0; i < s.size(); ++i)
        if (kLower[static_cast<uint8_t>(s[i])] != static_cast<uint8_t>(lower[i])) return false;
    return true;
}

/// Case-insensitive equality of two arbitrary strings.
constexpr bool iequals_both(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (kLower[static_cast<uint8_t>(a[i])] != kLower[static_cast<uint8_t>(b[i])]) return false;
    return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view lower) noexcept {
    return s.size() >= lower.size() && iequals(s.substr(0, lower.size()), lower);
}

constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(static_cast<uint8_t>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && is_ows(static_cast<uint8_t>(s.back()))) s.remove_suffix(1);
    return s;
}

/// Calls f(element) for every non-empty element of a comma-separated list (RFC 9110 5.6.1:
/// empty elements are allowed and ignored); stops early and returns false if f does.
template <typename F>
bool for_each_element(std::string_view list, F&& f) {
    while (true) {
        const size_t comma = list.find(',');
        const std::string_view element = trim_ows(list.substr(0, comma));
        if (!element.empty() && !f(element)) return false;
        if (comma == std::string_view::npos) return true;
        list.remove_prefix(comma + 1);
    }
}

}  // namespace portico::http::token

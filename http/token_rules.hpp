#pragma once
// The byte classes and small text rules of RFC 9110 / 9112 that both of portico's HTTP parsers
// apply: the request parser (http/parser.cpp) and the upstream response parser
// (http/proxy/response_parser.cpp). One copy, so the two directions stay equally strict.
// Everything is constexpr or inline: the tables are computed at compile time and cost nothing to
// share.

#include <array>
#include <cstdint>
#include <string_view>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/// skip() for kTargetChar (`high` false: 0x21-0x7E) or kValueChar (`high` true: also 0x80-0xFF),
/// 16 bytes a step where SSE2 is there (every x86-64): the two classes are "visible ASCII", which
/// two signed compares tell apart, so a browser's 100-byte User-Agent costs a few steps instead of
/// a table lookup per byte. The same answer as skip(); the tail shorter than 16 bytes uses it.
template <bool high>
inline uint32_t skip_visible(const char* buf, uint32_t from, uint32_t end) noexcept {
#ifdef __SSE2__
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i del = _mm_set1_epi8(0x7f);
    while (from < end && end - from >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + from));
        // As signed bytes 0x21-0x7F are the ones above 0x20; 0x80-0xFF are negative.
        __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, del), _mm_cmpgt_epi8(v, space));
        if constexpr (high) ok = _mm_or_si128(ok, _mm_cmplt_epi8(v, _mm_setzero_si128()));
        const auto bad = static_cast<uint32_t>(~_mm_movemask_epi8(ok) & 0xffff);
        if (bad) return from + static_cast<uint32_t>(__builtin_ctz(bad));
        from += 16;
    }
#endif
    return skip(buf, from, end, high ? kValueChar : kTargetChar);
}

/// skip() for kTchar. Field names are letters, digits and '-' nearly always: SSE2 finds the
/// first byte outside those three ranges 16 at a time, and the table-driven loop goes on from
/// there for the other token characters ('_', '.', ...) and finds the end. The same answer as
/// skip(buf, from, end, kTchar), which cost a table lookup per byte of every field name.
inline uint32_t skip_token(const char* buf, uint32_t from, uint32_t end) noexcept {
#ifdef __SSE2__
    auto in = [](__m128i v, char lo, char hi) {
        return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    while (from < end && end - from >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + from));
        // Letters: fold case by setting 0x20, which maps only '@'-'Z' onto '`'-'z'; '@' and
        // '[' to '_' land outside 'a'-'z'. Bytes from 0x80 are negative and match nothing.
        const __m128i letter = in(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z');
        const __m128i ok = _mm_or_si128(_mm_or_si128(letter, in(v, '0', '9')), _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
        const auto other = static_cast<uint32_t>(~_mm_movemask_epi8(ok) & 0xffff);
        if (other) {
            from += static_cast<uint32_t>(__builtin_ctz(other));
            break;
        }
        from += 16;
    }
#endif
    return skip(buf, from, end, kTchar);
}

/// First index in [from, end) whose byte cannot be in a field value's text: VCHAR, obs-text, and
/// the SP and HTAB a value may hold between its words (RFC 9110 5.5). 16 bytes a step with SSE2,
/// as skip_visible; a value's end is then this index with the trailing OWS trimmed.
inline uint32_t skip_field_text(const char* buf, uint32_t from, uint32_t end) noexcept {
#ifdef __SSE2__
    const __m128i below_space = _mm_set1_epi8(0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    const __m128i tab = _mm_set1_epi8('\t');
    while (from < end && end - from >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + from));
        // 0x20-0x7E (signed above 0x1F, less DEL), 0x80-0xFF (negative) and HTAB.
        __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, del), _mm_cmpgt_epi8(v, below_space));
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmplt_epi8(v, _mm_setzero_si128()), _mm_cmpeq_epi8(v, tab)));
        const auto bad = static_cast<uint32_t>(~_mm_movemask_epi8(ok) & 0xffff);
        if (bad) return from + static_cast<uint32_t>(__builtin_ctz(bad));
        from += 16;
    }
#endif
    while (from < end && (has(static_cast<uint8_t>(buf[from]), kValueChar) || is_ows(static_cast<uint8_t>(buf[from]))))
        ++from;
    return from;
}

/// A field line found whole: name [from, name_end), value [value_start, value_end) without its
/// OWS, and the index of the line's LF; lf is 0 when it was not found.
struct FieldLine {
    uint32_t name_end = 0;
    uint32_t value_start = 0;
    uint32_t value_end = 0;
    uint32_t lf = 0;
};

/// A field line starting at `from` in one pass, when all of it is in [from, end) and well formed:
/// token ":" OWS value OWS CRLF, the value's inner spaces included. The parsers' byte machines
/// set the same bounds; they take a line this finds incomplete or malformed (lf 0) byte by byte,
/// and name the error.
inline FieldLine scan_field_line(const char* buf, uint32_t from, uint32_t end) noexcept {
    FieldLine line;
    line.name_end = skip_token(buf, from, end);
    if (line.name_end == from || line.name_end >= end || buf[line.name_end] != ':') return {};
    uint32_t i = line.name_end + 1;
    while (i < end && is_ows(static_cast<uint8_t>(buf[i]))) ++i;
    line.value_start = i;
    i = skip_field_text(buf, i, end);
    if (i + 1 >= end || buf[i] != '\r' || buf[i + 1] != '\n') return {};
    line.value_end = i;  // the value ends with its last visible byte
    while (line.value_end > line.value_start && is_ows(static_cast<uint8_t>(buf[line.value_end - 1])))
        --line.value_end;
    line.lf = i + 1;
    return line;
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

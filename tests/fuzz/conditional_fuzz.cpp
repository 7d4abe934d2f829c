// libFuzzer target for etag_list_matches(), preconditions_hold() and if_range_matches().
//
// The input is "<field value>\n<entity-tag>" (no newline: the whole input is the value and the
// tag is a fixed one). Both answers are checked against slow references written from RFC 9110
// 13.1.2 and 13.1.5 as portico reads them (weak comparison for If-None-Match, an exact strong
// tag or an exact date for If-Range), and each answer must not depend on the bytes beyond the
// value (every call sees an exact-size copy).

#include "core/clock.hpp"
#include "http/conditional.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstdint>
#include <string_view>

namespace {

using portico::fuzz::Exact;

void expect(bool ok, const char* what) {
    if (!ok) portico::fuzz::broken("conditional_fuzz", what);
}

std::string_view strip(std::string_view s) {
    const size_t a = s.find_first_not_of(" \t");
    if (a == std::string_view::npos) return {};
    return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

std::string_view opaque(std::string_view tag) {
    return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag;
}

/// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110 8.8.3).
bool well_formed(std::string_view tag) {
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"') return false;
    for (unsigned char c : tag.substr(1, tag.size() - 2))
        if (c != 0x21 && (c < 0x23 || c == 0x7f)) return false;
    return true;
}

bool reference_list(std::string_view list, std::string_view etag) {
    list = strip(list);
    if (list == "*") return true;
    if (list.empty()) return false;
    for (size_t start = 0;;) {
        const size_t comma = list.find(',', start);
        const std::string_view item = strip(list.substr(start, comma - start));
        if (!item.empty() && opaque(item) == opaque(etag)) return true;  // empty elements don't count
        if (comma == std::string_view::npos) return false;
        start = comma + 1;
    }
}

// If-Match: the same list, compared strongly (the whole tag, and never a weak one).
bool reference_strong(std::string_view list, std::string_view etag) {
    list = strip(list);
    if (list == "*") return true;
    if (etag.substr(0, 2) == "W/") return false;
    for (size_t start = 0;;) {
        const size_t comma = list.find(',', start);
        if (strip(list.substr(start, comma - start)) == etag) return true;
        if (comma == std::string_view::npos) return false;
        start = comma + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const size_t nl = in.find('\n');
    const Exact value(in.substr(0, nl));
    // A file's entity-tag is always well formed; without one in the input, a typical one stands in.
    const std::string_view tag = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    const Exact etag(well_formed(tag) ? tag : std::string_view("\"5f3a-264\""));

    const bool listed = portico::http::etag_list_matches(value.view(), etag.view());
    expect(listed == reference_list(value.view(), etag.view()), "If-None-Match differs from the reference");

    // If-Range: a date names the file's second exactly; a tag must be the same strong tag.
    time_t when = 0;
    const bool is_date = portico::core::parse_http_date(strip(value.view()), when);
    // If-Match as the value (and any If-Unmodified-Since beside it is not looked at); then the
    // value as If-Unmodified-Since alone: a date the file is not newer than, or not a date.
    if (!value.view().empty())
        expect(portico::http::preconditions_hold(value.view(), "Sun, 06 Nov 1994 08:49:37 GMT", etag.view(), 1) ==
                   reference_strong(value.view(), etag.view()),
               "If-Match differs from the reference");
    for (time_t mtime : {when, when + 1})
        expect(portico::http::preconditions_hold({}, value.view(), etag.view(), mtime) ==
                   (value.view().empty() || !is_date || mtime <= when),
               "If-Unmodified-Since differs from the reference");
    const std::string_view v = strip(value.view());
    const bool tag_form = !v.empty() && (v.front() == '"' || v.substr(0, 2) == "W/");
    for (time_t mtime : {when, when + 1, time_t{784111777}}) {
        const bool holds = portico::http::if_range_matches(value.view(), etag.view(), mtime);
        const bool want = tag_form ? v == etag.view() : is_date && when == mtime;
        expect(holds == want, "If-Range differs from the reference");
    }
    return 0;
}

// Range, If-Match, If-Unmodified-Since, If-None-Match and If-Range, as pure functions of the field
// value and the validators.

#include "http/conditional.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string_view>

namespace {

using portico::http::etag_list_matches;
using portico::http::if_range_matches;
using portico::http::parse_range;
using portico::http::preconditions_hold;

struct RangeCase {
    std::string_view value;
    uint64_t size;
    int result;
    uint64_t first, last;  // when result == 1
};

}  // namespace

TEST_CASE("parse_range resolves one byte range against the size", "[conditional]") {
    const RangeCase c = GENERATE(values<RangeCase>({
        {"bytes=0-0", 10, 1, 0, 0},
        {"bytes=0-9", 10, 1, 0, 9},
        {"bytes=2-", 10, 1, 2, 9},
        {"bytes=2-100", 10, 1, 2, 9},  // a last byte past the end is cut to the end
        {"bytes=-3", 10, 1, 7, 9},     // the last three bytes
        {"bytes=-30", 10, 1, 0, 9},    // a suffix longer than the file is the whole file
        {" bytes= 1 - 2 ", 10, 1, 1, 2},
        {"bytes=9-9", 10, 1, 9, 9},
        {"bytes=10-", 10, -1, 0, 0},  // starts past the end: 416
        {"bytes=10-20", 10, -1, 0, 0},
        {"bytes=-0", 10, -1, 0, 0},  // an empty suffix cannot be satisfied
        {"bytes=-5", 0, -1, 0, 0},   // nor any suffix of an empty file
        {"bytes=0-", 0, -1, 0, 0},
        {"bytes=5-2", 10, 0, 0, 0},      // last before first: invalid, ignored
        {"bytes=0-1,3-4", 10, 0, 0, 0},  // several ranges: the whole file
        {"items=0-1", 10, 0, 0, 0},      // an unknown unit is ignored
        {"bytes=", 10, 0, 0, 0},
        {"bytes=-", 10, 0, 0, 0},
        {"bytes=a-b", 10, 0, 0, 0},
        {"bytes=1-x", 10, 0, 0, 0},
        {"bytes=+1-2", 10, 0, 0, 0},
        {"bytes=99999999999999999999-", 10, 0, 0, 0},  // 20 digits: refused, never wrapped
        {"bytes=9999999999999999999-", 10, -1, 0, 0},  // 19 digits fit, and lie past the end
        {"Bytes=0-1", 10, 0, 0, 0},                    // the unit is matched as sent
    }));
    CAPTURE(c.value, c.size);
    uint64_t first = 12345, last = 12345;
    REQUIRE(parse_range(c.value, c.size, first, last) == c.result);
    if (c.result == 1) {
        CHECK(first == c.first);
        CHECK(last == c.last);
    } else {
        CHECK(first == 12345);  // untouched unless a range is returned
        CHECK(last == 12345);
    }
}

TEST_CASE("etag_list_matches compares weakly, over a list, and * matches anything", "[conditional]") {
    constexpr std::string_view kTag = "\"5f-1a\"";
    CHECK(etag_list_matches("\"5f-1a\"", kTag));
    CHECK(etag_list_matches("W/\"5f-1a\"", kTag));
    CHECK(etag_list_matches("\"x\", \"5f-1a\"", kTag));
    CHECK(etag_list_matches("\"x\",W/\"5f-1a\" ,\"y\"", kTag));
    CHECK(etag_list_matches(" * ", kTag));
    CHECK(etag_list_matches("\"5f-1a\"", "W/\"5f-1a\""));
    CHECK_FALSE(etag_list_matches("\"5f-1b\"", kTag));
    CHECK_FALSE(etag_list_matches("5f-1a", kTag));  // unquoted is another string
    CHECK_FALSE(etag_list_matches("", kTag));
    CHECK_FALSE(etag_list_matches(",,,", kTag));
    CHECK_FALSE(etag_list_matches("\"x\", *", kTag));  // '*' only alone
}

TEST_CASE("preconditions_hold: If-Match compares strongly, else If-Unmodified-Since", "[conditional]") {
    constexpr std::string_view kTag = "\"5f-1a\"";
    constexpr time_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
    struct Case {
        std::string_view if_match, if_unmodified_since;
        bool holds;
    };
    const Case cases[] = {
        {"", "", true},
        {"\"5f-1a\"", "", true},
        {" \"x\" , \"5f-1a\" ", "", true},
        {"*", "", true},
        {"\"5f-1b\"", "", false},
        {"W/\"5f-1a\"", "", false},  // strong comparison: a weak tag never matches
        {"5f-1a", "", false},
        {"\"x\", *", "", false},  // '*' only alone
        {"", "Sun, 06 Nov 1994 08:49:37 GMT", true},
        {"", "Sun, 06 Nov 1994 08:49:36 GMT", false},
        {"", "Sun, 06 Nov 1994 08:49:38 GMT", true},
        {"", "yesterday", true},                                  // not a date: ignored
        {"\"5f-1a\"", "Sun, 06 Nov 1994 08:49:36 GMT", true},   // If-Match decides
        {"\"5f-1b\"", "Sun, 06 Nov 1994 08:49:38 GMT", false},
    };
    for (const Case& c : cases) {
        INFO("If-Match [" << c.if_match << "] If-Unmodified-Since [" << c.if_unmodified_since << "]");
        CHECK(preconditions_hold(c.if_match, c.if_unmodified_since, kTag, kMtime) == c.holds);
    }
    CHECK_FALSE(preconditions_hold("W/\"5f-1a\"", "", "W/\"5f-1a\"", kMtime));  // nor a weak etag
}

TEST_CASE("if_range_matches takes a strong ETag or the exact date", "[conditional]") {
    constexpr std::string_view kTag = "\"5f-1a\"";
    constexpr time_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
    CHECK(if_range_matches("\"5f-1a\"", kTag, kMtime));
    CHECK(if_range_matches("  \"5f-1a\" ", kTag, kMtime));
    CHECK_FALSE(if_range_matches("W/\"5f-1a\"", kTag, kMtime));  // weak: never for If-Range
    CHECK_FALSE(if_range_matches("\"other\"", kTag, kMtime));
    CHECK(if_range_matches("Sun, 06 Nov 1994 08:49:37 GMT", kTag, kMtime));
    CHECK(if_range_matches("Sunday, 06-Nov-94 08:49:37 GMT", kTag, kMtime));
    CHECK(if_range_matches("Sun Nov  6 08:49:37 1994", kTag, kMtime));
    CHECK_FALSE(if_range_matches("Sun, 06 Nov 1994 08:49:38 GMT", kTag, kMtime));  // not the same second
    CHECK_FALSE(if_range_matches("yesterday", kTag, kMtime));
    CHECK_FALSE(if_range_matches("", kTag, kMtime));
}

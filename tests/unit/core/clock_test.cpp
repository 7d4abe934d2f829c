#include "core/clock.hpp"

#include <catch2/catch.hpp>

#include <string_view>

using portico::core::parse_http_date;

TEST_CASE("parse_http_date reads the three formats RFC 9110 names") {
    time_t t = 0;
    REQUIRE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", t));
    CHECK(t == 784111777);
    REQUIRE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", t));
    CHECK(t == 784111777);
    REQUIRE(parse_http_date("Sun Nov  6 08:49:37 1994", t));
    CHECK(t == 784111777);
    REQUIRE(parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT", t));  // a leap day
    CHECK(t == 1709164800);
}

TEST_CASE("parse_http_date refuses dates that do not exist rather than moving them") {
    time_t t = 0;
    for (std::string_view bad : {
             "Sat, 31 Feb 2026 10:00:00 GMT",  // would become 3 March
             "Fri, 29 Feb 2026 10:00:00 GMT",  // not a leap year
             "Thu, 29 Feb 1900 10:00:00 GMT",  // a century, not a leap year (and before 1970)
             "Mon, 31 Apr 2026 10:00:00 GMT",
             "Mon, 00 Jan 2026 10:00:00 GMT",
             "Mon, 32 Jan 2026 10:00:00 GMT",
             "Mon, 01 Jan 2026 24:00:00 GMT",
             "Mon, 01 Jan 2026 10:60:00 GMT",
             "Wed Feb 31 08:49:37 2027",
             "Tuesday, 31-Jun-26 08:49:37 GMT",
         }) {
        INFO(bad);
        CHECK_FALSE(parse_http_date(bad, t));
    }
    CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT", t));  // 2000 is a leap year
}

// The types list, min_length and the charset rule of issue 9.

#include "http/content/type_rules.hpp"

#include <catch2/catch.hpp>

#include <string>

using portico::http::content::TypeRules;

namespace {

const TypeRules kRules({"text/html", "Text/CSS", "application/javascript", "application/json; charset=x",
                        "image/svg+xml"},
                       256);

struct TypeCase {
    const char* type;
    bool listed;
};

struct CharsetCase {
    const char* type;
    const char* with_utf8;
};

}  // namespace

TEST_CASE("TypeRules: exact types, parameters ignored, case-insensitive", "[content][types]") {
    const auto c = GENERATE(values<TypeCase>({
        {"text/html", true},
        {"text/html; charset=utf-8", true},
        {"TEXT/HTML", true},
        {"  text/css ;q=1", true},
        {"application/json", true},  // the configured parameter is ignored too
        {"image/svg+xml", true},
        {"text/htm", false},
        {"text/html2", false},
        {"text/plain", false},
        {"image/png", false},
        {"", false},
        {"text/*", false},  // no wildcards but "*"
    }));
    CAPTURE(c.type);
    CHECK(kRules.type_matches(c.type) == c.listed);
}

TEST_CASE("TypeRules: min_length and the * type", "[content][types]") {
    CHECK_FALSE(kRules.should_compress("text/html", 255));
    CHECK(kRules.should_compress("text/html", 256));
    CHECK_FALSE(kRules.should_compress("image/png", 1 << 20));
    const TypeRules any({"*"}, 0);
    CHECK(any.should_compress("image/png", 0));
    const TypeRules none({}, 0);
    CHECK_FALSE(none.should_compress("text/html", 1000));
}

TEST_CASE("TypeRules::with_charset", "[content][types]") {
    const auto c = GENERATE(values<CharsetCase>({
        {"text/html", "text/html; charset=utf-8"},
        {"text/plain", "text/plain; charset=utf-8"},
        {"text/css", "text/css; charset=utf-8"},
        {"application/javascript", "application/javascript; charset=utf-8"},
        {"application/json", "application/json; charset=utf-8"},
        {"Application/JSON", "Application/JSON; charset=utf-8"},
        {"text/html; charset=iso-8859-1", "text/html; charset=iso-8859-1"},  // already named
        {"text/html;Charset=\"x\"", "text/html;Charset=\"x\""},
        {"text/html; level=1", "text/html; level=1; charset=utf-8"},
        {"image/svg+xml", "image/svg+xml"},
        {"application/octet-stream", "application/octet-stream"},
        {"application/json-seq", "application/json-seq"},
        {"text/", "text/"},
    }));
    CAPTURE(c.type);
    CHECK(TypeRules::with_charset(c.type, "utf-8") == c.with_utf8);
    CHECK(TypeRules::with_charset(c.type, "") == c.type);  // charset off
}

// Table-driven tests for normalize_path(): decoding, dot-segment removal, and every reason to
// refuse a path.

#include "http/path.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace {

using portico::http::normalize_path;
using namespace std::string_literals;

constexpr size_t kRefused = SIZE_MAX;

struct PathCase {
    std::string input;
    std::string_view expected;  // .data() == nullptr: refused
};

/// Runs normalize_path with room for exactly `cap` bytes and checks that nothing past them is
/// written.
std::string normalize(std::string_view in, size_t cap, size_t& n) {
    std::string out(cap + 8, '#');
    n = normalize_path(in, out.data(), cap);
    REQUIRE(out.substr(cap) == std::string(8, '#'));
    return n == 0 ? std::string() : out.substr(0, n);
}

TEST_CASE("normalize_path decodes and removes dot-segments", "[path]") {
    const std::vector<PathCase> cases = {
        {"/", "/"},
        {"/a/b", "/a/b"},
        {"/a/./b", "/a/b"},
        {"/a/../b", "/b"},
        {"/a/b/..", "/a/"},
        {"/a/..", "/"},
        {"/a/b/.", "/a/b/"},
        {"/.", "/"},
        {"/./", "/"},
        {"/a//b", "/a/b"},
        {"//a///b//", "/a/b/"},
        {"/a/b/", "/a/b/"},
        {"/a/./", "/a/"},
        {"/a/b/../../c", "/c"},
        {"/a/b/c/./../../d/", "/a/d/"},
        {"/%61", "/a"},
        {"/a%20b", "/a b"},
        {"/%7Euser/%7efile", "/~user/~file"},
        {"/a/%2e%2e/b", "/b"},
        {"/a/%2E/b", "/a/b"},
        {"/a/.%2e/b", "/b"},
        {"/a/...", "/a/..."},
        {"/a/..b/.c", "/a/..b/.c"},
        {"/caf%C3%A9", "/caf\xc3\xa9"},
        {"/%25", "/%"},
        {"/a?b", "/a?b"},
    };
    for (const PathCase& c : cases) {
        CAPTURE(c.input);
        size_t n = 0;
        const std::string out = normalize(c.input, c.input.size(), n);
        CHECK(out == c.expected);
        CHECK(n == c.expected.size());
    }
}

TEST_CASE("normalize_path refuses what must not reach the file system", "[path]") {
    const std::vector<std::string> refused = {
        "",           "a/b",        "%2f",     "/..",       "/../", "/../a",   "/a/../..",
        "/a/../../b", "/%2e%2e/x",  "/%2E%2E", "/.%2e/",    "/%2f", "/%2F",    "/a%2fb",
        "/%00",       "/a%00.html", "/%5c",    "/%5C..%5c", "/%zz", "/%g1",    "/%4",
        "/%",         "/a%2",       "/%0a",    "/%1f",      "/%7f", "/a\x01"s, "/a\0b"s,
    };
    for (const std::string& in : refused) {
        CAPTURE(in);
        size_t n = 1;
        normalize(in, in.size() + 4, n);
        CHECK(n == 0);
    }
}

TEST_CASE("normalize_path refuses a result that does not fit", "[path]") {
    struct CapCase {
        std::string_view input;
        size_t cap;
        size_t expected;  // length, or kRefused
    };
    const CapCase cases[] = {
        {"/abc", 4, 4},
        {"/abc", 3, kRefused},
        {"/abc/", 5, 5},
        {"/abc/", 4, kRefused},
        {"/", 1, 1},
        {"/", 0, kRefused},
        {"/%61%62", 3, 3},    // decoded it fits, encoded it would not
        {"/a/b/../c", 4, 4},  // "." and ".." are never written, separators only when needed
        {"/a/./b/", 5, 5},
        {"/a/./b/", 4, kRefused},
        {"/a/b/..", 4, 3},
        // A segment that a later ".." pops was written on the way, so it must fit too.
        {"/abc/../d", 3, kRefused},
        {"/abc/../d", 4, 2},
    };
    for (const CapCase& c : cases) {
        CAPTURE(c.input, c.cap);
        size_t n = 0;
        normalize(c.input, c.cap, n);
        CHECK(n == (c.expected == kRefused ? 0 : c.expected));
    }
}

}  // namespace

TEST_CASE("normalize_path notes a segment that starts with '.', for the dotfile rule", "[path]") {
    struct Case {
        std::string_view input;
        bool dot_segment;
    };
    const Case cases[] = {
        {"/index.html", false},    {"/a/b.c/d", false},       {"/.git/config", true},
        {"/a/.env", true},         {"/%2egit/x", true},       {"/.well-known/x", true},
        {"/a/./b", false},         {"/a/../b", false},        {"/a.", false},
        {"/.x/../small.txt", true},  // a hint: the segment was written, then popped
        {"/...", true},            {"/", false},
    };
    for (const Case& k : cases) {
        INFO(k.input);
        char out[64];
        bool dot = false;
        REQUIRE(normalize_path(k.input, out, sizeof out, dot) != 0);
        CHECK(dot == k.dot_segment);
    }
}

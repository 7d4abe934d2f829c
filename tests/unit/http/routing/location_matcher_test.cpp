// The matcher against the examples of nginx's `location` documentation
// (nginx.org/en/docs/http/ngx_http_core_module.html#location) and edge cases of our own.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "http/routing/location_matcher.hpp"

using namespace portico::http::routing;

namespace {

constexpr uint32_t kNone = LocationMatcher::Result::kNone;

// Builds a matcher whose location ids are the indexes of `matches`.
LocationMatcher build(const std::vector<std::string>& matches) {
    LocationMatcher m;
    for (uint32_t i = 0; i < matches.size(); ++i) {
        std::string problem;
        auto spec = MatchSpec::parse(matches[i], problem);
        REQUIRE(spec);
        REQUIRE(m.add(*spec, i, problem));
    }
    return m;
}

struct Case {
    const char* path;
    uint32_t expected;
};

void check(const std::vector<std::string>& matches, const std::vector<Case>& cases) {
    LocationMatcher m = build(matches);
    MatchData md;
    for (const Case& c : cases) {
        INFO("path " << c.path);
        auto r = m.match(c.path, md);
        CHECK_FALSE(r.error);
        CHECK(r.id == c.expected);
    }
}

}  // namespace

TEST_CASE("nginx's documented example: configurations A to E", "[routing][matcher]") {
    // A: = /   B: /   C: /documents/   D: ^~ /images/   E: ~* \.(gif|jpg|jpeg)$
    std::vector<std::string> locations{"= /", "/", "/documents/", "^~ /images/", "~* \\.(gif|jpg|jpeg)$"};
    check(locations, {
                         {"/", 0},                         // A
                         {"/index.html", 1},               // B
                         {"/documents/document.html", 2},  // C
                         {"/images/1.gif", 3},             // D: ^~ stops the regex search
                         {"/documents/1.jpg", 4},          // E: a regex beats the longest prefix
                         {"/documents/1.JPG", 4},          // ~* ignores case
                     });
}

TEST_CASE("the file order of the locations does not matter except among regexes", "[routing][matcher]") {
    std::vector<std::string> locations{"~* \\.(gif|jpg|jpeg)$", "^~ /images/", "/documents/", "/", "= /"};
    check(locations, {{"/", 4},
                      {"/index.html", 3},
                      {"/documents/document.html", 2},
                      {"/images/1.gif", 1},
                      {"/documents/1.jpg", 0}});
}

TEST_CASE("regexes are tried in file order and the first match wins", "[routing][matcher]") {
    check({"~ \\.php$", "~ ^/app/.*\\.php$", "/"}, {{"/app/x.php", 0}, {"/app/x.html", 2}});
    check({"~ ^/app/.*\\.php$", "~ \\.php$", "/"}, {{"/app/x.php", 0}, {"/y.php", 1}});
}

TEST_CASE("the longest prefix wins, whichever order they were written in", "[routing][matcher]") {
    check({"/a/", "/a/b/c/", "/a/b/", "/"},
          {{"/a/b/c/d", 1}, {"/a/b/x", 2}, {"/a/x", 0}, {"/b", 3}, {"/a", 3}});
    // A ^~ prefix that is not the longest does not stop the regexes.
    check({"^~ /a/", "/a/b/", "~ \\.txt$"}, {{"/a/b/x.txt", 2}, {"/a/x.txt", 0}, {"/a/b/x", 1}});
}

TEST_CASE("an exact match wins only on the whole path", "[routing][matcher]") {
    check({"= /healthz", "/health", "~ z$"},
          {{"/healthz", 0}, {"/healthz/", 1}, {"/healthzz", 2}, {"/healthy", 1}});
    // A prefix equal to the whole path is still a prefix: the regexes are tried first.
    check({"/x.php", "~ \\.php$"}, {{"/x.php", 1}});
}

TEST_CASE("no location matches: the server's own settings apply", "[routing][matcher]") {
    check({"/api/", "= /x", "~ ^/y"}, {{"/", kNone}, {"/apix", kNone}, {"/api", kNone}, {"/z", kNone}});
    check({}, {{"/", kNone}});
    CHECK(build({}).empty());
}

TEST_CASE("prefixes are case-sensitive and ~ is case-sensitive", "[routing][matcher]") {
    check({"/Docs/", "~ \\.PDF$"}, {{"/docs/a", kNone}, {"/Docs/a", 0}, {"/a.pdf", kNone}, {"/a.PDF", 1}});
}

TEST_CASE("captures of the regex that matched", "[routing][matcher]") {
    LocationMatcher m = build({"/", "~ ^/users/(\\d+)/(\\w+)?$"});
    MatchData md;
    auto r = m.match("/users/42/posts", md);
    REQUIRE(r.id == 1);
    CHECK(r.captures.group(0) == "/users/42/posts");
    CHECK(r.captures.group(1) == "42");
    CHECK(r.captures.group(2) == "posts");
    CHECK(r.captures.group(3).empty());
    r = m.match("/users/7/", md);
    REQUIRE(r.id == 1);
    CHECK(r.captures.group(1) == "7");
    CHECK(r.captures.group(2).empty());  // the optional group did not take part
    r = m.match("/other", md);
    CHECK(r.id == 0);
    CHECK(r.captures.count == 0);  // a prefix location has no captures
}

TEST_CASE("more groups than $9: the first nine are usable", "[routing][matcher]") {
    LocationMatcher m = build({"~ ^/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)$"});
    MatchData md;
    auto r = m.match("/abcdefghijk", md);
    REQUIRE(r.id == 0);
    CHECK(r.captures.group(9) == "i");
    CHECK(r.captures.group(10).empty());
}

TEST_CASE("match texts in nginx's forms", "[routing][matcher]") {
    struct Form {
        const char* text;
        MatchKind kind;
        const char* rest;
    };
    for (const Form& f :
         {Form{"= /x", MatchKind::kExact, "/x"}, Form{"=/x", MatchKind::kExact, "/x"},
          Form{"/p/", MatchKind::kPrefix, "/p/"}, Form{"^~ /p/", MatchKind::kPrefixNoRegex, "/p/"},
          Form{"~ \\.php$", MatchKind::kRegex, "\\.php$"},
          Form{"~* \\.JPG$", MatchKind::kRegexCaseless, "\\.JPG$"},
          Form{"~*\\.jpg$", MatchKind::kRegexCaseless, "\\.jpg$"}}) {
        INFO(f.text);
        std::string problem;
        auto spec = MatchSpec::parse(f.text, problem);
        REQUIRE(spec);
        CHECK(spec->kind == f.kind);
        CHECK(spec->text == f.rest);
    }
    for (const char* bad : {"", "=", "~ ", "~*", "^~", "relative/", "= relative", "@fallback", "^~ x"}) {
        INFO(bad);
        std::string problem;
        CHECK_FALSE(MatchSpec::parse(bad, problem));
        CHECK_FALSE(problem.empty());
    }
}

TEST_CASE("duplicate exact or prefix texts and bad regexes are refused", "[routing][matcher]") {
    auto refuse = [](std::vector<std::string> matches, const char* needle) {
        LocationMatcher m;
        std::string problem;
        bool ok = true;
        for (uint32_t i = 0; i < matches.size() && ok; ++i) {
            auto spec = MatchSpec::parse(matches[i], problem);
            REQUIRE(spec);
            ok = m.add(*spec, i, problem);
        }
        CHECK_FALSE(ok);
        CHECK_THAT(problem, Catch::Matchers::Contains(needle));
    };
    refuse({"= /a", "= /a"}, "exact match '/a' is already used");
    refuse({"/a/", "^~ /a/"}, "prefix '/a/' is already used");
    refuse({"~ (unclosed"}, "regex '(unclosed' does not compile: missing closing parenthesis");
    refuse({"~* [z-a]"}, "does not compile");
    // An exact and a prefix location may share their text: they answer different paths.
    build({"= /a", "/a"});
    // So may two regexes: the first simply wins.
    build({"~ x", "~ x"});
}

TEST_CASE("a regex runs with the JIT where PCRE2 has it", "[routing][matcher]") {
    std::string problem;
    auto re = Regex::compile("^/a(.*)$", false, problem);
    REQUIRE(re);
    CHECK(re->groups() == 1);
    MatchData md;
    Captures c;
    CHECK(re->match("/abc", md, c) == 1);
    CHECK(c.group(1) == "bc");
    CHECK(re->match("/b", md, c) == 0);
    // Debian's libpcre2 is built with JIT on amd64; the fallback would only be slower.
    WARN("JIT: " << (re->jit() ? "on" : "off"));
}

TEST_CASE("a catastrophic regex stops at the match limit and reports an error", "[routing][matcher]") {
    // Exponential backtracking on a path of a's that ends in '!'. Sixteen a's take more than
    // kMatchLimit steps but fewer than PCRE2's default limit of ten million, so this fails only
    // with our limit in force: the match gives up and the caller answers 500. (Each further 'a'
    // doubles the work; from about 18 even the default limit trips.)
    LocationMatcher m = build({"~ ^/(\\w+\\w?)*$", "/"});
    MatchData md;
    std::string path = "/" + std::string(16, 'a') + "!";
    auto r = m.match(path, md);
    CHECK(r.error);
    CHECK(r.id == LocationMatcher::Result::kNone);
    // An ordinary path still matches with the same pattern.
    r = m.match("/abc", md);
    CHECK_FALSE(r.error);
    CHECK(r.id == 0);
}

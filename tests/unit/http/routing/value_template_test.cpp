// Variables in setting values, and nginx's `return`.

#include <catch2/catch.hpp>

#include <string>

#include "http/routing/location_matcher.hpp"
#include "http/routing/return_action.hpp"
#include "http/routing/value_template.hpp"

using namespace portico::http::routing;
using Catch::Matchers::Contains;

namespace {

RequestVars sample_vars() {
    RequestVars v;
    v.scheme = "http";
    v.host = "example.test";
    v.request_uri = "/old/a%20b?x=1";
    v.uri = "/old/a b";
    v.args = "x=1";
    v.remote_addr = "::1";
    v.server_port = "8080";
    return v;
}

std::string expand(std::string_view text, const RequestVars& vars) {
    std::string problem;
    auto t = ValueTemplate::compile(text, problem);
    INFO(problem);
    REQUIRE(t);
    char out[256];
    size_t n = t->expand(vars, out, sizeof out);
    REQUIRE(n != std::string_view::npos);
    return std::string(out, n);
}

std::string problem_of(std::string_view text) {
    std::string problem;
    CHECK_FALSE(ValueTemplate::compile(text, problem));
    return problem;
}

}  // namespace

TEST_CASE("every variable expands", "[routing][template]") {
    RequestVars v = sample_vars();
    struct Case {
        const char* text;
        const char* expected;
    };
    for (const Case& c :
         {Case{"$scheme://$host:$server_port$request_uri", "http://example.test:8080/old/a%20b?x=1"},
          Case{"$uri|$args|$remote_addr", "/old/a b|x=1|::1"}, Case{"${host}suffix", "example.testsuffix"},
          Case{"plain text", "plain text"}, Case{"", ""}, Case{"$host$host", "example.testexample.test"},
          Case{"a-$args-", "a-x=1-"}}) {
        INFO(c.text);
        CHECK(expand(c.text, v) == c.expected);
    }
}

TEST_CASE("captures $1..$9 come from the regex location that matched", "[routing][template]") {
    LocationMatcher m;
    std::string problem;
    auto spec = MatchSpec::parse("~ ^/u/(\\w+)/(\\d+)$", problem);
    REQUIRE(spec);
    REQUIRE(m.add(*spec, 0, problem));
    MatchData md;
    RequestVars v = sample_vars();
    v.captures = m.match("/u/ann/42", md).captures;
    CHECK(expand("/users/$1?id=$2", v) == "/users/ann?id=42");
    CHECK(expand("$10", v) == "ann0");       // one digit, as nginx reads it
    CHECK(expand("[$3][$9]", v) == "[][]");  // groups that do not exist are empty
    v.captures = {};
    CHECK(expand("[$1]", v) == "[]");  // no regex matched
}

TEST_CASE("an unknown variable or a bare '$' is a config error", "[routing][template]") {
    CHECK_THAT(problem_of("https://$hots/"), Contains("unknown variable '$hots'"));
    CHECK_THAT(problem_of("/x/$0"), Contains("unknown variable '$0'"));
    CHECK_THAT(problem_of("cost: 5$"), Contains("'$' at offset 7"));
    CHECK_THAT(problem_of("${host"), Contains("not followed by a variable name"));
    CHECK_THAT(problem_of("${}"), Contains("not followed by a variable name"));
    CHECK_THAT(problem_of("$http_user_agent"), Contains("unknown variable '$http_user_agent'"));
}

TEST_CASE("expansion never writes past the buffer", "[routing][template]") {
    std::string problem;
    auto t = ValueTemplate::compile("https://$host$request_uri", problem);
    REQUIRE(t);
    RequestVars v = sample_vars();
    char out[64];
    size_t exact = t->expand(v, out, sizeof out);
    REQUIRE(exact == std::string("https://example.test/old/a%20b?x=1").size());
    CHECK(t->expand(v, out, exact) == exact);
    CHECK(t->expand(v, out, exact - 1) == std::string_view::npos);
    CHECK(t->expand(v, out, 0) == std::string_view::npos);
}

TEST_CASE("literal templates are recognised", "[routing][template]") {
    std::string problem;
    CHECK(ValueTemplate::compile("/index.html", problem)->is_literal());
    CHECK(ValueTemplate::compile("", problem)->is_literal());
    CHECK_FALSE(ValueTemplate::compile("/$uri", problem)->is_literal());
}

TEST_CASE("return: CODE URL for redirects, CODE text otherwise", "[routing][return]") {
    std::string problem;
    auto r = ReturnAction::parse("301 https://$host$request_uri", problem);
    REQUIRE(r);
    CHECK(r->code == 301);
    CHECK(r->redirect);
    CHECK(expand(r->value.text(), sample_vars()) == "https://example.test/old/a%20b?x=1");
    for (int code : {301, 302, 303, 307, 308}) {
        auto redirect = ReturnAction::parse(std::to_string(code) + " /elsewhere", problem);
        REQUIRE(redirect);
        CHECK(redirect->redirect);
    }
    r = ReturnAction::parse("200 ok", problem);
    REQUIRE(r);
    CHECK((r->code == 200 && !r->redirect && r->value.text() == "ok"));
    r = ReturnAction::parse("404", problem);
    REQUIRE(r);
    CHECK((r->code == 404 && r->value.text().empty()));
    r = ReturnAction::parse("403 go away, $remote_addr", problem);
    REQUIRE(r);
    CHECK(r->value.text() == "go away, $remote_addr");
    r = ReturnAction::parse("300 not a redirect here", problem);  // only the five codes take a URL
    REQUIRE(r);
    CHECK_FALSE(r->redirect);
}

TEST_CASE("return without a valid code is refused", "[routing][return]") {
    auto refused = [](const char* text) {
        std::string problem;
        INFO(text);
        CHECK_FALSE(ReturnAction::parse(text, problem));
        return problem;
    };
    CHECK_THAT(refused("https://example.test/"), Contains("does not start with a three-digit status code"));
    CHECK_THAT(refused(""), Contains("three-digit"));
    CHECK_THAT(refused("20 ok"), Contains("three-digit"));
    CHECK_THAT(refused("2000 ok"), Contains("three-digit"));
    CHECK_THAT(refused("200ok"), Contains("three-digit"));
    CHECK_THAT(refused("199 x"), Contains("not between 200 and 599"));
    CHECK_THAT(refused("600 x"), Contains("not between 200 and 599"));
    CHECK_THAT(refused("301"), Contains("a 301 redirect needs a URL"));
    CHECK_THAT(refused("308   "), Contains("needs a URL"));
    CHECK_THAT(refused("302 https://$hots/"), Contains("unknown variable '$hots'"));
}

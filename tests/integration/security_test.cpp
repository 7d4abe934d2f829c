// Path traversal: however a request spells its way out of the root, the secret next to the root
// is never served. Each attempt also asserts which refusal it gets, so a change in how the server
// refuses is a visible decision, not an accident.

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

struct Attempt {
    const char* target;
    int status;
    const char* why;
};

// 400: the path cannot be normalised inside the root (it climbs above it, or holds an encoded
// separator or a control byte). 403: it resolves to a symlink that leads out of the root.
const Attempt kAttempts[] = {
    {"/../secret.txt", 400, "climbs above the root"},
    {"/%2e%2e/secret.txt", 400, "encoded dots climb above the root"},
    {"/%2E%2E/secret.txt", 400, "upper-case encoded dots"},
    {"/.%2e/secret.txt", 400, "mixed dots"},
    {"/sub/../../secret.txt", 400, "climbs above the root through a directory"},
    {"/sub/%2e%2e/%2e%2e/secret.txt", 400, "encoded, through a directory"},
    {"/%2e%2e%2fsecret.txt", 400, "encoded slash"},
    {"/..%2fsecret.txt", 400, "dots and an encoded slash"},
    {"/sub/..%2f..%2fsecret.txt", 400, "encoded slashes through a directory"},
    {"/sub/%2f", 400, "encoded slash alone"},
    {"/%5c..%5csecret.txt", 400, "encoded backslashes"},
    {"/%00", 400, "encoded NUL"},
    {"/index.html%00.txt", 400, "encoded NUL inside a name"},
    {"/%2", 400, "truncated escape"},
    {"/%zz", 400, "invalid escape"},
    {"/escape", 403, "relative symlink out of the root"},
    {"/escape-abs", 403, "absolute symlink out of the root"},
    {"http://a.test/../secret.txt", 400, "absolute-form target climbs above the root"},
    {"http://a.test/%2e%2e/secret.txt", 400, "absolute-form, encoded dots"},
};

}  // namespace

TEST_CASE("traversal attempts never reach a file outside the root", "[security]") {
    SiteServer s;
    Client c(s.server.port());
    for (const Attempt& a : kAttempts) {
        INFO(a.target << " (" << a.why << ")");
        c.send_raw(get(a.target));
        Response r = c.read_response();
        CHECK(r.status == a.status);
        CHECK(r.raw.find("TOP-SECRET") == std::string::npos);
        CHECK(r.header("Content-Type") == "text/html");
        if (r.has("Connection")) {
            // An answer that ends the connection: carry on with a fresh one.
            CHECK(r.header("Connection") == "close");
            c.expect_closed();
            c = Client(s.server.port());
        }
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("dot segments that stay inside the root are resolved", "[security]") {
    SiteServer s;
    Client c(s.server.port());
    for (const char* target : {"/sub/../index.html", "/./index.html", "/sub/./../small.txt", "//index.html",
                               "/%69ndex.html", "/sub/%2e%2e/index.html"}) {
        INFO(target);
        c.send_raw(get(target));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK((r.body == s.site.index_html || r.body == s.site.small));
    }
    c.close();
    s.server.stop_and_check();
}

// The trailing-slash redirect: its Location comes from the normalised path, percent-encoded, so
// however a request spells its way to a directory, the redirect stays on the site. A browser
// reads "//host/..." and "/\host/..." as another host, so neither may ever start a Location.

#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

// A path-absolute reference (RFC 3986 4.2) made only of bytes that need no further encoding:
// no scheme, no authority, no backslash a browser could turn into a slash.
bool stays_on_site(const std::string& location) {
    if (location.size() < 2 || location[0] != '/' || location[1] == '/') return false;
    for (char c : location) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '\\' || c == '"' || c == '<' || c == '>') return false;
    }
    return true;
}

struct Case {
    const char* target;
    const char* location;  // nullptr: refused with 400, no redirect at all
    const char* why;
};

const Case kCases[] = {
    {"//evil.example/../img", "/img/", "the report's request: an authority-looking path"},
    {"//evil.example/..//img", "/img/", "repeated slashes after the climb"},
    {"///evil.example/../img", "/img/", "three slashes"},
    {"/.//evil.example/../img", "/img/", "a dot segment in front"},
    {"/%2e//evil.example/%2e%2e/img", "/img/", "encoded dot segments"},
    {"/\\evil.example/../img", "/img/", "a raw backslash, which browsers read as a slash"},
    {"/\\evil.example", "/%5Cevil.example/", "a directory whose name starts with a backslash"},
    {"/img#//evil.example", "/img/", "a fragment is not part of the path"},
    {"//evil.example/../img?next=//evil.example", "/img/?next=//evil.example", "the query is kept"},
    {"/img?q=\"<x>\\^`{|}", "/img/?q=%22%3Cx%3E%5C%5E%60%7B%7C%7D", "unsafe query bytes are encoded"},
    {"/img?a=%41&b=%zz&c=%", "/img/?a=%41&b=%25zz&c=%25", "escapes kept, stray percent signs encoded"},
    {"/x%3Fy", "/x%3Fy/", "a '?' inside a name stays part of the path"},
    {"/a%20dir", "/a%20dir/", "a space is encoded"},
    {"/pct%2525", "/pct%2525/", "a '%' inside a name is encoded"},
    {"/caf%C3%A9", "/caf%C3%A9/", "non-ASCII bytes are encoded"},
    {"http://a.test//evil.example/../img", "/img/", "absolute-form target"},
    {"http://evil.example//evil.example/../img", "/img/", "absolute-form naming another host"},
    {"HTTP://a.test/./img", "/img/", "absolute-form, upper-case scheme, dot segment"},
    {"/%2F%2Fevil.example/..", nullptr, "encoded slashes are refused"},
    {"/%2f%2fevil.example/../img", nullptr, "lower-case encoded slashes are refused"},
    {"/%5C%5Cevil.example/../img", nullptr, "encoded backslashes are refused"},
};

}  // namespace

TEST_CASE("the trailing-slash redirect never leaves the site", "[static][redirect][security]") {
    SiteServer s;
    namespace fs = std::filesystem;
    // Each directory has its own index, so following a Location proves where it leads.
    for (const char* dir : {"img", "\\evil.example", "x?y", "a dir", "pct%25", "caf\xC3\xA9"}) {
        fs::create_directories(s.site.www + "/" + dir);
        write_file(s.site.www + "/" + dir + "/index.html", std::string("index of ") + dir + "\n");
    }
    Client c(s.server.port());

    SECTION("the exact request from the report") {
        c.send_raw("GET //evil.example/../img HTTP/1.1\r\nHost: a.test\r\n\r\n");
        Response r = c.read_response();
        CHECK(r.status == 301);
        std::string location = r.header("Location");
        CHECK(location == "/img/");
        CHECK_FALSE(location.starts_with("//"));
        CHECK(stays_on_site(location));
        c.send_raw(get(location));
        CHECK(c.read_response().body == "index of img\n");
    }
    SECTION("encoded and absolute-form variants") {
        for (const Case& k : kCases) {
            INFO(k.target << " (" << k.why << ")");
            c.send_raw(get(k.target));
            Response r = c.read_response();
            if (k.location == nullptr) {
                CHECK(r.status == 400);
                CHECK_FALSE(r.has("Location"));
                if (r.has("Connection")) {  // an answer that ends the connection: take a new one
                    c.expect_closed();
                    c = Client(s.server.port());
                }
                continue;
            }
            REQUIRE(r.status == 301);
            std::string location = r.header("Location");
            CHECK(location == k.location);
            CHECK(stays_on_site(location));
            // Following it reaches the directory's index on the same server. Except for a name
            // with a backslash: the only safe spelling is %5C, which the server refuses (400),
            // and a browser turns a raw one into a slash, so no browser reaches such a name.
            c.send_raw(get(location));
            Response followed = c.read_response();
            if (location.substr(0, location.find('?')).find("%5C") != std::string::npos) {
                CHECK(followed.status == 400);
                if (followed.has("Connection")) {
                    c.expect_closed();
                    c = Client(s.server.port());
                }
                continue;
            }
            CHECK(followed.status == 200);
            CHECK(followed.body.starts_with("index of "));
        }
    }
    c.close();
    s.server.stop_and_check();
}

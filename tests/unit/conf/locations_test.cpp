// Tests for the routing part of conf/: the `locations` list, the routing settings at each level,
// their inheritance, and the file, line and setting of every error.

#include <catch2/catch.hpp>

#include <unistd.h>
#include <libconfig.h++>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "conf/config.hpp"
#include "conf/sections.hpp"

namespace fs = std::filesystem;
using namespace portico::conf;
using namespace portico::http::routing;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/portico-locations-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path_ = pattern;
        fs::create_directory(path_ / "site");
        fs::create_directory(path_ / "other");
    }
    ~TempDir() { fs::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] std::string path() const { return path_.string(); }
    [[nodiscard]] std::string conf() const { return (path_ / "test.conf").string(); }

private:
    fs::path path_;
};

// What the loader builds from `text`.
Config routed(const TempDir& dir, const std::string& text) { return load_config_from_string(text, dir.conf()); }

std::string error_of(const TempDir& dir, const std::string& text) {
    try {
        load_config_from_string(text, dir.conf());
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("no ConfigError for:\n" << text);
    return {};
}

// A server on line 1 whose locations list starts on line 2, one location per line.
std::string with_locations(const std::string& locations) {
    return "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\";\nlocations = (\n" + locations +
           "\n); } );\n";
}

uint32_t match(const ServerConfig& server, const char* path) {
    MatchData md;
    REQUIRE(server.matcher);
    return server.matcher->match(path, md).id;
}

std::string expand(const ValueTemplate& t, const RequestVars& vars) {
    char out[256];
    size_t n = t.expand(vars, out, sizeof out);
    REQUIRE(n != std::string_view::npos);
    return std::string(out, n);
}

bool allows(const std::optional<AccessList>& list, const char* peer) {
    REQUIRE(list);
    return list->allows(*Address::parse(peer));
}

constexpr const char* kIssueExample = R"(
servers = ( {
  listen = [ "127.0.0.1:8080" ];
  server_name = [ "example.test" ];
  root = "site";
  locations = (
    { match = "= /healthz";  return = "200 ok"; },
    { match = "/old/";       return = "301 https://$host/new/$request_uri"; },
    { match = "^~ /assets/"; expires = "30d"; add_headers = [ "X-Frame-Options: DENY" ]; },
    { match = "~* \\.(bak|sql)$"; access = [ "deny all" ]; },
    { match = "/admin/";     access = [ "allow 127.0.0.1", "allow ::1", "deny all" ]; },
    { match = "/files/";     alias = "/srv/files/"; },
    { match = "/";           try_files = [ "$uri", "$uri/", "/index.html" ]; }
  );
} );
)";

}  // namespace

TEST_CASE("the issue's example reads and routes as nginx would", "[conf][locations]") {
    TempDir dir;
    Config c = routed(dir, kIssueExample);
    REQUIRE(c.servers.size() == 1);
    const ServerConfig& s = c.servers[0];
    REQUIRE(s.locations.size() == 7);
    CHECK(s.locations[2].match == "^~ /assets/");
    CHECK(s.locations[2].spec.kind == MatchKind::kPrefixNoRegex);
    CHECK(s.locations[3].spec.kind == MatchKind::kRegexCaseless);
    CHECK(match(s, "/healthz") == 0);
    CHECK(match(s, "/old/x") == 1);
    CHECK(match(s, "/assets/db.sql") == 2);  // ^~ stops the regex search
    CHECK(match(s, "/dump.SQL") == 3);
    CHECK(match(s, "/admin/db.bak") == 3);  // a regex beats a plain prefix
    CHECK(match(s, "/admin/users") == 4);
    CHECK(match(s, "/files/a.txt") == 5);
    CHECK(match(s, "/app/route") == 6);

    const RouteSettings& health = s.locations[0].settings;
    REQUIRE(health.return_action);
    CHECK(health.return_action->code == 200);
    CHECK(health.return_action->value.text() == "ok");
    RequestVars vars;
    vars.host = "example.test";
    vars.request_uri = "/old/a?b";
    const RouteSettings& old = s.locations[1].settings;
    REQUIRE(old.return_action);
    CHECK(old.return_action->redirect);
    CHECK(expand(old.return_action->value, vars) == "https://example.test/new//old/a?b");

    const RouteSettings& assets = s.locations[2].settings;
    REQUIRE(assets.expires);
    CHECK(assets.expires->cache_control() == "Cache-Control: max-age=2592000\r\n");
    CHECK(assets.add_headers == "X-Frame-Options: DENY\r\n");
    CHECK(assets.root == dir.path() + "/site");  // inherited from the server

    CHECK_FALSE(allows(s.locations[3].settings.access, "127.0.0.1"));
    CHECK(allows(s.locations[4].settings.access, "127.0.0.1"));
    CHECK(allows(s.locations[4].settings.access, "::1"));
    CHECK_FALSE(allows(s.locations[4].settings.access, "192.0.2.1"));

    CHECK(s.locations[5].settings.alias == "/srv/files/");
    const auto& tf = s.locations[6].settings.try_files;
    REQUIRE(tf);
    REQUIRE(tf->candidates.size() == 2);
    CHECK(tf->candidates[1].text() == "$uri/");
    REQUIRE(tf->uri);
    CHECK(tf->uri->text() == "/index.html");
    CHECK(tf->code == 0);
}

TEST_CASE("a location inherits from its server, and a server from http", "[conf][locations]") {
    TempDir dir;
    Config c = routed(dir, R"(
        http = { expires = "1h"; add_headers = "X-From: http"; error_pages = [ "404 /404.html" ];
                 access = "deny 10.0.0.0/8"; };
        servers = ( { listen = "127.0.0.1:8080"; root = "site"; index = "home.html";
                      add_headers = [ "X-From: server", "X-Also: server" ]; dotfiles = "allow";
                      locations = (
                        { match = "/a/"; },
                        { match = "/b/"; add_headers = "X-From: b"; expires = "off"; root = "other";
                          index = [ "b.html" ]; error_pages = [ "500 502 /50x.html" ]; access = [ ]; dotfiles = "deny"; }
                      ); },
                    { listen = "127.0.0.1:8081"; root = "other"; } );
    )");
    const ServerConfig& s = c.servers[0];
    CHECK(s.route.add_headers == "X-From: server\r\nX-Also: server\r\n");
    CHECK(s.route.expires->seconds() == 3600);
    const RouteSettings& a = s.locations[0].settings;
    CHECK(a.root == dir.path() + "/site");
    CHECK(a.index == std::vector<std::string>{"home.html"});
    CHECK(a.add_headers == "X-From: server\r\nX-Also: server\r\n");  // the server's list, not http's
    CHECK(a.expires->seconds() == 3600);
    REQUIRE(a.error_pages);
    REQUIRE(a.error_pages->size() == 1);
    CHECK(((*a.error_pages)[0].code == 404 && (*a.error_pages)[0].uri == "/404.html"));
    CHECK_FALSE(allows(a.access, "10.1.1.1"));
    CHECK(a.dotfiles == Dotfiles::kAllow);
    CHECK_FALSE(a.alias);

    const RouteSettings& b = s.locations[1].settings;
    CHECK(b.root == dir.path() + "/other");
    CHECK(b.index == std::vector<std::string>{"b.html"});
    CHECK(b.add_headers == "X-From: b\r\n");  // a list set on a level replaces the inherited one whole
    CHECK(b.expires->kind() == Expires::Kind::kOff);
    REQUIRE(b.error_pages->size() == 2);
    CHECK((*b.error_pages)[1].code == 502);
    CHECK((*b.error_pages)[1].uri == "/50x.html");
    CHECK(allows(b.access, "10.1.1.1"));  // an empty list overrides, and allows everyone
    CHECK(b.dotfiles == Dotfiles::kDeny);

    // The second server wrote nothing of its own: http's settings, and no matcher at all.
    const ServerConfig& plain = c.servers[1];
    CHECK_FALSE(plain.matcher);
    CHECK(plain.locations.empty());
    CHECK(plain.route.add_headers == "X-From: http\r\n");
}

TEST_CASE("a config without routing settings loads as before, with no matcher", "[conf][locations]") {
    TempDir dir;
    Config c = load_config_from_string("servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; } );\n",
                                       dir.conf());
    CHECK_FALSE(c.servers[0].matcher);
    CHECK(c.servers[0].locations.empty());
    CHECK_FALSE(c.servers[0].route.try_files);
}

TEST_CASE("the loader accepts routing settings now that requests are routed by them", "[conf][locations]") {
    TempDir dir;
    Config c = load_config_from_string(kIssueExample, dir.conf());
    REQUIRE(c.servers[0].locations.size() == 7);
    CHECK(c.servers[0].matcher);
    Config e = load_config_from_string(
        "http = {\naccess = \"deny all\"; };\n"
        "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\";\nexpires = \"1d\"; } );\n",
        dir.conf());
    CHECK(e.servers[0].route.access);
    CHECK(e.servers[0].route.expires->kind() == Expires::Kind::kAfter);
}

TEST_CASE("bad locations name the file, the line and the setting", "[conf][locations]") {
    TempDir dir;
    const std::string f = dir.conf();
    struct Case {
        std::string locations;
        std::string expected;  // what the message ends with, after "FILE:"
    };
    const Case cases[] = {
        {"{ match = \"/\"; },\n{ match = \"~ ^/(a\"; }",
         "4: setting 'servers[0].locations[1].match': regex '^/(a' does not compile: missing closing "
         "parenthesis "
         "at offset 4"},
        {"{ match = \"/\"; return = \"301 https://$hots/\"; }",
         "3: setting 'servers[0].locations[0].return': unknown variable '$hots'; known are $scheme $host "
         "$request_uri $uri $args $remote_addr $server_port $1..$9"},
        {"{ match = \"/\"; try_files = [ \"$uri\", \"/$file\" ]; }",
         "3: setting 'servers[0].locations[0].try_files[1]': unknown variable '$file'; known are $scheme "
         "$host "
         "$request_uri $uri $args $remote_addr $server_port $1..$9"},
        {"{ match = \"/\"; return = \"https://example.test/\"; }",
         "3: setting 'servers[0].locations[0].return': 'https://example.test/' does not start with a "
         "three-digit "
         "status code; expected \"CODE URL\" (301, 302, 303, 307, 308) or \"CODE text\", e.g. \"301 "
         "https://$host$request_uri\""},
        {"{ match = \"/\"; return = \"302\"; }",
         "3: setting 'servers[0].locations[0].return': a 302 redirect needs a URL: \"302 "
         "https://$host$request_uri\""},
        {"{ match = \"~ \\\\.txt$\"; alias = \"/srv/\"; }",
         "3: setting 'servers[0].locations[0].alias': is only allowed in a prefix location (\"/files/\" or "
         "\"^~ "
         "/files/\"); use root in exact and regex locations"},
        {"{ match = \"= /a\"; alias = \"/srv/a\"; }",
         "3: setting 'servers[0].locations[0].alias': is only allowed"},
        {"{ match = \"= /a\"; },\n{ match = \"/b/\"; },\n{ match = \"= /a\"; }",
         "5: setting 'servers[0].locations[2].match': exact match '/a' is already used by another location"},
        {"{ match = \"/b/\"; },\n{ match = \"^~ /b/\"; }",
         "4: setting 'servers[0].locations[1].match': prefix '/b/' is already used by another location"},
        {"{ match = \"/f/\"; alias = \"/srv/f/\"; root = \"site\"; }",
         "3: setting 'servers[0].locations[0].alias': a location sets either root or alias, not both"},
        {"{ match = \"/f\"; alias = \"/srv/f/\"; }",
         "3: setting 'servers[0].locations[0].alias': '/srv/f/' and the match '/f' must both end with '/' or "
         "neither"},
        {"{ match = \"/f/\"; alias = \"\"; }",
         "3: setting 'servers[0].locations[0].alias': must not be empty"},
        {"{ match = \"relative\"; }",
         "3: setting 'servers[0].locations[0].match': 'relative' must be \"= /path\", \"/prefix\", \"^~ "
         "/prefix\", "
         "\"~ regex\" or \"~* regex\""},
        {"{ root = \"site\"; }",
         "3: setting 'servers[0].locations[0].match': missing; every location needs one, e.g. match = "
         "\"/assets/\";"},
        {"{ match = \"/\"; listen = \"127.0.0.1:1\"; }",
         "3: setting 'servers[0].locations[0].listen': unknown setting here; it belongs in the server, "
         "outside "
         "'locations'"},
        {"{ match = \"/\"; expire = \"1d\"; }",
         "3: setting 'servers[0].locations[0].expire': unknown setting; did you mean 'expires'?"},
        {"{ match = \"/\"; expires = \"1 day\"; }",
         "3: setting 'servers[0].locations[0].expires': '1 day' is not"},
        {"{ match = \"/\"; access = [ \"allow 10.0.0.0/8\", \"allow 10.0.0.0/40\" ]; }",
         "3: setting 'servers[0].locations[0].access[1]': '10.0.0.0/40' is not \"all\", an address or a "
         "CIDR"},
        {"{ match = \"/\"; error_pages = [ \"404\" ]; }",
         "3: setting 'servers[0].locations[0].error_pages[0]': '404' is not \"CODE... /page\""},
        {"{ match = \"/\"; error_pages = [ \"404 /a.html\", \"500 404 /b.html\" ]; }",
         "3: setting 'servers[0].locations[0].error_pages[1]': code 404 already has an error page"},
        {"{ match = \"/\"; error_pages = [ \"200 /a.html\" ]; }",
         "3: setting 'servers[0].locations[0].error_pages[0]': '200' is not a status code from 300 to 599"},
        {"{ match = \"/\"; add_headers = [ \"X-Ok: 1\", \"Content-Length: 5\" ]; }",
         "3: setting 'servers[0].locations[0].add_headers[1]': 'Content-Length' is written by the server "
         "itself"},
        {"{ match = \"/\"; add_headers = \"Bad Name: x\"; }",
         "3: setting 'servers[0].locations[0].add_headers': 'Bad Name: x' is not \"Name: value\""},
        {"{ match = \"/\"; add_headers = \"X-Empty:\"; }",
         "3: setting 'servers[0].locations[0].add_headers': 'X-Empty:' is not \"Name: value\""},
        {"{ match = \"/\"; dotfiles = \"yes\"; }",
         "3: setting 'servers[0].locations[0].dotfiles': must be \"deny\" or \"allow\" (got 'yes')"},
        {"{ match = \"/\"; try_files = \"$uri\"; }",
         "3: setting 'servers[0].locations[0].try_files': needs at least two"},
        {"{ match = \"/\"; try_files = [ \"$uri\", \"=40\" ]; }",
         "3: setting 'servers[0].locations[0].try_files[1]': '=40' is not \"=CODE\" with a code from 200 to "
         "599"},
        {"{ match = \"/\"; try_files = [ \"$uri\", \"index.html\" ]; }",
         "3: setting 'servers[0].locations[0].try_files[1]': 'index.html': the last entry is a URI"},
        {"{ match = \"/\"; root = \"missing\"; }",
         "3: setting 'servers[0].locations[0].root': '" + dir.path() + "/missing' is not a directory"},
        {"{ match = \"/\"; index = \"a/b.html\"; }",
         "3: setting 'servers[0].locations[0].index': 'a/b.html' is not a file name"},
        // libconfig gives a scalar list member the line where the list ends.
        {"\"/\"", "4: setting 'servers[0].locations[0]': expected a group: { match = \"/\"; ... }"},
    };
    for (const Case& c : cases) {
        INFO(c.locations);
        std::string message = error_of(dir, with_locations(c.locations));
        CHECK_THAT(message, Catch::Matchers::StartsWith(f + ":" + c.expected));
    }
}

TEST_CASE("bad routing settings on a server or in http are errors too", "[conf][locations]") {
    TempDir dir;
    const std::string f = dir.conf();
    CHECK(
        error_of(dir,
                 "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\";\nalias = \"/srv/\"; } );\n") ==
        f + ":2: setting 'servers[0].alias': unknown setting here; it belongs inside one of the server's "
            "'locations'");
    CHECK(
        error_of(dir,
                 "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\";\nreturn = \"99 x\"; } );\n") ==
        f + ":2: setting 'servers[0].return': '99 x' does not start with a three-digit status code; expected "
            "\"CODE URL\" (301, 302, 303, 307, 308) or \"CODE text\", e.g. \"301 "
            "https://$host$request_uri\"");
    CHECK(
        error_of(dir, "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\";\nlocations = 1; } );\n") ==
        f + ":2: setting 'servers[0].locations': expected a list of groups: locations = ( { match = \"/\"; "
            "... }, "
            "... );");
    CHECK_THAT(error_of(dir,
                        "http = {\nexpires = \"soon\"; };\n"
                        "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; } );\n"),
               Catch::Matchers::StartsWith(f + ":2: setting 'http.expires': 'soon' is not"));
    CHECK(error_of(dir,
                   "http = {\nreturn = \"200 x\"; };\n"
                   "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; } );\n") ==
          f + ":2: setting 'http.return': unknown setting here; it belongs inside each server of the "
              "'servers' list");
}

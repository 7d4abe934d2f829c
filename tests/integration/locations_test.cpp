// Locations (issue 8): nginx's matching order, return with captures and variables, root, alias
// and index per location, try_files, error pages with the original status, internal redirect
// cycles, add_headers and expires, access rules over IPv4 and IPv6, the dotfile rule, and a
// reload with a bad location that leaves the running generation serving.

#include <ctime>
#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"
#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace {

/// One server, a.test on 127.0.0.1 (and `listen_extra`), root www, with `server_extra` (its
/// locations, routing settings) and `http_extra` inside the http group.
std::string routed_config(std::string_view server_extra, std::string_view http_extra = {},
                          std::string_view listen_extra = {}, bool master = false) {
    std::string c = master ? "master_process = true;\nworker_processes = 1;\npid_file = \"@DIR@/portico.pid\";\n"
                           : "master_process = false;\nworker_processes = 1;\n";
    c += "error_log = \"@DIR@/error.log\";\nlog_level = \"info\";\n";
    c += "http = {\n    access_log = \"@DIR@/access.log\";\n";
    c.append(http_extra).append("\n};\nservers = (\n    { listen = [\"127.0.0.1:@PORT@\"");
    c.append(listen_extra).append("]; server_name = [\"a.test\"]; root = \"@DIR@/www\";\n");
    c.append("      index = [\"index.html\"];\n").append(server_extra).append("\n    }\n);\n");
    return c;
}

void put(const std::string& path, std::string_view bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file(path, bytes);
}

Response fetch(Client& c, std::string_view target, std::string_view extra = {}, std::string_view method = "GET",
               std::string_view host = "a.test") {
    c.send_raw(get(target, extra, method, host));
    return c.read_response(method == "HEAD");
}

}  // namespace

TEST_CASE("locations are chosen in nginx's order: exact, ^~ prefix, regexes in file order, longest prefix",
          "[locations]") {
    Site site;
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "= /exact";      return = "200 exact"; },
        { match = "/";             return = "200 prefix /"; },
        { match = "/docs/";        return = "200 prefix /docs/"; },
        { match = "/docs/deep/";   return = "200 prefix /docs/deep/"; },
        { match = "^~ /static/";   return = "200 no-regex /static/"; },
        { match = "~ \\.txt$";     return = "200 regex txt"; },
        { match = "~* \\.PNG$";    return = "200 caseless png"; },
        { match = "~ ^/docs/";     return = "200 regex docs"; },
        { match = "/plain/";       return = "200 prefix /plain/"; }
      );)"));
    struct Case {
        const char* target;
        const char* body;
    };
    const Case cases[] = {
        {"/exact", "exact"},                              // 1. an exact match wins
        {"/exact/more", "prefix /"},                      // ... and only exactly
        {"/static/a.txt", "no-regex /static/"},           // 3. a ^~ longest prefix stops the regexes
        {"/docs/a.txt", "regex txt"},                     // 4. regexes beat prefixes, first in file order
        {"/docs/deep/index.html", "regex docs"},          //    the longest prefix does not matter then
        {"/img/logo.png", "caseless png"},                //    ~* ignores case
        {"/img/logo.Png", "caseless png"},
        {"/plain/x.html", "prefix /plain/"},              // 5. no regex: the longest prefix
        {"/docs", "prefix /"},                            //    "/docs/" is not a prefix of "/docs"
        {"/%64ocs/a.html", "regex docs"},                 //    matched on the decoded, normalised path
        {"/x/../docs/deep/a.html", "regex docs"},
    };
    Client c(server.port());
    for (const Case& k : cases) {
        INFO(k.target);
        Response r = fetch(c, k.target);
        CHECK(r.status == 200);
        CHECK(r.body == k.body);
        CHECK(r.header("Content-Type") == "text/plain");
    }
    c.close();
    server.stop_and_check();
}

TEST_CASE("return: captures, variables, redirects with $host$request_uri, any method, HEAD", "[locations]") {
    Site site;
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "~ ^/user/(\\w+)/(\\d+)$"; return = "200 user=$1 id=$2 uri=$uri args=$args"; },
        { match = "= /vars";   return = "200 $scheme|$host|$server_port|$remote_addr|$request_uri"; },
        { match = "/old/";     return = "301 https://$host$request_uri"; },
        { match = "~ ^/go/(.*)$"; return = "302 /new/$1"; },
        { match = "~ ^/strip(/.+)/$"; return = "301 $1"; },
        { match = "= /gone";   return = "410"; },
        { match = "= /empty";  return = "204"; },
        { match = "= /healthz"; return = "200 ok"; }
      );)"));
    const std::string port = std::to_string(server.port());
    Client c(server.port());

    Response r = fetch(c, "/user/bob/42?x=1");
    CHECK(r.status == 200);
    CHECK(r.body == "user=bob id=42 uri=/user/bob/42 args=x=1");

    r = fetch(c, "/vars?q=1", {}, "GET", "A.Test:" + port);
    CHECK(r.body == "http|a.test|" + port + "|127.0.0.1|/vars?q=1");

    SECTION("the HTTP-to-HTTPS redirect is one line") {
        r = fetch(c, "/old/page.html?a=b");
        CHECK(r.status == 301);
        CHECK(r.header("Location") == "https://a.test/old/page.html?a=b");
        CHECK(r.header("Content-Type") == "text/html");
        r = fetch(c, "/go/a%20b");  // the decoded capture is encoded again in the header
        CHECK(r.status == 302);
        CHECK(r.header("Location") == "/new/a%20b");
        // A backslash is a slash to browsers: "/\\evil.example" would send them off-site.
        r = fetch(c, "/strip/\\evil.example/");
        CHECK(r.status == 301);
        CHECK(r.header("Location") == "/%5Cevil.example");
    }
    SECTION("an error code without text is an error page; 204 has no body") {
        r = fetch(c, "/gone");
        CHECK(r.status == 410);
        CHECK(r.body.find("410 Gone") != std::string::npos);
        c.send_raw(get("/empty"));
        r = c.read_response();
        CHECK(r.status == 204);
        CHECK_FALSE(r.has("Content-Length"));
    }
    SECTION("return answers other methods; HEAD gets the length and no body") {
        c.send_raw(get("/healthz", "Content-Length: 3\r\n", "POST") + "abc");
        r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == "ok");
        r = fetch(c, "/healthz", {}, "HEAD");
        CHECK(r.status == 200);
        CHECK(r.header("Content-Length") == "2");
        CHECK(r.body.empty());
        // A static location still refuses POST.
        r = fetch(c, "/index.html", "Content-Length: 0\r\n", "POST");
        CHECK(r.status == 405);
        CHECK(r.header("Allow") == "GET, HEAD");
    }
    c.close();
    server.stop_and_check();
}

TEST_CASE("root, alias and index per location", "[locations]") {
    Site site;
    put(site.dir / "files/doc.txt", "doc in the alias\n");
    put(site.dir / "files/index.html", "alias index\n");
    put(site.dir / "other-root/other/home.html", "home of /other/\n");
    put(site.dir / "other-root/other/index.html", "not the index of /other/\n");
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "/files/";  alias = "@DIR@/files/"; },
        { match = "/f";       alias = "@DIR@/files"; },
        { match = "/other/";  root = "@DIR@/other-root"; index = ["home.html"]; },
        { match = "/nowhere/"; alias = "@DIR@/does-not-exist/"; }
      );)"));
    Client c(server.port());
    struct Case {
        const char* target;
        int status;
        const char* body;  // nullptr: not checked
    };
    const Case cases[] = {
        {"/files/doc.txt", 200, "doc in the alias\n"},  // the alias replaces the matched prefix
        {"/files/", 200, "alias index\n"},
        {"/f/doc.txt", 200, "doc in the alias\n"},      // an alias without a trailing slash
        {"/fX/doc.txt", 404, nullptr},                  // "/fX" is no path beneath "/f"
        {"/other/", 200, "home of /other/\n"},          // root + the whole URI, its own index
        {"/other/home.html", 200, "home of /other/\n"},
        {"/small.txt", 200, nullptr},                   // no location: the server's root
        {"/nowhere/x", 404, nullptr},                   // an alias that did not exist at start-up
    };
    for (const Case& k : cases) {
        INFO(k.target);
        Response r = fetch(c, k.target);
        CHECK(r.status == k.status);
        if (k.body) CHECK(r.body == k.body);
    }
    Response r = fetch(c, "/f");  // the alias directory itself, without its slash: redirected
    CHECK(r.status == 301);
    CHECK(r.header("Location") == "/f/");
    c.close();
    server.stop_and_check();
}

// The dotfile rule judged only the client's own path, and a fallback such as "/$args" is the
// client's too: "/t/x?.git/config" served the file that "/.git/config" refuses.
TEST_CASE("try_files: a fallback built from the request meets the dotfile rule; a climbing one is 400",
          "[locations]") {
    Site site;
    put(site.www + "/.git/config", "secret\n");
    put(site.www + "/.well-known/app.txt", "well known\n");
    put(site.www + "/.hidden-but-named.html", "the config names it\n");
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "/t/";    try_files = ["$uri", "/$args"]; },
        { match = "/lit/";  try_files = ["$uri", "/.hidden-but-named.html"]; }
      );)"));
    Client c(server.port());
    CHECK(fetch(c, "/.git/config").status == 404);
    CHECK(fetch(c, "/t/x?.git/config").status == 404);
    CHECK(fetch(c, "/t/x?.well-known/app.txt").body == "well known\n");
    CHECK(fetch(c, "/t/x?small.txt").body == site.small);
    CHECK(fetch(c, "/lit/x").body == "the config names it\n");  // a literal fallback is the config's choice
    CHECK(fetch(c, "/t/x?../x").status == 400);
    c.close();
    server.stop_and_check();
}

TEST_CASE("try_files: the single-page-application fallback and =404", "[locations]") {
    Site site;
    put(site.www + "/app/index.html", "the app shell\n");
    put(site.www + "/app/main.js", "console.log(1);\n");
    put(site.www + "/strict/a.txt", "strict a\n");
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "/app/";    try_files = ["$uri", "$uri/", "/app/index.html"]; },
        { match = "/strict/"; try_files = ["$uri", "=404"]; },
        { match = "/same/";   try_files = ["$uri", "=304"]; },
        { match = "/none/";   try_files = ["$uri", "=204"]; },
        { match = "/q/";      try_files = ["$uri", "/vars?from=$uri"]; },
        { match = "= /vars";  return = "200 uri=$uri args=$args"; }
      );)"));
    Client c(server.port());
    CHECK(fetch(c, "/app/main.js").body == "console.log(1);\n");
    Response r = fetch(c, "/app/some/client/route");
    CHECK(r.status == 200);
    CHECK(r.body == "the app shell\n");
    CHECK(fetch(c, "/app/").body == "the app shell\n");  // "$uri/": the directory's index
    CHECK(fetch(c, "/strict/a.txt").body == "strict a\n");
    CHECK(fetch(c, "/strict/nope").status == 404);
    // A code that can carry no body gets none: the next response on the connection follows its
    // head directly (a page behind it would be read as the next response).
    for (const char* path : {"/same/x", "/none/x"}) {
        INFO(path);
        r = fetch(c, path);
        CHECK(r.status == (path[1] == 's' ? 304 : 204));
        CHECK(r.body.empty());
        CHECK_FALSE(r.has("Content-Length"));
        CHECK(fetch(c, "/strict/a.txt").body == "strict a\n");
    }
    r = fetch(c, "/q/x?ignored=1");  // the fallback's own query replaces the request's
    CHECK(r.body == "uri=/vars args=from=/q/x");
    c.close();
    server.stop_and_check();
}

TEST_CASE("error pages are served with the original status; a missing one falls back to the built-in page",
          "[locations]") {
    Site site;
    put(site.www + "/errors/404.html", "custom not found\n");
    put(site.www + "/errors/403.html", "custom forbidden\n");
    Server server(site.dir, routed_config(R"(
      error_pages = [ "404 /errors/404.html", "403 /errors/403.html" ];
      locations = (
        { match = "/admin/";  access = [ "deny all" ]; },
        { match = "/broken/"; error_pages = [ "404 /errors/missing.html" ]; },
        { match = "/strict/"; try_files = [ "$uri", "=403" ]; }
      );)"));
    Client c(server.port());
    Response r = fetch(c, "/nope.html");  // no location: the server's own error pages
    CHECK(r.status == 404);
    CHECK(r.body == "custom not found\n");
    CHECK(r.header("Content-Type") == "text/html");
    r = fetch(c, "/admin/x");
    CHECK(r.status == 403);
    CHECK(r.body == "custom forbidden\n");
    r = fetch(c, "/strict/x");
    CHECK(r.status == 403);
    CHECK(r.body == "custom forbidden\n");
    r = fetch(c, "/broken/x");  // its page is missing: the built-in 404, not a loop
    CHECK(r.status == 404);
    CHECK(r.body.find("404 Not Found") != std::string::npos);
    r = fetch(c, "/nope.html", {}, "HEAD");
    CHECK(r.status == 404);
    CHECK(r.header("Content-Length") == "17");
    CHECK(fetch(c, "/small.txt").body == site.small);  // the keep-alive connection is in sync
    c.close();
    server.stop_and_check();
}

// 405, 412 and 416 were answered with the built-in page whatever error_pages said: the file
// handler wrote them itself. The page now goes out, with the fields the status needs.
TEST_CASE("error pages for 405, 412 and 416 are used, with Allow and Content-Range", "[locations]") {
    Site site;
    put(site.www + "/errors/405.html", "no such method here\n");
    put(site.www + "/errors/412.html", "changed since\n");
    put(site.www + "/errors/416.html", "out of range\n");
    Server server(site.dir, routed_config(R"(
      error_pages = [ "405 /errors/405.html", "412 /errors/412.html", "416 /errors/416.html" ];
      locations = ( { match = "/plain/"; error_pages = [ "404 /errors/405.html" ]; } );)"));
    Client c(server.port());
    Response r = fetch(c, "/small.txt", "Content-Length: 0\r\n", "POST");
    CHECK(r.status == 405);
    CHECK(r.body == "no such method here\n");
    CHECK(r.header("Allow") == "GET, HEAD");
    r = fetch(c, "/small.txt", "If-Match: \"not-it\"\r\n");
    CHECK(r.status == 412);
    CHECK(r.body == "changed since\n");
    r = fetch(c, "/small.txt", "Range: bytes=999999-\r\n");
    CHECK(r.status == 416);
    CHECK(r.body == "out of range\n");
    CHECK(r.header("Content-Range") == "bytes */" + std::to_string(site.small.size()));
    // A location without pages for them: the built-in answers, with the same fields.
    put(site.www + "/plain/f.txt", "0123456789");
    r = fetch(c, "/plain/f.txt", "Range: bytes=50-\r\n");
    CHECK(r.status == 416);
    CHECK(r.body.find("416 Range Not Satisfiable") != std::string::npos);
    CHECK(r.header("Content-Range") == "bytes */10");
    r = fetch(c, "/plain/f.txt", "Content-Length: 0\r\n", "DELETE");
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD");
    CHECK(r.body.find("405 Method Not Allowed") != std::string::npos);
    CHECK(fetch(c, "/small.txt").body == site.small);  // the keep-alive connection is in sync
    c.close();
    server.stop_and_check();
}

// An error page's URI may land in a location that serves no files. It used to get that location's
// ordinary answer: a proxied prefix fell through to the files under the root (a 200, or a 206),
// a `return 200` sent its 200, so a missing page became a soft 200.
TEST_CASE("an error page in a proxied or a return location keeps the error's status", "[locations]") {
    Site site;
    put(site.www + "/api/err.html", "a file the proxied prefix never serves\n");
    Server server(site.dir, routed_config(R"(
      error_pages = [ "404 /api/err.html", "403 /text", "410 /moved" ];
      locations = (
        { match = "/api/";    proxy_pass = "http://127.0.0.1:9"; },
        { match = "= /text";  return = "200 not for you"; },
        { match = "= /moved"; return = "302 /elsewhere"; },
        { match = "/deny/";   access = [ "deny all" ]; },
        { match = "= /gone";  return = "410"; }
      );)"));
    Client c(server.port());
    Response r = fetch(c, "/missing");
    CHECK(r.status == 404);  // the built-in page: portico does not proxy error pages
    CHECK(r.body.find("404 Not Found") != std::string::npos);
    r = fetch(c, "/missing", "Range: bytes=0-3\r\n");
    CHECK(r.status == 404);
    r = fetch(c, "/deny/x");  // a return's text, with the error's status
    CHECK(r.status == 403);
    CHECK(r.body == "not for you");
    r = fetch(c, "/gone");  // a redirect stays a redirect
    CHECK(r.status == 302);
    CHECK(r.header("Location") == "/elsewhere");
    CHECK(fetch(c, "/small.txt").body == site.small);
    c.close();
    server.stop_and_check();
}

TEST_CASE("an internal redirect cycle ends in a 500 and a log line", "[locations]") {
    Site site;
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "/loop/"; try_files = [ "$uri", "/loop/again" ]; },
        { match = "/ping/"; try_files = [ "$uri", "/pong/x" ]; },
        { match = "/pong/"; try_files = [ "$uri", "/ping/x" ]; error_pages = [ "500 /loop/page" ]; }
      );)"));
    Client c(server.port());
    Response r = fetch(c, "/loop/x");
    CHECK(r.status == 500);
    CHECK(r.body.find("500 Internal Server Error") != std::string::npos);
    CHECK(fetch(c, "/ping/x").status == 500);  // two locations sending it back and forth
    CHECK(server.wait_for_log("internal redirection cycle while internally redirecting to \"/loop/again\""));
    CHECK(fetch(c, "/small.txt").status == 200);
    c.close();
    server.stop_and_check({"internal redirection cycle"});
}

TEST_CASE("add_headers and expires apply to successful answers only", "[locations]") {
    Site site;
    put(site.www + "/assets/app.js", "let x = 1;\n");
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "^~ /assets/"; expires = "30d"; add_headers = [ "X-Frame-Options: DENY", "X-Test: a b" ]; },
        { match = "= /never";    expires = "epoch"; return = "200 never"; },
        { match = "= /forever";  expires = "max"; return = "200 forever"; }
      );)"));
    Client c(server.port());
    time_t before = ::time(nullptr);
    Response r = fetch(c, "/assets/app.js");
    CHECK(r.status == 200);
    CHECK(r.header("Cache-Control") == "max-age=2592000");
    CHECK(r.header("X-Frame-Options") == "DENY");
    CHECK(r.header("X-Test") == "a b");
    REQUIRE(is_http_date(r.header("Expires")));
    struct tm tm {};
    REQUIRE(strptime(r.header("Expires").c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr);
    time_t expires = timegm(&tm);
    CHECK(expires >= before + 2592000);
    CHECK(expires <= ::time(nullptr) + 2592000);

    std::string etag = r.header("ETag");
    r = fetch(c, "/assets/app.js", "If-None-Match: " + etag + "\r\n");
    CHECK(r.status == 304);  // a not-modified answer carries them too, as in nginx
    CHECK(r.header("Cache-Control") == "max-age=2592000");
    CHECK(r.header("X-Frame-Options") == "DENY");

    r = fetch(c, "/assets/missing.js");
    CHECK(r.status == 404);  // not on errors (nginx without "always")
    CHECK_FALSE(r.has("Cache-Control"));
    CHECK_FALSE(r.has("X-Frame-Options"));
    CHECK_FALSE(r.has("Expires"));

    r = fetch(c, "/never");
    CHECK(r.header("Expires") == "Thu, 01 Jan 1970 00:00:01 GMT");
    CHECK(r.header("Cache-Control") == "no-cache");
    r = fetch(c, "/forever");
    CHECK(r.header("Expires") == "Thu, 31 Dec 2037 23:55:55 GMT");
    CHECK(r.header("Cache-Control") == "max-age=315360000");
    CHECK_FALSE(fetch(c, "/small.txt").has("Cache-Control"));  // the server's own settings: none
    c.close();
    server.stop_and_check();
}

// The status page was answered before routing, so no access rule could keep the counters from
// anyone who reached the server; nginx's stub_status obeys its location's allow/deny.
TEST_CASE("the status path obeys the access rule of the server or the location it falls in", "[locations]") {
    SECTION("a location denies it") {
        Site site;
        Server server(site.dir, routed_config(R"(
          status_path = "/st";
          locations = ( { match = "= /st"; access = [ "deny all" ]; } );)"));
        Client c(server.port());
        CHECK(fetch(c, "/st").status == 403);
        CHECK(fetch(c, "/small.txt").body == site.small);
        c.close();
        server.stop_and_check();
    }
    SECTION("the server denies everything but loopback's IPv6") {
        Site site;
        Server server(site.dir, routed_config(R"(
          status_path = "/st"; access = [ "allow ::1", "deny all" ];)"));
        Client c(server.port());
        CHECK(fetch(c, "/st").status == 403);
        CHECK(fetch(c, "/small.txt").status == 403);
        c.close();
        server.stop_and_check();
    }
    SECTION("a location allows this client") {
        Site site;
        Server server(site.dir, routed_config(R"(
          status_path = "/st"; access = [ "deny all" ];
          locations = ( { match = "= /st"; access = [ "allow 127.0.0.1", "deny all" ]; } );)"));
        Client c(server.port());
        Response r = fetch(c, "/st");
        CHECK(r.status == 200);
        CHECK(r.body.find("\"workers\"") != std::string::npos);
        c.close();
        server.stop_and_check();
    }
}

TEST_CASE("access rules: first match wins, IPv4 and IPv6 clients, refusal is 403", "[locations][ipv6]") {
    Site site;
    const bool v6 = have_ipv6_loopback();
    if (!v6) WARN("no IPv6 loopback here; only the IPv4 half runs");
    Server server(site.dir, routed_config(R"(
      locations = (
        { match = "/v4/";    access = [ "allow 127.0.0.0/8", "deny all" ]; return = "200 v4"; },
        { match = "/v6/";    access = [ "allow ::1", "deny all" ]; return = "200 v6"; },
        { match = "/not6/";  access = [ "deny ::1/128", "allow all" ]; return = "200 not6"; },
        { match = "/nobody/"; access = [ "deny all", "allow 127.0.0.1" ]; return = "200 nobody"; },
        { match = "/open/";  access = [ ]; return = "200 open"; }
      );
      access = [ "deny 10.0.0.0/8", "allow all" ];)",
                                          {}, v6 ? ", \"[::1]:@PORT@\"" : ""));
    struct Case {
        const char* target;
        int v4_status;
        int v6_status;
    };
    const Case cases[] = {
        {"/v4/x", 200, 403}, {"/v6/x", 403, 200},     {"/not6/x", 200, 403},
        {"/nobody/x", 403, 403}, {"/open/x", 200, 200}, {"/small.txt", 200, 200},
    };
    for (bool ipv6 : {false, true}) {
        if (ipv6 && !v6) continue;
        Client c(server.port(), 0, kWait, ipv6);
        for (const Case& k : cases) {
            INFO((ipv6 ? "[::1] " : "127.0.0.1 ") << k.target);
            Response r = fetch(c, k.target);
            CHECK(r.status == (ipv6 ? k.v6_status : k.v4_status));
            if (r.status == 403) CHECK(r.body.find("403 Forbidden") != std::string::npos);
        }
        c.close();
    }
    server.stop_and_check();
}

TEST_CASE("dotfiles are refused with 404 unless under /.well-known/ or allowed", "[locations][dotfiles]") {
    Site site;
    put(site.www + "/.git/config", "[core]\n");
    put(site.www + "/.env", "SECRET=1\n");
    put(site.www + "/.well-known/acme-challenge/token", "challenge\n");
    put(site.www + "/dev/.env", "DEV=1\n");
    SECTION("on a plain server, by default") {
        Server server(site.dir, routed_config({}));
        Client c(server.port());
        CHECK(fetch(c, "/.git/config").status == 404);
        CHECK(fetch(c, "/.env").status == 404);
        CHECK(fetch(c, "/%2egit/config").status == 404);  // decoded before it is judged
        CHECK(fetch(c, "/x/../.env").status == 404);
        CHECK(fetch(c, "/.git/").status == 404);
        CHECK(fetch(c, "/dev/.env").status == 404);
        CHECK(fetch(c, "/.well-known/acme-challenge/token").body == "challenge\n");
        CHECK(fetch(c, "/.x/../small.txt").body == site.small);  // a removed segment does not count
        c.close();
        server.stop_and_check();
    }
    SECTION("dotfiles = \"allow\" in a location, or for the whole server") {
        Server server(site.dir, routed_config(R"(locations = ( { match = "/dev/"; dotfiles = "allow"; } );)"));
        Client c(server.port());
        CHECK(fetch(c, "/dev/.env").body == "DEV=1\n");
        CHECK(fetch(c, "/.env").status == 404);
        c.close();
        server.stop_and_check();
        Server everywhere(site.dir, routed_config({}, "    dotfiles = \"allow\";"));
        Client d(everywhere.port());
        CHECK(fetch(d, "/.git/config").body == "[core]\n");
        d.close();
        everywhere.stop_and_check();
    }
}

TEST_CASE("servers whose roots nest do not share file cache entries", "[locations][vhost]") {
    // www/sub/up -> ../small.txt stays inside www but leaves www/sub. Served from a.test (root
    // www) first, its cache entry must not answer b.test (root www/sub) for "/up".
    Site site;
    std::filesystem::create_symlink("../small.txt", site.www + "/sub/up");
    std::string config = site_config();
    const std::string b_root = "root = \"@DIR@/www-b\"";
    REQUIRE(config.find(b_root) != std::string::npos);
    config.replace(config.find(b_root), b_root.size(), "root = \"@DIR@/www/sub\"");
    Server server(site.dir, config);
    Client c(server.port());
    Response a = fetch(c, "/sub/up");
    CHECK(a.status == 200);
    CHECK(a.body == site.small);
    Response b = fetch(c, "/up", {}, "GET", "b.test");
    CHECK(b.status == 403);
    CHECK(b.body != site.small);
    c.close();
    server.stop_and_check();
}

TEST_CASE("a reload with a regex that does not compile keeps the old generation serving",
          "[locations][master][reload]") {
    Site site;
    Server server(site.dir, routed_config(R"(locations = ( { match = "= /healthz"; return = "200 gen1"; } );)", {},
                                          {}, true));
    wait_ready(server, 1, 1);
    server.rewrite_config(routed_config(R"(locations = ( { match = "= /healthz"; return = "200 gen2"; },
        { match = "~ ^/(a"; return = "200 never"; } );)",
                                        {}, {}, true));
    const int line = line_number(read_file(server.config_path()), "~ ^/(a");
    REQUIRE(::kill(server.pid(), SIGHUP) == 0);
    INFO(server.logs());
    REQUIRE(server.wait_for_log("reload failed:"));
    std::string failed = line_with(read_file(server.error_log_path()), "reload failed:");
    CHECK(failed.find(server.config_path() + ":" + std::to_string(line) + ": setting 'servers[0].locations[1].match'") !=
          std::string::npos);
    CHECK(failed.find("does not compile") != std::string::npos);
    {
        Client c(server.port());
        CHECK(fetch(c, "/healthz").body == "gen1");
    }
    server.rewrite_config(routed_config(R"(locations = ( { match = "= /healthz"; return = "200 gen2"; } );)", {},
                                        {}, true));
    REQUIRE(::kill(server.pid(), SIGHUP) == 0);
    REQUIRE(server.wait_for_log("reload complete: generation 2"));
    Client c(server.port());
    CHECK(fetch(c, "/healthz").body == "gen2");
    c.close();
    server.stop_and_check({"reload failed:"});
}

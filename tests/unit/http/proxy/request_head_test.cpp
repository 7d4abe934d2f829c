// Tests for the upstream request head: nginx's proxy_pass URI rules, the forwarding fields,
// hop-by-hop removal, proxy_set_headers, the body's framing and upgrades. Each case parses a real
// client request with the request parser first, as the proxy will.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "http/parser.hpp"
#include "http/proxy/request_head.hpp"

using namespace portico;
using namespace portico::http;
using namespace portico::http::proxy;

namespace {

struct Client {
    std::string raw;
    Request request;
    size_t head_length = 0;
};

Client parse(std::string raw) {
    Client c{std::move(raw), {}, 0};
    RequestParser parser;
    REQUIRE(parser.parse_head(c.raw.data(), c.raw.size(), c.request) == ParseResult::kDone);
    c.head_length = parser.head_length();
    return c;
}

std::vector<conf::ProxyHeader> headers(std::initializer_list<std::pair<const char*, const char*>> list) {
    std::vector<conf::ProxyHeader> out;
    for (auto [name, value] : list) {
        std::string problem;
        auto t = routing::ValueTemplate::compile(value, problem);
        REQUIRE(t);
        std::string lower = name;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        out.push_back(conf::ProxyHeader{name, lower, std::move(*t)});
    }
    return out;
}

struct Case {
    const char* what;
    std::string request;
    std::string uri;        // $uri, as the normaliser would give it
    std::string pass_path;  // proxy_pass's path
    size_t prefix = 0;      // location prefix length
    UpstreamBody body = UpstreamBody::kNone;
    uint64_t length = 0;
    std::string expected;  // the whole upstream head
};

/// An internal redirect (try_files) changed $uri to the Case's uri and $args to `args`.
struct Redirected {
    std::string_view args;
    bool clients = false;  // args are the client's query (a redirect that named none keeps it)
};

const std::string kTail = "X-Forwarded-For: 10.0.0.7\r\nX-Real-IP: 10.0.0.7\r\nX-Forwarded-Proto: http\r\n";

std::string build(const Case& c, std::span<const conf::ProxyHeader> set = {}, bool upgrade = false,
                  size_t cap = 4096, const Redirected* redirect = nullptr) {
    Client client = parse(c.request);
    routing::RequestVars vars;
    vars.host = "example.com";
    vars.remote_addr = "10.0.0.7";
    vars.uri = c.uri;
    vars.uri_changed = redirect != nullptr;
    if (redirect) vars.args = redirect->args;
    if (redirect && redirect->clients) {
        const std::string_view target = client.request.target.in(client.raw.data());
        vars.args = target.substr(target.find('?') + 1);
    }
    UpstreamRequest in;
    in.head = client.raw.data();
    in.head_length = client.head_length;
    in.request = &client.request;
    in.vars = &vars;
    in.upstream_host = "app";
    in.pass_path = c.pass_path;
    in.location_prefix = c.prefix;
    in.set_headers = set;
    in.body = c.body;
    in.body_length = c.length;
    in.upgrade = upgrade;
    std::string out(cap, '\0');
    const BuiltHead built = build_request_head(in, out.data(), out.size());
    if (!built.ok()) return std::string("error: ") + built.error;
    out.resize(built.length);
    return out;
}

}  // namespace

TEST_CASE("proxy request head: URIs by nginx's proxy_pass rules", "[proxy]") {
    const std::vector<Case> cases{
        {"no path: unchanged", "GET /api/a%20b/../c?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", "/api/c", "",
         5, UpstreamBody::kNone, 0,
         "GET /api/a%20b/../c?x=1 HTTP/1.1\r\nHost: example.com\r\n" + kTail +
             "Connection: keep-alive\r\n\r\n"},
        {"path replaces the prefix", "GET /api/users?id=3 HTTP/1.1\r\nHost: example.com\r\n\r\n",
         "/api/users", "/v1/", 5, UpstreamBody::kNone, 0,
         "GET /v1/users?id=3 HTTP/1.1\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n"},
        {"path '/' strips the prefix", "GET /legacy/x HTTP/1.1\r\nHost: example.com\r\n\r\n", "/legacy/x",
         "/", 8, UpstreamBody::kNone, 0,
         "GET /x HTTP/1.1\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n"},
        {"decoded bytes are escaped again", "GET /api/a%0d%0ab%20c%25 HTTP/1.1\r\nHost: example.com\r\n\r\n",
         "/api/a\r\nb c%", "/v1/", 5, UpstreamBody::kNone, 0,
         "GET /v1/a%0D%0Ab%20c%25 HTTP/1.1\r\nHost: example.com\r\n" + kTail +
             "Connection: keep-alive\r\n\r\n"},
        {"exact location: the path alone", "GET /status HTTP/1.1\r\nHost: example.com\r\n\r\n", "/status",
         "/healthz", 7, UpstreamBody::kNone, 0,
         "GET /healthz HTTP/1.1\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n"},
        {"absolute-form goes in origin-form",
         "GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n", "/p", "", 1, UpstreamBody::kNone,
         0, "GET /p?q HTTP/1.1\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n"},
        {"absolute-form with a bare query", "GET http://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
         "/", "", 1, UpstreamBody::kNone, 0,
         "GET /?q HTTP/1.1\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n"},
        {"absolute-form, no path", "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", "/", "", 1,
         UpstreamBody::kNone, 0,
         "GET / HTTP/1.1\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n"},
        {"HTTP/1.0 goes up as 1.1", "GET /a HTTP/1.0\r\n\r\n", "/a", "", 1, UpstreamBody::kNone, 0,
         "GET /a HTTP/1.1\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK(build(c) == c.expected);
    }
}

// try_files' fallback into a proxied location: the changed URI and its query go up (nginx's
// "full normalised URI" when processing a changed URI), escaped again.
TEST_CASE("proxy request head: a URI an internal redirect changed", "[proxy]") {
    const auto up = [](std::string_view line) {
        return std::string(line) + "\r\nHost: example.com\r\n" + kTail + "Connection: keep-alive\r\n\r\n";
    };
    const std::vector<std::pair<Case, Redirected>> cases{
        {{"no path: the changed URI and query", "GET /try/x%20y?old=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
          "/app/index", "", 5, UpstreamBody::kNone, 0, up("GET /app/index?q=/try/x%20y&old=1 HTTP/1.1")},
         {"q=/try/x y&old=1"}},
        {{"path: replaces the new location's prefix", "GET /try/x?old=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
          "/app/fallback", "/v1/", 5, UpstreamBody::kNone, 0, up("GET /v1/fallback HTTP/1.1")},
         {""}},
        {{"a changed query cannot break the line", "GET /t HTTP/1.1\r\nHost: example.com\r\n\r\n", "/app/i", "",
          5, UpstreamBody::kNone, 0, up("GET /app/i?a=%0D%0A%20b HTTP/1.1")},
         {"a=\r\n b"}},
        // As nginx, what the config expanded goes as it is where a request line allows it.
        {{"expanded values as they are", "GET /t HTTP/1.1\r\nHost: example.com\r\n\r\n", "/app/i", "", 5,
          UpstreamBody::kNone, 0, up("GET /app/i?q=/x&r=%41[]%23 HTTP/1.1")},
         {"q=/x&r=%41[]#"}},
        {{"the client's query, kept, goes as sent", "GET /try/x?a[]=1&b=%20 HTTP/1.1\r\nHost: example.com\r\n\r\n",
          "/app/i", "", 5, UpstreamBody::kNone, 0, up("GET /app/i?a[]=1&b=%20 HTTP/1.1")},
         {"", true}},
    };
    for (const auto& [c, redirect] : cases) {
        INFO(c.what);
        CHECK(build(c, {}, false, 4096, &redirect) == c.expected);
    }
}

TEST_CASE("proxy request head: hop-by-hop fields go, end-to-end ones stay in order", "[proxy]") {
    const Case c{"hop-by-hop",
                 "POST /f HTTP/1.1\r\nHost: Example.COM:8080\r\nConnection: keep-alive, X-Secret\r\n"
                 "X-Secret: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\nTrailer: X-Sum\r\nUpgrade: websocket\r\n"
                 "Proxy-Authorization: Basic x\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n"
                 "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nCookie: a=1\r\n"
                 "X-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n\r\n",
                 "/f",
                 "",
                 1,
                 UpstreamBody::kLength,
                 12,
                 "POST /f HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nCookie: a=1\r\n" + kTail +
                     "Content-Length: 12\r\nConnection: keep-alive\r\n\r\n"};
    CHECK(build(c) == c.expected);
}

TEST_CASE("proxy request head: X-Forwarded-For is appended to every value the client sent", "[proxy]") {
    const Case c{
        "xff",
        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n"
        "x-forwarded-for: 3.3.3.3\r\n\r\n",
        "/",
        "",
        1,
        UpstreamBody::kNone,
        0,
        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.7\r\n"
        "X-Real-IP: 10.0.0.7\r\nX-Forwarded-Proto: http\r\nConnection: keep-alive\r\n\r\n"};
    CHECK(build(c) == c.expected);
}

TEST_CASE("proxy request head: proxy_set_headers replaces fields and can remove them", "[proxy]") {
    const auto set = headers({{"Host", "$host:8080"}, {"X-Real-IP", ""}, {"X-Uri", "$uri"}, {"Accept", ""}});
    const Case c{
        "set",
        "GET /a HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Uri: forged\r\nUser-Agent: t\r\n\r\n",
        "/a",
        "",
        1,
        UpstreamBody::kChunked,
        0,
        "GET /a HTTP/1.1\r\nUser-Agent: t\r\nX-Forwarded-For: 10.0.0.7\r\nX-Forwarded-Proto: http\r\n"
        "Host: example.com:8080\r\nX-Uri: /a\r\nTransfer-Encoding: chunked\r\n"
        "Connection: keep-alive\r\n\r\n"};
    CHECK(build(c, set) == c.expected);
}

TEST_CASE("proxy request head: an upgrade keeps Upgrade and asks for Connection: upgrade", "[proxy]") {
    const Case c{"upgrade",
                 "GET /ws HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 "/ws",
                 "",
                 1,
                 UpstreamBody::kNone,
                 0,
                 "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\n"
                 "Sec-WebSocket-Version: 13\r\n" +
                     kTail + "Connection: upgrade\r\n\r\n"};
    CHECK(build(c, {}, true) == c.expected);
    Client client = parse(c.request);
    CHECK(is_upgrade_request(client.raw.data(), client.head_length, client.request));
}

TEST_CASE("proxy request head: what is and is not an upgrade request", "[proxy]") {
    struct U {
        const char* raw;
        bool upgrade;
    };
    const std::vector<U> cases{
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", false},   // no Connection option
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", false},  // no Upgrade
        {"POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n", false},  // not GET
        {"GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n", false},              // HTTP/1.0
    };
    for (const U& u : cases) {
        INFO(u.raw);
        Client client = parse(u.raw);
        CHECK(is_upgrade_request(client.raw.data(), client.head_length, client.request) == u.upgrade);
    }
}

TEST_CASE("proxy request head: a head that does not fit is an error, never a truncation", "[proxy]") {
    const Case c{"small", "GET /a HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
                 "/a",    "",
                 1,       UpstreamBody::kNone,
                 0,       ""};
    const std::string whole = build(c);
    REQUIRE(whole.rfind("GET /a", 0) == 0);
    for (size_t cap = 0; cap < whole.size(); cap += 7)
        CHECK(build(c, {}, false, cap) == "error: upstream request head too large");
    CHECK(build(c, {}, false, whole.size()) == whole);
}

TEST_CASE("proxy request head: idempotent methods", "[proxy]") {
    CHECK(is_idempotent(Method::kGet));
    CHECK(is_idempotent(Method::kPut));
    CHECK(is_idempotent(Method::kDelete));
    CHECK_FALSE(is_idempotent(Method::kPost));
    CHECK_FALSE(is_idempotent(Method::kPatch));
    CHECK_FALSE(is_idempotent(Method::kConnect));
}

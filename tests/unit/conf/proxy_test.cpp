// Tests for the proxy's part of conf/: the `upstreams` list, the proxy_* settings and their
// inheritance, the text forms of servers and proxy_pass, the file, line and setting of every
// error, and the refusal of proxy_pass while nothing proxies.

#include <catch2/catch.hpp>

#include <unistd.h>
#include <libconfig.h++>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "conf/config.hpp"
#include "conf/proxy.hpp"
#include "conf/sections.hpp"

namespace fs = std::filesystem;
using namespace portico::conf;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/portico-proxy-conf-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path_ = pattern;
        fs::create_directory(path_ / "site");
    }
    ~TempDir() { fs::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] std::string path() const { return path_.string(); }
    [[nodiscard]] std::string conf() const { return (path_ / "test.conf").string(); }

private:
    fs::path path_;
};

// The loader's readers and resolution, without the refusals of what is not served yet.
Config proxied(const TempDir& dir, const std::string& text) {
    libconfig::Config parsed;
    parsed.readString(text);
    detail::GroupReader top(parsed.getRoot(), "", dir.conf(), dir.path());
    Config c;
    if (const libconfig::Setting* http = top.find("http")) {
        c.http.route =
            detail::read_route_settings(top.nested(*http, "http"), detail::RouteLevel::kHttp, dir.path());
    }
    c.upstreams = detail::read_upstreams(top);
    c.servers = detail::read_servers(top, dir.path());
    detail::resolve_routing(c);
    detail::resolve_proxy(c);
    return c;
}

std::string error_of(const TempDir& dir, const std::string& text) {
    try {
        load_config_from_string(text, dir.conf());
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("no ConfigError for:\n" << text);
    return {};
}

constexpr const char* kServer = "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\";\n";

// The issue's example, with each setting on its own line for the error tests' line numbers.
constexpr const char* kExample = R"(upstreams = (
  { name = "app";
    servers = [ "127.0.0.1:9001 weight=3", "127.0.0.1:9002 max_fails=3 fail_timeout=10",
                "unix:/run/app.sock", "127.0.0.1:9003 backup" ];
    balance = "round_robin";
    keepalive = 32;
    keepalive_timeout = "4s";
  },
  { name = "hashed"; servers = [ "[::1]:9004", "10.0.0.2" ]; balance = "hash $request_uri"; keepalive = 0; }
);
servers = ( { listen = "127.0.0.1:8080"; root = "site";
  proxy_read_timeout = "45s";
  locations = (
    { match = "/api/"; proxy_pass = "http://app";
      proxy_set_headers = [ "Host: $host", "X-Uri: $uri" ]; proxy_read_timeout = "30s"; },
    { match = "/ws/";  proxy_pass = "http://app"; },
    { match = "/legacy/"; proxy_pass = "http://127.0.0.1:9100/v1/"; },
    { match = "~ \\.php$"; proxy_pass = "http://hashed"; proxy_connect_timeout = 2; proxy_next_upstream_tries = 2; },
    { match = "/static/"; }
  );
} );
)";

}  // namespace

TEST_CASE("proxy conf: the issue's example reads, resolves and inherits", "[conf][proxy]") {
    TempDir dir;
    const Config c = proxied(dir, kExample);
    REQUIRE(c.upstreams.size() == 2);
    const Upstream& app = c.upstreams[0];
    CHECK(app.name == "app");
    CHECK(app.balance == Balance::kRoundRobin);
    CHECK(app.keepalive == 32);
    CHECK(app.keepalive_timeout == 4s);
    REQUIRE(app.servers.size() == 4);
    CHECK(app.servers[0].address() == "127.0.0.1:9001");
    CHECK(app.servers[0].weight == 3);
    CHECK(app.servers[1].max_fails == 3);
    CHECK(app.servers[1].fail_timeout == 10s);
    CHECK(app.servers[2].address() == "unix:/run/app.sock");
    CHECK(app.servers[3].backup);
    CHECK_THAT(app.where, Contains("test.conf:2: setting 'upstreams[0].name'"));
    const Upstream& hashed = c.upstreams[1];
    CHECK(hashed.balance == Balance::kHashRequestUri);
    CHECK(hashed.keepalive == 0);
    CHECK(hashed.servers[0].address() == "[::1]:9004");
    CHECK(hashed.servers[1].address() == "10.0.0.2:80");

    const auto& locations = c.servers[0].locations;
    REQUIRE(locations.size() == 5);
    const ProxySettings& api = *locations[0].settings.proxy;
    CHECK(api.pass->upstream_index == 0);
    CHECK_FALSE(api.pass->has_path());
    CHECK(api.read_timeout == 30s);     // its own
    CHECK(api.connect_timeout == 60s);  // the default
    CHECK(api.next_upstream_tries == 0u);
    REQUIRE(api.set_headers->size() == 2);
    CHECK((*api.set_headers)[1].lower_name == "x-uri");
    CHECK((*api.set_headers)[1].value.text() == "$uri");
    const ProxySettings& ws = *locations[1].settings.proxy;
    CHECK(ws.read_timeout == 45s);  // the server's
    CHECK(ws.set_headers->empty());
    const ProxySettings& legacy = *locations[2].settings.proxy;
    CHECK(legacy.pass->upstream_index == -1);
    REQUIRE(legacy.pass->address);
    CHECK(legacy.pass->address->address() == "127.0.0.1:9100");
    CHECK(legacy.pass->path == "/v1/");
    const ProxySettings& php = *locations[3].settings.proxy;
    CHECK(php.pass->upstream_index == 1);
    CHECK(php.connect_timeout == 2s);
    CHECK(php.next_upstream_tries == 2u);
    // A location without proxy_pass inherits the server's proxy settings, but no proxy_pass.
    REQUIRE(locations[4].settings.proxy);
    CHECK_FALSE(locations[4].settings.proxy->pass);
    CHECK(locations[4].settings.proxy->read_timeout == 45s);
}

TEST_CASE("proxy conf: upstream servers in every form", "[conf][proxy]") {
    struct Good {
        const char* text;
        const char* address;
        uint32_t weight, max_fails;
        Millis fail_timeout;
        bool backup;
    };
    const Good good[] = {
        {"127.0.0.1:9001", "127.0.0.1:9001", 1, 1, 10s, false},
        {"127.0.0.1", "127.0.0.1:80", 1, 1, 10s, false},
        {"[::1]", "[::1]:80", 1, 1, 10s, false},
        {"[0:0::1]:81", "[::1]:81", 1, 1, 10s, false},
        {"unix:/run/app.sock", "unix:/run/app.sock", 1, 1, 10s, false},
        {"10.0.0.1:8080 weight=1000 max_fails=0 fail_timeout=500ms backup", "10.0.0.1:8080", 1000, 0, 500ms,
         true},
        {"  10.0.0.1:8080   weight=2  ", "10.0.0.1:8080", 2, 1, 10s, false},
    };
    for (const Good& g : good) {
        INFO(g.text);
        std::string problem;
        auto s = detail::parse_upstream_server(g.text, problem);
        REQUIRE(s);
        CHECK(s->address() == g.address);
        CHECK(s->weight == g.weight);
        CHECK(s->max_fails == g.max_fails);
        CHECK(s->fail_timeout == g.fail_timeout);
        CHECK(s->backup == g.backup);
    }
    struct Bad {
        const char* text;
        const char* problem;
    };
    const Bad bad[] = {
        {"", "is empty"},
        {"app.internal:80", "'app.internal' is not a numeric address (host names are not resolved"},
        {"127.0.0.1:0", "the port must be a number between 1 and 65535"},
        {"127.0.0.1:70000", "the port must be a number between 1 and 65535"},
        {"127.0.0.1:", "the port must be a number"},
        {"[::1", "missing ']'"},
        {"[::1]x", "expected ':port' after ']'"},
        {"::1:80", "is not an address"},
        {"unix:run/app.sock", "the socket path must be absolute"},
        {"127.0.0.1 weight=0", "weight must be a number between 1 and 1000 (got '0')"},
        {"127.0.0.1 weight=x", "weight must be a number between 1 and 1000 (got 'x')"},
        {"127.0.0.1 max_fails=-1", "max_fails must be a number between 0 and 1000"},
        {"127.0.0.1 fail_timeout=0", "fail_timeout '0': must be greater than 0"},
        {"127.0.0.1 fail_timeout=soon", "fail_timeout 'soon': expected a duration"},
        {"127.0.0.1 wieght=3", "unknown option 'wieght=3'"},
        {"127.0.0.1 backup=1", "unknown option 'backup=1'"},
        {"127.0.0.1 weight", "unknown option 'weight'"},
        {"127.0.0.1 down", "unknown option 'down'"},
        {"127.0.0.1 weight=2 weight=3", "'weight' is given twice"},
    };
    for (const Bad& b : bad) {
        INFO(b.text);
        std::string problem;
        CHECK_FALSE(detail::parse_upstream_server(b.text, problem));
        CHECK_THAT(problem, Contains(b.problem));
    }
}

TEST_CASE("proxy conf: proxy_pass names an upstream or an address, with or without a path", "[conf][proxy]") {
    struct Good {
        const char* text;
        const char* upstream;
        const char* address;  // "" for an upstream name
        const char* path;
    };
    const Good good[] = {
        {"http://app", "app", "", ""},
        {"http://app/", "app", "", "/"},
        {"http://my-app.v2/x/y", "my-app.v2", "", "/x/y"},
        {"http://127.0.0.1:9100/v1/", "127.0.0.1:9100", "127.0.0.1:9100", "/v1/"},
        {"http://127.0.0.1", "127.0.0.1", "127.0.0.1:80", ""},
        {"http://[::1]:9000", "[::1]:9000", "[::1]:9000", ""},
    };
    for (const Good& g : good) {
        INFO(g.text);
        std::string problem;
        auto p = detail::parse_proxy_pass(g.text, problem);
        REQUIRE(p);
        CHECK(p->upstream == g.upstream);
        CHECK(p->path == g.path);
        CHECK((p->address ? p->address->address() : std::string()) == g.address);
    }
    struct Bad {
        const char* text;
        const char* problem;
    };
    const Bad bad[] = {
        {"app", "must start with \"http://\""},
        {"https://app", "https:// upstreams are not supported"},
        {"http://", "names no upstream or address"},
        {"http:///x", "names no upstream or address"},
        {"http://app:8080", "'app' is not a numeric address"},
        {"http://1.2.3:80", "'1.2.3' is not a numeric address"},
        {"http://unix:/run/a.sock", "a unix socket goes in an upstream's servers"},
        {"http://app/a b", "may not hold spaces"},
        {"http://app/$uri", "or variables"},
        {"http://app/x?y", "'?'"},
    };
    for (const Bad& b : bad) {
        INFO(b.text);
        std::string problem;
        CHECK_FALSE(detail::parse_proxy_pass(b.text, problem));
        CHECK_THAT(problem, Contains(b.problem));
    }
}

TEST_CASE("proxy conf: mistakes name the file, the line and the setting", "[conf][proxy]") {
    TempDir dir;
    const std::string f = dir.conf();
    const std::string server = kServer;
    const std::string app = "upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:9001\" ]; } );\n";
    struct Case {
        std::string text;
        std::string expected;  // what the message ends with, after "FILE:"
    };
    const Case cases[] = {
        {app + server + "locations = ( { match = \"/\";\nproxy_pass = \"http://ap\"; } ); } );\n",
         "4: setting 'servers[0].locations[0].proxy_pass': unknown upstream 'ap' (the upstreams are app)"},
        {server + "locations = ( { match = \"/\";\nproxy_pass = \"http://app\"; } ); } );\n",
         "3: setting 'servers[0].locations[0].proxy_pass': unknown upstream 'app' (no upstreams are "
         "defined)"},
        {app + server + "locations = ( { match = \"~ ^/a\";\nproxy_pass = \"http://app/v1/\"; } ); } );\n",
         "4: setting 'servers[0].locations[0].proxy_pass': 'http://app/v1/' has a path ('/v1/'), which a "
         "regex "
         "location cannot replace; write \"http://app\" or use a prefix location"},
        {app + server + "locations = ( { match = \"/\";\nproxy_pass = \"http://app:80\"; } ); } );\n",
         "4: setting 'servers[0].locations[0].proxy_pass': 'app' is not a numeric address (host names are "
         "not "
         "resolved: write \"127.0.0.1:9001\", \"[::1]:9001\" or \"unix:/path\")"},
        {app + server + "proxy_pass = \"http://app\"; } );\n",
         "3: setting 'servers[0].proxy_pass': unknown setting here; it belongs inside one of the server's "
         "'locations'"},
        {"upstreams = ( { name = \"app\";\nservers = [ \"127.0.0.1:9001\", \"127.0.0.1:9002 weight=0\" ]; } "
         ");\n" +
             server + "} );\n",
         "2: setting 'upstreams[0].servers[1]': weight must be a number between 1 and 1000 (got '0')"},
        {"upstreams = ( { name = \"app\";\nservers = [ \"localhost:9001\" ]; } );\n" + server + "} );\n",
         "2: setting 'upstreams[0].servers[0]': 'localhost' is not a numeric address"},
        {"upstreams = ( { name = \"app\";\nservers = [ \"127.0.0.1:9001 slow_start=1\" ]; } );\n" + server +
             "} );\n",
         "2: setting 'upstreams[0].servers[0]': unknown option 'slow_start=1' (the options are weight=N, "
         "max_fails=N, fail_timeout=DURATION and backup)"},
        {app + "upstreams += 1;\n" + server + "} );\n", "syntax error"},
        {"upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:1\" ]; },\n{ name = \"app\"; servers = [ "
         "\"127.0.0.1:2\" ]; } );\n" +
             server + "} );\n",
         "2: setting 'upstreams[1].name': upstream 'app' is already defined by upstreams[0]"},
        {"upstreams = ( { name = \"9app\"; servers = [ \"127.0.0.1:1\" ]; } );\n" + server + "} );\n",
         "1: setting 'upstreams[0].name': '9app' is not a name"},
        {"upstreams = ( { servers = [ \"127.0.0.1:1\" ]; } );\n" + server + "} );\n",
         "1: setting 'upstreams[0].name': missing; every upstream needs one, e.g. name = \"app\";"},
        {"upstreams = ( { name = \"app\"; } );\n" + server + "} );\n",
         "1: setting 'upstreams[0].servers': missing; list at least one"},
        {"upstreams = ( { name = \"app\";\nservers = [ ]; } );\n" + server + "} );\n",
         "2: setting 'upstreams[0].servers': must name at least one server"},
        {"upstreams = ( { name = \"app\";\nservers = [ \"127.0.0.1:1\", \"127.0.0.1:1 weight=2\" ]; } );\n" +
             server + "} );\n",
         "2: setting 'upstreams[0].servers[1]': '127.0.0.1:1' is listed twice"},
        {"upstreams = ( { name = \"app\";\nservers = [ \"127.0.0.1:1 backup\" ]; } );\n" + server + "} );\n",
         "2: setting 'upstreams[0].servers': every server is a backup; at least one must not be"},
        {"upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:1\" ];\nbalance = \"random\"; } );\n" +
             server + "} );\n",
         "2: setting 'upstreams[0].balance': must be \"round_robin\", \"least_conn\", \"hash $remote_addr\" "
         "or "
         "\"hash $request_uri\" (got 'random')"},
        {"upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:1\", \"127.0.0.1:2 backup\" ];\n"
         "balance = \"hash $remote_addr\"; } );\n" +
             server + "} );\n",
         "2: setting 'upstreams[0].balance': hash cannot be used with backup servers ('127.0.0.1:2'), as in "
         "nginx"},
        {"upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:1\" ];\nkeepalive = -1; } );\n" + server +
             "} );\n",
         "2: setting 'upstreams[0].keepalive': must be between 0 and 65535 (got -1)"},
        {"upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:1\" ];\nkeepalive_timout = 1; } );\n" +
             server + "} );\n",
         "2: setting 'upstreams[0].keepalive_timout': unknown setting; did you mean 'keepalive_timeout'?"},
        {"upstreams = { name = \"app\"; };\n" + server + "} );\n",
         "1: setting 'upstreams': expected a list of groups"},
        {app + "http = {\nproxy_read_timeout = 0; };\n" + server + "} );\n",
         "3: setting 'http.proxy_read_timeout': must be greater than 0"},
        {app + server + "proxy_next_upstream_tries = 1000; } );\n",
         "3: setting 'servers[0].proxy_next_upstream_tries': must be between 0 and 256 (got 1000)"},
        {app + server + "proxy_set_headers = [ \"X-A: 1\",\n\"Content-Length: 5\" ]; } );\n",
         "4: setting 'servers[0].proxy_set_headers[1]': 'Content-Length' is written by the proxy itself"},
        {app + server + "proxy_set_headers = [ \"X-A: 1\", \"x-a: 2\" ]; } );\n",
         "3: setting 'servers[0].proxy_set_headers[1]': 'x-a' is set twice"},
        {app + server + "proxy_set_headers = [ \"X-A $host\" ]; } );\n",
         "3: setting 'servers[0].proxy_set_headers[0]': 'X-A $host' is not \"Name: value\""},
        {app + server + "proxy_set_headers = [ \"X-A: $hots\" ]; } );\n",
         "3: setting 'servers[0].proxy_set_headers[0]': unknown variable '$hots'"},
        {app + server + "proxy_read_timout = 1; } );\n",
         "3: setting 'servers[0].proxy_read_timout': unknown setting; did you mean 'proxy_read_timeout'?"},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        const std::string message = error_of(dir, c.text);
        if (c.expected == "syntax error") {
            CHECK_THAT(message, Contains("syntax error"));
            continue;
        }
        CHECK_THAT(message, Contains(f + ":" + c.expected));
    }
}

TEST_CASE("proxy conf: the example loads, its proxy_pass resolved to its upstream", "[conf][proxy]") {
    TempDir dir;
    const Config c = load_config_from_string(kExample, dir.conf());
    REQUIRE(!c.servers[0].locations.empty());
    const auto& proxy = c.servers[0].locations[0].settings.proxy;
    REQUIRE(proxy);
    REQUIRE(proxy->pass);
    CHECK(proxy->pass->upstream_index == 0);
}

TEST_CASE("proxy conf: upstreams and proxy_* settings load without a proxy_pass", "[conf][proxy]") {
    TempDir dir;
    const Config c = load_config_from_string(
        "upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:9001\" ]; balance = \"least_conn\"; } );\n"
        "http = { proxy_read_timeout = \"5s\"; };\n"
        "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; proxy_connect_timeout = 1; } );\n",
        dir.conf());
    REQUIRE(c.upstreams.size() == 1);
    CHECK(c.upstreams[0].balance == Balance::kLeastConn);
    CHECK(c.upstreams[0].keepalive == 32);
    CHECK(c.upstreams[0].keepalive_timeout == 4s);
    REQUIRE(c.servers[0].route.proxy);
    CHECK(c.servers[0].route.proxy->read_timeout == 5s);
    CHECK(c.servers[0].route.proxy->connect_timeout == 1s);
}

TEST_CASE("proxy conf: a config without proxy settings has none", "[conf][proxy]") {
    TempDir dir;
    const Config c = load_config_from_string(
        "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; } );\n", dir.conf());
    CHECK(c.upstreams.empty());
    CHECK_FALSE(c.servers[0].route.proxy);
    CHECK_FALSE(c.http.route.proxy);
}

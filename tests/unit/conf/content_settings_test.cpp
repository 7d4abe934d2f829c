// Issue 9's content settings (precompressed, gzip, brotli, charset, http.compressed_cache):
// defaults, inheritance http -> server -> location, the compiled policy (null when nothing is
// set), and bad values refused with file, line and setting.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "conf/config.hpp"
#include "conf/defaults.hpp"

namespace fs = std::filesystem;
using namespace portico::conf;
using portico::http::content::Coding;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

struct ConfDir {
    ConfDir() {
        char pattern[] = "/tmp/portico-content-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path = pattern;
        fs::create_directory(path / "www");
    }
    ~ConfDir() { fs::remove_all(path); }
    [[nodiscard]] std::string conf() const { return (path / "test.conf").string(); }
    fs::path path;
};

// `http_body` inside http (from line 2), `server_body` inside the one server.
std::string config(const std::string& http_body, const std::string& server_body = "") {
    return "http = {\n" + http_body + "\n};\nservers = ( { listen = \"127.0.0.1:8080\"; root = \"www\"; " +
           server_body + " } );\n";
}

std::string error_of(const ConfDir& dir, const std::string& text) {
    try {
        load_config_from_string(text, dir.conf());
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("no ConfigError for:\n" << text);
    return {};
}

}  // namespace

TEST_CASE("content settings: none set, no policy and the default cache cap", "[conf][content]") {
    ConfDir dir;
    Config c = load_config_from_string(config(""), dir.conf());
    CHECK(c.http.compressed_cache == kDefaults.compressed_cache);
    CHECK(c.servers[0].route.content == nullptr);
    // Set, but to nothing: still no policy, so the request path stays the plain one.
    Config off = load_config_from_string(config("precompressed = [];\ngzip = \"off\";\ncharset = \"off\";"), dir.conf());
    CHECK(off.servers[0].route.content == nullptr);
}

TEST_CASE("content settings: every key is read and compiled", "[conf][content]") {
    ConfDir dir;
    Config c = load_config_from_string(
        config("compressed_cache = \"8m\";\nprecompressed = [ \"gzip\", \"br\" ];\n"
               "gzip = { types = [ \"text/html\", \"text/css\" ]; min_length = 100; level = 9; };\n"
               "brotli = { level = 4; };\ncharset = \"utf-8\";"),
        dir.conf());
    CHECK(c.http.compressed_cache == 8u << 20);
    auto p = c.servers[0].route.content;
    REQUIRE(p != nullptr);
    CHECK(p->precompressed == std::vector<Coding>{Coding::kGzip, Coding::kBrotli});
    CHECK(p->charset == "utf-8");
    REQUIRE(p->on_the_fly.size() == 2);
    CHECK(p->on_the_fly[0].coding == Coding::kBrotli);  // brotli first: smaller for the same text
    const auto* gzip = p->rule(Coding::kGzip);
    REQUIRE(gzip != nullptr);
    CHECK(gzip->options.gzip_level == 9);
    CHECK(gzip->rules.should_compress("text/css", 100));
    CHECK_FALSE(gzip->rules.should_compress("text/css", 99));
    CHECK_FALSE(gzip->rules.should_compress("application/json", 1000));
    const auto* brotli = p->rule(Coding::kBrotli);
    REQUIRE(brotli != nullptr);
    CHECK(brotli->options.brotli_quality == 4);
    // The default types and min_length.
    CHECK(brotli->rules.should_compress("application/javascript", 256));
    CHECK_FALSE(brotli->rules.should_compress("application/javascript", 255));
    CHECK_FALSE(brotli->rules.should_compress("image/png", 100000));
}

TEST_CASE("content settings: a server and a location inherit and override", "[conf][content]") {
    ConfDir dir;
    Config c = load_config_from_string(config("gzip = { level = 3; };\ncharset = \"utf-8\";", "precompressed = \"br\";"),
                                       dir.conf());
    auto server = c.servers[0].route.content;
    REQUIRE(server != nullptr);
    CHECK(server->precompressed == std::vector<Coding>{Coding::kBrotli});
    REQUIRE(server->rule(Coding::kGzip) != nullptr);
    CHECK(server->rule(Coding::kGzip)->options.gzip_level == 3);
    CHECK(server->charset == "utf-8");
    // A location (loaded once locations are routed; inherited the same way): gzip and charset off.
    RouteSettings location;
    location.gzip = CompressionSetting{};
    location.charset = "";
    location.inherit(c.servers[0].route);
    REQUIRE(location.content != nullptr);  // precompressed, from the server
    CHECK(location.content->rule(Coding::kGzip) == nullptr);
    CHECK(location.content->charset.empty());
    CHECK(location.content->precompressed == std::vector<Coding>{Coding::kBrotli});
    RouteSettings nothing;
    nothing.precompressed = std::vector<Coding>{};
    nothing.inherit(location);
    CHECK(nothing.content == nullptr);
}

TEST_CASE("content settings: a server's are served, not refused as unwired routing", "[conf][content]") {
    ConfDir dir;
    Config c = load_config_from_string(config("", "gzip = { };\nbrotli = { };\nprecompressed = [ \"gzip\" ];\ncharset = \"utf-8\";"),
                                       dir.conf());
    CHECK(c.servers[0].route.content != nullptr);
}

TEST_CASE("content settings: bad values name the file, the line and the setting", "[conf][content]") {
    ConfDir dir;
    const std::string at = dir.conf() + ":2: setting ";
    CHECK_THAT(error_of(dir, config("precompressed = [ \"zstd\" ];")),
               StartsWith(at + "'http.precompressed[0]'") && Contains("\"br\" or \"gzip\""));
    CHECK_THAT(error_of(dir, config("precompressed = [ \"gzip\", \"GZIP\" ];")),
               StartsWith(at + "'http.precompressed[1]'") && Contains("twice"));
    CHECK_THAT(error_of(dir, config("gzip = { level = 10; };")), StartsWith(at + "'http.gzip.level'"));
    CHECK_THAT(error_of(dir, config("gzip = { level = 0; };")), StartsWith(at + "'http.gzip.level'"));
    CHECK_THAT(error_of(dir, config("brotli = { level = 12; };")), StartsWith(at + "'http.brotli.level'"));
    CHECK_THAT(error_of(dir, config("gzip = { types = [ \"html\" ]; };")),
               StartsWith(at + "'http.gzip.types[0]'") && Contains("media type"));
    CHECK_THAT(error_of(dir, config("gzip = { min_length = -1; };")), StartsWith(at + "'http.gzip.min_length'"));
    CHECK_THAT(error_of(dir, config("gzip = { leve = 5; };")), StartsWith(at + "'http.gzip.leve'"));
    CHECK_THAT(error_of(dir, config("gzip = \"on\";")), StartsWith(at + "'http.gzip'"));
    CHECK_THAT(error_of(dir, config("gzip = 5;")), StartsWith(at + "'http.gzip'"));
    CHECK_THAT(error_of(dir, config("charset = \"utf 8\";")), StartsWith(at + "'http.charset'"));
    CHECK_THAT(error_of(dir, config("compressed_cache = \"lots\";")), StartsWith(at + "'http.compressed_cache'"));
}

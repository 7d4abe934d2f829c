// The `autoindex` routing setting (issue 9): its values, its inheritance http -> server ->
// location, and its errors. Unlike the settings issue 8 has not wired yet, it is acted on, so
// the loader does not refuse it.

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
using Catch::Matchers::Contains;

namespace {

struct Dir {
    fs::path path;
    Dir() {
        char pattern[] = "/tmp/portico-autoindex-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path = pattern;
        fs::create_directory(path / "site");
    }
    ~Dir() { fs::remove_all(path); }
    [[nodiscard]] std::string conf() const { return (path / "test.conf").string(); }
};

std::string error_of(const Dir& dir, const std::string& text) {
    try {
        load_config_from_string(text, dir.conf());
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("no ConfigError for:\n" << text);
    return {};
}

}  // namespace

TEST_CASE("autoindex is off unless set, and a server inherits http's", "[conf][autoindex]") {
    Dir dir;
    Config off = load_config_from_string("servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; } );\n",
                                         dir.conf());
    CHECK(off.servers[0].route.autoindex.value_or(Autoindex::kOff) == Autoindex::kOff);

    Config c = load_config_from_string(
        "http = { autoindex = \"json\"; };\n"
        "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; },\n"
        "            { listen = \"127.0.0.1:8081\"; root = \"site\"; autoindex = \"html\"; },\n"
        "            { listen = \"127.0.0.1:8082\"; root = \"site\"; autoindex = \"off\"; } );\n",
        dir.conf());
    CHECK(c.servers[0].route.autoindex == Autoindex::kJson);
    CHECK(c.servers[1].route.autoindex == Autoindex::kHtml);
    CHECK(c.servers[2].route.autoindex == Autoindex::kOff);
}

TEST_CASE("a location inherits autoindex from its server", "[conf][autoindex]") {
    Dir dir;
    libconfig::Config parsed;
    parsed.readString(
        "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\"; autoindex = \"html\";\n"
        "  locations = ( { match = \"/a/\"; }, { match = \"/b/\"; autoindex = \"json\"; } ); } );\n");
    detail::GroupReader top(parsed.getRoot(), "", dir.conf(), dir.path.string());
    Config c;
    c.servers = detail::read_servers(top, dir.path.string());
    detail::resolve_routing(c);
    CHECK(c.servers[0].locations[0].settings.autoindex == Autoindex::kHtml);
    CHECK(c.servers[0].locations[1].settings.autoindex == Autoindex::kJson);
}

TEST_CASE("a bad autoindex names its file, line and setting", "[conf][autoindex]") {
    Dir dir;
    std::string e = error_of(dir,
                             "servers = ( { listen = \"127.0.0.1:8080\"; root = \"site\";\n"
                             "  autoindex = \"on\"; } );\n");
    CHECK_THAT(e, Contains("test.conf:2"));
    CHECK_THAT(e, Contains("autoindex"));
    CHECK_THAT(e, Contains("\"off\", \"html\" or \"json\""));
    CHECK_THAT(error_of(dir,
                        "http = { autoindex = true; };\nservers = ( { listen = \"127.0.0.1:8080\"; root = "
                        "\"site\"; } );\n"),
               Contains("autoindex"));
}

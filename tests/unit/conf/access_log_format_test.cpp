// http.access_log_format: "combined" by default, "json" on request, anything else an error that
// names the file, line and setting.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "conf/config.hpp"

namespace fs = std::filesystem;
using namespace portico::conf;
using Catch::Matchers::Contains;

namespace {

// `http_line` inside the http group of a config whose one server serves an existing directory.
Config load_with(const std::string& http_line) {
    char pattern[] = "/tmp/portico-conf-format-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    fs::path dir = pattern;
    struct Cleanup {
        fs::path p;
        ~Cleanup() { fs::remove_all(p); }
    } cleanup{dir};
    std::string text = "http = {\n" + http_line +
                       "\n};\n"
                       "servers = ({ listen = \"127.0.0.1:8080\"; root = \"" +
                       dir.string() + "\"; });\n";
    return load_config_from_string(text, (dir / "server.conf").string());
}

}  // namespace

TEST_CASE("access_log_format: combined by default, json on request", "[conf]") {
    CHECK(load_with("").http.access_log_format == AccessLogFormat::kCombined);
    CHECK(load_with("access_log_format = \"combined\";").http.access_log_format ==
          AccessLogFormat::kCombined);
    CHECK(load_with("access_log_format = \"json\";").http.access_log_format == AccessLogFormat::kJson);
}

TEST_CASE("access_log_format: another value names the file, line and choices", "[conf]") {
    for (const char* bad :
         {"access_log_format = \"JSON\";", "access_log_format = \"main\";", "access_log_format = 1;"}) {
        INFO(bad);
        try {
            (void)load_with(bad);
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK_THAT(e.what(), Contains("server.conf:2: setting 'http.access_log_format'"));
        }
    }
    try {
        (void)load_with("access_log_format = \"main\";");
    } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Contains("must be one of combined, json (got 'main')"));
    }
}

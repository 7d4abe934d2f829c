// http.open_file_cache: defaults, every key read, and bad values refused with file, line and name.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "conf/config.hpp"
#include "conf/defaults.hpp"

namespace fs = std::filesystem;
using namespace portico::conf;
using Catch::Matchers::StartsWith;

namespace {

struct ConfDir {
    ConfDir() {
        char pattern[] = "/tmp/portico-ofc-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path = pattern;
        fs::create_directory(path / "www");
    }
    ~ConfDir() { fs::remove_all(path); }
    [[nodiscard]] std::string conf() const { return (path / "test.conf").string(); }
    fs::path path;
};

constexpr const char* kServer = "servers = ( { listen = \"127.0.0.1:8080\"; root = \"www\"; } );\n";

// `body` inside http.open_file_cache, which starts on line 2.
std::string with_cache(const std::string& body) {
    return "http = {\nopen_file_cache = {\n" + body + "\n};\n};\n" + kServer;
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

TEST_CASE("open_file_cache: absent, every default", "[conf]") {
    ConfDir dir;
    Config c = load_config_from_string(kServer, dir.conf());
    const OpenFileCacheConfig& o = c.http.open_file_cache;
    CHECK(o.max == 4096);
    CHECK(o.valid == Millis{1000});
    CHECK(o.in_memory_max == 4 * 1024);
    CHECK(o.memory == 32 * 1024 * 1024);
    Config empty = load_config_from_string(with_cache(""), dir.conf());
    CHECK(empty.http.open_file_cache.max == kDefaults.open_file_cache_max);
}

TEST_CASE("open_file_cache: every key is read", "[conf]") {
    ConfDir dir;
    Config c = load_config_from_string(
        with_cache("max = 100; valid = \"250ms\"; in_memory_max = \"4k\"; memory = \"1m\";"), dir.conf());
    const OpenFileCacheConfig& o = c.http.open_file_cache;
    CHECK(o.max == 100);
    CHECK(o.valid == Millis{250});
    CHECK(o.in_memory_max == 4096);
    CHECK(o.memory == 1024 * 1024);
    CHECK(load_config_from_string(with_cache("max = 0; valid = 0;"), dir.conf()).http.open_file_cache.max ==
          0);
}

TEST_CASE("open_file_cache: bad values are refused with the reason", "[conf]") {
    auto [body, problem] = GENERATE(table<std::string, std::string>({
        {"maxx = 1;", ":3: setting 'http.open_file_cache.maxx': unknown setting; did you mean 'max'?"},
        {"max = -1;", ":3: setting 'http.open_file_cache.max': must be between 0 and 1000000 (got -1)"},
        {"max = \"many\";", ":3: setting 'http.open_file_cache.max': expected an integer"},
        {"valid = \"soon\";", ":3: setting 'http.open_file_cache.valid': expected a duration"},
        {"in_memory_max = \"2m\";", ":3: setting 'http.open_file_cache.in_memory_max': must be"},
        {"memory = \"lots\";", ":3: setting 'http.open_file_cache.memory': expected a size"},
    }));
    ConfDir dir;
    CAPTURE(body);
    CHECK_THAT(error_of(dir, with_cache(body)), StartsWith(dir.conf() + problem));
    CHECK_THAT(error_of(dir, "http = {\nopen_file_cache = 5;\n};\n" + std::string(kServer)),
               StartsWith(dir.conf() + ":2: setting 'http.open_file_cache': expected a group"));
}

TEST_CASE("the shipped conf/server.conf shows open_file_cache's defaults", "[conf]") {
    Config c = load_config(std::string(PORTICO_SOURCE_DIR) + "/conf/server.conf");
    const OpenFileCacheConfig& o = c.http.open_file_cache;
    CHECK(o.max == kDefaults.open_file_cache_max);
    CHECK(o.valid == kDefaults.open_file_cache_valid);
    CHECK(o.in_memory_max == kDefaults.open_file_cache_in_memory_max);
    CHECK(o.memory == kDefaults.open_file_cache_memory);
}

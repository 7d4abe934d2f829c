// Tests for conf/: defaults, every kind of value, path resolution, and the exact file, line and
// setting name in each error message.

#include <catch2/catch.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "conf/config.hpp"
#include "conf/defaults.hpp"

namespace fs = std::filesystem;
using namespace portico::conf;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A scratch directory holding a real document root, removed at the end of the test.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/portico-conf-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path_ = pattern;
        fs::create_directory(path_ / "www");
    }
    ~TempDir() { fs::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] std::string path() const { return path_.string(); }
    [[nodiscard]] std::string conf() const { return (path_ / "test.conf").string(); }

    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path_ / name) << text;
    }

private:
    fs::path path_;
};

constexpr const char* kServer = "servers = ( { listen = \"127.0.0.1:8080\"; root = \"www\"; } );\n";

Config load(const TempDir& dir, const std::string& text) {
    return load_config_from_string(text, dir.conf());
}

// The message of the ConfigError that loading `text` throws.
std::string error_of(const TempDir& dir, const std::string& text) {
    try {
        load(dir, text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("no ConfigError for:\n" << text);
    return {};
}

// The config with `line` inside the http group (which starts on line 1, so `line` is on line 2).
std::string with_http(const std::string& line) {
    return "http = {\n" + line + "\n};\n" + kServer;
}

}  // namespace

TEST_CASE("an almost empty config takes every default", "[conf]") {
    TempDir dir;
    Config c = load(dir, kServer);
    CHECK(c.file == dir.conf());
    CHECK(c.worker_processes >= 1);
    CHECK(c.worker_processes == std::max(1u, std::thread::hardware_concurrency()));
    CHECK(c.master_process == kDefaults.master_process);
    CHECK(c.master_process);
    CHECK_FALSE(c.daemon);
    CHECK(c.user.empty());
    CHECK(c.user_uid == 0);
    CHECK(c.user_gid == 0);
    CHECK_FALSE(c.worker_cpu_affinity_auto);
    CHECK(c.worker_watchdog_timeout == Millis{10'000});
    CHECK(c.worker_respawn_backoff_max == Millis{30'000});
    CHECK(c.pid_file.empty());
    CHECK(c.error_log == "stderr");
    CHECK(c.log_level == "info");
    CHECK(c.worker_connections == 10000);
    CHECK(c.worker_rlimit_nofile == 0);
    CHECK(c.worker_shutdown_timeout == Millis{10'000});

    const HttpConfig& h = c.http;
    CHECK(h.mime_types == "/etc/mime.types");
    CHECK(h.default_type == "application/octet-stream");
    CHECK(h.access_log == "off");
    CHECK(h.keepalive_timeout == Millis{75'000});
    CHECK(h.keepalive_requests == 1000);
    CHECK(h.client_header_timeout == Millis{60'000});
    CHECK(h.client_body_timeout == Millis{60'000});
    CHECK(h.send_timeout == Millis{60'000});
    CHECK(h.client_max_body_size == 1024 * 1024);
    CHECK(h.client_header_buffer_size == 1024);
    CHECK(h.large_client_header_buffer_size == 8192);

    REQUIRE(c.servers.size() == 1);
    const ServerConfig& s = c.servers[0];
    CHECK(s.listen == std::vector<ListenAddress>{{"127.0.0.1", 8080, false}});
    CHECK(s.server_names.empty());
    CHECK(s.root == dir.path() + "/www");
    CHECK(s.index == std::vector<std::string>{"index.html"});
    CHECK(s.status_path.empty());
}

TEST_CASE("every setting is read", "[conf]") {
    TempDir dir;
    fs::create_directory(dir.path() + "/site2");
    Config c = load(dir, R"(
        worker_processes = 3;
        master_process = false;
        daemon = true;
        user = "root";
        worker_cpu_affinity = "auto";
        worker_watchdog_timeout = 0;
        worker_respawn_backoff_max = "0.1s";
        pid_file = "/run/portico.pid";
        error_log = "/var/log/portico/error.log";
        log_level = "debug";
        worker_connections = 512;
        worker_rlimit_nofile = 4096;
        worker_shutdown_timeout = "1m";
        http = {
            mime_types = "/usr/share/mime.types";
            default_type = "text/plain; charset=utf-8";
            access_log = "/var/log/portico/access.log";
            keepalive_timeout = 0;
            keepalive_requests = 7;
            client_header_timeout = "500ms";
            client_body_timeout = 1.5;
            send_timeout = "2h";
            client_max_body_size = 0;
            client_header_buffer_size = "4k";
            large_client_header_buffer_size = "64k";
        };
        servers = (
            { listen = ["127.0.0.1:8080", "[::1]:8080"]; server_name = ["Example.COM", "www.example.com"];
              root = "www"; index = ["index.htm", "default.html"]; status_path = "/portico_status"; },
            { listen = "*:9090"; server_name = "Other.org"; root = "site2"; index = "home.html"; },
            { listen = 8080; root = "/tmp"; }
        );
    )");
    CHECK(c.worker_processes == 3);
    CHECK_FALSE(c.master_process);
    CHECK(c.daemon);
    CHECK(c.user == "root");
    CHECK(c.user_uid == 0);
    CHECK(c.user_gid == 0);
    CHECK(c.worker_cpu_affinity_auto);
    CHECK(c.worker_watchdog_timeout == Millis{0});
    CHECK(c.worker_respawn_backoff_max == Millis{100});
    CHECK(c.pid_file == "/run/portico.pid");
    CHECK(c.error_log == "/var/log/portico/error.log");
    CHECK(c.log_level == "debug");
    CHECK(c.worker_connections == 512);
    CHECK(c.worker_rlimit_nofile == 4096);
    CHECK(c.worker_shutdown_timeout == Millis{60'000});
    CHECK(c.http.mime_types == "/usr/share/mime.types");
    CHECK(c.http.default_type == "text/plain; charset=utf-8");
    CHECK(c.http.access_log == "/var/log/portico/access.log");
    CHECK(c.http.keepalive_timeout == Millis{0});
    CHECK(c.http.keepalive_requests == 7);
    CHECK(c.http.client_header_timeout == Millis{500});
    CHECK(c.http.client_body_timeout == Millis{1500});
    CHECK(c.http.send_timeout == Millis{2 * 3600 * 1000});
    CHECK(c.http.client_max_body_size == 0);
    CHECK(c.http.client_header_buffer_size == 4096);
    CHECK(c.http.large_client_header_buffer_size == 65536);

    REQUIRE(c.servers.size() == 3);
    CHECK(c.servers[0].listen == std::vector<ListenAddress>{{"127.0.0.1", 8080, false}, {"::1", 8080, true}});
    CHECK(c.servers[0].server_names == std::vector<std::string>{"example.com", "www.example.com"});
    CHECK(c.servers[0].index == std::vector<std::string>{"index.htm", "default.html"});
    CHECK(c.servers[0].status_path == "/portico_status");
    CHECK(c.servers[1].status_path.empty());
    CHECK(c.servers[1].listen == std::vector<ListenAddress>{{"0.0.0.0", 9090, false}});
    CHECK(c.servers[1].server_names == std::vector<std::string>{"other.org"});
    CHECK(c.servers[1].root == dir.path() + "/site2");
    CHECK(c.servers[1].index == std::vector<std::string>{"home.html"});
    CHECK(c.servers[2].listen == std::vector<ListenAddress>{{"0.0.0.0", 8080, false}});
    CHECK(c.servers[2].root == "/tmp");
}

TEST_CASE("worker_processes \"auto\" is the number of online CPUs", "[conf]") {
    TempDir dir;
    Config c = load(dir, std::string{"worker_processes = \"auto\";\n"} + kServer);
    CHECK(c.worker_processes == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("durations: seconds as numbers or strings, or strings with a unit", "[conf]") {
    auto [text, millis] = GENERATE(table<std::string, long long>({
        {"0", 0},
        {"2", 2000},
        {"2L", 2000},
        {"0.5", 500},
        {"0.25", 250},
        {"\"0.5\"", 500},
        {"\"30\"", 30'000},
        {"\"250ms\"", 250},
        {"\"30s\"", 30'000},
        {"\"1.5s\"", 1500},
        {"\"5m\"", 300'000},
        {"\"1h\"", 3'600'000},
        {"\"0ms\"", 0},
        {"0.0015", 2},
        {"\"576h\"", 576LL * 3'600'000},
    }));
    TempDir dir;
    CAPTURE(text);
    Config c = load(dir, with_http("keepalive_timeout = " + text + ";"));
    CHECK(c.http.keepalive_timeout == Millis{millis});
}

TEST_CASE("bad durations are refused with the reason", "[conf]") {
    auto [text, problem] = GENERATE(table<std::string, std::string>({
        {"-1", "must not be negative"},
        {"-0.5", "must not be negative"},
        {"\"-5s\"", "must not be negative"},
        {"\"5x\"", "expected a duration"},
        {"\"abc\"", "expected a duration"},
        {"\"\"", "expected a duration"},
        {"\"nan\"", "expected a duration"},
        {"\"inf\"", "expected a duration"},
        {"\"1e3\"", "expected a duration"},
        {"\" 5\"", "expected a duration"},
        {"\"5 s\"", "expected a duration"},
        {"\"5S\"", "expected a duration"},
        {"\"1.\"", "expected a duration"},
        {"true", "expected a duration"},
        {"[1]", "expected a duration"},
        {"\"577h\"", "must be at most 24 days"},
        {"100000000", "must be at most 24 days"},
        {"\"99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
         "999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
         "999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
         "99999999999999999999999999999999999999999999\"",
         "must be at most 24 days"},
        {"0.0001", "must be at least 1ms, or 0"},
    }));
    TempDir dir;
    CAPTURE(text);
    std::string error = error_of(dir, with_http("keepalive_timeout = " + text + ";"));
    CHECK_THAT(error, StartsWith(dir.conf() + ":2: setting 'http.keepalive_timeout': "));
    CHECK_THAT(error, Contains(problem));
}

TEST_CASE("I/O timeouts must be greater than 0", "[conf]") {
    TempDir dir;
    auto key = GENERATE(std::string{"client_header_timeout"}, std::string{"client_body_timeout"},
                        std::string{"send_timeout"});
    CHECK(error_of(dir, with_http(key + " = 0;")) ==
          dir.conf() + ":2: setting 'http." + key + "': must be greater than 0");
}

TEST_CASE("sizes: bytes as numbers or strings, or strings with a unit", "[conf]") {
    auto [text, bytes] = GENERATE(table<std::string, uint64_t>({
        {"0", 0},
        {"1024", 1024},
        {"\"512\"", 512},
        {"\"16k\"", 16 * 1024},
        {"\"8K\"", 8 * 1024},
        {"\"1m\"", 1024 * 1024},
        {"\"1M\"", 1024 * 1024},
        {"\"1g\"", uint64_t{1} << 30},
        {"\"4G\"", uint64_t{4} << 30},
        {"8589934592L", uint64_t{8} << 30},
        {"\"17179869183g\"", uint64_t{17179869183} << 30},
    }));
    TempDir dir;
    CAPTURE(text);
    Config c = load(dir, with_http("client_max_body_size = " + text + ";"));
    CHECK(c.http.client_max_body_size == bytes);
}

TEST_CASE("bad sizes are refused with the reason", "[conf]") {
    auto [text, problem] = GENERATE(table<std::string, std::string>({
        {"-1", "must not be negative"},
        {"\"-1k\"", "must not be negative"},
        {"\"16kb\"", "expected a size"},
        {"\"k\"", "expected a size"},
        {"\"\"", "expected a size"},
        {"\"1.5m\"", "expected a size"},
        {"\" 1k\"", "expected a size"},
        {"\"0x10\"", "expected a size"},
        {"1.5", "expected a size"},
        {"false", "expected a size"},
        {"\"99999999999999999999\"", "is too large"},
        {"\"17179869184g\"", "is too large"},
    }));
    TempDir dir;
    CAPTURE(text);
    std::string error = error_of(dir, with_http("client_max_body_size = " + text + ";"));
    CHECK_THAT(error, StartsWith(dir.conf() + ":2: setting 'http.client_max_body_size': "));
    CHECK_THAT(error, Contains(problem));
}

TEST_CASE("header buffer sizes stay within one pool buffer and in order", "[conf]") {
    TempDir dir;
    CHECK(error_of(dir, with_http("client_header_buffer_size = 1023;")) ==
          dir.conf() + ":2: setting 'http.client_header_buffer_size': must be between 1k and 64k (got 1023)");
    CHECK(error_of(dir, with_http("large_client_header_buffer_size = \"128k\";")) ==
          dir.conf() +
              ":2: setting 'http.large_client_header_buffer_size': must be between 1k and 64k (got 128k)");
    CHECK(error_of(dir,
                   "http = {\n client_header_buffer_size = \"4k\";\n large_client_header_buffer_size = "
                   "\"2k\";\n};\n" +
                       std::string{kServer}) == dir.conf() +
                                                    ":3: setting 'http.large_client_header_buffer_size': "
                                                    "must be at least client_header_buffer_size (4k)");
    // Only the small one written: it is the one to blame.
    CHECK(error_of(dir, with_http("client_header_buffer_size = \"16k\";")) ==
          dir.conf() +
              ":2: setting 'http.client_header_buffer_size': "
              "must not exceed large_client_header_buffer_size (8k)");
    Config c = load(dir, with_http("client_header_buffer_size = \"8k\";"));
    CHECK(c.http.client_header_buffer_size == c.http.large_client_header_buffer_size);
}

TEST_CASE("relative paths are resolved against the config's directory", "[conf]") {
    TempDir dir;
    fs::create_directories(dir.path() + "/sites/a");
    Config c = load(dir, R"(
        pid_file = "run/portico.pid";
        error_log = "logs/../error.log";
        http = { mime_types = "mime.types"; access_log = "/var/log/access.log"; };
        servers = (
            { listen = "127.0.0.1:8080"; server_name = "a"; root = "./sites/a/"; },
            { listen = "127.0.0.1:8080"; server_name = "b"; root = "sites//a/../../www/."; },
            { listen = "127.0.0.1:8080"; server_name = "c"; root = "/"; }
        );
    )");
    CHECK(c.pid_file == dir.path() + "/run/portico.pid");
    CHECK(c.error_log == dir.path() + "/error.log");
    CHECK(c.http.mime_types == dir.path() + "/mime.types");
    CHECK(c.http.access_log == "/var/log/access.log");
    CHECK(c.servers[0].root == dir.path() + "/sites/a");
    CHECK(c.servers[1].root == dir.path() + "/www");
    CHECK(c.servers[2].root == "/");
}

TEST_CASE("a relative config file name anchors paths at its absolute directory", "[conf]") {
    TempDir dir;
    std::string old_cwd = fs::current_path();
    fs::current_path(dir.path());
    Config c;
    try {
        c = load_config_from_string(kServer, "test.conf");
    } catch (...) {
        fs::current_path(old_cwd);
        throw;
    }
    fs::current_path(old_cwd);
    CHECK(c.file == dir.conf());
    CHECK(c.servers[0].root == dir.path() + "/www");
}

TEST_CASE("error messages give file, line and the setting's full name", "[conf]") {
    TempDir dir;
    const std::string f = dir.conf();
    SECTION("top level") {
        CHECK(error_of(dir, "\n\nworker_connections = 0;\n" + std::string{kServer}) ==
              f + ":3: setting 'worker_connections': must be between 1 and 1000000 (got 0)");
    }
    SECTION("inside http") {
        CHECK(error_of(dir, "http = {\n  keepalive_requests = 1;\n  keepalive_timout = 5;\n};\n" +
                                std::string{kServer}) ==
              f + ":3: setting 'http.keepalive_timout': unknown setting; did you mean 'keepalive_timeout'?");
    }
    SECTION("inside a server") {
        CHECK(error_of(dir,
                       "servers = (\n  { listen = \"127.0.0.1:1\"; root = \"www\"; },\n  {\n"
                       "    listen = \"127.0.0.1:2\";\n    root = 7;\n  }\n);\n") ==
              f + ":5: setting 'servers[1].root': expected a string");
    }
    SECTION("an element of a list") {
        CHECK(error_of(dir,
                       "servers = ( {\n  root = \"www\";\n  listen = [\"127.0.0.1:1\",\n"
                       "             \"127.0.0.1:x\"];\n} );\n") ==
              f + ":4: setting 'servers[0].listen[1]': bad listen address '127.0.0.1:x': "
                  "the port must be a number between 1 and 65535");
    }
    SECTION("a missing setting points at its group") {
        CHECK(error_of(dir,
                       "servers = (\n  { listen = \"127.0.0.1:1\"; root = \"www\"; },\n"
                       "  { root = \"www\"; }\n);\n") ==
              f + ":3: setting 'servers[1].listen': missing; every server needs one, "
                  "e.g. listen = \"127.0.0.1:8080\";");
    }
    SECTION("a missing top-level setting has no line") {
        CHECK_THAT(error_of(dir, "log_level = \"info\";\n"),
                   StartsWith(f + ": setting 'servers': missing; at least one server is required"));
    }
}

TEST_CASE("unknown settings are caught at every level, with a hint when one is near", "[conf]") {
    TempDir dir;
    const std::string f = dir.conf();
    CHECK(error_of(dir, std::string{"worker_proceses = 2;\n"} + kServer) ==
          f + ":1: setting 'worker_proceses': unknown setting; did you mean 'worker_processes'?");
    CHECK(error_of(dir, std::string{"frobnicate = 2;\n"} + kServer) ==
          f + ":1: setting 'frobnicate': unknown setting");
    CHECK(error_of(dir, with_http("Send_Timeout = 5;")) ==
          f + ":2: setting 'http.Send_Timeout': unknown setting; did you mean 'send_timeout'?");
    CHECK(error_of(dir, with_http("frobnicate = true;")) == f + ":2: setting 'http.frobnicate': unknown setting");
    CHECK(error_of(dir, "servers = ( {\n listen = \"127.0.0.1:1\";\n roo = \"www\";\n} );\n") ==
          f + ":3: setting 'servers[0].roo': unknown setting; did you mean 'root'?");
    CHECK(
        error_of(dir, "servers = ( {\n listen = \"127.0.0.1:1\";\n root = \"www\"; proxy_pas = 1;\n} );\n") ==
        f + ":3: setting 'servers[0].proxy_pas': unknown setting");
    CHECK(
        error_of(dir, "servers = ( {\n listen = \"127.0.0.1:1\";\n root = \"www\"; location = 1;\n} );\n") ==
        f + ":3: setting 'servers[0].location': unknown setting; did you mean 'locations'?");
}

TEST_CASE("a setting at the wrong level is told where it belongs", "[conf]") {
    TempDir dir;
    const std::string f = dir.conf();
    CHECK(error_of(dir, std::string{"keepalive_timeout = 5;\n"} + kServer) ==
          f + ":1: setting 'keepalive_timeout': unknown setting here; it belongs inside the 'http' group");
    CHECK(
        error_of(dir, std::string{"root = \"www\";\n"} + kServer) ==
        f + ":1: setting 'root': unknown setting here; it belongs inside each server of the 'servers' list");
    CHECK(error_of(dir, with_http("worker_connections = 5;")) ==
          f + ":2: setting 'http.worker_connections': unknown setting here; it belongs at the top level, "
              "outside 'http'");
    CHECK(error_of(dir,
                   "servers = ( {\n listen = \"127.0.0.1:1\"; root = \"www\";\n send_timeout = 1;\n} );\n") ==
          f + ":3: setting 'servers[0].send_timeout': unknown setting here; it belongs inside the 'http' "
              "group");
}

TEST_CASE("wrong types and values at the top level", "[conf]") {
    auto [line, problem] = GENERATE(table<std::string, std::string>({
        {"master_process = 1;", "setting 'master_process': expected a boolean (true or false)"},
        {"master_process = \"yes\";", "setting 'master_process': expected a boolean (true or false)"},
        {"worker_connections = \"many\";", "setting 'worker_connections': expected an integer"},
        {"worker_connections = 1.0;", "setting 'worker_connections': expected an integer"},
        {"worker_connections = 1000001;",
         "setting 'worker_connections': must be between 1 and 1000000 (got 1000001)"},
        {"worker_rlimit_nofile = -1;",
         "setting 'worker_rlimit_nofile': must be between 0 and 1048576 (got -1)"},
        {"worker_processes = 0;", "setting 'worker_processes': must be between 1 and 1024 (got 0)"},
        {"worker_processes = 1025;", "setting 'worker_processes': must be between 1 and 1024 (got 1025)"},
        {"worker_processes = \"all\";",
         "setting 'worker_processes': expected \"auto\" or a number between 1 and 1024"},
        {"worker_processes = 2.0;",
         "setting 'worker_processes': expected \"auto\" or a number between 1 and 1024"},
        {"log_level = \"verbose\";",
         "setting 'log_level': must be one of trace, debug, info, warn, error, critical, off (got "
         "'verbose')"},
        {"log_level = 3;", "setting 'log_level': expected a string"},
        {"error_log = \"\";", "setting 'error_log': must not be empty; use \"stderr\""},
        {"pid_file = [\"a\"];", "setting 'pid_file': expected a string"},
        {"worker_shutdown_timeout = \"soon\";", "setting 'worker_shutdown_timeout': expected a duration"},
        {"daemon = 1;", "setting 'daemon': expected a boolean (true or false)"},
        {"daemon = \"yes\";", "setting 'daemon': expected a boolean (true or false)"},
        {"user = 33;", "setting 'user': expected a string"},
        {"user = [\"www-data\"];", "setting 'user': expected a string"},
        {"worker_cpu_affinity = \"on\";", "setting 'worker_cpu_affinity': must be one of off, auto (got 'on')"},
        {"worker_cpu_affinity = \"0101\";",
         "setting 'worker_cpu_affinity': must be one of off, auto (got '0101')"},
        {"worker_cpu_affinity = \"\";", "setting 'worker_cpu_affinity': must be one of off, auto (got '')"},
        {"worker_cpu_affinity = true;", "setting 'worker_cpu_affinity': expected a string"},
        {"worker_watchdog_timeout = -1;", "setting 'worker_watchdog_timeout': must not be negative"},
        {"worker_watchdog_timeout = \"-2s\";", "setting 'worker_watchdog_timeout': must not be negative"},
        {"worker_watchdog_timeout = \"soon\";", "setting 'worker_watchdog_timeout': expected a duration"},
        {"worker_watchdog_timeout = false;", "setting 'worker_watchdog_timeout': expected a duration"},
        {"worker_respawn_backoff_max = 0;", "setting 'worker_respawn_backoff_max': must be at least 100ms"},
        {"worker_respawn_backoff_max = 0.05;", "setting 'worker_respawn_backoff_max': must be at least 100ms"},
        {"worker_respawn_backoff_max = \"99ms\";",
         "setting 'worker_respawn_backoff_max': must be at least 100ms"},
        {"worker_respawn_backoff_max = -30;", "setting 'worker_respawn_backoff_max': must not be negative"},
        {"worker_respawn_backoff_max = \"577h\";",
         "setting 'worker_respawn_backoff_max': must be at most 24 days"},
        {"http = 5;", "setting 'http': expected a group: http = { ... };"},
        {"http = ( );", "setting 'http': expected a group: http = { ... };"},
    }));
    TempDir dir;
    CAPTURE(line);
    CHECK_THAT(error_of(dir, line + "\n" + kServer), StartsWith(dir.conf() + ":1: " + problem));
}

TEST_CASE("process settings take their valid values", "[conf]") {
    TempDir dir;
    auto top = [&](const std::string& line) { return load(dir, line + "\n" + kServer); };
    CHECK_FALSE(top("daemon = false;").daemon);
    CHECK(top("daemon = true;").daemon);
    CHECK_FALSE(top("worker_cpu_affinity = \"off\";").worker_cpu_affinity_auto);
    CHECK(top("worker_cpu_affinity = \"auto\";").worker_cpu_affinity_auto);
    CHECK(top("worker_watchdog_timeout = \"250ms\";").worker_watchdog_timeout == Millis{250});
    CHECK(top("worker_watchdog_timeout = 0;").worker_watchdog_timeout == Millis{0});
    CHECK(top("worker_respawn_backoff_max = 0.1;").worker_respawn_backoff_max == Millis{100});
    CHECK(top("worker_respawn_backoff_max = \"5m\";").worker_respawn_backoff_max == Millis{300'000});
}

TEST_CASE("user: a user, or a user and a group, looked up at load", "[conf]") {
    TempDir dir;
    const passwd* nobody = getpwnam("nobody");
    const group* nogroup = getgrnam("nogroup");
    REQUIRE(nobody != nullptr);
    REQUIRE(nogroup != nullptr);
    const uid_t nobody_uid = nobody->pw_uid;
    const gid_t nobody_gid = nobody->pw_gid;
    const gid_t nogroup_gid = nogroup->gr_gid;

    Config c = load(dir, std::string{"user = \"root\";\n"} + kServer);
    CHECK(c.user == "root");
    CHECK(c.user_uid == 0);
    CHECK(c.user_gid == 0);

    c = load(dir, std::string{"user = \"nobody\";\n"} + kServer);
    CHECK(c.user == "nobody");
    CHECK(c.user_uid == nobody_uid);
    CHECK(c.user_gid == nobody_gid);

    // The group overrides the user's primary group; user keeps only the user's name.
    c = load(dir, std::string{"user = \"root nogroup\";\n"} + kServer);
    CHECK(c.user == "root");
    CHECK(c.user_uid == 0);
    CHECK(c.user_gid == nogroup_gid);

    c = load(dir, std::string{"user = \"  nobody\troot \";\n"} + kServer);
    CHECK(c.user == "nobody");
    CHECK(c.user_uid == nobody_uid);
    CHECK(c.user_gid == 0);

    c = load(dir, std::string{"user = \"\";\n"} + kServer);
    CHECK(c.user.empty());
}

TEST_CASE("user: unknown names and bad forms are refused", "[conf]") {
    auto [value, problem] = GENERATE(table<std::string, std::string>({
        {"no_such_user_xyz", "unknown user 'no_such_user_xyz'"},
        {"no_such_user_xyz root", "unknown user 'no_such_user_xyz'"},
        {"root no_such_group_xyz", "unknown group 'no_such_group_xyz'"},
        {"Root", "unknown user 'Root'"},
        {"root root root",
         "expected a user name, or a user and a group, e.g. \"www-data\" or \"www-data www-data\" "
         "(got 'root root root')"},
        {"   ",
         "expected a user name, or a user and a group, e.g. \"www-data\" or \"www-data www-data\" "
         "(got '   ')"},
    }));
    TempDir dir;
    CAPTURE(value);
    CHECK(error_of(dir, std::string{"\nuser = \""} + value + "\";\n" + kServer) ==
          dir.conf() + ":2: setting 'user': " + problem);
}

TEST_CASE("status_path: a plain absolute path, or empty for none", "[conf]") {
    auto path = GENERATE(std::string{"/portico_status"}, std::string{"/"}, std::string{"/admin/status"},
                         std::string{"/status/"}, std::string{"/.well-known/status"}, std::string{"/a..b/c.d"});
    TempDir dir;
    CAPTURE(path);
    Config c = load(dir, "servers = ( { listen = \"80\"; root = \"www\"; status_path = \"" + path + "\"; } );");
    CHECK(c.servers[0].status_path == path);
    CHECK(load(dir, "servers = ( { listen = \"80\"; root = \"www\"; status_path = \"\"; } );")
              .servers[0]
              .status_path.empty());
}

TEST_CASE("status_path: bad paths are refused with the reason", "[conf]") {
    auto [value, problem] = GENERATE(table<std::string, std::string>({
        {"\"status\"", "'status' must start with '/'"},
        {"\" /status\"", "' /status' must start with '/'"},
        {"\"/a b\"", "'/a b' must not contain spaces or control characters"},
        {"\"/status\\t\"", "must not contain spaces or control characters"},
        {"\"/status\\n\"", "must not contain spaces or control characters"},
        {"\"/status?format=json\"",
         "'/status?format=json' must not contain '?' or '#'; it is a path, without query or fragment"},
        {"\"/status#top\"", "'/status#top' must not contain '?' or '#'"},
        {"\"/st%61tus\"", "'/st%61tus' must not contain '%'; write the path as it reads, not percent-encoded"},
        {"\"/a/../status\"", "'/a/../status' must not contain \".\" or \"..\" segments"},
        {"\"/a/./status\"", "'/a/./status' must not contain \".\" or \"..\" segments"},
        {"\"/status/..\"", "must not contain \".\" or \"..\" segments"},
        {"\"/.\"", "must not contain \".\" or \"..\" segments"},
        {"\"//status\"", "'//status' must not contain \"//\""},
        {"\"/a//b\"", "'/a//b' must not contain \"//\""},
        {"5", "expected a string"},
        {"[\"/status\"]", "expected a string"},
    }));
    TempDir dir;
    CAPTURE(value);
    std::string error =
        error_of(dir, "servers = ( {\n listen = \"80\"; root = \"www\";\n status_path = " + value + ";\n} );\n");
    CHECK_THAT(error, StartsWith(dir.conf() + ":3: setting 'servers[0].status_path': "));
    CHECK_THAT(error, Contains(problem));
}

TEST_CASE("status_path is a per-server setting", "[conf]") {
    TempDir dir;
    CHECK(error_of(dir, std::string{"status_path = \"/status\";\n"} + kServer) ==
          dir.conf() +
              ":1: setting 'status_path': unknown setting here; it belongs inside each server of the 'servers' "
              "list");
    Config c = load(dir, R"(servers = (
        { listen = "127.0.0.1:8080"; server_name = "a.org"; root = "www"; status_path = "/a_status"; },
        { listen = "127.0.0.1:8080"; server_name = "b.org"; root = "www"; }
    );)");
    CHECK(c.servers[0].status_path == "/a_status");
    CHECK(c.servers[1].status_path.empty());
}

TEST_CASE("distinct_listen_addresses: each address once, in first-seen order", "[conf]") {
    TempDir dir;
    Config c = load(dir, R"(servers = (
        { listen = ["127.0.0.1:8080", "[::1]:8080"]; server_name = "a.org"; root = "www"; },
        { listen = ["*:9090", "127.0.0.1:8080"]; server_name = "b.org"; root = "www"; },
        { listen = ["[0:0::1]:8080", "0.0.0.0:9090", "127.0.0.1:8081"]; server_name = "c.org"; root = "www"; },
        { listen = 8080; root = "www"; }
    );)");
    CHECK(distinct_listen_addresses(c) == std::vector<ListenAddress>{
                                              {"127.0.0.1", 8080, false},
                                              {"::1", 8080, true},
                                              {"0.0.0.0", 9090, false},
                                              {"127.0.0.1", 8081, false},
                                              {"0.0.0.0", 8080, false},
                                          });

    Config one = load(dir, kServer);
    CHECK(distinct_listen_addresses(one) == one.servers[0].listen);
    CHECK(distinct_listen_addresses(Config{}).empty());
}

TEST_CASE("wrong types and values in http", "[conf]") {
    auto [line, problem] = GENERATE(table<std::string, std::string>({
        {"keepalive_requests = 0;",
         "setting 'http.keepalive_requests': must be between 1 and 4294967295 (got 0)"},
        {"access_log = \"\";", "setting 'http.access_log': must not be empty; use \"off\""},
        {"mime_types = \"\";", "setting 'http.mime_types': must not be empty"},
        {"default_type = \"text\";", "setting 'http.default_type': 'text' is not a MIME type"},
        {"default_type = \"text/plain\\r\\nX-Evil: 1\";", "setting 'http.default_type': "},
        {"default_type = \"\";", "setting 'http.default_type': '' is not a MIME type"},
        {"send_timeout = \"1d\";", "setting 'http.send_timeout': expected a duration"},
    }));
    TempDir dir;
    CAPTURE(line);
    CHECK_THAT(error_of(dir, with_http(line)), StartsWith(dir.conf() + ":2: " + problem));
}

TEST_CASE("listen addresses", "[conf]") {
    auto [text, host, port, ipv6] = GENERATE(table<std::string, std::string, int, bool>({
        {"\"127.0.0.1:8080\"", "127.0.0.1", 8080, false},
        {"\"0.0.0.0:80\"", "0.0.0.0", 80, false},
        {"\"*:8080\"", "0.0.0.0", 8080, false},
        {"\"8080\"", "0.0.0.0", 8080, false},
        {"8080", "0.0.0.0", 8080, false},
        {"\"[::1]:8080\"", "::1", 8080, true},
        {"\"[::]:80\"", "::", 80, true},
        {"\"[0:0::1]:65535\"", "::1", 65535, true},
        {"\"[::ffff:10.0.0.1]:1\"", "::ffff:10.0.0.1", 1, true},
    }));
    TempDir dir;
    CAPTURE(text);
    Config c = load(dir, "servers = ( { listen = " + text + "; root = \"www\"; } );");
    REQUIRE(c.servers[0].listen.size() == 1);
    CHECK(c.servers[0].listen[0] == ListenAddress{host, static_cast<uint16_t>(port), ipv6});
}

TEST_CASE("ListenAddress::to_string brackets IPv6 hosts", "[conf]") {
    CHECK(ListenAddress{"127.0.0.1", 8080, false}.to_string() == "127.0.0.1:8080");
    CHECK(ListenAddress{"::1", 80, true}.to_string() == "[::1]:80");
    CHECK(ListenAddress{"::", 443, true}.to_string() == "[::]:443");
}

TEST_CASE("bad listen addresses", "[conf]") {
    auto [text, problem] = GENERATE(table<std::string, std::string>({
        {"\"localhost:80\"", "bad listen address 'localhost:80': the host must be a numeric IPv4 address"},
        {"\"1.2.3:80\"", "bad listen address '1.2.3:80': the host must be a numeric IPv4 address"},
        {"\"01.2.3.4:80\"", "bad listen address '01.2.3.4:80': the host must be a numeric IPv4 address"},
        {"\"127.0.0.1\"", "bad listen address '127.0.0.1': missing ':port'"},
        {"\"127.0.0.1:0\"",
         "bad listen address '127.0.0.1:0': the port must be a number between 1 and 65535"},
        {"\"127.0.0.1:65536\"", "the port must be a number between 1 and 65535"},
        {"\"127.0.0.1:80x\"", "the port must be a number between 1 and 65535"},
        {"\"127.0.0.1:+80\"", "the port must be a number between 1 and 65535"},
        {"\"127.0.0.1:\"", "the port must be a number between 1 and 65535"},
        {"\"*:\"", "the port must be a number between 1 and 65535"},
        {"\"::1:80\"", "an IPv6 address goes in brackets, e.g. \"[::1]:8080\""},
        {"\"[::1]\"", "bad listen address '[::1]': missing ':port' after the address"},
        {"\"[::1]80\"", "expected ':port' after ']'"},
        {"\"[::1:80\"", "missing ']' after the IPv6 address"},
        {"\"[zz]:80\"", "bad listen address '[zz]:80': not a numeric IPv6 address"},
        {"\"[127.0.0.1]:80\"", "not a numeric IPv6 address"},
        {"\"[fe80::1%eth0]:80\"", "not a numeric IPv6 address"},
        {"\"\"", "bad listen address '': the address is empty"},
        {"\"http\"", "missing ':port'"},
        {"0", "the port must be between 1 and 65535 (got 0)"},
        {"70000", "the port must be between 1 and 65535 (got 70000)"},
        {"true", "expected a string like \"127.0.0.1:8080\""},
    }));
    TempDir dir;
    CAPTURE(text);
    std::string error = error_of(dir, "servers = ( {\n root = \"www\";\n listen = " + text + ";\n} );\n");
    CHECK_THAT(error, StartsWith(dir.conf() + ":3: setting 'servers[0].listen': "));
    CHECK_THAT(error, Contains(problem));
}

TEST_CASE("a server's listen list", "[conf]") {
    TempDir dir;
    CHECK(error_of(dir, "servers = ( {\n root = \"www\";\n listen = [];\n} );\n") ==
          dir.conf() + ":3: setting 'servers[0].listen': must name at least one address");
    CHECK(error_of(dir,
                   "servers = ( {\n root = \"www\";\n listen = [\"127.0.0.1:80\", \"[::1]:80\",\n"
                   " \"127.0.0.1:80\"];\n} );\n") ==
          dir.conf() + ":4: setting 'servers[0].listen[2]': '127.0.0.1:80' is listed twice");
    CHECK(error_of(dir, "servers = ( {\n root = \"www\";\n listen = (\"*:80\", 80);\n} );\n") ==
          dir.conf() + ":3: setting 'servers[0].listen[1]': '0.0.0.0:80' is listed twice");
}

TEST_CASE("servers: required, a list of groups", "[conf]") {
    TempDir dir;
    const std::string f = dir.conf();
    CHECK(error_of(dir, "\nservers = ();\n") == f + ":2: setting 'servers': at least one server is required");
    CHECK(error_of(dir, "servers = { listen = \"80\"; root = \"www\"; };\n") ==
          f + ":1: setting 'servers': expected a list of groups: servers = ( { ... }, { ... } );");
    CHECK(error_of(dir, "servers = [ \"a\" ];\n") ==
          f + ":1: setting 'servers': expected a list of groups: servers = ( { ... }, { ... } );");
    CHECK(error_of(dir, "servers = (\n 5\n);\n") ==
          f + ":2: setting 'servers[0]': expected a group: { listen = ...; root = ...; }");
    CHECK(error_of(dir, "servers = ( {\n listen = \"80\";\n} );\n") ==
          f + ":1: setting 'servers[0].root': missing; every server needs a document root");
    CHECK(error_of(dir, "servers = ( {\n listen = \"80\";\n root = \"\";\n} );\n") ==
          f + ":3: setting 'servers[0].root': must not be empty");
}

TEST_CASE("root must be an existing directory", "[conf]") {
    TempDir dir;
    dir.write("file.txt", "not a directory");
    CHECK(error_of(dir, "servers = ( {\n listen = \"80\";\n root = \"nowhere/\";\n} );\n") ==
          dir.conf() + ":3: setting 'servers[0].root': root '" + dir.path() +
              "/nowhere' is not a directory: No such file or directory");
    CHECK(error_of(dir, "servers = ( {\n listen = \"80\";\n root = \"file.txt\";\n} );\n") ==
          dir.conf() + ":3: setting 'servers[0].root': root '" + dir.path() +
              "/file.txt' is not a directory: Not a directory");
}

TEST_CASE("server_name and index", "[conf]") {
    TempDir dir;
    const std::string f = dir.conf();
    auto server = [](const std::string& line) {
        return "servers = ( {\n listen = \"80\"; root = \"www\";\n " + line + "\n} );\n";
    };
    CHECK(error_of(dir, server("server_name = [\"a\", \"\"];")) ==
          f + ":3: setting 'servers[0].server_name[1]': must not be empty; leave server_name out instead");
    CHECK(error_of(dir, server("server_name = \"a b\";")) ==
          f + ":3: setting 'servers[0].server_name': must not contain spaces or control characters");
    CHECK(error_of(dir, server("server_name = [\"A.org\", \"a.ORG\"];")) ==
          f + ":3: setting 'servers[0].server_name[1]': 'a.org' is listed twice");
    CHECK(error_of(dir, server("server_name = 5;")) ==
          f + ":3: setting 'servers[0].server_name': expected a string");
    CHECK(error_of(dir, server("index = [];")) ==
          f + ":3: setting 'servers[0].index': must name at least one file");
    CHECK(error_of(dir, server("index = [\"index.html\", \"../secret\"];")) ==
          f + ":3: setting 'servers[0].index[1]': '../secret' is not a file name (no '/', '.' or '..')");
    CHECK_THAT(error_of(dir, server("index = \"a/b.html\";")), Contains("'a/b.html' is not a file name"));
    CHECK_THAT(error_of(dir, server("index = \"..\";")), Contains("'..' is not a file name"));
    CHECK(load(dir, server("server_name = [];")).servers[0].server_names.empty());
}

TEST_CASE("servers may share an address but not a name on it", "[conf]") {
    TempDir dir;
    const std::string f = dir.conf();
    Config c = load(dir, R"(servers = (
        { listen = "127.0.0.1:8080"; server_name = "a.org"; root = "www"; },
        { listen = ["127.0.0.1:8080", "127.0.0.1:9090"]; server_name = "b.org"; root = "www"; },
        { listen = "127.0.0.1:9090"; server_name = "a.org"; root = "www"; },
        { listen = "127.0.0.1:8080"; root = "www"; }
    );)");
    CHECK(c.servers.size() == 4);

    CHECK(error_of(dir,
                   "servers = (\n"
                   " { listen = \"127.0.0.1:8080\"; server_name = \"a.org\"; root = \"www\"; },\n"
                   " { listen = [\"[::1]:80\", \"127.0.0.1:8080\"]; root = \"www\";\n"
                   "   server_name = [\"b.org\", \"A.org\"]; }\n);\n") ==
          f + ":4: setting 'servers[1].server_name': server name 'a.org' on 127.0.0.1:8080 is already used "
              "by servers[0]");
    CHECK(error_of(dir,
                   "servers = (\n"
                   " { listen = \"*:80\"; root = \"www\"; },\n"
                   " { listen = \"0.0.0.0:80\"; root = \"www\"; }\n);\n") ==
          f + ":3: setting 'servers[1].server_name': servers[0] already listens on 0.0.0.0:80 without a "
              "server_name; give one of them a server_name");
}

TEST_CASE("syntax errors give file and line", "[conf]") {
    TempDir dir;
    CHECK(error_of(dir, "log_level = \"info\";\nworker_connections = ;\n") ==
          dir.conf() + ":2: syntax error");
    CHECK(error_of(dir, "log_level = \"info\";\n\nlog_level = \"debug\";\n") ==
          dir.conf() + ":3: syntax error: duplicate setting name");
}

TEST_CASE("load_config reads a file and reports why it cannot", "[conf]") {
    TempDir dir;
    dir.write("portico.conf", std::string{"\n"} + kServer + "log_level = \"loud\";\n");
    std::string path = dir.path() + "/portico.conf";
    REQUIRE_THROWS_WITH(load_config(path),
                        path +
                            ":3: setting 'log_level': must be one of trace, debug, info, warn, error, "
                            "critical, off (got 'loud')");
    dir.write("portico.conf", kServer);
    Config c = load_config(path);
    CHECK(c.file == path);
    CHECK(c.servers[0].root == dir.path() + "/www");

    REQUIRE_THROWS_WITH(load_config(dir.path() + "/missing.conf"),
                        dir.path() + "/missing.conf: cannot read: No such file or directory");
    REQUIRE_THROWS_WITH(load_config(dir.path()), dir.path() + ": cannot read: Is a directory");
}

TEST_CASE("@include is relative to the config's directory and errors name the included file", "[conf]") {
    TempDir dir;
    dir.write("servers.inc", std::string{"# included\n"} + kServer);
    Config c = load(dir, "@include \"servers.inc\"\n");
    CHECK(c.servers[0].root == dir.path() + "/www");

    dir.write("bad.inc", "\n\nworker_connections = -3;\n");
    std::string error = error_of(dir, std::string{kServer} + "@include \"bad.inc\"\n");
    CHECK_THAT(error, StartsWith(dir.path() + "/bad.inc:3: setting 'worker_connections': must be between"));

    dir.write("syntax.inc", "\nlog_level = ;\n");
    CHECK(error_of(dir, std::string{kServer} + "@include \"syntax.inc\"\n") ==
          dir.path() + "/syntax.inc:2: syntax error");
    CHECK(error_of(dir, std::string{kServer} + "\n@include \"missing.inc\"\n") ==
          dir.conf() + ":3: syntax error: cannot open include file");
}

TEST_CASE("the shipped conf/server.conf loads and its values are the defaults", "[conf]") {
    const std::string source = PORTICO_SOURCE_DIR;
    Config c = load_config(source + "/conf/server.conf");
    CHECK(c.file == fs::path(source + "/conf/server.conf").lexically_normal().string());
    CHECK(c.worker_processes == std::max(1u, std::thread::hardware_concurrency()));  // "auto"
    CHECK(c.master_process == kDefaults.master_process);
    CHECK(c.daemon == kDefaults.daemon);
    CHECK(c.user == kDefaults.user);
    CHECK(c.worker_cpu_affinity_auto == (kDefaults.worker_cpu_affinity == "auto"));
    CHECK(c.worker_watchdog_timeout == kDefaults.worker_watchdog_timeout);
    CHECK(c.worker_respawn_backoff_max == kDefaults.worker_respawn_backoff_max);
    CHECK(c.pid_file == kDefaults.pid_file);
    CHECK(c.error_log == kDefaults.error_log);
    CHECK(c.log_level == kDefaults.log_level);
    CHECK(c.worker_connections == kDefaults.worker_connections);
    CHECK(c.worker_rlimit_nofile == kDefaults.worker_rlimit_nofile);
    CHECK(c.worker_shutdown_timeout == kDefaults.worker_shutdown_timeout);
    CHECK(c.http.mime_types == kDefaults.mime_types);
    CHECK(c.http.default_type == kDefaults.default_type);
    CHECK(c.http.access_log == kDefaults.access_log);
    CHECK(c.http.keepalive_timeout == kDefaults.keepalive_timeout);
    CHECK(c.http.keepalive_requests == kDefaults.keepalive_requests);
    CHECK(c.http.client_header_timeout == kDefaults.client_header_timeout);
    CHECK(c.http.client_body_timeout == kDefaults.client_body_timeout);
    CHECK(c.http.send_timeout == kDefaults.send_timeout);
    CHECK(c.http.client_max_body_size == kDefaults.client_max_body_size);
    CHECK(c.http.client_header_buffer_size == kDefaults.client_header_buffer_size);
    CHECK(c.http.large_client_header_buffer_size == kDefaults.large_client_header_buffer_size);
    REQUIRE(c.servers.size() == 1);
    CHECK(c.servers[0].listen == std::vector<ListenAddress>{{"127.0.0.1", 8080, false}});
    CHECK(c.servers[0].server_names.empty());
    CHECK(c.servers[0].root == fs::path(source + "/www").lexically_normal().string());
    CHECK(c.servers[0].index == std::vector<std::string>{std::string{kDefaults.index}});
    CHECK(c.servers[0].status_path == kDefaults.status_path);
}

// The file cache and the descriptor limit: under a low RLIMIT_NOFILE every distinct file is
// still a 200, the worker's descriptors stay under the limit, and when accept4() runs out the
// cache's descriptors go before any client is shed.

#include <dirent.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

/// Descriptors `pid` has open, from /proc/PID/fd.
size_t open_fds(pid_t pid) {
    std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    REQUIRE(d != nullptr);
    size_t n = 0;
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
}

/// "/many/f17": built by append, which spares GCC 12 a false -Wrestrict on operator+.
std::string many(size_t i) {
    return std::string("/many/f").append(std::to_string(i));
}

/// `n` distinct files under www/many: even ones small enough to be held in memory, odd ones
/// (20 KiB) too large, so the cache must keep a descriptor for each of those it holds.
std::vector<std::string> make_many(const Site& site, size_t n) {
    std::filesystem::create_directories(site.www + "/many");
    std::vector<std::string> bodies;
    for (size_t i = 0; i < n; ++i) {
        bodies.push_back(pattern(i % 2 ? 20 * 1024 : 300, static_cast<uint32_t>(i)));
        write_file(site.www + many(i), bodies.back());
    }
    return bodies;
}

}  // namespace

TEST_CASE("2000 distinct files under worker_rlimit_nofile = 256 are all served", "[descriptors]") {
    Site site;
    std::vector<std::string> bodies = make_many(site, 2000);
    Server server(site.dir, site_config({}, "worker_rlimit_nofile = 256;"));
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Client>(server.port()));
    size_t most = 0, failed = 0;
    for (size_t i = 0; i < bodies.size(); ++i) {
        Client& c = *clients[i % clients.size()];
        c.send_raw(get(many(i)));
        Response r = c.read_response();
        if (r.status != 200 || r.body != bodies[i]) {
            ++failed;
            UNSCOPED_INFO("file " << i << ": " << r.status);
        }
        if (i % 50 == 0) most = std::max(most, open_fds(server.pid()));
    }
    most = std::max(most, open_fds(server.pid()));
    CHECK(failed == 0);
    CHECK(most < 256);
    // And a second round: whatever the cache evicted is opened again.
    for (size_t i = 0; i < bodies.size(); i += 7) {
        Client& c = *clients[i % clients.size()];
        c.send_raw(get(many(i)));
        CHECK(c.read_response().status == 200);
    }
    CHECK(open_fds(server.pid()) < 256);
    clients.clear();
    server.stop_and_check();
    // The start-up warning names both numbers.
    CHECK(read_file(server.error_log_path())
              .find("worker_connections (10000) does not fit RLIMIT_NOFILE (256)") != std::string::npos);
}

TEST_CASE("a worker_connections that fits the limit gives no warning", "[descriptors]") {
    SiteServer s({}, "worker_rlimit_nofile = 1024; worker_connections = 512;");
    Client c(s.server.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().status == 200);
    c.close();
    s.server.stop_and_check();
    CHECK(read_file(s.server.error_log_path()).find("does not fit RLIMIT_NOFILE") == std::string::npos);
}

namespace {

/// The soft "Max open files" limit of a process, from /proc/PID/limits.
uint64_t soft_open_files(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("Max open files")) return std::stoull(line.substr(14));
    FAIL("no Max open files line for pid " << pid);
    return 0;
}

}  // namespace

// systemd starts services with a soft limit of 1024 (for select() users) and a high hard limit;
// with worker_rlimit_nofile unset a worker raises its soft limit to what it needs, within the hard.
TEST_CASE("with worker_rlimit_nofile = 0 a worker raises a low soft limit towards what it needs", "[descriptors]") {
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    constexpr uint64_t kWanted = 1000 + 4096 + 64;  // worker_connections + open_file_cache.max + reserve
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < kWanted) {
        WARN("not run: the hard limit is below " << kWanted);
        return;
    }
    rlimit low = saved;
    low.rlim_cur = 512;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);  // inherited by the server we start
    struct Restore {
        rlimit r;
        ~Restore() { ::setrlimit(RLIMIT_NOFILE, &r); }
    } restore{saved};
    SiteServer s({}, "worker_connections = 1000;");
    Client c(s.server.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().status == 200);
    CHECK(soft_open_files(s.server.pid()) == kWanted);
    c.close();
    s.server.stop_and_check();
    CHECK(read_file(s.server.error_log_path()).find("does not fit RLIMIT_NOFILE") == std::string::npos);
}

TEST_CASE("out of descriptors, accept4 takes the file cache's before shedding a client", "[descriptors]") {
    Site site;
    std::vector<std::string> bodies = make_many(site, 40);
    Server server(site.dir, site_config({}, "worker_rlimit_nofile = 64;"));
    Client oldest(server.port());  // idle first: the one shedding would close first
    oldest.send_raw(get("/small.txt"));
    REQUIRE(oldest.read_response().status == 200);
    Client loader(server.port());
    for (size_t i = 1; i < bodies.size(); i += 2) {  // the large files: the cache keeps descriptors
        loader.send_raw(get(many(i)));
        REQUIRE(loader.read_response().status == 200);
    }
    size_t in_use = open_fds(server.pid());
    REQUIRE(in_use < 64);
    // Take every free descriptor, then a few more: those can only come from the cache.
    std::vector<std::unique_ptr<Client>> more;
    size_t extra = 3;
    for (size_t i = 0; i < 64 - in_use + extra; ++i) {
        INFO("connection " << i << " of " << 64 - in_use + extra);
        more.push_back(std::make_unique<Client>(server.port()));
        more.back()->send_raw(get("/small.txt"));
        REQUIRE(more.back()->read_response().status == 200);
    }
    oldest.send_raw(get("/small.txt"));
    CHECK(oldest.read_response().body == site.small);
    loader.send_raw(get(many(1)));
    CHECK(loader.read_response().body == bodies[1]);
    CHECK(open_fds(server.pid()) <= 64);
    more.clear();
    oldest.close();
    loader.close();
    server.stop_and_check();
}

// `portico -s reload` reports the outcome: 0 once the new generation serves and the old one no
// longer accepts; 1 with the reason for a config that does not load, an address in use, new
// workers that cannot start, and a master that does not answer within --wait.

#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace fs = std::filesystem;

namespace {

RunResult reload(const MasterSite& m, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"-c", m.server.config_path(), "-s", "reload"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_portico(args, m.site.dir);
}

/// Generation 1 still serves, with the same workers.
void check_old_generation_serves(MasterSite& m) {
    CHECK(sorted(children_of(m.master())) == pids_of(m.workers));
    Client c(m.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == m.site.small);
    Status st = fetch_status(c);
    for (const WorkerStatus& w : st.workers) CHECK(w.generation == 1);
    c.close();
}

/// A socket listening on 127.0.0.1 (without SO_REUSEPORT), as another server's would.
portico::core::UniqueFd occupy_port(uint16_t& port) {
    portico::core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd.get(), 1) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    return fd;
}

}  // namespace

TEST_CASE("portico -s reload exits 0 once the new generation serves and the old one stopped accepting",
          "[master][reload][control]") {
    MasterSite m;
    const std::string new_index = "<!doctype html>\n<p>the new root</p>\n";
    fs::create_directory(m.site.dir / "www2");
    write_file(m.site.dir / "www2/index.html", new_index);
    m.config.root = "www2";
    m.server.rewrite_config(m.config.text());

    RunResult r = reload(m);
    INFO(m.server.logs() << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    // By the time the command returned, all of this had happened.
    const std::string log = read_file(m.server.error_log_path());
    CHECK(log.find("reload complete: generation 2 serves with 2 workers") != std::string::npos);
    for (const auto& [slot, pid] : m.workers)
        CHECK(log.find(std::to_string(pid) + ": stopped accepting: listeners closed") != std::string::npos);
    Client c(m.port());
    c.send_raw(get("/"));
    CHECK(c.read_response().body == new_index);
    c.close();
    m.wait_exited(m.workers, 1);
    m.server.stop_and_check();
}

TEST_CASE("portico -s reload of an invalid config exits 1 naming file, line and setting",
          "[master][reload][control]") {
    MasterSite m;
    m.config.http_extra = "    keepalive_timeout = 5;\n    bogus_setting = 1;";
    m.server.rewrite_config(m.config.text());
    const int line = line_number(read_file(m.server.config_path()), "bogus_setting");
    RunResult r = reload(m);
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find(m.server.config_path() + ":" + std::to_string(line) + ":") != std::string::npos);
    CHECK(r.err.find("http.bogus_setting") != std::string::npos);
    check_old_generation_serves(m);
    m.server.stop_and_check();
}

TEST_CASE(
    "portico -s reload with a listen address already in use exits 1 with the reason, and the old generation "
    "serves on",
    "[master][reload][control]") {
    MasterSite m;
    uint16_t taken = 0;
    auto other_server = occupy_port(taken);
    m.config.http_extra = "";
    m.config.top_extra = "";
    std::string text = m.config.text();
    // A third server on the occupied port.
    const std::string servers = "servers = (\n";
    text.replace(text.find(servers), servers.size(),
                 servers + "    { listen = [\"127.0.0.1:" + std::to_string(taken) +
                     "\"]; server_name = [\"c.test\"]; root = \"@DIR@/www\"; },\n");
    m.server.rewrite_config(text);
    RunResult r = reload(m);
    INFO(m.server.logs() << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("reload failed: address 127.0.0.1:" + std::to_string(taken) + " is already in use") !=
          std::string::npos);
    CHECK(r.err.find("generation 1 keeps serving") != std::string::npos);
    check_old_generation_serves(m);
    m.server.stop_and_check({"reload failed:"});
}

// Workers read the mime types file, the config loader does not: the new workers cannot start.
TEST_CASE("portico -s reload whose new workers cannot start exits 1 with the reason",
          "[master][reload][control]") {
    MasterSite m;
    m.config.http_extra = "    mime_types = \"@DIR@/no-such.types\";";
    m.server.rewrite_config(m.config.text());
    RunResult r = reload(m);
    INFO(m.server.logs() << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("of the new generation failed to start: ") != std::string::npos);
    CHECK(r.err.find("no-such.types") != std::string::npos);  // the worker's own reason
    CHECK(r.err.find("generation 1 keeps serving") != std::string::npos);
    m.wait_ended(started_workers(read_file(m.server.error_log_path()), 2), 2);
    check_old_generation_serves(m);
    m.server.stop_and_check({"reload failed:", "failed to start", "unexpectedly"});
}

TEST_CASE("portico -s reload --wait gives up when the master does not answer in time",
          "[master][reload][control]") {
    MasterSite m;
    RunResult r;
    {
        Stopped stopped(m.master());
        const auto start = Clock::now();
        r = reload(m, {"--wait", "1"});
        CHECK(since(start) >= milliseconds(1000));
        stopped.resume();
    }
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("no answer from the master within 1 s") != std::string::npos);
    // The request was queued all the same: the master reloads once it runs again.
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log("reload complete: generation 2 serves with 2 workers"));
    m.wait_exited(m.workers, 1);
    m.server.stop_and_check();
}

TEST_CASE("portico --wait needs a positive number", "[process][control]") {
    TempDir dir;
    RunResult r = run_portico({"-s", "reload", "--wait", "soon"}, dir);
    CHECK(r.status == 2);
    CHECK(r.err.find("--wait needs a positive number of seconds") != std::string::npos);
}

// Binary upgrade (SIGUSR2, -s upgrade): the master executes its binary anew on the same
// listeners; once the new master's workers serve, the old generation drains and the old master
// exits, and the pid file names the new one. Under load nothing is refused or reset. A new master
// that cannot come up leaves the old one serving, and the answer says why.
//
// The new master is the old one's child, not the test's: it is found through the pid file and
// waited for on a pidfd.

#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

extern char** environ;

using namespace portico::test;

namespace fs = std::filesystem;

namespace {

pid_t pid_in(const std::string& pid_file) {
    return static_cast<pid_t>(std::stol(read_file(pid_file)));
}

/// Waits until the master's children are exactly `workers` (a failed new master, gone, may still
/// wait to be reaped: no event says when it was).
void wait_children(pid_t master, const std::map<uint32_t, pid_t>& workers) {
    auto deadline = Clock::now() + kWait;
    while (sorted(children_of(master)) != pids_of(workers) && Clock::now() < deadline) pace_retry();
    CHECK(sorted(children_of(master)) == pids_of(workers));
}

/// The pid in the last "upgrade: started new master process PID" line.
pid_t successor_in(const std::string& log) {
    const std::string mark = "upgrade: started new master process ";
    size_t at = log.rfind(mark);
    REQUIRE(at != std::string::npos);
    return static_cast<pid_t>(std::stol(log.substr(at + mark.size())));
}

RunResult upgrade(const MasterSite& m) {
    return run_portico({"-c", m.server.config_path(), "-s", "upgrade", "--wait", "30"}, m.site.dir);
}

}  // namespace

TEST_CASE(
    "portico -s upgrade under load: the new master takes over, no request fails, no connection is reset",
    "[master][upgrade]") {
    MasterSite m;
    const std::string pid_file = m.site.dir / "portico.pid";
    const pid_t first = m.master();
    std::vector<std::unique_ptr<Load>> loads;
    for (auto mode : {Load::Mode::kNewConnections, Load::Mode::kKeepAlive})
        for (int i = 0; i < 2; ++i)
            loads.push_back(
                std::make_unique<Load>(m.port(), mode, "/small.txt", m.site.small, milliseconds(1)));
    auto progress = [&] {
        for (auto& l : loads) REQUIRE(l->wait_for_successes(l->successes() + 20));
    };
    progress();

    RunResult r = upgrade(m);
    INFO(m.server.logs() << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    // Answered once the new master served and the old workers no longer accepted; the old
    // master exits by itself once they are done.
    CHECK(m.server.wait_exit(kWait) == 0);
    AdoptedMaster second{pid_in(pid_file)};
    CHECK(second.pid != first);
    CHECK(is_alive(second.pid));
    CHECK(process_title(second.pid).starts_with("portico: master process "));
    auto generation2 = ready_workers(read_file(m.server.error_log_path()), 2);
    CHECK(generation2.size() == 2);
    CHECK(sorted(children_of(second.pid)) == pids_of(generation2));
    CHECK(listen_queues(m.port()).size() == 2);  // the same two sockets, not new ones
    progress();

    // The new master upgrades in turn (its control socket and pid file are its own now).
    r = upgrade(m);
    CHECK(r.status == 0);
    CHECK(wait_gone(second.pid, kWait));
    AdoptedMaster third{pid_in(pid_file)};
    CHECK(third.pid != second.pid);
    second.pid = 0;
    progress();

    std::string report;
    for (auto& l : loads) {
        l->stop();
        report += l->report();
    }
    INFO(report);
    for (auto& l : loads) {
        CHECK(l->failures().empty());
        CHECK(l->resets() == 0);
    }
    REQUIRE(third.stop());
    CHECK_FALSE(fs::exists(pid_file));
    CHECK_FALSE(fs::exists(m.site.dir / "portico.sock"));
    m.server.check_logs();
}

// Workers read the mime types file, the config loader does not: the new master comes up, but
// its workers cannot.
TEST_CASE(
    "portico -s upgrade whose new master cannot serve exits 1 with the reason, and the old master serves on",
    "[master][upgrade]") {
    MasterSite m;
    const std::string pid_file = m.site.dir / "portico.pid";
    m.config.http_extra = "    mime_types = \"@DIR@/no-such.types\";";
    m.server.rewrite_config(m.config.text());
    RunResult r = upgrade(m);
    INFO(m.server.logs() << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("upgrade failed: worker process ") != std::string::npos);
    CHECK(r.err.find("no-such.types") != std::string::npos);
    CHECK(r.err.find("the old master (pid " + std::to_string(m.master()) + ") keeps serving") !=
          std::string::npos);

    CHECK(pid_in(pid_file) == m.master());
    const pid_t failed = successor_in(read_file(m.server.error_log_path()));
    CHECK(wait_gone(failed, kWait));  // it gives up rather than crash-loop beside the old one
    wait_children(m.master(), m.workers);
    Client c(m.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == m.site.small);
    c.close();

    // Fixed, the next upgrade goes through.
    m.config.http_extra = "";
    m.server.rewrite_config(m.config.text());
    r = upgrade(m);
    CHECK(r.status == 0);
    CHECK(m.server.wait_exit(kWait) == 0);
    AdoptedMaster next{pid_in(pid_file)};
    REQUIRE(next.stop());
    m.server.check_logs({"upgrade failed:", "failed to start", "unexpectedly"});
}

TEST_CASE("SIGUSR2 whose new master cannot bind a new address: the old master logs why and serves on",
          "[master][upgrade]") {
    MasterSite m;
    portico::core::UniqueFd other(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(other.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(other.get(), 1) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(other.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
    const std::string taken = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    std::string text = m.config.text();
    const std::string servers = "servers = (\n";
    text.replace(text.find(servers), servers.size(),
                 servers + "    { listen = [\"" + taken +
                     "\"]; server_name = [\"c.test\"]; root = \"@DIR@/www\"; },\n");
    m.server.rewrite_config(text);

    REQUIRE(::kill(m.master(), SIGUSR2) == 0);
    // The reason comes over the channel; the new master's exit may be reaped before it is read.
    const bool failed = m.server.wait_for_log("upgrade failed: address " + taken + " is already in use");
    INFO(m.server.logs());
    REQUIRE(failed);
    CHECK(line_with(read_file(m.server.error_log_path()), "upgrade failed:").find("keeps serving") !=
          std::string::npos);
    CHECK(wait_gone(successor_in(read_file(m.server.error_log_path())), kWait));
    wait_children(m.master(), m.workers);
    Client c(m.port());
    c.send_raw(get("/"));
    CHECK(c.read_response().body == m.site.index_html);
    c.close();
    m.server.stop_and_check({"upgrade failed:", "already in use"});
}

// The binary is found again at the path the master was started from; here it is gone by then.
TEST_CASE(
    "portico -s upgrade when the binary cannot be executed: exit 1 with execve's error, the old master "
    "serves on",
    "[master][upgrade]") {
    Site site;
    MasterConfig config;
    const uint16_t port = free_port();
    write_file(site.dir / "portico.conf", expand(config.text(), port, site.dir.path()));
    std::string copy = site.dir / "portico-copy";
    fs::copy_file(PORTICO_BINARY, copy);
    fs::permissions(copy, fs::perms::owner_all);
    std::string conf = site.dir / "portico.conf", dash_c = "-c";
    std::vector<char*> argv{copy.data(), dash_c.data(), conf.data(), nullptr};
    pid_t master = 0;
    REQUIRE(::posix_spawn(&master, copy.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            ::kill(pid, SIGTERM);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
    } reaper{master};
    const std::string log = site.dir / "error.log";
    REQUIRE(wait_for_file(log, [](const std::string& text) {
        return text.find("serves with 2 workers") != std::string::npos;
    }));
    fs::remove(copy);

    RunResult r = run_portico({"-c", conf, "-s", "upgrade"}, site.dir);
    INFO(read_file(log) << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("upgrade failed: execve() of " + copy + " failed: No such file or directory") !=
          std::string::npos);
    CHECK(r.err.find("keeps serving") != std::string::npos);
    CHECK(pid_in(site.dir / "portico.pid") == master);
    Client c(port);
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == site.small);
    c.close();
}

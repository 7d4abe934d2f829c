// Stopping and signalling a master: SIGQUIT (graceful), SIGTERM (fast), SIGUSR1 (reopen the
// logs), and -s through the pid file; a second master is refused.

#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace fs = std::filesystem;

TEST_CASE("SIGQUIT under a master: a download in flight completes, then every process exits",
          "[master][signal]") {
    MasterSite m;
    const std::string& huge = write_huge_file(m.site);
    const std::string pid_file = m.site.dir / "portico.pid";
    CHECK(read_file(pid_file) == std::to_string(m.master()) + "\n");
    auto slow = slow_download(m.port(), huge);

    REQUIRE(::kill(m.master(), SIGQUIT) == 0);
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log("received SIGQUIT, stopping gracefully"));
    for (const auto& [slot, pid] : m.workers)
        REQUIRE(m.server.wait_for_log(std::to_string(pid) + ": received SIGQUIT, shutting down gracefully"));
    CHECK(m.server.alive_after(milliseconds(0)));  // the download holds everything up

    finish_download(*slow, huge);
    slow->expect_closed();
    slow->close();
    CHECK(m.server.wait_exit(kWait) == 0);
    for (const auto& [slot, pid] : m.workers) CHECK_FALSE(is_alive(pid));
    CHECK_FALSE(fs::exists(pid_file));
    CHECK(listen_queues(m.port()).empty());
    m.server.check_logs();
}

// During a graceful stop the master lets go of its listener copies and each worker takes what is
// queued before closing its own, so a connection made while the workers drain is answered or
// refused, never left in a queue that the master's exit would reset.
TEST_CASE(
    "SIGQUIT under a master: a connection made while the workers drain is refused or answered, not reset",
    "[master][signal]") {
    MasterSite m;
    const std::string& huge = write_huge_file(m.site);
    auto slow = slow_download(m.port(), huge);
    REQUIRE(::kill(m.master(), SIGQUIT) == 0);
    for (const auto& [slot, pid] : m.workers)
        REQUIRE(m.server.wait_for_log(std::to_string(pid) + ": received SIGQUIT, shutting down gracefully"));

    portico::core::UniqueFd late(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(m.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool connected = ::connect(late.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (connected) {
        std::string request = get("/");
        REQUIRE(::send(late.get(), request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()));
    }
    finish_download(*slow, huge);
    slow->close();
    CHECK(m.server.wait_exit(kWait) == 0);
    if (connected) {
        std::string got;
        bool reset = false;
        for (;;) {
            pollfd p{late.get(), POLLIN, 0};
            REQUIRE(::poll(&p, 1, static_cast<int>(kWait.count())) == 1);
            char buf[4096];
            ssize_t n = ::recv(late.get(), buf, sizeof buf, 0);
            if (n > 0) {
                got.append(buf, static_cast<size_t>(n));
                continue;
            }
            reset = n < 0 && errno == ECONNRESET;
            break;
        }
        INFO("received: " << got);
        CHECK_FALSE(reset);
        CHECK(got.starts_with("HTTP/1.1 200 OK\r\n"));
    }
    m.server.check_logs();
}

TEST_CASE("SIGTERM under a master stops every process at once, even with a download in flight",
          "[master][signal]") {
    MasterSite m;
    const std::string& huge = write_huge_file(m.site);
    auto slow = slow_download(m.port(), huge);
    const auto start = Clock::now();
    CHECK(m.server.stop(SIGTERM, milliseconds(3000)) == 0);  // fails the test if it takes longer
    CHECK(since(start) < milliseconds(3000));
    for (const auto& [slot, pid] : m.workers) CHECK_FALSE(is_alive(pid));
    Closed cut = slow->read_until_close();
    CHECK(cut.bytes.size() < huge.size());  // it did not wait for the download
    CHECK_FALSE(fs::exists(m.site.dir / "portico.pid"));
    m.server.check_logs();
}

namespace {

/// Renames the error and access logs, sends SIGUSR1, and checks that the master and both workers
/// write to new files at the configured paths from then on; stops the server.
void check_log_rotation(MasterSite& m) {
    const pid_t master = m.master();
    Client c(m.port());
    c.send_raw(get("/small.txt"));
    REQUIRE(c.read_response().status == 200);
    c.close();

    const std::string error_log = m.server.error_log_path(), access_log = m.server.access_log_path();
    REQUIRE(std::rename(error_log.c_str(), (error_log + ".1").c_str()) == 0);
    REQUIRE(std::rename(access_log.c_str(), (access_log + ".1").c_str()) == 0);
    REQUIRE(::kill(master, SIGUSR1) == 0);
    // Each process says so in the file it had open, then opens the file at the configured path.
    INFO(m.server.logs() << "--- error.log.1 ---\n" << read_file(error_log + ".1"));
    REQUIRE(wait_for_file(error_log + ".1", [](const std::string& log) {
        return count(log, "received SIGUSR1, reopening logs") == 3;  // the master and two workers
    }));
    REQUIRE(wait_for_file(error_log, [&](const std::string&) { return fs::exists(error_log); }));
    // A worker reopens right after it logged that it would.
    const bool created = wait_for_file(
        access_log, [&](const std::string&) { return fs::exists(access_log); }, milliseconds(2000));
    CHECK(created);

    // The workers' new access log fills (it is flushed every second), from both workers.
    for (int i = 0; i < 20; ++i) {
        Client each(m.port());
        each.send_raw(get("/index.html"));
        REQUIRE(each.read_response().status == 200);
    }
    if (created)  // else the counts below fail anyway: no need to wait out the deadline
        CHECK(wait_for_file(access_log,
                            [](const std::string& log) { return count(log, "GET /index.html") == 20; }));
    m.server.stop_and_check();

    // What the workers and the master logged after the reopen went to the new error log.
    const std::string old_error = read_file(error_log + ".1"), new_error = read_file(error_log);
    for (const auto& [slot, pid] : m.workers) {
        INFO("worker " << pid);
        CHECK(new_error.find(std::to_string(pid) + ": received SIGQUIT, shutting down gracefully") !=
              std::string::npos);
    }
    CHECK(new_error.find("master process " + std::to_string(master) + " exiting") != std::string::npos);
    CHECK(old_error.find("SIGQUIT") == std::string::npos);
    const std::string old_access = read_file(access_log + ".1"), new_access = read_file(access_log);
    CHECK(count(old_access, "\n") == 1);
    CHECK(old_access.find("\"GET /small.txt HTTP/1.1\" 200") != std::string::npos);
    CHECK(count(new_access, "\n") == 20);
}

}  // namespace

TEST_CASE("SIGUSR1 under a master: the master and every worker reopen their logs", "[master][signal][log]") {
    MasterSite m;
    check_log_rotation(m);
}

// With `user`, workers reopen their logs by path after dropping privileges; the master creates
// the files and gives them to that user first, so rotated logs are not written to forever.
TEST_CASE("SIGUSR1 under a master with user = nobody: the workers reopen their logs too",
          "[master][signal][log]") {
    if (::geteuid() != 0 || ::getpwnam("nobody") == nullptr) {
        WARN("needs root and a user \"nobody\"; skipped");
        return;
    }
    MasterSite m(MasterConfig::with("user = \"nobody\";"));
    REQUIRE(::chmod(m.site.dir.path().c_str(), 0755) == 0);  // like /var/log/portico
    check_log_rotation(m);
}

TEST_CASE("portico -s reload, reopen and stop go through the pid file, and a second master is refused",
          "[master][signal]") {
    MasterSite m;
    const std::string dir = m.site.dir.path();
    const std::string pid_file = m.site.dir / "portico.pid";
    const std::string master = std::to_string(m.master());
    REQUIRE(read_file(pid_file) == master + "\n");

    // A second master with the same pid file (its own error log, to keep the first one's clean).
    MasterConfig same = m.config;
    same.error_log = "error2.log";
    write_file(m.site.dir / "same.conf", expand(same.text(), m.port(), dir));
    RunResult r = run_portico({"-c", m.site.dir / "same.conf"}, m.site.dir);
    CHECK(r.status == 1);
    CHECK(r.err.find("another master (pid " + master + ") is running") != std::string::npos);

    // Another pid file, the same address: SO_REUSEPORT would let it share the port silently.
    MasterConfig other = m.config;
    other.error_log = "error3.log";
    other.pid_file = "other.pid";
    write_file(m.site.dir / "other.conf", expand(other.text(), m.port(), dir));
    r = run_portico({"-c", m.site.dir / "other.conf"}, m.site.dir);
    CHECK(r.status == 1);
    CHECK(r.err.find("already in use") != std::string::npos);
    CHECK_FALSE(fs::exists(m.site.dir / "other.pid"));

    // The first master did not notice.
    CHECK(read_file(pid_file) == master + "\n");
    CHECK(sorted(children_of(m.master())) == pids_of(m.workers));
    {
        Client c(m.port());
        c.send_raw(get("/"));
        CHECK(c.read_response().body == m.site.index_html);
    }

    r = run_portico({"-c", m.server.config_path(), "-s", "reload"}, m.site.dir);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log("reload complete: generation 2 serves with 2 workers"));

    r = run_portico({"-c", m.server.config_path(), "-s", "reopen"}, m.site.dir);
    CHECK(r.status == 0);
    REQUIRE(m.server.wait_for_log("received SIGUSR1, reopening logs"));

    r = run_portico({"-c", m.server.config_path(), "-s", "stop"}, m.site.dir);
    CHECK(r.status == 0);
    CHECK(m.server.wait_exit(kWait) == 0);
    CHECK_FALSE(fs::exists(pid_file));

    r = run_portico({"-c", m.server.config_path(), "-s", "reload"}, m.site.dir);
    CHECK(r.status == 1);
    CHECK(r.err.find("no master is running") != std::string::npos);
    m.server.check_logs();
}

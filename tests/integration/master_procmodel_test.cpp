// The process model's finer points: a rolled-back reload retires the new workers that were
// already serving instead of killing them, a crash-looping slot's lent listeners are given back,
// and worker_rlimit_nofile is applied by each generation's workers.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace {

/// The soft "Max open files" limit of a process, from /proc/PID/limits.
uint64_t max_open_files(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("Max open files")) continue;
        return std::stoull(line.substr(std::string("Max open files").size()));
    }
    FAIL("no Max open files line for pid " << pid);
    return 0;
}

}  // namespace

// The new generation grows from 1 to 2 workers, so slot 1's listener is the new generation's
// alone. Its workers write their access log to a FIFO: opening it blocks them until the test
// opens the other end, which keeps the reload pending while the test stops the master and kills
// the new worker of slot 0. The worker of slot 1 then starts serving, and only after that does the
// master learn that the reload failed.
TEST_CASE("a rolled-back reload lets the new workers that were serving finish their downloads",
          "[master][reload]") {
    MasterSite m(MasterConfig::with("", 1));
    const std::string& huge = write_huge_file(m.site);
    const std::string fifo = m.site.dir / "access.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    m.config.workers = 2;
    m.config.access_log = "access.fifo";
    m.server.rewrite_config(m.config.text());
    REQUIRE(::kill(m.master(), SIGHUP) == 0);
    std::map<uint32_t, pid_t> generation2;
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log_until([&](const std::string& log) {
        generation2 = started_workers(log, 2);
        return generation2.size() == 2;
    }));

    Stopped master(m.master());
    REQUIRE(::kill(generation2.at(0), SIGKILL) == 0);
    REQUIRE(wait_gone(generation2.at(0), kWait));
    portico::core::UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    REQUIRE(reader);
    // Slot 1's worker bound its listener before it blocked; the kernel hashes about half of the
    // downloads there, and they are answered only once that worker serves.
    std::vector<std::unique_ptr<Client>> downloads;
    const pid_t serving = generation2.at(1);
    // Counters are published at the end of a loop turn, so a download may take a moment to show:
    // wait by the clock, adding downloads (at most 32) meanwhile. When the status request itself
    // is hashed to the serving worker, its own connection is one of the active ones: two
    // active connections prove at least one download there, whoever answered.
    const auto serving_active = [&](const Status& s) { return s.lists(serving) && s.of(serving).active >= 2; };
    const auto until = Clock::now() + kWait;
    bool shown = false;
    do {
        if (downloads.size() < 32)
            for (int i = 0; i < 4; ++i) downloads.push_back(slow_download(m.port(), huge));
        else
            pace_retry();
        shown = serving_active(fetch_status(m.port()));
    } while (!shown && Clock::now() < until);
    INFO(downloads.size() << " downloads started");
    REQUIRE(shown);

    master.resume();
    REQUIRE(m.server.wait_for_log("reload failed: worker process " + std::to_string(generation2.at(0))));
    for (auto& d : downloads) finish_download(*d, huge);  // a reset fails here
    downloads.clear();
    CHECK(m.server.wait_for_log(std::to_string(serving) + ": received SIGQUIT, shutting down gracefully"));
    m.wait_exited({{1, serving}}, 2);

    CHECK(sorted(children_of(m.master())) == pids_of(m.workers));
    CHECK(listen_queues(m.port()).size() == 1);  // slot 1's listener went with the failed generation
    Client c(m.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == m.site.small);
    c.close();
    m.server.stop_and_check({"reload failed:", "unexpectedly"});
}

// The lending itself is tested in master_test.cpp; here the slot's worker comes back. Once the
// lender has given the listener back, connections hashed to it wait for slot 1's own worker: with
// that worker stopped, they queue there (a lender that kept the listener would take them).
TEST_CASE("a lent listener is given back when its slot has a worker again, and nothing queued is lost",
          "[master]") {
    MasterSite m(MasterConfig::with("worker_respawn_backoff_max = 1;"));
    const pid_t lender = m.workers.at(0), victim = m.workers.at(1);
    const std::string away = m.site.www + ".away";
    REQUIRE(std::rename(m.site.www.c_str(), away.c_str()) == 0);
    REQUIRE(::kill(victim, SIGKILL) == 0);
    REQUIRE(m.server.wait_for_log("worker process " + std::to_string(lender) + " accepts for slot 1"));
    REQUIRE(m.server.wait_for_log(std::to_string(lender) + ": accepting for slot 1"));
    REQUIRE(std::rename(away.c_str(), m.site.www.c_str()) == 0);
    const pid_t successor = wait_successor(m.server, 1, 1, victim, milliseconds(1000) + kWait);
    // (CHECK, not REQUIRE: without the give-back, the queue below shows what goes wrong.)
    CHECK(
        m.server.wait_for_log("worker process " + std::to_string(lender) + " gives back slot 1's listeners"));
    CHECK(m.server.wait_for_log(std::to_string(lender) + ": stopped accepting for slot 1"));

    Stopped stopped(successor);
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 16; ++i) {
        clients.push_back(std::make_unique<Client>(m.port()));
        clients.back()->send_raw(get("/small.txt"));
    }
    // About half of them hash to slot 1's listener, where nobody may accept while its worker is
    // stopped: they stay queued. A lender that kept the listener would take them in a moment.
    // (All 16 on slot 0's listener has odds of 2^-16.)
    const auto until = Clock::now() + milliseconds(500);
    while (Clock::now() < until) {
        auto queues = listen_queues(m.port());
        REQUIRE(queues.size() == 2);
        INFO("no connection stays queued: the lender still accepts for slot 1");
        REQUIRE(queues[0] + queues[1] > 0);
        pace_retry();
    }
    stopped.resume();
    for (auto& c : clients) {  // the successor takes what waited for it; a reset fails here
        Response r = c->read_response();
        CHECK(r.status == 200);
        CHECK(r.body == m.site.small);
    }
    clients.clear();
    m.server.stop_and_check({"unexpectedly", "failed to start"});
}

// The master used to apply the limit to itself before forking, so a reload could not change it.
TEST_CASE(
    "worker_rlimit_nofile is applied in every worker, and a reload's new value reaches the new generation",
    "[master][reload]") {
    MasterSite m(MasterConfig::with("worker_rlimit_nofile = 1000;"));
    for (const auto& [slot, pid] : m.workers) CHECK(max_open_files(pid) == 1000);
    m.config.top_extra = "worker_rlimit_nofile = 900;";
    auto generation2 = m.reload(2);
    for (const auto& [slot, pid] : generation2) CHECK(max_open_files(pid) == 900);
    // The master is left alone: only what serves needs the descriptors.
    CHECK(max_open_files(m.master()) != 900);
    m.wait_exited(m.workers, 1);
    m.server.stop_and_check();
}

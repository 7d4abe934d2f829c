// The master and its workers from outside: the processes and listeners it makes, respawns after
// kill -9 (and what waits in a dead worker's queue meanwhile), crash-loop back-off, the watchdog,
// the status endpoint, dropping privileges, daemon mode and a master that dies.
//
// Workers are not this process's children: they are found through /proc and the error log, and
// waited for on pidfds and log lines, every wait with a deadline.

#include <pwd.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace fs = std::filesystem;

TEST_CASE("worker_processes 2: a master, two workers, two listeners, connections spread over both",
          "[master]") {
    MasterSite m;
    const pid_t master = m.master();
    INFO(m.server.logs());
    CHECK(process_title(master).starts_with("portico: master process "));
    CHECK(process_title(master).find(m.server.config_path()) != std::string::npos);
    REQUIRE(m.workers.size() == 2);
    CHECK(sorted(children_of(master)) == pids_of(m.workers));
    for (const auto& [slot, pid] : m.workers) {
        CHECK(process_title(pid) == worker_title(slot, 1));
        CHECK(proc_stat(pid)->ppid == master);
    }
    // One SO_REUSEPORT socket per worker; the master's duplicates are the same sockets.
    CHECK(listen_queues(m.port()).size() == 2);

    // The kernel hashes each connection's 4-tuple onto one of the sockets: with 200 connections
    // from 200 source ports, both workers get some (all on one has odds of 2^-199).
    uint64_t requests = 0;
    Status st;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 200; ++i) {
            Client c(m.port());
            c.send_raw(get("/small.txt"));
            REQUIRE(c.read_response().body == m.site.small);
        }
        requests += 200;
        st = status_until(
            m.port(), [&](const Status& s) { return s.total.requests >= requests; }, "all requests counted");
        if (std::all_of(st.workers.begin(), st.workers.end(),
                        [](const WorkerStatus& w) { return w.accepted > 0; }))
            break;
    }
    REQUIRE(st.workers.size() == 2);
    for (const auto& [slot, pid] : m.workers) {
        INFO("slot " << slot);
        CHECK(st.of(pid).slot == slot);
        CHECK(st.of(pid).accepted > 0);
    }
    m.server.stop_and_check();
}

TEST_CASE("worker_cpu_affinity auto pins worker i to CPU i", "[master]") {
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t mine;
    REQUIRE(::sched_getaffinity(0, sizeof mine, &mine) == 0);
    if (cpus < 1 || CPU_COUNT(&mine) < cpus) {
        WARN("this process may not use every online CPU; skipped");
        return;
    }
    MasterSite m(MasterConfig::with("worker_cpu_affinity = \"auto\";"));
    for (const auto& [slot, pid] : m.workers) {
        INFO("slot " << slot);
        CHECK(cpus_allowed(pid) == std::to_string(slot % static_cast<uint32_t>(cpus)));
    }
    CHECK(cpus_allowed(m.master()) == cpus_allowed(::getpid()));  // the master is not pinned
    m.server.stop_and_check();
}

TEST_CASE("kill -9 of a worker under load: a new worker serves its slot within a second", "[master]") {
    MasterSite m;
    // Two clients, each with at most one request in flight at any time.
    Load a(m.port(), Load::Mode::kNewConnections, "/small.txt", m.site.small);
    Load b(m.port(), Load::Mode::kNewConnections, "/small.txt", m.site.small);
    REQUIRE(a.wait_for_successes(20));
    REQUIRE(b.wait_for_successes(20));

    const pid_t victim = m.workers.at(0), survivor = m.workers.at(1);
    const auto killed_at = Clock::now();
    REQUIRE(::kill(victim, SIGKILL) == 0);
    const pid_t successor = wait_successor(m.server, 0, 1, victim, kWait);
    const auto ready_at = Clock::now();
    CHECK(ready_at - killed_at < milliseconds(1000));
    INFO(m.server.logs());
    CHECK(read_file(m.server.error_log_path()).find(killed_line(victim, 0)) != std::string::npos);
    CHECK(process_title(successor) == worker_title(0, 1));
    CHECK(sorted(children_of(m.master())) == sorted({successor, survivor}));

    // The successor accepts from slot 0's listener: the load's connections reach it.
    Status st = status_until(
        m.port(), [&](const Status& s) { return s.lists(successor) && s.of(successor).accepted > 0; },
        "the new worker accepting");
    CHECK(st.of(successor).slot == 0);
    CHECK(st.of(survivor).slot == 1);
    REQUIRE(a.wait_for_successes(a.successes() + 50));
    REQUIRE(b.wait_for_successes(b.successes() + 50));
    a.stop();
    b.stop();

    // Only a request in flight on the killed worker may fail (one per client at most), with a
    // reset or a cut response: never a refused or unanswered connection (no listener, or a
    // queue nobody serves), and nothing that started after the new worker was ready.
    INFO(a.report() << b.report());
    CHECK(a.failures().size() + b.failures().size() <= 2);
    for (const Load* l : {&a, &b}) {
        for (const Load::Failure& f : l->failures()) {
            INFO(f.what);
            CHECK(f.start < ready_at);
            CHECK((f.reset || f.what.starts_with("EOF after")));
        }
    }
    m.server.stop_and_check({killed_line(victim, 0)});
}

TEST_CASE("connections queued on a dead worker's listener are served by its successor, not reset",
          "[master]") {
    MasterSite m;
    const uint16_t port = m.port();
    // A keep-alive connection for the status: the worker that serves it stays up. Its second
    // answer shows this connection open in that worker's counters (published after the first).
    Client watcher(port);
    (void)fetch_status(watcher);
    Status st = fetch_status(watcher);
    REQUIRE(st.workers.size() == 2);
    REQUIRE((st.workers[0].active > 0) != (st.workers[1].active > 0));
    const WorkerStatus& live = st.workers[0].active > 0 ? st.workers[0] : st.workers[1];
    const WorkerStatus& stopped = st.workers[0].active > 0 ? st.workers[1] : st.workers[0];
    const auto victim = static_cast<pid_t>(stopped.pid);
    const auto victim_slot = static_cast<uint32_t>(stopped.slot);

    // A stopped worker accepts nothing: what the kernel hashes to its listener stays queued there.
    Stopped stop(victim);

    std::vector<std::unique_ptr<Client>> clients;
    uint32_t queued = 0;
    for (int round = 0; round < 4 && queued == 0; ++round) {
        for (int i = 0; i < 16; ++i) {
            clients.push_back(std::make_unique<Client>(port));
            clients.back()->send_raw(get("/small.txt"));
        }
        // Settled when the live worker has answered all of its share and its queue is empty:
        // the one non-empty queue is then the stopped worker's.
        auto deadline = Clock::now() + kWait;
        for (;;) {
            auto queues = listen_queues(port);
            REQUIRE(queues.size() == 2);
            size_t done = static_cast<size_t>(
                std::count_if(clients.begin(), clients.end(), [](const auto& c) { return answered(*c); }));
            auto [low, high] = std::minmax(queues[0], queues[1]);
            if (low == 0 && done + high == clients.size()) {
                queued = high;
                break;
            }
            REQUIRE(Clock::now() < deadline);
            pace_retry();
        }
    }
    INFO(queued << " of " << clients.size() << " connections queued on the stopped worker's listener");
    REQUIRE(queued > 0);

    REQUIRE(::kill(victim, SIGKILL) == 0);
    const pid_t successor = wait_successor(m.server, victim_slot, 1, victim, kWait);
    for (auto& c : clients) {  // read_response fails the test on a reset
        Response r = c->read_response();
        CHECK(r.status == 200);
        CHECK(r.body == m.site.small);
    }
    // The successor accepted exactly the queued connections; the live worker all the others.
    Status after = status_until(
        watcher, [&](const Status& s) { return s.lists(successor) && s.of(successor).accepted >= queued; },
        "the successor's accepted count");
    CHECK(after.of(successor).accepted == queued);
    CHECK(after.of(static_cast<pid_t>(live.pid)).accepted >= live.accepted + clients.size() - queued);
    clients.clear();
    watcher.close();
    m.server.stop_and_check({killed_line(victim, victim_slot)});
}

TEST_CASE("a worker that cannot start is respawned with growing delays, and the master stays idle",
          "[master]") {
    MasterSite m(MasterConfig::with("worker_respawn_backoff_max = 1;", 1));
    const pid_t master = m.master(), victim = m.workers.at(0);
    // Workers open their roots at start: without it, every new worker exits at once.
    const std::string away = m.site.www + ".away";
    REQUIRE(std::rename(m.site.www.c_str(), away.c_str()) == 0);
    const uint64_t cpu_before = proc_stat(master)->cpu_ticks;
    const auto killed_at = Clock::now();
    REQUIRE(::kill(victim, SIGKILL) == 0);

    // Crash 1 (the kill) is replaced at once; crashes 2, 3, 4 and 5 wait 250, 500, 1000 and 1000
    // (the cap) ms. Note when each respawn shows up in the log.
    const std::string fifth = "slot 0 crashed 5 times in a row";
    const std::string started = "started worker process";
    std::vector<Clock::time_point> respawns;
    size_t seen = count(read_file(m.server.error_log_path()), started);
    for (;;) {
        std::string log;
        bool more = m.server.wait_for_log_until(
            [&](const std::string& text) {
                log = text;
                return count(text, started) > seen || text.find(fifth) != std::string::npos;
            },
            milliseconds(3000));
        INFO(m.server.logs());
        REQUIRE(more);
        for (size_t n = count(log, started); seen < n; ++seen) respawns.push_back(Clock::now());
        if (log.find(fifth) != std::string::npos) break;
        REQUIRE(respawns.size() < 5);  // a master without back-off respawns far faster than it logs
    }
    const milliseconds looped = since(killed_at);
    const uint64_t cpu_ticks = proc_stat(master)->cpu_ticks - cpu_before;

    std::string log = read_file(m.server.error_log_path());
    INFO(m.server.logs());
    CHECK(respawn_delays(log) == std::vector<uint64_t>{250, 500, 1000, 1000});
    CHECK(count(log, "failed to start") == 4);
    REQUIRE(respawns.size() == 4);
    // Each respawn is timed when this process sees its log line, so one seen late makes the next
    // interval look short by as much: on a busy machine that lag has reached 200 ms. The intervals
    // get that slack; the whole loop, from the kill (timed exactly) to the last respawn (only ever
    // seen late), keeps a tight bound, so a master that waited less would still fail it.
    const milliseconds lag(300), tolerance(100);
    CHECK(respawns[1] - respawns[0] >= milliseconds(250) - lag);
    CHECK(respawns[2] - respawns[1] >= milliseconds(500) - lag);
    CHECK(respawns[3] - respawns[2] >= milliseconds(1000) - lag);
    CHECK(looped >= milliseconds(1750) - tolerance);
    // A master that spun while it waited would have burnt the whole interval.
    const double cpu_ms =
        1000.0 * static_cast<double>(cpu_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    INFO("the master used " << cpu_ms << " ms of CPU in " << looped.count() << " ms");
    CHECK(cpu_ms < 0.2 * static_cast<double>(looped.count()));

    // With its root back, the next respawn (at most a second away) comes up and serves.
    REQUIRE(std::rename(away.c_str(), m.site.www.c_str()) == 0);
    const pid_t successor = wait_successor(m.server, 0, 1, victim, milliseconds(1000) + kWait);
    CHECK(process_title(successor) == worker_title(0, 1));
    Client c(m.port());
    c.send_raw(get("/"));
    Response r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == m.site.index_html);
    c.close();
    m.server.stop_and_check({"unexpectedly", "failed to start"});
}

TEST_CASE("the watchdog kills a worker whose loop stalls and starts another in its slot", "[master]") {
    MasterSite m(MasterConfig::with("worker_watchdog_timeout = 1;"));
    const pid_t victim = m.workers.at(1);
    const auto stopped_at = Clock::now();
    Stopped stop(victim);
    const std::string stalled =
        "worker process " + std::to_string(victim) + " (slot 1) has not run its loop for ";
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log(stalled));
    const milliseconds noticed = since(stopped_at);
    // The heartbeat beats 4 times per timeout and the master looks twice a second.
    CHECK(noticed >= milliseconds(700));
    CHECK(noticed <= milliseconds(2500));
    std::string line = line_with(read_file(m.server.error_log_path()), stalled);
    CHECK(line.find("[error]") != std::string::npos);
    CHECK(std::stoul(line.substr(line.find(stalled) + stalled.size())) > 1000);

    const pid_t successor = wait_successor(m.server, 1, 1, victim, kWait);
    CHECK(read_file(m.server.error_log_path()).find(killed_line(victim, 1)) != std::string::npos);
    CHECK_FALSE(is_alive(victim));
    CHECK(process_title(successor) == worker_title(1, 1));
    // It serves: new connections spread over both slots again.
    Status st = status_until(
        m.port(),
        [&](const Status& s) {
            Client c(m.port());
            c.send_raw(get("/small.txt"));
            REQUIRE(c.read_response().status == 200);
            return s.lists(successor) && s.of(successor).accepted > 0;
        },
        "the new worker accepting");
    CHECK(st.of(successor).slot == 1);
    m.server.stop_and_check({stalled, killed_line(victim, 1)});
}

TEST_CASE("workers exit by themselves when their master dies, and its stale pid file blocks nobody",
          "[master][signal]") {
    MasterSite m;
    const std::string pid_file = m.site.dir / "portico.pid";
    CHECK(m.server.stop(SIGKILL) == 128 + SIGKILL);
    for (const auto& [slot, pid] : m.workers) {
        INFO("worker " << pid);
        CHECK(wait_gone(pid, kWait));
    }
    CHECK(listen_queues(m.port()).empty());

    // The pid file outlived its master: -s says so, and a new master takes the file over.
    REQUIRE(fs::exists(pid_file));
    RunResult r = run_portico({"-c", m.server.config_path(), "-s", "reload"}, m.site.dir);
    CHECK(r.status == 1);
    CHECK(r.err.find("no master is running") != std::string::npos);
    CHECK(r.err.find("stale") != std::string::npos);
    Server again(m.site.dir, m.config.text());
    (void)wait_ready(again, 1, 2);
    CHECK(read_file(pid_file) == std::to_string(again.pid()) + "\n");
    Client c(again.port());
    c.send_raw(get("/"));
    CHECK(c.read_response().body == m.site.index_html);
    c.close();
    again.stop_and_check();
}

TEST_CASE("the status endpoint: every worker's counters as JSON and as Prometheus text", "[master][status]") {
    MasterSite m;
    Status before = fetch_status(m.port());
    REQUIRE(before.workers.size() == 2);
    for (const WorkerStatus& w : before.workers) {
        INFO("pid " << w.pid);
        CHECK(w.pid == static_cast<uint64_t>(m.workers.at(static_cast<uint32_t>(w.slot))));
        CHECK(w.generation == 1);
        CHECK(w.heartbeat_age_ms < 5000);
    }

    // Traffic: five 200s and two 404s on one connection.
    Client c(m.port());
    uint64_t bytes = 0;
    for (int i = 0; i < 7; ++i) {
        c.send_raw(get(i < 5 ? "/small.txt" : "/missing.txt"));
        Response r = c.read_response();
        CHECK(r.status == (i < 5 ? 200 : 404));
        bytes += r.raw.size();
    }
    c.close();
    Status after = status_until(
        m.port(),
        [&](const Status& s) {
            return s.total.requests >= before.total.requests + 7 &&
                   s.total.status_4xx >= before.total.status_4xx + 2;
        },
        "the requests counted");
    CHECK(after.total.accepted >= before.total.accepted + 1);
    CHECK(after.total.bytes_out >= before.total.bytes_out + bytes);
    CHECK(after.total.status_4xx == before.total.status_4xx + 2);
    CHECK(after.total.status_5xx == before.total.status_5xx);
    // The total is the sum of the workers.
    auto sum = [&](uint64_t WorkerStatus::*field) {
        return std::accumulate(after.workers.begin(), after.workers.end(), uint64_t{0},
                               [&](uint64_t acc, const WorkerStatus& w) { return acc + w.*field; });
    };
    CHECK(after.total.accepted == sum(&WorkerStatus::accepted));
    CHECK(after.total.requests == sum(&WorkerStatus::requests));
    CHECK(after.total.bytes_out == sum(&WorkerStatus::bytes_out));
    CHECK(after.total.status_4xx == sum(&WorkerStatus::status_4xx));

    // Prometheus' text format when the client accepts text/plain.
    Client p(m.port());
    p.send_raw(get("/status", "Accept: text/plain\r\n"));
    Response text = p.read_response();
    CHECK(text.status == 200);
    CHECK(text.header("Content-Type").starts_with("text/plain"));
    INFO(text.body);
    static const std::regex sample(
        R"re(^(portico_[a-z0-9_]+)\{slot="(\d+)",pid="(\d+)",generation="(\d+)"\} (\d+)$)re");
    std::map<std::string, uint64_t> requests_by_pid;
    std::istringstream lines(text.body);
    for (std::string line; std::getline(lines, line);) {
        INFO(line);
        if (line.starts_with("# HELP portico_") || line.starts_with("# TYPE portico_")) continue;
        std::smatch s;
        REQUIRE(std::regex_match(line, s, sample));
        pid_t pid = std::stoi(s[3]);
        CHECK(m.workers.at(static_cast<uint32_t>(std::stoul(s[2]))) == pid);
        CHECK(s[4] == "1");
        if (s[1] == "portico_requests_total") requests_by_pid[s[3]] = std::stoull(s[5]);
    }
    CHECK(text.body.find("# TYPE portico_requests_total counter\n") != std::string::npos);
    CHECK(text.body.find("# TYPE portico_active gauge\n") != std::string::npos);
    REQUIRE(requests_by_pid.size() == 2);
    for (const auto& [pid, n] : requests_by_pid) {
        INFO("pid " << pid);
        CHECK(n >= after.of(std::stoi(pid)).requests);
    }
    p.close();
    m.server.stop_and_check();
}

TEST_CASE("user: workers switch to the configured user, the master stays root", "[master]") {
    const passwd* nobody = ::getpwnam("nobody");
    if (::geteuid() != 0 || nobody == nullptr) {
        WARN("needs root and a user \"nobody\"; skipped");
        return;
    }
    MasterSite m(MasterConfig::with("user = \"nobody\";"));
    const uid_t uid = nobody->pw_uid;
    for (const auto& [slot, pid] : m.workers) {
        INFO("worker " << pid);
        CHECK(uids_of(pid) == std::array<uid_t, 4>{uid, uid, uid, uid});
    }
    CHECK(uids_of(m.master()) == std::array<uid_t, 4>{0, 0, 0, 0});
    for (int i = 0; i < 10; ++i) {  // new connections, so both workers answer some
        Client c(m.port());
        c.send_raw(get("/small.txt"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == m.site.small);
    }
    m.server.stop_and_check();
}

TEST_CASE("daemon = true: the command returns at once and the master runs detached", "[master]") {
    Site site;
    const MasterConfig config = MasterConfig::with("daemon = true;");
    const uint16_t port = free_port();
    const std::string conf = site.dir / "portico.conf", pid_file = site.dir / "portico.pid",
                      error_log = site.dir / "error.log";
    write_file(conf, expand(config.text(), port, site.dir.path()));

    // Not our child: if the test fails half-way, the daemon must not outlive it.
    pid_t daemon = 0;
    struct Reaper {
        pid_t& pid;
        ~Reaper() {
            if (pid > 0 && is_alive(pid)) ::kill(pid, SIGKILL);  // its workers follow (parent death signal)
        }
    } reaper{daemon};

    const auto start = Clock::now();
    RunResult r = run_portico({"-c", conf}, site.dir);
    INFO(r.out << r.err << read_file(error_log));
    CHECK(r.status == 0);
    CHECK(since(start) < milliseconds(2000));
    REQUIRE(wait_for_file(pid_file, [](const std::string& t) { return !t.empty() && t.back() == '\n'; }));
    daemon = std::stoi(read_file(pid_file));
    REQUIRE(daemon > 0);
    auto st = proc_stat(daemon);
    REQUIRE(st);
    CHECK(st->session == daemon);  // it leads a session of its own: no terminal, no job control
    CHECK(st->ppid != ::getpid());
    REQUIRE(
        wait_for_file(error_log, [](const std::string& log) { return ready_workers(log, 1).size() == 2; }));
    CHECK(sorted(children_of(daemon)) == pids_of(ready_workers(read_file(error_log), 1)));
    CHECK(process_title(daemon).starts_with("portico: master process "));  // set before it forks

    Client c(port);
    c.send_raw(get("/"));
    CHECK(c.read_response().body == site.index_html);
    c.close();

    REQUIRE(::kill(daemon, SIGQUIT) == 0);
    CHECK(wait_gone(daemon, kWait * 2));
    std::string log = read_file(error_log);
    CHECK(log.find("master process " + std::to_string(daemon) + " exiting") != std::string::npos);
    CHECK_FALSE(fs::exists(pid_file));
    CHECK(log.find("[error]") == std::string::npos);
    CHECK(log.find("[critical]") == std::string::npos);
}

TEST_CASE("while a slot backs off a crash loop, another worker accepts from its listener", "[master]") {
    MasterSite m(MasterConfig::with("worker_respawn_backoff_max = 30;"));
    const pid_t victim = m.workers.at(1);
    // Worker 0 keeps its open handle on the root; every new worker for slot 1 fails to start.
    const std::string away = m.site.www + ".away";
    REQUIRE(std::rename(m.site.www.c_str(), away.c_str()) == 0);
    REQUIRE(::kill(victim, SIGKILL) == 0);
    // The kill is replaced at once; that worker fails, and the second crash in a row backs off.
    REQUIRE(m.server.wait_for_log("accepts for slot 1"));
    REQUIRE(m.server.wait_for_log("accepting for slot 1"));
    // The kernel still hashes new connections to slot 1's listener; without a lender about half
    // of them would wait there unanswered until the back-off ends.
    for (int i = 0; i < 40; ++i) {
        Client c(m.port());
        c.send_raw(get("/"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == m.site.index_html);
    }
    REQUIRE(std::rename(away.c_str(), m.site.www.c_str()) == 0);
    m.server.stop_and_check({"unexpectedly", "failed to start"});
}

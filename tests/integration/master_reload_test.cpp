// Reloads under a master (SIGHUP): a changed root, a broken config, the worker count changed
// under load, and connections waiting in the queues of workers that are being retired.

#include <csignal>
#include <filesystem>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace fs = std::filesystem;

TEST_CASE("SIGHUP with a changed root: new requests see the new content, a download in flight completes",
          "[master][reload]") {
    MasterSite m;
    const std::string& huge = write_huge_file(m.site);
    const std::string new_index = "<!doctype html>\n<p>the new root</p>\n";
    fs::create_directory(m.site.dir / "www2");
    write_file(m.site.dir / "www2/index.html", new_index);

    auto slow = slow_download(m.port(), huge);
    Client before(m.port());
    before.send_raw(get("/"));
    REQUIRE(before.read_response().body == m.site.index_html);

    m.config.root = "www2";
    auto generation2 = m.reload(2);
    // Once every old worker has taken its SIGQUIT (each logs it), nothing of generation 1 accepts.
    for (const auto& [slot, pid] : m.workers)
        REQUIRE(m.server.wait_for_log(std::to_string(pid) + ": received SIGQUIT, shutting down gracefully"));
    for (int i = 0; i < 20; ++i) {
        Client c(m.port());
        c.send_raw(get("/"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == new_index);
    }
    // The download holds its old worker up, half sent.
    auto old_alive =
        std::count_if(m.workers.begin(), m.workers.end(), [](auto& w) { return is_alive(w.second); });
    CHECK(old_alive >= 1);
    finish_download(*slow, huge);
    slow->expect_closed();
    slow->close();
    before.close();
    m.wait_exited(m.workers, 1);
    CHECK(sorted(children_of(m.master())) == pids_of(generation2));
    for (const auto& [slot, pid] : generation2) CHECK(process_title(pid) == worker_title(slot, 2));
    m.server.stop_and_check();
}

TEST_CASE("SIGHUP with a broken config: the old generation keeps serving, the log names file and line",
          "[master][reload]") {
    MasterSite m;
    m.config.http_extra = "    keepalive_timeout = 5;\n    bogus_setting = 1;";
    m.server.rewrite_config(m.config.text());
    const int line = line_number(read_file(m.server.config_path()), "bogus_setting");
    REQUIRE(::kill(m.master(), SIGHUP) == 0);
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log("reload failed:"));
    std::string failed = line_with(read_file(m.server.error_log_path()), "reload failed:");
    CHECK(failed.find("[error]") != std::string::npos);
    CHECK(failed.find(m.server.config_path() + ":" + std::to_string(line) + ":") != std::string::npos);
    CHECK(failed.find("http.bogus_setting") != std::string::npos);
    CHECK(failed.find("generation 1 keeps serving") != std::string::npos);

    // Nothing changed: the same workers, still generation 1, serving.
    CHECK(sorted(children_of(m.master())) == pids_of(m.workers));
    Client c(m.port());
    c.send_raw(get("/"));
    CHECK(c.read_response().body == m.site.index_html);
    Status st = fetch_status(c);
    REQUIRE(st.workers.size() == 2);
    for (const WorkerStatus& w : st.workers) {
        CHECK(w.generation == 1);
        CHECK(w.pid == static_cast<uint64_t>(m.workers.at(static_cast<uint32_t>(w.slot))));
    }
    c.close();

    // Fixed, the next reload goes through, and the failed one used up no generation.
    m.config.http_extra = "    keepalive_timeout = 5;";
    auto generation2 = m.reload(2);
    m.wait_exited(m.workers, 1);
    CHECK(sorted(children_of(m.master())) == pids_of(generation2));
    m.server.stop_and_check({"reload failed:"});
}

TEST_CASE("reloads that change worker_processes 2 -> 1 -> 2 lose no request and reset no connection",
          "[master][reload]") {
    MasterSite m;
    // Two clients on a new connection per request, two on keep-alive connections.
    std::vector<std::unique_ptr<Load>> loads;
    for (auto mode : {Load::Mode::kNewConnections, Load::Mode::kKeepAlive})
        for (int i = 0; i < 2; ++i)
            loads.push_back(
                std::make_unique<Load>(m.port(), mode, "/small.txt", m.site.small, milliseconds(1)));
    auto progress = [&] {  // every client makes progress with the generation now serving
        for (auto& l : loads) REQUIRE(l->wait_for_successes(l->successes() + 20));
    };
    progress();

    const uint32_t kReloads = 8;
    auto current = m.workers;
    for (uint32_t generation = 2; generation < 2 + kReloads; ++generation) {
        m.config.workers = generation % 2 ? 2 : 1;
        INFO("reload to generation " << generation << " with " << m.config.workers << " workers");
        auto next = m.reload(generation);
        m.wait_exited(current, generation - 1);
        current = next;
        CHECK(sorted(children_of(m.master())) == pids_of(current));
        // No listener was closed (a lone worker serves both sockets) and none was added.
        CHECK(listen_queues(m.port()).size() == 2);
        progress();
    }
    std::string report;
    for (auto& l : loads) {
        l->stop();
        report += l->report();
    }
    INFO(report);
    for (auto& l : loads) {
        CHECK(l->failures().empty());
        // Every reload retired the worker of each keep-alive client, which had to move on.
        CHECK(l->connections() >= 1 + kReloads);
    }
    m.server.stop_and_check();
}

// The worst case of the race a retiring worker runs: it never accepts again, and connections wait
// in its listener's queue. The new generation must take them from the very same sockets, a lone
// worker from both slots' sockets.
TEST_CASE("a reload to fewer workers serves the connections waiting in every listener's queue",
          "[master][reload]") {
    MasterSite m;
    std::vector<std::unique_ptr<Stopped>> stopped;
    for (const auto& [slot, pid] : m.workers) stopped.push_back(std::make_unique<Stopped>(pid));
    std::vector<std::unique_ptr<Client>> clients;
    queue_on_every_listener(m.port(), 8, clients);

    m.config.workers = 1;
    const pid_t lone = m.reload(2).at(0);  // the old workers' SIGQUIT waits until they continue
    for (auto& c : clients) {              // read_response fails the test on a reset
        Response r = c->read_response();
        CHECK(r.status == 200);
        CHECK(r.body == m.site.small);
    }
    Status st = fetch_status(m.port());
    CHECK(st.of(lone).accepted >= clients.size());
    clients.clear();

    for (auto& s : stopped) s->resume();
    m.wait_exited(m.workers, 1);
    CHECK(listen_queues(m.port()).size() == 2);
    m.server.stop_and_check();
}

// Workers read the mime types file when they start, the config loader does not: the new config
// is valid, but none of its workers can come up.
TEST_CASE("a reload whose new workers cannot start is rolled back, and the old generation serves on",
          "[master][reload]") {
    MasterSite m;
    m.config.http_extra = "    mime_types = \"@DIR@/no-such.types\";";
    m.server.rewrite_config(m.config.text());
    REQUIRE(::kill(m.master(), SIGHUP) == 0);
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log("reload failed: worker process "));
    const std::string log = read_file(m.server.error_log_path());
    const std::string failed = line_with(log, "reload failed: worker process ");
    CHECK(failed.find("of the new generation") != std::string::npos);
    CHECK(failed.find("generation 1 keeps serving") != std::string::npos);
    auto generation2 = started_workers(log, 2);
    CHECK(generation2.size() >= 1);
    m.wait_ended(generation2, 2);  // killed if they had not died already

    CHECK(sorted(children_of(m.master())) == pids_of(m.workers));
    Client c(m.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == m.site.small);
    Status st = fetch_status(c);
    REQUIRE(st.workers.size() == 2);
    for (const WorkerStatus& w : st.workers) CHECK(w.generation == 1);
    c.close();

    // Fixed, the next reload goes through (generation 2 was spent on the failed attempt).
    m.config.http_extra = "";
    auto generation3 = m.reload(3);
    m.wait_exited(m.workers, 1);
    CHECK(sorted(children_of(m.master())) == pids_of(generation3));
    m.server.stop_and_check({"reload failed:", "failed to start", "unexpectedly"});
}

// Standard signals do not queue, so the second SIGHUP goes only once the first was taken; it may
// come while the first reload still waits for its workers (it then follows that one) or after.
TEST_CASE("a SIGHUP during a reload is not lost: another reload follows", "[master][reload]") {
    MasterSite m;
    const std::string new_index = "<!doctype html>\n<p>the new root</p>\n";
    fs::create_directory(m.site.dir / "www2");
    write_file(m.site.dir / "www2/index.html", new_index);
    m.config.root = "www2";
    m.server.rewrite_config(m.config.text());
    REQUIRE(::kill(m.master(), SIGHUP) == 0);
    REQUIRE(m.server.wait_for_log("received SIGHUP"));
    REQUIRE(::kill(m.master(), SIGHUP) == 0);
    INFO(m.server.logs());
    REQUIRE(m.server.wait_for_log("reload complete: generation 3 serves with 2 workers"));
    const std::string log = read_file(m.server.error_log_path());
    CHECK(count(log, "received SIGHUP") == 2);
    CHECK(count(log, "reload complete: generation 2 serves with 2 workers") == 1);
    m.wait_exited(m.workers, 1);
    m.wait_exited(ready_workers(log, 2), 2);
    auto generation3 = ready_workers(log, 3);
    CHECK(sorted(children_of(m.master())) == pids_of(generation3));
    Client c(m.port());
    c.send_raw(get("/"));
    CHECK(c.read_response().body == new_index);
    c.close();
    m.server.stop_and_check();
}

// A status page larger than the largest pool buffer (64 KiB) arrives whole. With 200 workers
// the Prometheus text is well over 64 KiB; the body is checked line by line, so a page cut off
// (or a chunk lost or repeated) fails.

#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace {

constexpr uint32_t kWorkers = 200;

// Every line of the Prometheus text is a HELP, a TYPE or one sample of a live worker, and each
// counter has one sample per worker.
void check_prometheus(const std::string& body, const std::map<uint32_t, pid_t>& workers) {
    static const std::regex sample(
        R"re(^(portico_[a-z0-9_]+)\{slot="(\d+)",pid="(\d+)",generation="1"\} (\d+)$)re");
    REQUIRE(!body.empty());
    REQUIRE(body.back() == '\n');
    std::map<std::string, std::set<uint32_t>> slots_by_counter;
    std::istringstream lines(body);
    size_t n = 0;
    for (std::string line; std::getline(lines, line); ++n) {
        if (line.starts_with("# HELP portico_") || line.starts_with("# TYPE portico_")) continue;
        std::smatch s;
        INFO("line " << n << ": " << line);
        REQUIRE(std::regex_match(line, s, sample));
        auto slot = static_cast<uint32_t>(std::stoul(s[2]));
        REQUIRE(workers.count(slot) == 1);
        CHECK(workers.at(slot) == std::stoi(s[3]));
        CHECK(slots_by_counter[s[1]].insert(slot).second);  // no sample twice
    }
    CHECK(slots_by_counter.size() == 7);
    for (const auto& [counter, slots] : slots_by_counter) {
        INFO(counter);
        CHECK(slots.size() == workers.size());
    }
}

}  // namespace

TEST_CASE("a status page larger than 64 KiB is sent whole", "[master][status][large]") {
    Site site;
    MasterConfig config;
    config.workers = kWorkers;
    Server server(site.dir, config.text());
    // Forking 200 workers on a busy machine takes a while: wait generously, on their log lines.
    std::map<uint32_t, pid_t> workers = wait_ready(server, 1, kWorkers, milliseconds(120000));
    const std::string plain = "Accept: text/plain\r\n";

    // One server for every part (no SECTIONs: each would start 200 workers again).
    {
        INFO("held back until the request body is read, then sent");
        // The response waits for the body in memory of the connection's own, which a pool
        // buffer (at most 64 KiB) could not hold.
        Client c(server.port());
        c.send_raw(get("/status", plain + "Content-Length: 5\r\n") + "hello");
        Response r = c.read_response();
        REQUIRE(r.status == 200);
        CHECK(r.body.size() > 64 * 1024);
        CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
        check_prometheus(r.body, workers);
        c.send_raw(get("/small.txt"));  // and the connection is still in step
        CHECK(c.read_response().body == site.small);
    }
    {
        INFO("pipelined through a small window, so that most of each page waits for the socket");
        constexpr int kPages = 48;
        Client c(server.port(), 4096);
        std::string requests = get("/large.bin");
        for (int i = 0; i < kPages; ++i) requests += get("/status", plain);
        c.send_raw(requests);
        CHECK(c.read_response(false, 16384).body == site.large);
        for (int i = 0; i < kPages; ++i) {
            INFO("page " << i);
            Response r = c.read_response(false, 16384);
            REQUIRE(r.status == 200);
            CHECK(r.body.size() > 64 * 1024);
            check_prometheus(r.body, workers);
        }
    }
    {
        INFO("the JSON document of 200 workers parses");
        Client c(server.port());
        Status s = fetch_status(c);
        CHECK(s.workers.size() == kWorkers);
    }
    server.stop_and_check();
}

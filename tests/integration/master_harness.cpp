// Master-mode configs, log lines and the steps master tests share.

#include "tests/integration/master_harness.hpp"

#include <poll.h>

#include <algorithm>
#include <csignal>
#include <numeric>
#include <regex>
#include <sstream>
#include <utility>

#include <catch2/catch.hpp>

namespace portico::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace

MasterConfig MasterConfig::with(std::string top_extra, uint32_t workers) {
    MasterConfig c;
    c.workers = workers;
    c.top_extra = std::move(top_extra);
    return c;
}

std::string MasterConfig::text() const {
    std::string c = "master_process = true;\n";
    c += "worker_processes = " + std::to_string(workers) + ";\n";
    c += "error_log = \"@DIR@/" + error_log + "\";\n";
    c += "log_level = \"info\";\n";
    if (!pid_file.empty()) c += "pid_file = \"@DIR@/" + pid_file + "\";\n";
    c += top_extra;
    c += "\nhttp = {\n    access_log = \"@DIR@/" + access_log + "\";\n";
    c += http_extra;
    c += "\n};\n"
         "servers = (\n"
         "    { listen = [\"127.0.0.1:@PORT@\"]; server_name = [\"a.test\"]; root = \"@DIR@/" +
         root +
         "\";\n"
         "      index = [\"index.html\"]; status_path = \"/status\"; },\n"
         "    { listen = [\"127.0.0.1:@PORT@\"]; server_name = [\"b.test\"]; root = \"@DIR@/www-b\"; }\n"
         ");\n";
    return c;
}

MasterSite::MasterSite(MasterConfig c)
    : config(std::move(c)), server(site.dir, config.text()), workers(wait_ready(server, 1, config.workers)) {}

std::map<uint32_t, pid_t> MasterSite::reload(uint32_t generation) {
    server.rewrite_config(config.text());
    REQUIRE(::kill(master(), SIGHUP) == 0);
    std::string done = "reload complete: generation " + std::to_string(generation) + " serves with " +
                       std::to_string(config.workers) + " workers";
    INFO(server.logs());
    REQUIRE(server.wait_for_log(done));
    auto ready = ready_workers(read_file(server.error_log_path()), generation);
    REQUIRE(ready.size() == config.workers);
    return ready;
}

namespace {

/// Waits until the log has, for every worker of `pids`, its line followed by one of `endings`.
void wait_worker_lines(const Server& server, const std::map<uint32_t, pid_t>& pids, uint32_t generation,
                       const std::vector<std::string>& endings) {
    bool all = server.wait_for_log_until([&](const std::string& log) {
        return std::all_of(pids.begin(), pids.end(), [&](const auto& slot_pid) {
            std::string worker = "worker process " + std::to_string(slot_pid.second) + " (slot " +
                                 std::to_string(slot_pid.first) + ", generation " +
                                 std::to_string(generation) + ") ";
            return std::any_of(endings.begin(), endings.end(), [&](const std::string& end) {
                return log.find(worker + end) != std::string::npos;
            });
        });
    });
    INFO(server.logs());
    REQUIRE(all);
}

}  // namespace

void MasterSite::wait_exited(const std::map<uint32_t, pid_t>& pids, uint32_t generation) {
    wait_worker_lines(server, pids, generation, {"exited with code 0"});
}

void MasterSite::wait_ended(const std::map<uint32_t, pid_t>& pids, uint32_t generation) {
    wait_worker_lines(server, pids, generation, {"exited with code", "killed by signal"});
}

size_t count(std::string_view text, std::string_view needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + needle.size()))
        ++n;
    return n;
}

namespace {

/// "worker process PID (slot S, generation G) <event>" lines of `generation`: the last pid per slot.
std::map<uint32_t, pid_t> workers_that(const std::string& log, const std::regex& event, uint32_t generation) {
    std::map<uint32_t, pid_t> out;
    for (const std::string& line : lines_of(log)) {
        std::smatch m;
        if (!std::regex_search(line, m, event) || std::stoul(m[3]) != generation) continue;
        out[static_cast<uint32_t>(std::stoul(m[2]))] = static_cast<pid_t>(std::stol(m[1]));
    }
    return out;
}

}  // namespace

std::map<uint32_t, pid_t> ready_workers(const std::string& log, uint32_t generation) {
    static const std::regex ready(R"(worker process (\d+) \(slot (\d+), generation (\d+)\) is ready)");
    return workers_that(log, ready, generation);
}

std::map<uint32_t, pid_t> started_workers(const std::string& log, uint32_t generation) {
    static const std::regex started(R"(started worker process (\d+) \(slot (\d+), generation (\d+)\))");
    return workers_that(log, started, generation);
}

std::vector<uint64_t> respawn_delays(const std::string& log) {
    static const std::regex delay(R"(respawning in (\d+) ms)");
    std::vector<uint64_t> out;
    for (const std::string& line : lines_of(log)) {
        std::smatch m;
        if (std::regex_search(line, m, delay)) out.push_back(std::stoull(m[1]));
    }
    return out;
}

std::map<uint32_t, pid_t> wait_ready(const Server& server, uint32_t generation, uint32_t n,
                                     milliseconds limit) {
    bool ready = server.wait_for_log_until(
        [&](const std::string& log) { return ready_workers(log, generation).size() >= n; }, limit);
    INFO(server.logs());
    INFO("waiting for " << n << " workers of generation " << generation << " to be ready");
    REQUIRE(ready);
    return ready_workers(read_file(server.error_log_path()), generation);
}

std::string line_with(const std::string& text, std::string_view needle) {
    for (const std::string& line : lines_of(text))
        if (line.find(needle) != std::string::npos) return line;
    return "";
}

int line_number(const std::string& text, std::string_view needle) {
    std::vector<std::string> lines = lines_of(text);
    for (size_t i = 0; i < lines.size(); ++i)
        if (lines[i].find(needle) != std::string::npos) return static_cast<int>(i + 1);
    FAIL("no line contains " << needle);
    return 0;
}

std::string killed_line(pid_t pid, uint32_t slot) {
    return "worker process " + std::to_string(pid) + " (slot " + std::to_string(slot) +
           ", generation 1) killed by signal 9 (Killed) unexpectedly";
}

std::string worker_title(uint32_t slot, uint32_t generation) {
    return "portico: worker process #" + std::to_string(slot) + " (generation " + std::to_string(generation) +
           ")";
}

AdoptedMaster::~AdoptedMaster() {
    if (pid > 0 && is_alive(pid)) {
        ::kill(pid, SIGTERM);
        wait_gone(pid, kWait);
    }
}

bool AdoptedMaster::stop() {
    if (::kill(pid, SIGQUIT) != 0) return false;
    return wait_gone(std::exchange(pid, 0), kWait * 2);
}

pid_t wait_successor(const Server& server, uint32_t slot, uint32_t generation, pid_t old,
                     milliseconds limit) {
    pid_t successor = 0;
    bool replaced = server.wait_for_log_until(
        [&](const std::string& log) {
            auto ready = ready_workers(log, generation);
            auto it = ready.find(slot);
            if (it == ready.end() || it->second == old) return false;
            successor = it->second;
            return true;
        },
        limit);
    INFO(server.logs());
    INFO("waiting for a new worker in slot " << slot);
    REQUIRE(replaced);
    return successor;
}

milliseconds since(Clock::time_point t) {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

std::vector<pid_t> sorted(std::vector<pid_t> pids) {
    std::sort(pids.begin(), pids.end());
    return pids;
}

std::vector<pid_t> pids_of(const std::map<uint32_t, pid_t>& by_slot) {
    std::vector<pid_t> out;
    for (const auto& [slot, pid] : by_slot) out.push_back(pid);
    return sorted(out);
}

const std::string& write_huge_file(const Site& site) {
    static const std::string body = pattern(8 << 20, 4);
    write_file(site.www + "/huge.bin", body);
    return body;
}

std::unique_ptr<Client> slow_download(uint16_t port, const std::string& huge) {
    auto c = std::make_unique<Client>(port, 4096);
    c->send_raw(get("/huge.bin"));
    Response head = c->read_response(true);  // the head only; the body waits in the socket
    REQUIRE(head.status == 200);
    REQUIRE(head.header("Content-Length") == std::to_string(huge.size()));
    return c;
}

void finish_download(Client& c, const std::string& huge) {
    c.set_rcvbuf(1 << 20);
    std::string body = c.read_exact(huge.size());
    CHECK(body.size() == huge.size());
    CHECK((body == huge));  // parenthesised: on failure, do not print 8 MiB
}

bool answered(const Client& c) {
    pollfd p{c.fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

void queue_on_every_listener(uint16_t port, size_t per_round, std::vector<std::unique_ptr<Client>>& clients) {
    for (int round = 0; round < 4; ++round) {
        for (size_t i = 0; i < per_round; ++i) {
            clients.push_back(std::make_unique<Client>(port));
            clients.back()->send_raw(get("/small.txt"));
        }
        // A loopback handshake completes at once, but the count is read from the kernel: settle.
        auto deadline = Clock::now() + kWait;
        std::vector<uint32_t> queues;
        for (;;) {
            queues = listen_queues(port);
            if (std::accumulate(queues.begin(), queues.end(), size_t{0}) == clients.size()) break;
            REQUIRE(Clock::now() < deadline);
            pace_retry();
        }
        if (std::all_of(queues.begin(), queues.end(), [](uint32_t q) { return q > 0; })) return;
    }
    FAIL("some listener never got a connection in its queue");
}

}  // namespace portico::test

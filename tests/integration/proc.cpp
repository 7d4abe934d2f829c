// /proc readers and a process stopped for a test.

#include "tests/integration/proc.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <string_view>

#include <catch2/catch.hpp>

namespace portico::test {
namespace {

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

/// The value after "Name:" in /proc/PID/status, trimmed; "" if absent.
std::string status_field(pid_t pid, std::string_view name) {
    for (const std::string& line : lines_of(read_file("/proc/" + std::to_string(pid) + "/status"))) {
        if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0 || line[name.size()] != ':')
            continue;
        size_t b = line.find_first_not_of(" \t", name.size() + 1);
        return b == std::string::npos ? "" : line.substr(b);
    }
    return "";
}

core::UniqueFd open_pidfd(pid_t pid) {
    return core::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

}  // namespace

std::string process_title(pid_t pid) {
    std::string t = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(t.begin(), t.end(), '\0', ' ');
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t;
}

std::vector<pid_t> children_of(pid_t pid) {
    std::string p = std::to_string(pid);
    std::istringstream in(read_file("/proc/" + p + "/task/" + p + "/children"));
    std::vector<pid_t> out;
    for (pid_t child; in >> child;) out.push_back(child);
    return out;
}

std::optional<ProcStat> proc_stat(pid_t pid) {
    std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = text.rfind(')');  // the command name may hold spaces and parentheses
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream in(text.substr(paren + 1));
    ProcStat st;
    std::string skip;
    uint64_t utime = 0, stime = 0;
    in >> st.state >> st.ppid >> st.pgrp >> st.session;
    for (int i = 0; i < 7; ++i) in >> skip;  // tty_nr tpgid flags minflt cminflt majflt cmajflt
    in >> utime >> stime;
    if (!in) return std::nullopt;
    st.cpu_ticks = utime + stime;
    return st;
}

bool is_alive(pid_t pid) {
    auto st = proc_stat(pid);
    return st && st->state != 'Z' && st->state != 'X';
}

std::array<uid_t, 4> uids_of(pid_t pid) {
    std::istringstream in(status_field(pid, "Uid"));
    std::array<uid_t, 4> ids{};
    for (uid_t& id : ids) in >> id;
    REQUIRE(in);
    return ids;
}

std::string cpus_allowed(pid_t pid) {
    return status_field(pid, "Cpus_allowed_list");
}

uint64_t resident_kib(pid_t pid) {
    std::string value = status_field(pid, "VmRSS");  // "1234 kB"
    return value.empty() ? 0 : std::stoull(value);
}

bool wait_gone(pid_t pid, milliseconds limit) {
    core::UniqueFd fd = open_pidfd(pid);
    if (!fd) return errno == ESRCH;
    auto deadline = Clock::now() + limit;
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return false;
    }
}

std::vector<uint32_t> listen_queues(uint16_t port) {
    char local[32];
    std::snprintf(local, sizeof local, "0100007F:%04X", port);
    std::vector<uint32_t> out;
    for (const std::string& line : lines_of(read_file("/proc/net/tcp"))) {
        // sl local_address rem_address st tx_queue:rx_queue ...; for a listener rx_queue is its accept queue
        std::istringstream in(line);
        std::string sl, addr, remote, state, queues;
        if (!(in >> sl >> addr >> remote >> state >> queues) || addr != local || state != "0A") continue;
        out.push_back(static_cast<uint32_t>(std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16)));
    }
    return out;
}

Stopped::Stopped(pid_t pid) : pid_(pid) {
    REQUIRE(::kill(pid_, SIGSTOP) == 0);
    auto deadline = Clock::now() + kWait;
    while (proc_stat(pid_)->state != 'T' && Clock::now() < deadline) pace_retry();
    REQUIRE(proc_stat(pid_)->state == 'T');
}

Stopped::~Stopped() {
    if (!resumed_ && is_alive(pid_)) ::kill(pid_, SIGKILL);
}

void Stopped::resume() {
    REQUIRE(::kill(pid_, SIGCONT) == 0);
    resumed_ = true;
}

}  // namespace portico::test

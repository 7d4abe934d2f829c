#include "slow_run.hpp"

#include "monotonic_clock.hpp"
#include "runner.hpp"
#include "slow_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace portico::bench {
namespace {

// The slow connections open a moment after the fork, so the first are not late.
constexpr int64_t kStartLeadNs = 10'000'000;
// Beyond the ramp, how long the slow clients may take to report that they are up.
constexpr int kReadyGraceMs = 15'000;

int64_t seconds_to_ns(double seconds) {
    return static_cast<int64_t>(std::llround(seconds * 1e9));
}

std::runtime_error failure(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

void note(const char* text) {
    std::fprintf(stderr, "portico-bench: %s\n", text);
    std::fflush(stderr);
}

}  // namespace

SlowRun::SlowRun(const Options& options)
    : options_(options),
      loris_target_(parse_target(options.urls.front())),
      reader_target_(
          parse_target(options.slow.reader_url.empty() ? options.urls.front() : options.slow.reader_url)) {
    reader_request_ = "GET " + reader_target_.path + " HTTP/1.1\r\nHost: " + reader_target_.host +
                      "\r\nUser-Agent: portico-bench slow reader\r\n\r\n";
}

SlowRunResults SlowRun::run() {
    SlowRunResults out;
    if (options_.slow.baseline) {
        note("baseline: the load alone");
        Runner baseline(options_);
        out.baseline = baseline.run();
        out.has_baseline = true;
        if (Runner::stop_requested != 0) return out;
    }
    note("the slow clients start");
    start_slow_clients();
    wait_until_ready();
    note("the slow clients are up: the load again, beside them");
    Runner loaded(options_);
    out.processes = loaded.processes();
    out.loaded = loaded.run();
    out.slow = stop_slow_clients();
    return out;
}

void SlowRun::start_slow_clients() {
    int ready[2];
    int results[2];
    if (pipe2(ready, O_CLOEXEC) != 0) throw failure("pipe2() failed");
    if (pipe2(results, O_CLOEXEC) != 0) throw failure("pipe2() failed");
    start_ns_ = monotonic_ns() + kStartLeadNs;
    const pid_t parent = getpid();
    std::fflush(stdout);
    std::fflush(stderr);
    child_ = fork();
    if (child_ < 0) throw failure("fork() failed");
    if (child_ == 0) {
        ::close(ready[0]);
        ::close(results[0]);
        run_slow_child(ready[1], results[1], parent);
    }
    ::close(ready[1]);
    ::close(results[1]);
    ready_fd_ = ready[0];
    results_fd_ = results[0];
}

void SlowRun::run_slow_child(int ready_fd, int results_fd, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const SlowOptions& s = options_.slow;
    SlowPlan plan;
    plan.loris = s.loris;
    plan.readers = s.readers;
    plan.loris_interval_ns = seconds_to_ns(s.loris_interval_sec);
    plan.read_bytes = s.read_rate;
    plan.rcvbuf = s.rcvbuf;
    plan.mss = s.mss;
    plan.start_ns = start_ns_;
    plan.ramp_ns = seconds_to_ns(s.ramp_sec);
    plan.expect_loris_ns = seconds_to_ns(s.expect_header_sec);
    plan.expect_reader_ns = seconds_to_ns(s.expect_send_sec);
    plan.slack_ns = seconds_to_ns(s.expect_slack_sec);
    plan.reconnect = s.reconnect;
    plan.persist = s.persist;
    int status = 1;
    try {
        SlowClient client(plan, loris_target_, reader_target_, reader_request_, ready_fd);
        const SlowResults& results = client.run(Runner::stop_requested);
        const char* p = reinterpret_cast<const char*>(&results);
        size_t left = sizeof(results);
        while (left > 0) {
            const ssize_t n = ::write(results_fd, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            p += n;
            left -= static_cast<size_t>(n);
        }
        status = left == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico-bench: slow clients: %s\n", e.what());
    }
    _exit(status);
}

void SlowRun::wait_until_ready() {
    const int limit = static_cast<int>(options_.slow.ramp_sec * 1000) + kReadyGraceMs;
    pollfd p{ready_fd_, POLLIN, 0};
    int n = 0;
    while ((n = ::poll(&p, 1, limit)) < 0 && errno == EINTR && Runner::stop_requested == 0) {
    }
    char byte = 0;
    const bool ready = n > 0 && ::read(ready_fd_, &byte, 1) == 1;
    ::close(ready_fd_);
    ready_fd_ = -1;
    if (!ready && Runner::stop_requested == 0) {
        kill(child_, SIGKILL);
        while (waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
        }
        child_ = -1;
        throw std::runtime_error("the slow clients did not come up");
    }
}

SlowResults SlowRun::stop_slow_clients() {
    SlowResults results;
    if (child_ <= 0) return results;
    kill(child_, SIGTERM);
    auto* bytes = reinterpret_cast<char*>(&results);
    size_t got = 0;
    while (got < sizeof(results)) {
        const ssize_t n = ::read(results_fd_, bytes + got, sizeof(results) - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(results_fd_);
    results_fd_ = -1;
    int status = 0;
    while (waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
    child_ = -1;
    if (got != sizeof(results))
        throw std::runtime_error("the slow-client process ended without reporting results");
    return results;
}

}  // namespace portico::bench

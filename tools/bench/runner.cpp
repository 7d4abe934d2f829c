#include "runner.hpp"

#include "monotonic_clock.hpp"
#include "progress_board.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace portico::bench {

volatile std::sig_atomic_t Runner::stop_requested = 0;

namespace {

// Open loop: the schedule starts a little after the forks, so that the first requests do not
// carry the time it took to start the clients in their latency.
constexpr int64_t kOpenLoopLeadNs = 5'000'000;
constexpr int kProgressIntervalMs = 250;  // at most 4 progress lines a second
constexpr int kHoldPollMs = 50;

std::vector<Target> resolve(const std::vector<std::string>& urls) {
    std::vector<Target> targets;
    targets.reserve(urls.size());
    for (const auto& url : urls) {
        targets.push_back(parse_target(url));
    }
    return targets;
}

uint32_t online_cpus() {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<uint32_t>(n) : 1;
}

bool write_all(int fd, const void* data, size_t len) {
    const char* p = static_cast<const char*>(data);
    while (len > 0) {
        const ssize_t n = ::write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

int64_t seconds_to_ns(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1e9)); }

}  // namespace

Runner::Runner(const Options& options)
    : options_(options), targets_(resolve(options.urls)), requests_(options, targets_) {
    processes_ = std::min(options.processes != 0 ? options.processes : online_cpus(), options.connections);
    if (options.total_requests != 0) {
        // Every client needs a share of -n: a client with none would run forever.
        processes_ = static_cast<uint32_t>(std::min<uint64_t>(processes_, options.total_requests));
    }
    live_progress_ = isatty(STDOUT_FILENO) != 0 && !options.json;
}

std::vector<ClientPlan> Runner::make_plans(int64_t t0) const {
    std::vector<ClientPlan> plans(processes_);
    const uint32_t p = processes_;
    const uint64_t n = options_.total_requests;
    uint32_t first = 0;
    for (uint32_t i = 0; i < p; ++i) {
        ClientPlan& plan = plans[i];
        plan.connections = options_.connections / p + (i < options_.connections % p ? 1 : 0);
        plan.first_target = first;
        first += plan.connections;
        plan.pipeline = options_.pipeline;
        plan.budget = n == 0 ? 0 : n / p + (i < n % p ? 1 : 0);
        plan.rate = options_.rate / p;
        plan.start_ns = t0;
        plan.measure_ns = t0 + seconds_to_ns(options_.warmup_sec);
        plan.end_ns = n == 0 ? plan.measure_ns + seconds_to_ns(options_.duration_sec) : Schedule::kNever;
        plan.timeout_ns = seconds_to_ns(options_.timeout_sec);
        plan.close = options_.close;
        plan.hold = options_.hold;
    }
    return plans;
}

Results Runner::run() {
    ProgressBoard board(processes_);
    const int64_t t0 = monotonic_ns() + (options_.rate > 0 ? kOpenLoopLeadNs : 0);
    const auto plans = make_plans(t0);
    children_.resize(plans.size());
    // Anything still buffered would otherwise be written once by every child as well.
    std::fflush(stdout);
    std::fflush(stderr);
    for (size_t i = 0; i < plans.size(); ++i) {
        spawn(plans[i], i, board);
    }
    collect(board, t0);
    return merge_and_reap();
}

void Runner::spawn(const ClientPlan& plan, size_t index, ProgressBoard& board) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe2() failed: ") + std::strerror(errno));
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        throw std::runtime_error(std::string("fork() failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::close(fds[0]);
        run_child(plan, board.slot(index), fds[1], parent);
    }
    ::close(fds[1]);
    // Non-blocking, so a slow child's half-written results never stall the progress line.
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    children_[index].pid = pid;
    children_[index].fd = fds[0];
}

void Runner::run_child(const ClientPlan& plan, ProgressSlot& slot, int fd, pid_t parent) {
    // A client must not outlive the run: if the parent dies, so does it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int status = 1;
    try {
        Client client(plan, targets_, requests_, slot);
        const Results& results = client.run(stop_requested);
        status = write_all(fd, &results, sizeof(results)) ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico-bench: client %d: %s\n", static_cast<int>(getpid()), e.what());
    }
    // _exit: the parent's objects (and its stdio buffers) belong to the parent.
    _exit(status);
}

void Runner::collect(ProgressBoard& board, int64_t t0) {
    std::vector<pollfd> fds(children_.size());
    size_t pending = children_.size();
    bool forwarded = false;
    const int interval = options_.hold ? kHoldPollMs : kProgressIntervalMs;
    last_progress_ns_ = monotonic_ns();
    while (pending > 0) {
        for (size_t i = 0; i < children_.size(); ++i) {
            fds[i] = pollfd{children_[i].done ? -1 : children_[i].fd, POLLIN, 0};
        }
        ::poll(fds.data(), fds.size(), interval);
        if (stop_requested != 0 && !forwarded) {
            forward_stop();
            forwarded = true;
        }
        for (size_t i = 0; i < children_.size(); ++i) {
            if (fds[i].revents != 0 && !children_[i].done && read_from(children_[i])) --pending;
        }
        show_progress(board, t0, monotonic_ns());
    }
    if (live_progress_) std::fputs("\r\033[K", stderr);
}

bool Runner::read_from(Child& child) {
    auto* bytes = reinterpret_cast<char*>(&child.results);
    for (;;) {
        const ssize_t n = ::read(child.fd, bytes + child.received, sizeof(Results) - child.received);
        if (n > 0) {
            child.received += static_cast<size_t>(n);
            if (child.received < sizeof(Results)) continue;
        } else if (n < 0 && (errno == EINTR)) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return false;
        }
        // Complete, or end of file (a child that died early), or a read error: either way done.
        child.done = true;
        ::close(child.fd);
        child.fd = -1;
        return true;
    }
}

void Runner::forward_stop() {
    // SIGTERM sent to the parent alone (kill PID) must still stop the clients, which then
    // report what they have, so an interrupted run still prints its results.
    for (const auto& child : children_) {
        if (child.pid > 0) kill(child.pid, SIGTERM);
    }
}

void Runner::show_progress(ProgressBoard& board, int64_t t0, int64_t now) {
    if (options_.hold && !hold_announced_ && board.held() >= options_.connections) {
        // compare-nginx waits for this line before it measures the server's memory.
        std::fprintf(stderr, "portico-bench: holding %u connections\n", options_.connections);
        std::fflush(stderr);
        hold_announced_ = true;
    }
    if (!live_progress_ || now - last_progress_ns_ < int64_t{kProgressIntervalMs} * 1'000'000) {
        return;
    }
    const uint64_t responses = board.responses();
    const double interval = static_cast<double>(now - last_progress_ns_) / 1e9;
    const double rate = static_cast<double>(responses - last_responses_) / interval;
    std::fprintf(stderr, "\r\033[K%6.1fs  %10.0f req/s  %12llu requests  %llu errors",
                 static_cast<double>(now - t0) / 1e9, rate, static_cast<unsigned long long>(responses),
                 static_cast<unsigned long long>(board.failed()));
    std::fflush(stderr);
    last_responses_ = responses;
    last_progress_ns_ = now;
}

Results Runner::merge_and_reap() {
    Results total;
    std::string failures;
    for (size_t i = 0; i < children_.size(); ++i) {
        int status = 0;
        while (waitpid(children_[i].pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (children_[i].received != sizeof(Results)) {
            failures.append(" ").append(std::to_string(i));
            continue;
        }
        total.merge(children_[i].results);
    }
    if (!failures.empty()) {
        throw std::runtime_error("client process(es)" + failures + " ended without reporting results");
    }
    return total;
}

}  // namespace portico::bench

// portico-bench: the load generator. See `portico-bench -h` and tools/bench/runner.hpp.

#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "slow_report.hpp"
#include "slow_run.hpp"

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <exception>

namespace {

using portico::bench::Runner;

void on_stop_signal(int) { Runner::stop_requested = 1; }

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked epoll_wait/poll must return and see the flag
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

// Thousands of connections need thousands of descriptors; take what the hard limit allows.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

int usage_error(const char* message) {
    std::fprintf(stderr, "portico-bench: %s\n(portico-bench -h shows the options)\n", message);
    return 2;
}

// The slow-client mode: the load with and without slow clients (see slow_run.hpp).
int run_slow(const portico::bench::Options& options) {
    using namespace portico::bench;
    SlowRun run(options);
    install_signal_handlers();
    raise_fd_limit();
    const SlowRunResults results = run.run();
    if (options.json) print_slow_json_report(stdout, results, options);
    else print_slow_text_report(stdout, results, options);
    const bool failed = results.loaded.failed() > 0 || (results.has_baseline && results.baseline.failed() > 0) ||
                        results.slow.loris.late > 0 || results.slow.readers.late > 0;
    return options.fail_on_error && failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace portico::bench;
    Options options;
    try {
        options = parse_options(argc, argv);
    } catch (const UsageError& e) {
        return usage_error(e.what());
    }
    if (options.help) {
        std::fputs(usage_text().data(), stdout);
        return 0;
    }
    try {
        if (options.slow.enabled()) return run_slow(options);
        Runner runner(options);
        install_signal_handlers();
        raise_fd_limit();
        const Results results = runner.run();
        const RunInfo info{&options, runner.processes()};
        if (options.json) print_json_report(stdout, results, info);
        else print_text_report(stdout, results, info);
        return options.fail_on_error && results.failed() > 0 ? 1 : 0;
    } catch (const UsageError& e) {
        return usage_error(e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico-bench: %s\n", e.what());
        return 1;
    }
}

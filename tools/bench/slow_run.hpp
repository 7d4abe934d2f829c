#pragma once
// The slow-client mode's whole run (portico-bench --slowloris N / --slow-readers N):
//
//   [baseline: the load alone, -d s]   (with --baseline)
//   fork the slow-client process -> it opens its connections over --slow-ramp s -> "ready"
//   [the same load, -d s, beside the slow clients] -> stop the slow clients, collect
//
// The load is the ordinary Runner with the same options both times, so the two phases differ
// only by the slow clients.

#include "options.hpp"
#include "results.hpp"
#include "slow_results.hpp"
#include "target.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace portico::bench {

struct SlowRunResults {
    bool has_baseline = false;
    Results baseline;  ///< the load alone (has_baseline)
    Results loaded;    ///< the load beside the slow clients
    SlowResults slow;
    uint32_t processes = 0;  ///< load client processes
};

class SlowRun {
public:
    /// Resolves the slow clients' targets; throws UsageError for a bad --slow-url.
    explicit SlowRun(const Options& options);

    /// Runs the phases above. Throws std::runtime_error when a process cannot be forked, or
    /// the slow clients die or do not come up.
    SlowRunResults run();

    [[nodiscard]] const Target& loris_target() const noexcept { return loris_target_; }
    [[nodiscard]] const Target& reader_target() const noexcept { return reader_target_; }

private:
    void start_slow_clients();
    [[noreturn]] void run_slow_child(int ready_fd, int results_fd, pid_t parent);
    void wait_until_ready();
    SlowResults stop_slow_clients();

    const Options& options_;
    Target loris_target_;
    Target reader_target_;
    std::string reader_request_;
    pid_t child_ = -1;
    int ready_fd_ = -1;
    int results_fd_ = -1;
    int64_t start_ns_ = 0;
};

}  // namespace portico::bench

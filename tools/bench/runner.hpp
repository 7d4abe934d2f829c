#pragma once
// The parent process: webbench's shape. It splits the work into plans, forks one client
// process per plan, draws a progress line while they run, and merges the Results each one
// writes into its pipe when it is done.

#include "client.hpp"
#include "options.hpp"
#include "request_set.hpp"
#include "results.hpp"
#include "target.hpp"

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <vector>

namespace portico::bench {

class ProgressBoard;

class Runner {
public:
    /// Resolves every URL and builds the requests; throws UsageError for a bad URL.
    explicit Runner(const Options& options);

    /// Runs the whole benchmark and returns the merged results. Throws std::runtime_error when
    /// a client cannot be forked or dies without reporting.
    Results run();

    [[nodiscard]] uint32_t processes() const noexcept { return processes_; }
    [[nodiscard]] const std::vector<Target>& targets() const noexcept { return targets_; }

    /// Set by SIGINT/SIGTERM (in the parent and, inherited, in every client): stop and report.
    static volatile std::sig_atomic_t stop_requested;

private:
    struct Child {
        pid_t pid = -1;
        int fd = -1;          // read end of its results pipe
        size_t received = 0;  // bytes of `results` read so far
        bool done = false;
        Results results;
    };

    [[nodiscard]] std::vector<ClientPlan> make_plans(int64_t t0) const;
    void spawn(const ClientPlan& plan, size_t index, ProgressBoard& board);
    [[noreturn]] void run_child(const ClientPlan& plan, ProgressSlot& slot, int fd, pid_t parent);
    void collect(ProgressBoard& board, int64_t t0);
    bool read_from(Child& child);
    void forward_stop();
    void show_progress(ProgressBoard& board, int64_t t0, int64_t now);
    Results merge_and_reap();

    const Options& options_;
    std::vector<Target> targets_;
    RequestSet requests_;
    uint32_t processes_ = 1;
    std::vector<Child> children_;
    bool live_progress_ = false;
    bool hold_announced_ = false;
    uint64_t last_responses_ = 0;
    int64_t last_progress_ns_ = 0;
};

}  // namespace portico::bench

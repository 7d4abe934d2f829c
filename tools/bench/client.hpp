#pragma once
// One client process: an edge-triggered epoll loop over its share of the connections, as in
// webbench each child looped over its own sockets. It sends the pre-built requests, parses every
// response, times each one, and returns a Results record for the parent.

#include "client_connection.hpp"
#include "progress_board.hpp"
#include "request_set.hpp"
#include "results.hpp"
#include "schedule.hpp"
#include "target.hpp"

#include <sys/epoll.h>

#include <csignal>
#include <cstdint>
#include <memory>
#include <vector>

namespace portico::bench {

/// What one client process is asked to do. Times are CLOCK_MONOTONIC nanoseconds, common to
/// all processes of a run.
struct ClientPlan {
    uint32_t connections = 1;
    uint32_t first_target = 0;  ///< where this client starts in the round-robin of targets
    uint32_t pipeline = 1;
    uint64_t budget = 0;     ///< measured requests to send; 0 = until end_ns
    double rate = 0;         ///< requests/s for this client; 0 = closed loop
    int64_t start_ns = 0;    ///< warm-up starts
    int64_t measure_ns = 0;  ///< counting starts
    int64_t end_ns = Schedule::kNever;
    int64_t timeout_ns = 5'000'000'000;
    bool close = false;
    bool hold = false;
};

class Client {
public:
    /// `targets`, `requests` and `progress` must outlive the client.
    Client(const ClientPlan& plan, const std::vector<Target>& targets, const RequestSet& requests,
           ProgressSlot& progress);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Runs until the plan is done (or `stop` becomes non-zero, set by a signal handler), then
    /// closes every connection. Throws std::system_error only if epoll cannot be set up.
    const Results& run(const volatile std::sig_atomic_t& stop);

private:
    using Connection = ClientConnection;

    void start();
    [[nodiscard]] int wait(epoll_event* events, int max) noexcept;
    [[nodiscard]] int64_t next_wakeup() const noexcept;
    [[nodiscard]] bool finished() const noexcept;
    void handle_event(const epoll_event& event) noexcept;
    void refill(Connection& c) noexcept;
    void fill(Connection& c) noexcept;
    bool open(Connection& c) noexcept;
    void send_pending(Connection& c) noexcept;
    void on_readable(Connection& c, uint32_t events) noexcept;
    bool consume(Connection& c, const char* data, size_t len) noexcept;
    bool complete(Connection& c) noexcept;
    void on_eof(Connection& c) noexcept;
    void fail(Connection& c, ErrorKind kind) noexcept;
    void close_cleanly(Connection& c) noexcept;
    void shut(Connection& c) noexcept;
    void on_tick() noexcept;
    void dispatch_due() noexcept;
    void list_idle(Connection& c) noexcept;
    void publish() noexcept;

    void push_request(Connection& c, int64_t intended) noexcept;
    int64_t pop_request(Connection& c) noexcept;
    [[nodiscard]] bool measured(int64_t intended) const noexcept;

    ClientPlan plan_;
    const std::vector<Target>& targets_;
    const RequestSet& requests_;
    ProgressSlot& progress_;
    Schedule schedule_;
    std::vector<Connection> conns_;
    std::vector<int64_t> sent_;   // per connection, a ring of `pipeline` intended times
    std::vector<uint32_t> idle_;  // open loop: connections able to take a due request
    std::unique_ptr<char[]> read_buffer_;
    Results results_;
    int epoll_fd_ = -1;
    int64_t now_ = 0;
    int64_t tick_ns_ = 0;
    int64_t next_tick_ = 0;
    uint64_t resolved_ = 0;  // measured requests answered or failed
    uint32_t next_target_ = 0;
    bool precise_wait_ = true;  // epoll_pwait2 available
};

}  // namespace portico::bench

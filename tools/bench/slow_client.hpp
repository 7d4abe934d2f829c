#pragma once
// The slow-client process: one epoll loop over every slow connection, of two kinds.
//
//   slowloris    sends an endless request head, one byte every interval, so the head never
//                completes; the server's client_header_timeout should cut it.
//   slow reader  sends a complete GET of a large file, then reads a few bytes a second with a
//                small receive window; the server's send_timeout should cut it.
//
// Every timed action (open, next byte, next read) sits in one min-heap. A connection the
// server cut is counted with the time it lived and, unless told otherwise, replaced, so the
// number of slow connections stays what was asked for. See slow_results.hpp for what is kept.

#include "response_parser.hpp"
#include "server_sockets.hpp"
#include "slow_results.hpp"
#include "target.hpp"

#include <sys/epoll.h>

#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <vector>

namespace portico::bench {

/// What the slow-client process is asked to do. Times are CLOCK_MONOTONIC nanoseconds.
struct SlowPlan {
    uint32_t loris = 0;
    uint32_t readers = 0;
    int64_t loris_interval_ns = 2'000'000'000;
    uint32_t read_bytes = 1024;  ///< a reader reads this much once a second
    uint32_t rcvbuf = 0;
    uint32_t mss = 0;
    int64_t start_ns = 0;
    int64_t ramp_ns = 0;
    int64_t expect_loris_ns = 0;   ///< 0: unknown, no early/late judgement
    int64_t expect_reader_ns = 0;  ///< 0: unknown
    int64_t slack_ns = 1'000'000'000;
    bool reconnect = true;
    bool persist = false;  ///< a cut slowloris trickles on until the server lets go
};

class SlowClient {
public:
    /// The targets and the reader's request must outlive the client. `ready_fd` gets one byte
    /// once every slow connection has been opened (or has failed to); -1 for none.
    SlowClient(const SlowPlan& plan, const Target& loris_target, const Target& reader_target,
               const std::string& reader_request, int ready_fd);
    ~SlowClient();
    SlowClient(const SlowClient&) = delete;
    SlowClient& operator=(const SlowClient&) = delete;

    /// Runs until `stop` becomes non-zero, then closes everything and returns the results.
    /// Throws std::system_error only if epoll cannot be set up.
    const SlowResults& run(const volatile std::sig_atomic_t& stop);

    /// Byte `k` of the endless head a slowloris sends: a request line and Host header, then
    /// header lines that never end in a blank line. Public for the tests.
    [[nodiscard]] static char loris_byte(const std::string& prefix, uint64_t k) noexcept;
    /// The start of that head for `target`.
    [[nodiscard]] static std::string loris_prefix(const Target& target);

private:
    enum class Kind : uint8_t { kLoris, kReader };
    // kHeld: a persisting slowloris after its cut, until the server lets go of the socket.
    enum class State : uint8_t { kWaiting, kConnecting, kOpen, kHeld };
    enum class Cut : uint8_t { kFin, kReset, kAnswered, kTable };

    struct Conn {
        ResponseParser parser;  // readers: to notice a response that completes
        int64_t established_ns = 0;
        int64_t cut_ns = 0;
        uint64_t sent = 0;  // loris: head bytes sent
        int fd = -1;
        uint32_t due_seq = 0;     // matches the one live heap entry
        uint32_t generation = 0;  // bumped per socket, to spot stale epoll events
        uint16_t local_port = 0;
        uint16_t status = 0;  // loris: the status of a response that came instead
        Kind kind = Kind::kLoris;
        State state = State::kWaiting;
        bool in_table = false;  // seen among the server's established sockets
    };
    struct Due {
        int64_t at;
        uint32_t index;
        uint32_t seq;
        bool operator>(const Due& o) const noexcept { return at > o.at; }
    };

    void schedule(uint32_t index, int64_t at) noexcept;
    void fire_due() noexcept;
    void act(Conn& c) noexcept;
    void open(Conn& c) noexcept;
    void on_event(Conn& c, uint32_t events) noexcept;
    void on_established(Conn& c) noexcept;
    void send_byte(Conn& c) noexcept;
    void read_some(Conn& c, size_t want) noexcept;
    void read_answer(Conn& c) noexcept;
    void connect_failed(Conn& c) noexcept;
    void cut(Conn& c, Cut how) noexcept;
    void drain_held(Conn& c) noexcept;
    void released(Conn& c) noexcept;
    void release(Conn& c) noexcept;
    void watch_table() noexcept;
    void watch(Conn& c, const ServerSockets::Peers& peers) noexcept;
    void check_ready() noexcept;
    void finish() noexcept;
    [[nodiscard]] int wait(epoll_event* events, int max) noexcept;
    [[nodiscard]] SlowKindResults& results_of(const Conn& c) noexcept;
    [[nodiscard]] int64_t expected_of(const Conn& c) const noexcept;
    [[nodiscard]] int64_t retry_delay(const Conn& c) const noexcept;
    [[nodiscard]] uint32_t index_of(const Conn& c) const noexcept;

    SlowPlan plan_;
    const Target& loris_target_;
    const Target& reader_target_;
    const std::string& reader_request_;
    std::string loris_prefix_;
    std::vector<Conn> conns_;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
    std::unique_ptr<ServerSockets> loris_table_;
    std::unique_ptr<ServerSockets> reader_table_;  // null when it is the same server
    std::unique_ptr<ServerSockets::Peers> loris_peers_;
    std::unique_ptr<ServerSockets::Peers> reader_peers_;
    std::unique_ptr<char[]> buffer_;
    SlowResults results_;
    int epoll_fd_ = -1;
    int ready_fd_ = -1;
    int64_t now_ = 0;
    int64_t next_watch_ = 0;
    bool stopping_ = false;
};

}  // namespace portico::bench

#pragma once
// A background load for tests that disturb a serving master (kill a worker, reload): it runs in a
// thread of its own and therefore never touches Catch2, whose assertions belong to the main
// thread. It records every outcome; the test asserts on them after stop().

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.hpp"

namespace portico::test {

/// One thread that requests `target` again and again (pausing `pace` between requests, so as not
/// to eat the machine) and checks every response: status 200 and exactly `body`.
class Load {
public:
    enum class Mode {
        kNewConnections,  ///< a new connection per request, closed by the client after the response
        kKeepAlive,       ///< one connection for as long as the server keeps it open
    };
    struct Failure {
        Clock::time_point start;  ///< when the failed request began (connect or send)
        std::string what;
        bool reset = false;    ///< ECONNRESET
        bool refused = false;  ///< ECONNREFUSED: nobody listened
    };

    Load(uint16_t port, Mode mode, std::string target, std::string body, milliseconds pace = milliseconds(2));
    ~Load();
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;

    /// Stops and joins the thread; idempotent.
    void stop();
    /// Waits until at least `n` requests have succeeded; false if not within `limit`.
    bool wait_for_successes(uint64_t n, milliseconds limit = kWait);
    [[nodiscard]] uint64_t successes() const { return ok_.load(); }

    // After stop():
    [[nodiscard]] const std::vector<Failure>& failures() const { return failures_; }
    [[nodiscard]] size_t resets() const;
    /// Keep-alive connections the server closed cleanly between two requests (not failures).
    [[nodiscard]] uint64_t server_closes() const { return server_closes_; }
    /// Connections opened.
    [[nodiscard]] uint64_t connections() const { return connections_; }
    /// One line per failure, for INFO().
    [[nodiscard]] std::string report() const;

private:
    void run();
    bool pause();  ///< false once stop() was called
    void fail(Clock::time_point start, std::string what, int err);

    uint16_t port_;
    Mode mode_;
    std::string request_, body_;
    milliseconds pace_;
    std::atomic<uint64_t> ok_{0};
    std::vector<Failure> failures_;  // the thread's until joined
    uint64_t server_closes_ = 0;     // likewise
    uint64_t connections_ = 0;       // likewise
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace portico::test

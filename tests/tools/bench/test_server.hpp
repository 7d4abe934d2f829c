#pragma once
// A tiny HTTP server for the portico-bench tests: one thread, one poll() loop, a listening
// socket on 127.0.0.1 port 0. It answers every request the same way, chosen by a Behaviour,
// including the ways a broken server misbehaves, and counts what it saw.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portico::bench::test {

enum class Behaviour {
    kOk,         ///< 200 with a small fixed body; honours "Connection: close" and HEAD
    kReset,      ///< accept, then close with SO_LINGER 0: the client sees a reset
    kStall,      ///< read requests, never answer
    kGarbage,    ///< answer with bytes that are not HTTP
    kShortBody,  ///< promise 100 body bytes, send 10, close
    kBadStatus,  ///< 404 and 500, alternately
    kChunked,    ///< 200 with a chunked body, extensions and a trailer
    kSlowStart,  ///< like kOk, but holds every answer until 300 ms after the first request
};

class TestServer {
public:
    explicit TestServer(Behaviour behaviour);
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    [[nodiscard]] uint16_t port() const noexcept { return port_; }
    [[nodiscard]] std::string url(const std::string& path = "/") const;

    [[nodiscard]] uint64_t connections() const noexcept { return connections_.load(); }
    [[nodiscard]] uint64_t requests() const noexcept { return requests_.load(); }
    [[nodiscard]] uint64_t body_bytes() const noexcept { return body_bytes_.load(); }
    /// The most complete requests found in one read: above 1 only when the client pipelines.
    [[nodiscard]] uint64_t max_batch() const noexcept { return max_batch_.load(); }

    /// The exact bytes of one kOk / kChunked response to GET, for byte-count checks.
    static std::string ok_response();
    static std::string chunked_response();

private:
    struct Conn;
    void serve();
    [[nodiscard]] int poll_timeout_ms() const;
    void release_held(std::vector<std::unique_ptr<Conn>>& conns);
    bool on_readable(Conn& conn);
    bool answer(Conn& conn, const std::string& head);

    Behaviour behaviour_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    uint16_t port_ = 0;
    std::atomic<uint64_t> connections_{0};
    std::atomic<uint64_t> requests_{0};
    std::atomic<uint64_t> body_bytes_{0};
    std::atomic<uint64_t> max_batch_{0};
    std::chrono::steady_clock::time_point release_at_{};  // kSlowStart; epoch = not yet set
    bool released_ = false;
    std::thread thread_;
};

}  // namespace portico::bench::test

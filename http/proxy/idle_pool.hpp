#pragma once
// The bookkeeping of one upstream server's idle keep-alive connections in one worker, and the
// rule for retrying a request that failed on one of them. Pure: it holds descriptors and
// deadlines, never calls close() or epoll itself; the worker's loop does that with what these
// functions return.
//
// The stale keep-alive race: an upstream may close an idle connection at the very moment the
// proxy reuses it. Three defences, of which this file holds the last two:
//   1. idle connections stay in the epoll set; a FIN that has arrived retires them (remove()),
//   2. an upstream's "Keep-Alive: timeout=N" retires them before N (idle_deadline()),
//   3. a request that fails on a reused connection before any response byte is retried once on a
//      fresh connection (decide_retry()): a pooled connection is never a request's only try.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace portico::http::proxy {

class IdlePool {
public:
    /// At most `capacity` idle connections (the upstream's `keepalive`); 0 keeps none.
    explicit IdlePool(uint32_t capacity);

    /// Parks `fd`, idle until `deadline_ms`. Returns the descriptor the caller must close now:
    /// the oldest idle one when the pool was full, `fd` itself when the capacity is 0, else -1.
    [[nodiscard]] int put(int fd, int64_t deadline_ms) noexcept;

    /// The most recently parked connection whose deadline is after `now_ms` (LIFO: the warmest,
    /// least likely to have been closed by the upstream), or -1. Expired ones stay for expire().
    [[nodiscard]] int take(int64_t now_ms) noexcept;

    /// Forgets `fd` (the upstream closed it, or it became readable while idle). False if absent.
    bool remove(int fd) noexcept;

    /// Removes one connection whose deadline is at or before `now_ms` and returns it for the
    /// caller to close, or -1 when none is left. Call until -1.
    [[nodiscard]] int pop_expired(int64_t now_ms) noexcept;

    /// The earliest idle deadline, or INT64_MAX when the pool is empty: when to call pop_expired().
    [[nodiscard]] int64_t next_deadline() const noexcept;

    [[nodiscard]] size_t size() const noexcept { return size_; }
    [[nodiscard]] size_t capacity() const noexcept { return slots_.size(); }

private:
    struct Slot {
        int fd;
        int64_t deadline_ms;
    };
    // A ring, oldest at head_, newest at head_ + size_ - 1: LIFO takes from the newest end,
    // overflow evicts from the oldest. Allocated once; put and take are O(1).
    [[nodiscard]] size_t index(size_t i) const noexcept { return (head_ + i) % slots_.size(); }
    void erase_at(size_t i) noexcept;  // i counts from the oldest

    std::vector<Slot> slots_;
    size_t head_ = 0;
    size_t size_ = 0;
};

/// When a connection just returned to the pool must leave it: `pool_timeout_ms` (the upstream's
/// keepalive_timeout) after `now_ms`, or earlier when the response said "Keep-Alive: timeout=N"
/// (`upstream_timeout_s` >= 0): a margin before N seconds, so the proxy retires it before the
/// upstream closes it. Returns now_ms when the connection must not be kept at all (N = 0).
int64_t idle_deadline(int64_t now_ms, int64_t pool_timeout_ms, int64_t upstream_timeout_s) noexcept;

/// How a try on an upstream connection ended.
enum class TryFailure : uint8_t {
    kConnect,      ///< connect() refused or timed out: nothing was sent
    kReset,        ///< reset or closed (EOF) while sending or before the response head ended
    kReadTimeout,  ///< no response in proxy_read_timeout: 504
    kBadResponse,  ///< the response broke the framing rules: 502
};

struct TryOutcome {
    TryFailure failure = TryFailure::kConnect;
    bool reused = false;            ///< the connection came from the idle pool
    bool response_started = false;  ///< some byte of the response arrived
    bool body_started = false;      ///< some byte of the request body was sent
    bool idempotent = false;        ///< GET, HEAD, PUT, DELETE, OPTIONS, TRACE
    bool fresh_retry_done = false;  ///< this request already had its retry on a fresh connection
    uint32_t tries = 1;             ///< servers tried so far, this one included
    uint32_t max_tries = 1;         ///< proxy_next_upstream_tries (0: as many as there are servers)
    uint32_t servers = 1;           ///< servers in the upstream
};

enum class RetryDecision : uint8_t {
    kGiveUp,           ///< answer the client (502, 504), or close it if response bytes went out
    kFreshSameServer,  ///< open a new connection to the same server; does not count as a try
    kNextServer,       ///< pick another server (the failure counts towards its max_fails)
};

/// What to do after a failed try. A reused connection that failed before any response byte is
/// the stale-connection race: retried once on a fresh connection to the same server when the
/// request is idempotent or none of its body was sent yet. A connect failure moves any request
/// to the next server (nothing was sent); a reset on a fresh connection moves only an
/// idempotent one. Nothing is retried once response bytes have arrived.
RetryDecision decide_retry(const TryOutcome& outcome) noexcept;

/// Whether the failure counts towards the server's max_fails: not the stale-connection race
/// (the server is fine, the connection was old) and not a bad response (it answered).
bool counts_as_failure(const TryOutcome& outcome) noexcept;

}  // namespace portico::http::proxy

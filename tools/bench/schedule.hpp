#pragma once
// When a client may send its next request, and what time its latency counts from.
//
// Closed loop (the default): a request may go as soon as a connection is free, and its
// latency starts when it is sent. Open loop (--rate): request k is due at start + k/rate
// whether or not a connection is free; its latency starts at that scheduled time, so a
// request kept waiting by a stalled server carries the stall in its latency instead of
// quietly not being sent (the coordinated-omission flaw wrk2 fixed in wrk).
//
// Requests scheduled before the measurement starts (warm-up) are free; from then on, with -n,
// only `budget` requests are handed out.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace portico::bench {

class Schedule {
public:
    static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

    /// `budget` 0 means unlimited. `rate` is requests/s for this client, 0 for closed loop.
    /// `max_outstanding` bounds how many requests can ever be given back at once.
    Schedule(uint64_t budget, double rate, int64_t start_ns, int64_t measure_ns, size_t max_outstanding);

    /// Claims the next request if one may be sent at `now`; sets `intended` to the time its
    /// latency counts from.
    bool claim(int64_t now, int64_t& intended) noexcept;

    /// Returns a claimed request that was never answered through no fault of the server (it
    /// closed the connection cleanly, as keep-alive allows), so it is sent again later.
    void give_back(int64_t intended) noexcept;

    /// Whether a request claimed with this intended time is measured (not warm-up).
    [[nodiscard]] bool counted(int64_t intended) const noexcept { return intended >= measure_ns_; }

    /// When the next request falls due (open loop); kNever once the budget is spent.
    [[nodiscard]] int64_t next_due() const noexcept;

    /// Measured requests handed out so far, net of those given back.
    [[nodiscard]] uint64_t claimed() const noexcept { return claimed_; }
    [[nodiscard]] uint64_t budget() const noexcept { return budget_; }
    [[nodiscard]] bool open_loop() const noexcept { return interval_ns_ > 0; }

private:
    [[nodiscard]] bool budget_left(int64_t intended) const noexcept;

    uint64_t budget_;
    double interval_ns_;  // 0 for closed loop
    int64_t start_ns_;
    int64_t measure_ns_;
    uint64_t next_seq_ = 0;  // open loop: the next scheduled request's number
    uint64_t claimed_ = 0;
    std::vector<int64_t> given_back_;  // open loop: intended times to resend, capacity reserved
};

}  // namespace portico::bench

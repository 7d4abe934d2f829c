// Tests for core/timer_wheel: hand-written cases first, then a randomized comparison with a
// plain reference model (a map of id -> deadline) on wheels small enough to wrap constantly.

#include "core/timer_wheel.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

using portico::core::TimerEntry;
using portico::core::TimerWheel;

namespace {

struct Timer : TimerEntry {
    explicit Timer(int i = 0) : id(i) {}
    int id;
};

int id_of(TimerEntry& e) { return static_cast<Timer&>(e).id; }

// Runs the wheel at `now` and returns the ids that fired, in firing order.
std::vector<int> run_ids(TimerWheel& w, uint64_t now) {
    std::vector<int> fired;
    w.run(now, [&](TimerEntry& e) { fired.push_back(id_of(e)); });
    return fired;
}

// Drives the wheel like the event loop does when nothing else happens: sleep until
// next_deadline(), run, repeat. Returns (fire time, id) pairs; stops once past `until`.
std::vector<std::pair<uint64_t, int>> drive(TimerWheel& w, uint64_t until, size_t* wakeups = nullptr) {
    std::vector<std::pair<uint64_t, int>> fired;
    size_t n = 0;
    for (uint64_t now = w.next_deadline(); now <= until; now = w.next_deadline()) {
        ++n;
        w.run(now, [&](TimerEntry& e) { fired.emplace_back(now, id_of(e)); });
        REQUIRE(w.validate());
    }
    if (wakeups != nullptr) *wakeups = n;
    return fired;
}

}  // namespace

TEST_CASE("timer wheel rejects a bad geometry", "[timer_wheel]") {
    CHECK_THROWS_AS(TimerWheel(0, 10, 1000), std::invalid_argument);
    CHECK_THROWS_AS(TimerWheel(0, 0, 1024), std::invalid_argument);
    CHECK_THROWS_AS(TimerWheel(0, 10, 0), std::invalid_argument);
    CHECK_NOTHROW(TimerWheel(0, 1, 1));
}

TEST_CASE("timer wheel never fires early and fires when due", "[timer_wheel]") {
    TimerWheel w(1000, 10, 1024);
    Timer t(1);
    w.link(t, 1025);
    CHECK(t.linked());
    CHECK(w.size() == 1);
    for (uint64_t now = 1000; now < 1025; ++now) {
        CHECK(run_ids(w, now).empty());
        REQUIRE(w.validate());
    }
    CHECK(run_ids(w, 1025) == std::vector<int>{1});
    CHECK(!t.linked());
    CHECK(w.empty());
    CHECK(w.validate());
}

TEST_CASE("timer wheel driven by next_deadline fires less than one tick late", "[timer_wheel]") {
    TimerWheel w(0, 10, 64);
    std::vector<Timer> timers(200);
    for (int i = 0; i < 200; ++i) {
        timers[i].id = i;
        w.link(timers[i], 1 + static_cast<uint64_t>(i) * 7);  // 1 .. 1394: wraps the 640 ms ring
    }
    const auto fired = drive(w, 10'000);
    REQUIRE(fired.size() == 200);
    for (const auto& [at, id] : fired) {
        const uint64_t deadline = timers[id].deadline();
        CHECK(at >= deadline);
        CHECK(at - deadline < 10);
        CHECK(at % 10 == 0);  // wake-ups land on tick boundaries
    }
}

TEST_CASE("timer wheel unlink prevents firing", "[timer_wheel]") {
    TimerWheel w(0, 10, 1024);
    Timer a(1), b(2);
    w.link(a, 50);
    w.link(b, 50);
    w.unlink(a);
    CHECK(!a.linked());
    w.unlink(a);  // a no-op the second time
    CHECK(w.size() == 1);
    CHECK(w.validate());
    CHECK(run_ids(w, 1000) == std::vector<int>{2});
    w.unlink(b);  // not linked any more: a no-op
    CHECK(w.empty());
    CHECK(w.next_deadline() == UINT64_MAX);
    CHECK(w.validate());
}

TEST_CASE("timer wheel lazy refresh to a later deadline delays firing", "[timer_wheel]") {
    TimerWheel w(0, 10, 1024);
    Timer t(7);
    w.link(t, 50);
    w.link(t, 200);  // lazy: only the deadline changes
    CHECK(t.deadline() == 200);
    CHECK(w.size() == 1);
    CHECK(w.validate());
    // The entry still sits in the slot of 50, so the wheel asks for an early wake-up there.
    CHECK(w.next_deadline() == 50);
    CHECK(run_ids(w, 50).empty());
    CHECK(w.validate());
    CHECK(w.next_deadline() == 200);  // moved to its own slot by that visit
    CHECK(run_ids(w, 199).empty());
    CHECK(run_ids(w, 200) == std::vector<int>{7});
    CHECK(w.validate());
}

TEST_CASE("timer wheel refresh to an earlier deadline moves the entry", "[timer_wheel]") {
    TimerWheel w(0, 10, 1024);
    Timer t(3);
    w.link(t, 5000);
    CHECK(w.next_deadline() == 5000);
    w.link(t, 30);
    CHECK(w.size() == 1);
    CHECK(w.validate());
    CHECK(w.next_deadline() == 30);
    CHECK(run_ids(w, 29).empty());
    CHECK(run_ids(w, 30) == std::vector<int>{3});
    CHECK(run_ids(w, 6000).empty());
}

TEST_CASE("timer wheel handles timeouts several turns long", "[timer_wheel]") {
    // 1024 slots x 10 ms is a 10.24 s turn; a 75 s keep-alive timeout spans seven turns.
    TimerWheel w(0, 10, 1024);
    Timer t(1);
    w.link(t, 75'000);
    size_t wakeups = 0;
    const auto fired = drive(w, 100'000, &wakeups);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0].first == 75'000);
    // One early wake-up per turn while the entry waits in its slot, then the real one.
    CHECK(wakeups == 8);

    // Polled every tick instead, it must not fire a millisecond early either.
    TimerWheel polled(0, 10, 1024);
    polled.link(t, 75'003);
    for (uint64_t now = 0; now < 75'003; now += 10) REQUIRE(run_ids(polled, now).empty());
    CHECK(run_ids(polled, 75'003) == std::vector<int>{1});
}

TEST_CASE("timer wheel wraps around a small ring", "[timer_wheel]") {
    TimerWheel w(0, 1, 8);
    std::vector<Timer> timers(40);
    for (int i = 0; i < 40; ++i) {
        timers[i].id = i;
        w.link(timers[i], 1 + static_cast<uint64_t>(i) * 3);  // up to 118 ms: ~15 turns
    }
    REQUIRE(w.validate());
    std::vector<int> order;
    for (uint64_t now = 1; now <= 130; ++now) {
        for (int id : run_ids(w, now)) {
            CHECK(timers[id].deadline() == now);  // tick 1 ms, run every ms: exact
            order.push_back(id);
        }
        REQUIRE(w.validate());
    }
    CHECK(order.size() == 40);
    CHECK(std::is_sorted(order.begin(), order.end()));
}

TEST_CASE("timer wheel time jumps by more than a turn", "[timer_wheel]") {
    TimerWheel w(0, 1, 8);
    Timer a(1), b(2), c(3), d(4);
    w.link(a, 5);
    w.link(b, 20);
    w.link(c, 50);
    w.link(d, 1000);
    auto fired = run_ids(w, 60);  // 60 ticks on an 8-slot ring
    std::sort(fired.begin(), fired.end());
    CHECK(fired == std::vector<int>{1, 2, 3});
    CHECK(w.validate());
    CHECK(w.size() == 1);
    CHECK(w.next_deadline() > 60);
    CHECK(run_ids(w, 999).empty());
    CHECK(run_ids(w, 1'000'000) == std::vector<int>{4});
    CHECK(w.validate());
}

TEST_CASE("timer wheel callback may re-link its own entry", "[timer_wheel]") {
    TimerWheel w(0, 10, 16);
    Timer t(1);
    w.link(t, 100);
    std::vector<uint64_t> times;
    for (uint64_t now = w.next_deadline(); now <= 1000; now = w.next_deadline()) {
        w.run(now, [&](TimerEntry& e) {
            times.push_back(now);
            w.link(e, now + 100);  // a periodic timer
        });
        REQUIRE(w.validate());
    }
    CHECK(times == std::vector<uint64_t>{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000});

    SECTION("re-linked already due, it fires on the next run, not the same one") {
        size_t calls = 0;
        const uint64_t now = w.next_deadline();
        CHECK(w.run(now, [&](TimerEntry& e) {
            ++calls;
            w.link(e, now);
        }) == 1);
        CHECK(calls == 1);
        CHECK(t.linked());
        CHECK(w.validate());
        CHECK(w.run(now, [&](TimerEntry&) { ++calls; }) == 1);
        CHECK(calls == 2);
        CHECK(w.empty());
    }
}

TEST_CASE("timer wheel callback may unlink or refresh other entries", "[timer_wheel]") {
    TimerWheel w(0, 10, 64);
    Timer a(1), b(2), c(3);

    SECTION("unlinking another expired entry stops it firing") {
        w.link(a, 40);
        w.link(b, 40);
        std::vector<int> fired;
        w.run(40, [&](TimerEntry& e) {
            fired.push_back(id_of(e));
            Timer& other = id_of(e) == 1 ? b : a;
            w.unlink(other);
        });
        CHECK(fired.size() == 1);
        CHECK(!a.linked());
        CHECK(!b.linked());
        CHECK(w.empty());
        CHECK(w.validate());
    }
    SECTION("unlinking a pending entry") {
        w.link(a, 40);
        w.link(c, 500);
        CHECK(w.run(40, [&](TimerEntry&) { w.unlink(c); }) == 1);
        CHECK(w.empty());
        CHECK(w.validate());
        CHECK(run_ids(w, 1000).empty());
    }
    SECTION("refreshing another expired entry to later puts it back in the wheel") {
        w.link(a, 40);
        w.link(b, 40);
        std::vector<int> fired;
        w.run(40, [&](TimerEntry& e) {
            fired.push_back(id_of(e));
            Timer& other = id_of(e) == 1 ? b : a;
            w.link(other, 300);
        });
        CHECK(fired.size() == 1);
        CHECK(w.size() == 1);
        CHECK(w.validate());
        CHECK(run_ids(w, 299).empty());
        CHECK(run_ids(w, 300).size() == 1);
    }
    SECTION("destroying the owner from its callback") {
        auto owned = std::make_unique<Timer>(9);
        w.link(*owned, 40);
        w.link(a, 40);
        CHECK(w.run(40, [&](TimerEntry& e) {
            if (id_of(e) == 9) owned.reset();
        }) == 2);
        CHECK(owned == nullptr);
        CHECK(w.validate());
    }
}

TEST_CASE("timer wheel next_deadline and timeout_ms", "[timer_wheel]") {
    TimerWheel w(0, 10, 1024);
    CHECK(w.next_deadline() == UINT64_MAX);
    CHECK(w.timeout_ms(0) == -1);
    CHECK(w.timeout_ms(0, 500) == 500);
    CHECK(w.timeout_ms(0, 0) == 0);

    Timer t(1);
    w.link(t, 25);
    CHECK(w.next_deadline() == 30);  // the end of the tick holding 25
    CHECK(w.timeout_ms(0) == 30);
    CHECK(w.timeout_ms(0, 7) == 7);
    CHECK(w.timeout_ms(22) == 8);
    CHECK(w.timeout_ms(30) == 0);
    CHECK(w.timeout_ms(35) == 0);

    // A far deadline on a short ring: next_deadline is the slot's next visit, an early wake.
    Timer far(2);
    TimerWheel ring(0, 10, 8);
    ring.link(far, 1'000'000);
    CHECK(ring.next_deadline() <= 80);
    CHECK(ring.timeout_ms(0) == static_cast<int>(ring.next_deadline()));
    CHECK(ring.timeout_ms(0, 5) == 5);
    ring.unlink(far);

    // A wait longer than an int holds is clamped to what epoll_wait takes.
    TimerWheel wide(0, 3'000'000'000u, 8);
    wide.link(far, 5'000'000'000u);
    CHECK(wide.next_deadline() == 6'000'000'000u);
    CHECK(wide.timeout_ms(0) == INT_MAX);
    CHECK(wide.timeout_ms(0, 1000) == 1000);
    wide.unlink(far);

    SECTION("a deadline already past fires on the next run; the wait is at most a tick") {
        TimerWheel p(1000, 10, 1024);
        Timer late(2);
        p.link(late, 3);
        CHECK(p.validate());
        CHECK(p.next_deadline() == 1010);
        CHECK(p.timeout_ms(1000) == 10);
        CHECK(run_ids(p, 1000) == std::vector<int>{2});
    }
    SECTION("after run(now), next_deadline is later than now: the loop cannot spin") {
        TimerWheel s(0, 10, 1024);
        Timer x(3);
        s.link(x, 27);
        CHECK(run_ids(s, 23).empty());
        CHECK(s.next_deadline() == 30);
        CHECK(s.timeout_ms(23) == 7);
    }
}

TEST_CASE("timer wheel handles extreme deadlines", "[timer_wheel]") {
    TimerWheel w(0, 10, 64);
    Timer zero(1), never(2);
    w.link(zero, 0);
    w.link(never, UINT64_MAX);
    CHECK(w.validate());
    CHECK(run_ids(w, 1) == std::vector<int>{1});
    CHECK(run_ids(w, 1'000'000).empty());
    CHECK(w.validate());
    w.unlink(never);
    CHECK(w.empty());
}

TEST_CASE("timer wheel validate detects corruption", "[timer_wheel]") {
    TimerWheel w(0, 10, 64);
    Timer a(1), b(2);
    w.link(a, 500);
    w.link(b, 500);
    REQUIRE(w.validate());
    // An entry whose slot is visited after its deadline's tick would fire late.
    a.deadline_ms_ = 20;
    CHECK(!w.validate());
    a.deadline_ms_ = 500;
    REQUIRE(w.validate());
    // A broken back link.
    TimerEntry* saved = b.prev_;
    b.prev_ = &b;
    CHECK(!w.validate());
    b.prev_ = saved;
    CHECK(w.validate());
    w.unlink(a);
    w.unlink(b);
}

// ---------------------------------------------------------------------------------------------
// Randomized comparison with a reference model.

namespace {

struct Geometry {
    uint32_t tick_ms;
    uint32_t slots;
};

class ModelCheck {
public:
    ModelCheck(Geometry g, uint32_t seed, bool on_time)
        : g_(g), turn_(uint64_t{g.tick_ms} * g.slots), rng_(seed), on_time_(on_time),
          wheel_(kStart, g.tick_ms, g.slots), timers_(kTimers) {
        for (int i = 0; i < kTimers; ++i) timers_[i].id = i;
    }

    void step() {
        const uint32_t op = pick(100);
        if (op < 30) link_new();
        else if (op < 45) refresh_later();
        else if (op < 55) refresh_earlier();
        else if (op < 65) unlink_one();
        else advance();
        check_state();
    }

    size_t fired() const { return fired_total_; }

private:
    static constexpr int kTimers = 64;
    static constexpr uint64_t kStart = 1'000'000;

    uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
    int any_id() { return static_cast<int>(pick(kTimers)); }

    // A deadline around now: sometimes past (when allowed), often within a few ticks, often a
    // turn or several away, so lazy, overdue and multi-turn entries all show up.
    uint64_t random_deadline() {
        const uint64_t r = pick(10);
        if (r == 0 && !on_time_) return now_ - std::min(now_, pick(3 * g_.tick_ms + 1));
        if (r < 5) return now_ + 1 + pick(4 * g_.tick_ms);
        if (r < 8) return now_ + 1 + pick(turn_ * 2);
        return now_ + 1 + pick(turn_ * 6);
    }

    void arm(int id, uint64_t deadline) {
        wheel_.link(timers_[id], deadline);
        if (model_.count(id) != 0 && deadline >= model_[id]) {
            model_[id] = deadline;  // lazy refresh
        } else {
            model_[id] = deadline;
            if (deadline <= now_) armed_due_.insert(id);  // fires on the next run, not this one
        }
    }

    void link_new() {
        const int id = any_id();
        if (model_.count(id) == 0) arm(id, random_deadline());
    }

    void refresh_later() {
        const int id = any_id();
        if (model_.count(id) != 0) arm(id, model_[id] + pick(3 * turn_));
    }

    void refresh_earlier() {
        const int id = any_id();
        if (model_.count(id) == 0) return;
        const uint64_t old = model_[id];
        const uint64_t lo = on_time_ ? now_ + 1 : now_ - std::min(now_, uint64_t{5});
        if (old > lo) arm(id, lo + pick(old - lo));
    }

    void unlink_one() {
        const int id = any_id();
        wheel_.unlink(timers_[id]);
        model_.erase(id);
        armed_due_.erase(id);
    }

    uint64_t random_advance() {
        const uint64_t r = pick(20);
        if (r < 10) return pick(2 * g_.tick_ms + 1);
        if (r < 16) return pick(turn_ + 1);
        if (r < 19) return pick(3 * turn_ + 1);
        return turn_ * (1 + pick(10)) + pick(turn_);  // a big jump
    }

    void advance() {
        uint64_t next = now_ + random_advance();
        if (on_time_) next = std::min(next, std::max(now_, wheel_.next_deadline()));
        now_ = next;
        armed_due_.clear();
        wheel_.run(now_, [&](TimerEntry& e) { on_fire(e); });
        // Exactness: everything due has fired, except entries armed already due by a callback.
        for (const auto& [id, deadline] : model_) {
            if (deadline <= now_) REQUIRE(armed_due_.count(id) == 1);
        }
        check_next_deadline();
    }

    void on_fire(TimerEntry& e) {
        const int id = id_of(e);
        REQUIRE(!e.linked());
        REQUIRE(model_.count(id) == 1);
        REQUIRE(model_[id] == e.deadline());
        REQUIRE(e.deadline() <= now_);  // never early
        if (on_time_) REQUIRE(now_ - e.deadline() < g_.tick_ms);
        model_.erase(id);
        ++fired_total_;
        const uint64_t r = pick(20);
        if (r < 2) {
            arm(id, on_time_ ? now_ + 1 + pick(turn_) : random_deadline());  // re-link self
        } else if (r < 4) {
            const int other = any_id();  // maybe expired and waiting, maybe pending
            wheel_.unlink(timers_[other]);
            model_.erase(other);
            armed_due_.erase(other);
        } else if (r < 5) {
            const int other = any_id();
            arm(other, on_time_ ? now_ + 1 + pick(turn_) : random_deadline());
        }
    }

    // next_deadline is a tick boundary after now, and no later than the tick that must
    // fire the earliest entry (overdue entries count at the current tick).
    void check_next_deadline() {
        const uint64_t t = g_.tick_ms;
        if (model_.empty()) {
            REQUIRE(wheel_.next_deadline() == UINT64_MAX);
            return;
        }
        uint64_t bound = UINT64_MAX;
        for (const auto& [id, deadline] : model_) {
            const uint64_t tick = deadline / t + (deadline % t != 0 ? 1 : 0);
            bound = std::min(bound, std::max(tick, now_ / t + 1) * t);
        }
        const uint64_t next = wheel_.next_deadline();
        REQUIRE(next > now_);
        REQUIRE(next % t == 0);
        REQUIRE(next <= bound);
    }

    void check_state() {
        REQUIRE(wheel_.validate());
        REQUIRE(wheel_.size() == model_.size());
        for (int i = 0; i < kTimers; ++i) {
            REQUIRE(timers_[i].linked() == (model_.count(i) == 1));
            if (timers_[i].linked()) REQUIRE(timers_[i].deadline() == model_[i]);
        }
    }

    Geometry g_;
    uint64_t turn_;
    std::mt19937_64 rng_;
    bool on_time_;
    uint64_t now_ = kStart;
    TimerWheel wheel_;
    std::vector<Timer> timers_;
    std::map<int, uint64_t> model_;  // id -> deadline of every linked entry
    std::set<int> armed_due_;        // armed during the current run with a deadline <= now
    size_t fired_total_ = 0;
};

}  // namespace

TEST_CASE("timer wheel matches a reference model under random operations", "[timer_wheel][random]") {
    const Geometry g = GENERATE(Geometry{1, 8}, Geometry{3, 8}, Geometry{1, 64}, Geometry{7, 16},
                                Geometry{10, 1024}, Geometry{5, 128});
    const uint32_t seed = GENERATE(1u, 2u, 3u, 42u);
    const bool on_time = GENERATE(false, true);
    INFO("tick " << g.tick_ms << " slots " << g.slots << " seed " << seed << " on_time " << on_time);
    ModelCheck check(g, seed, on_time);
    for (int i = 0; i < 4000; ++i) check.step();
    CHECK(check.fired() > 100);  // the run exercised firing, not just linking
}

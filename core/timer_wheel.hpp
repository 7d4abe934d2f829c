#pragma once
// A hashed timing wheel (Varghese & Lauck) with intrusive entries.
//
// Every entry lives inside the object it times (a Connection derives from TimerEntry), so
// arming, refreshing and cancelling a timer never allocates. All operations are O(1).
//
// Refreshing is lazy: link() on an entry that is already linked only stores the new, later
// deadline; the entry is moved when its slot comes round. A connection that refreshes its
// idle timer on every read therefore pays a store, not a list splice.
//
// Deadlines further away than one turn of the wheel stay in the slot of their deadline's
// tick and are skipped (left in place) each time that slot comes round before they are due.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace portico::core {

/// Intrusive timer node. Owners embed (or derive from) it; the wheel only links pointers.
/// An entry must be unlinked before its owner is destroyed.
struct TimerEntry {
    TimerEntry* prev_ = nullptr;
    TimerEntry* next_ = nullptr;
    uint64_t deadline_ms_ = 0;  ///< absolute, in the wheel's clock (milliseconds)

    /// True while the entry is in the wheel.
    [[nodiscard]] bool linked() const noexcept { return prev_ != nullptr; }
    [[nodiscard]] uint64_t deadline() const noexcept { return deadline_ms_; }
};

class TimerWheel {
public:
    /// kSlots must be a power of two; tick_ms is the resolution (a timer never fires early,
    /// and at most one tick late when run() is called on time).
    explicit TimerWheel(uint64_t now_ms, uint32_t tick_ms = 10, uint32_t slots = 1024);
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    /// Arms `e` to fire at `deadline_ms` (absolute). If `e` is already linked, this is a
    /// refresh: a later deadline is stored lazily, an earlier one moves the entry now.
    void link(TimerEntry& e, uint64_t deadline_ms) noexcept;

    /// Disarms `e`. No-op when it is not linked.
    void unlink(TimerEntry& e) noexcept;

    /// The earliest time at which run() may have work: the start of the first non-empty
    /// slot's tick (may be earlier than the true deadline because of lazy refresh), or
    /// UINT64_MAX when the wheel is empty.
    [[nodiscard]] uint64_t next_deadline() const noexcept;

    /// Milliseconds from `now_ms` to next_deadline(), clamped to [0, max_ms]; -1 if empty
    /// and max_ms < 0. Ready to pass to epoll_wait().
    [[nodiscard]] int timeout_ms(uint64_t now_ms, int max_ms = -1) const noexcept;

    /// Advances the wheel to `now_ms` and fires every entry whose deadline <= now_ms.
    /// Expired entries are first collected on a private list and unlinked, then `on_expire`
    /// is called for each, so a callback may re-link its own entry, unlink or link others,
    /// or destroy its owner. Returns how many fired.
    template <class F>
    size_t run(uint64_t now_ms, F&& on_expire) {
        TimerEntry expired;
        expired.prev_ = expired.next_ = &expired;
        collect_expired(now_ms, expired);
        size_t n = 0;
        while (expired.next_ != &expired) {
            TimerEntry* e = expired.next_;
            detach(*e);
            ++n;
            on_expire(*e);
        }
        return n;
    }

    [[nodiscard]] size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    /// Checks every internal invariant; for tests. Returns false on the first violation.
    [[nodiscard]] bool validate() const;

private:
    void collect_expired(uint64_t now_ms, TimerEntry& out) noexcept;
    void insert(TimerEntry& e) noexcept;      // into the slot of e.deadline_ms_
    static void detach(TimerEntry& e) noexcept;  // from whatever list it is on
    [[nodiscard]] uint32_t slot_of(uint64_t deadline_ms) const noexcept;

    uint32_t tick_ms_;
    uint32_t mask_;
    uint64_t current_tick_;                 // all ticks < current_tick_ have been run
    std::vector<TimerEntry> heads_;         // sentinel per slot
    std::vector<uint64_t> occupied_;        // bitmap of non-empty slots
    size_t size_ = 0;
};

}  // namespace portico::core

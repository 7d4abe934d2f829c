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
//
// Time model. Tick k covers the deadlines in ((k-1)*tick_ms, k*tick_ms], so a deadline's tick
// is ceil(deadline / tick_ms) and tick k is complete once the clock reaches k*tick_ms. The
// wheel keeps the first tick that is not complete yet (the "current" tick); run(now) visits
// the slots from there up to the tick holding `now`, the last one only partly (it fires what
// is due and leaves the rest). So run(now) fires exactly the entries whose deadline <= now,
// whenever it is called, and next_deadline() can point at tick boundaries.
//
// Every entry sits in a slot whose next visit is no later than its deadline's tick; that is
// what lets lazy and multi-turn entries wait in an earlier slot without ever firing late.

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
    /// Which kind of owner the entry is in, for the one callback that fires them (a client
    /// connection is 0). Fits the tail padding, so derived classes do not grow.
    uint8_t owner_kind_ = 0;

    /// True while the entry is in the wheel.
    [[nodiscard]] bool linked() const noexcept { return prev_ != nullptr; }
    [[nodiscard]] uint64_t deadline() const noexcept { return deadline_ms_; }
};

class TimerWheel {
public:
    /// `slots` must be a power of two and tick_ms > 0 (std::invalid_argument otherwise; this
    /// runs at start-up). tick_ms is the resolution: a timer never fires early, and less
    /// than one tick late when run() is called at next_deadline(). Allocates only here.
    explicit TimerWheel(uint64_t now_ms, uint32_t tick_ms = 10, uint32_t slots = 1024);
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    /// Arms `e` to fire at `deadline_ms` (absolute). If `e` is already linked, this is a
    /// refresh: a later deadline is stored lazily, an earlier one moves the entry now.
    void link(TimerEntry& e, uint64_t deadline_ms) noexcept;

    /// Disarms `e`. No-op when it is not linked.
    void unlink(TimerEntry& e) noexcept;

    /// The earliest time at which run() may have work: the time the first non-empty slot
    /// is next visited (k * tick_ms for that slot's next tick k), or UINT64_MAX when the wheel
    /// is empty. For an entry in its own slot this is the end of its deadline's tick, so
    /// waking then fires it less than one tick late; lazy and multi-turn entries make it
    /// earlier than any true deadline (an early wake-up that fires nothing). Entries linked
    /// with a deadline already past sit in the current slot, so this is at most one tick
    /// away for them. It is always later than the `now` of the last run(). Cost: a bitmap
    /// scan, 64 slots per word.
    [[nodiscard]] uint64_t next_deadline() const noexcept;

    /// Milliseconds from `now_ms` to next_deadline(), clamped to [0, max_ms] (to INT_MAX when
    /// max_ms < 0); max_ms if empty, so -1 (wait forever) when empty and max_ms < 0. Ready to
    /// pass to epoll_wait(): next_deadline() is a whole number of ms and always after the
    /// last run(), so waiting this long never wakes before there is work and never spins.
    [[nodiscard]] int timeout_ms(uint64_t now_ms, int max_ms = -1) const noexcept;

    /// Advances the wheel to `now_ms` and fires every entry whose deadline <= now_ms.
    /// Expired entries are first collected on a private list, then each is unlinked just
    /// before `on_expire` is called, so a callback may re-link its own entry, unlink or link
    /// others (even ones still waiting to fire: unlinked ones do not fire, ones refreshed to
    /// a later deadline go back in the wheel), or destroy its owner. An entry re-linked with
    /// a deadline <= now_ms fires on the next run(), not this one. Visits at most one turn of
    /// slots however far time jumped. Not reentrant: callbacks must not call run().
    /// Returns how many fired.
    template <class F>
    size_t run(uint64_t now_ms, F&& on_expire) {
        TimerEntry expired;
        expired.prev_ = expired.next_ = &expired;
        collect_expired(now_ms, expired);
        size_t n = 0;
        while (expired.next_ != &expired) {
            TimerEntry* e = expired.next_;
            detach(*e);
            // An earlier callback may have refreshed this entry to a later deadline (a lazy
            // store while it waited here); it must not fire now, so it goes back in the wheel.
            if (e->deadline_ms_ > now_ms) {
                insert(*e);
                continue;
            }
            --size_;  // expired entries stay counted until they leave this list
            ++n;
            on_expire(*e);
        }
        return n;
    }

    [[nodiscard]] size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    /// Checks every internal invariant; for tests, between runs (not from a callback).
    /// Returns false on the first violation. O(slots + size).
    [[nodiscard]] bool validate() const;

private:
    void collect_expired(uint64_t now_ms, TimerEntry& out) noexcept;
    void expire_slot(uint32_t slot, uint64_t now_ms, TimerEntry& out) noexcept;
    void insert(TimerEntry& e) noexcept;         // into the slot of e.deadline_ms_
    static void detach(TimerEntry& e) noexcept;  // from whatever list it is on
    static void push_back(TimerEntry& head, TimerEntry& e) noexcept;
    [[nodiscard]] uint64_t tick_of(uint64_t ms) const noexcept;
    [[nodiscard]] uint32_t slot_of(uint64_t deadline_ms) const noexcept;
    [[nodiscard]] uint32_t slot_count() const noexcept { return mask_ + 1; }
    [[nodiscard]] uint32_t distance_to_occupied(uint32_t from) const noexcept;
    [[nodiscard]] bool is_slot_head(const TimerEntry* p) const noexcept;
    [[nodiscard]] bool entry_placed_well(const TimerEntry& e, uint32_t slot) const noexcept;
    void mark(uint32_t slot) noexcept { occupied_[slot >> 6] |= uint64_t{1} << (slot & 63); }
    void unmark(uint32_t slot) noexcept { occupied_[slot >> 6] &= ~(uint64_t{1} << (slot & 63)); }
    [[nodiscard]] bool marked(uint32_t slot) const noexcept {
        return (occupied_[slot >> 6] >> (slot & 63)) & 1u;
    }

    uint32_t tick_ms_;
    uint32_t mask_;                   // slot count - 1
    uint64_t current_tick_;           // first tick not fully run: all ticks < it are done
    std::vector<TimerEntry> heads_;   // sentinel per slot; never resized, so pointers hold
    std::vector<uint64_t> occupied_;  // bitmap of non-empty slots
    size_t size_ = 0;                 // entries in slots, plus expired ones not yet fired
};

}  // namespace portico::core

#include "core/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <functional>
#include <stdexcept>

namespace portico::core {

TimerWheel::TimerWheel(uint64_t now_ms, uint32_t tick_ms, uint32_t slots)
    : tick_ms_(tick_ms), mask_(slots - 1) {
    if (tick_ms == 0) throw std::invalid_argument("timer wheel: tick_ms must be > 0");
    if (!std::has_single_bit(slots)) throw std::invalid_argument("timer wheel: slots must be a power of two");
    // Tick now/tick is complete (its last millisecond is <= now), so nothing before the next
    // one will ever be visited; a deadline already past is mapped onto the current tick.
    current_tick_ = now_ms / tick_ms_ + 1;
    heads_.resize(slots);
    for (TimerEntry& h : heads_) h.prev_ = h.next_ = &h;
    occupied_.assign((slots + 63) / 64, 0);
}

void TimerWheel::link(TimerEntry& e, uint64_t deadline_ms) noexcept {
    if (e.linked()) {
        // A later deadline keeps the entry where it is: its slot is visited no later than the
        // new deadline's tick, and the visit moves it on. An earlier one must move now.
        if (deadline_ms >= e.deadline_ms_) {
            e.deadline_ms_ = deadline_ms;
            return;
        }
        unlink(e);
    }
    e.deadline_ms_ = deadline_ms;
    insert(e);
    ++size_;
}

void TimerWheel::unlink(TimerEntry& e) noexcept {
    if (!e.linked()) return;
    TimerEntry* neighbour = e.prev_;
    detach(e);
    // The list e left is empty iff its only node is now a sentinel. That sentinel is either a
    // slot head (then clear the slot's bit) or run()'s expired list (no bit to clear).
    if (neighbour->next_ == neighbour && is_slot_head(neighbour))
        unmark(static_cast<uint32_t>(neighbour - heads_.data()));
    --size_;
}

uint64_t TimerWheel::next_deadline() const noexcept {
    if (size_ == 0) return UINT64_MAX;
    const uint32_t dist = distance_to_occupied(static_cast<uint32_t>(current_tick_ & mask_));
    // size_ > 0 with no occupied slot can only happen inside run() (entries waiting on the
    // expired list); they fire in this run, so nothing is left to wait for.
    if (dist == slot_count()) return UINT64_MAX;
    return (current_tick_ + dist) * tick_ms_;
}

int TimerWheel::timeout_ms(uint64_t now_ms, int max_ms) const noexcept {
    const uint64_t next = next_deadline();
    if (next == UINT64_MAX) return max_ms < 0 ? -1 : max_ms;
    // All values are whole milliseconds, so the difference needs no rounding: waiting this
    // long reaches `next` exactly and never wakes a millisecond short of it.
    const uint64_t wait = next > now_ms ? next - now_ms : 0;
    const uint64_t cap = max_ms < 0 ? static_cast<uint64_t>(INT_MAX) : static_cast<uint64_t>(max_ms);
    return static_cast<int>(std::min(wait, cap));
}

void TimerWheel::collect_expired(uint64_t now_ms, TimerEntry& out) noexcept {
    const uint64_t last_tick = tick_of(now_ms);  // the tick holding now: visited partly
    // Always visit the current slot: it holds entries linked with a deadline already past.
    // Past one full turn every slot has been seen once, and every entry left behind is due
    // after now, so visiting more would find nothing new: the loop is bounded by the ring.
    uint64_t span = last_tick >= current_tick_ ? last_tick - current_tick_ + 1 : 1;
    span = std::min<uint64_t>(span, slot_count());
    uint64_t done = 0;
    while (done < span && size_ != 0) {
        const uint32_t from = static_cast<uint32_t>((current_tick_ + done) & mask_);
        const uint32_t dist = distance_to_occupied(from);
        if (dist >= span - done) break;
        expire_slot((from + dist) & mask_, now_ms, out);
        done += dist + 1;
    }
    current_tick_ = std::max(current_tick_, now_ms / tick_ms_ + 1);
}

// Moves the due entries of one slot to `out` and sends the others to the slot of their own
// deadline. Those that belong here again (due a whole number of turns later) stay in place,
// and the others go to a different slot, so this walk sees every entry once and ends.
void TimerWheel::expire_slot(uint32_t slot, uint64_t now_ms, TimerEntry& out) noexcept {
    TimerEntry& head = heads_[slot];
    TimerEntry* e = head.next_;
    while (e != &head) {
        TimerEntry* next = e->next_;
        if (e->deadline_ms_ <= now_ms) {
            detach(*e);
            push_back(out, *e);
        } else if (slot_of(e->deadline_ms_) != slot) {
            detach(*e);
            insert(*e);
        }
        e = next;
    }
    if (head.next_ == &head) unmark(slot);
}

void TimerWheel::insert(TimerEntry& e) noexcept {
    const uint32_t slot = slot_of(e.deadline_ms_);
    push_back(heads_[slot], e);
    mark(slot);
}

void TimerWheel::detach(TimerEntry& e) noexcept {
    e.prev_->next_ = e.next_;
    e.next_->prev_ = e.prev_;
    e.prev_ = e.next_ = nullptr;
}

void TimerWheel::push_back(TimerEntry& head, TimerEntry& e) noexcept {
    e.prev_ = head.prev_;
    e.next_ = &head;
    head.prev_->next_ = &e;
    head.prev_ = &e;
}

// ceil(ms / tick), written so that it cannot overflow for deadlines near UINT64_MAX.
uint64_t TimerWheel::tick_of(uint64_t ms) const noexcept {
    return ms / tick_ms_ + (ms % tick_ms_ != 0 ? 1 : 0);
}

// A deadline whose tick is already complete goes to the current slot, so it fires on the
// next run() instead of waiting a whole turn for its own slot to come round.
uint32_t TimerWheel::slot_of(uint64_t deadline_ms) const noexcept {
    return static_cast<uint32_t>(std::max(tick_of(deadline_ms), current_tick_) & mask_);
}

// Forward distance (with wrap-around) from slot `from` to the first occupied slot, `from`
// included; slot_count() when none is. Reads 64 slots per bitmap word; the last pass looks
// again at the first word for the slots before `from`.
uint32_t TimerWheel::distance_to_occupied(uint32_t from) const noexcept {
    const size_t words = occupied_.size();
    size_t w = from >> 6;
    uint64_t bits = occupied_[w] & (~uint64_t{0} << (from & 63));
    for (size_t i = 0; i <= words; ++i) {
        if (bits != 0) {
            const auto slot = static_cast<uint32_t>((w << 6) + static_cast<size_t>(std::countr_zero(bits)));
            return (slot - from) & mask_;
        }
        w = w + 1 == words ? 0 : w + 1;
        bits = occupied_[w];
    }
    return slot_count();
}

bool TimerWheel::is_slot_head(const TimerEntry* p) const noexcept {
    // std::less gives a total order even for pointers into different objects.
    const std::less<const TimerEntry*> before;
    return !before(p, heads_.data()) && before(p, heads_.data() + heads_.size());
}

// An entry may sit in any slot whose next visit comes no later than its deadline's tick
// (overdue entries count as due at the current tick): then the visit fires or moves it in
// time. Its own slot is the case where the two are equal.
bool TimerWheel::entry_placed_well(const TimerEntry& e, uint32_t slot) const noexcept {
    const uint64_t next_visit = current_tick_ + ((slot - current_tick_) & mask_);
    return std::max(tick_of(e.deadline_ms_), current_tick_) >= next_visit;
}

bool TimerWheel::validate() const {
    size_t count = 0;
    for (uint32_t slot = 0; slot < slot_count(); ++slot) {
        const TimerEntry& head = heads_[slot];
        if (head.next_ == nullptr || head.prev_ == nullptr) return false;
        if (marked(slot) != (head.next_ != &head)) return false;
        const TimerEntry* p = &head;
        do {
            const TimerEntry* n = p->next_;
            if (n == nullptr || n->prev_ != p) return false;
            p = n;
            if (p == &head) break;
            // Counting bounds the walk even if a corrupted list loops without its head.
            if (++count > size_ || is_slot_head(p) || !entry_placed_well(*p, slot)) return false;
        } while (true);
    }
    if (count != size_) return false;
    // Bits past the last slot (wheels of fewer than 64 slots) must stay clear.
    const uint32_t tail_bits = slot_count() & 63;
    return tail_bits == 0 || (occupied_.back() >> tail_bits) == 0;
}

}  // namespace portico::core

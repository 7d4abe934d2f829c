#pragma once
// A shared-memory page through which client processes show the parent how far they are, so
// the parent can draw its live progress line without asking them anything. Each client owns
// one cache-line slot and only ever stores to it; the parent only loads. Final results do not
// go this way: they travel through each client's pipe once it is done.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace portico::bench {

struct alignas(64) ProgressSlot {
    std::atomic<uint64_t> responses{0};
    std::atomic<uint64_t> failed{0};
    std::atomic<uint64_t> held{0};
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "slots are shared between processes");

class ProgressBoard {
public:
    /// Maps `slots` zeroed slots, shared with the processes forked afterwards.
    explicit ProgressBoard(size_t slots);
    ~ProgressBoard();
    ProgressBoard(const ProgressBoard&) = delete;
    ProgressBoard& operator=(const ProgressBoard&) = delete;

    [[nodiscard]] ProgressSlot& slot(size_t i) noexcept { return slots_[i]; }

    /// Sums over all slots (relaxed loads: a progress line may lag by one update).
    [[nodiscard]] uint64_t responses() const noexcept;
    [[nodiscard]] uint64_t failed() const noexcept;
    [[nodiscard]] uint64_t held() const noexcept;

private:
    ProgressSlot* slots_ = nullptr;
    size_t count_ = 0;
    size_t bytes_ = 0;
};

}  // namespace portico::bench

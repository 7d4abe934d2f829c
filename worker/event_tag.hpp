#pragma once
// What a worker puts in epoll_event.data (a u64), and how it reads it back.
//
//    63 62 61                       32 31                          0
//   +-----+---------------------------+-----------------------------+
//   |kind | generation (connections)  | fd slot / listener index    |
//   +-----+---------------------------+-----------------------------+
//
// A connection's event names the slot of the connection table (its fd) and the generation of
// that slot when the connection was registered. One epoll_wait() batch may hold an event for a
// connection that an earlier event of the same batch closed (shedding an idle connection to make
// room for a new one), and accept4() hands the freed fd number straight to the next connection:
// the generation tells the stale event from the new connection's own, so it is dropped.

#include <cstdint>

namespace portico::worker {

enum class EventKind : uint8_t { kConnection = 0, kListener = 1, kSignal = 2, kControl = 3 };

struct EventTag {
    static constexpr uint64_t kGenerationMask = (1ull << 30) - 1;
    static constexpr uint64_t kSignal = 2ull << 62;
    static constexpr uint64_t kControl = 3ull << 62;

    /// The tag of a connection in table slot `slot` registered in that slot's `generation`
    /// (only its low 30 bits are kept: a stale event never outlives a batch, let alone 2^30 reuses).
    static constexpr uint64_t connection(uint32_t slot, uint32_t generation) noexcept {
        return (static_cast<uint64_t>(generation) & kGenerationMask) << 32 | slot;
    }
    /// The tag of listener `index` (the worker's listener table).
    static constexpr uint64_t listener(uint32_t index) noexcept { return 1ull << 62 | index; }

    static constexpr EventKind kind(uint64_t tag) noexcept { return static_cast<EventKind>(tag >> 62); }
    /// The connection table slot, or the listener index.
    static constexpr uint32_t index(uint64_t tag) noexcept { return static_cast<uint32_t>(tag); }
    static constexpr uint32_t generation(uint64_t tag) noexcept {
        return static_cast<uint32_t>((tag >> 32) & kGenerationMask);
    }
    /// The next generation of a slot, kept within the bits a tag carries.
    static constexpr uint32_t next_generation(uint32_t generation) noexcept {
        return static_cast<uint32_t>((generation + 1ull) & kGenerationMask);
    }
};

}  // namespace portico::worker

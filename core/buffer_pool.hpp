#pragma once
// Per-worker pool of fixed-size buffers in a few size classes. Single-threaded: no locks.
//
// Released buffers go on the free list of their class (the list is threaded through the free
// memory itself). The bytes held on free lists are capped; past the cap, released memory goes
// straight back to the system.
//
// Lifetime: every Buffer must be destroyed or released before the pool that made it; a Buffer
// outliving its pool is a programming error (its destructor would write to a dead pool). A
// debug build asserts in ~BufferPool that nothing is outstanding.

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/buffer.hpp"

namespace portico::core {

struct BufferPoolStats {
    size_t outstanding = 0;        ///< buffers handed out and not yet returned
    size_t outstanding_bytes = 0;
    size_t cached = 0;             ///< buffers on the free lists
    size_t cached_bytes = 0;
    size_t system_allocs = 0;      ///< allocations that went to the system
};

class BufferPool {
public:
    static constexpr std::array<uint32_t, 3> kClasses{4096, 16384, 65536};

    /// `max_cached_bytes`: cap on the memory kept on free lists.
    explicit BufferPool(size_t max_cached_bytes = 8u << 20);
    ~BufferPool();
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    /// A buffer of the smallest class >= min_size, empty. Returns an unallocated Buffer if
    /// min_size exceeds the largest class or memory is exhausted.
    [[nodiscard]] Buffer acquire(size_t min_size = kClasses[0]) noexcept;

    /// Replaces `b` with a buffer of the smallest class >= min_size holding the same readable
    /// bytes (compacted to the front). Returns false and leaves `b` unchanged if impossible.
    /// If b's capacity already covers min_size, b is only compacted; an unallocated b is
    /// acquired. The new memory comes from this pool; the old goes back where it came from.
    bool grow(Buffer& b, size_t min_size) noexcept;

    /// Returns b's memory to the pool it came from (Buffer's destructor does this too). b
    /// becomes empty and unallocated. No-op on an unallocated b.
    void release(Buffer& b) noexcept;

    [[nodiscard]] const BufferPoolStats& stats() const noexcept { return stats_; }

private:
    struct FreeNode { FreeNode* next; };
    static int class_of(size_t size) noexcept;  // -1 if too large
    std::array<FreeNode*, kClasses.size()> free_{};
    size_t max_cached_bytes_;
    BufferPoolStats stats_;
};

}  // namespace portico::core

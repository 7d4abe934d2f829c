#pragma once
// Per-worker counters in one MAP_SHARED anonymous region, created by the master before it
// forks. Each worker writes only its own record (relaxed atomics, published once per loop
// iteration); the master reads heartbeats for its watchdog, and any worker reads every record
// to answer the status endpoint. No locks between processes.

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace portico::core {

struct alignas(64) WorkerRecord {
    std::atomic<int32_t> pid{0};          ///< 0: the record is free
    std::atomic<uint32_t> generation{0};
    std::atomic<uint32_t> slot{0};
    std::atomic<uint64_t> started_ms{0};  ///< monotonic
    std::atomic<uint64_t> heartbeat_ms{0};  ///< monotonic time of the last loop iteration
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> active{0};      ///< open connections
    std::atomic<uint64_t> idle{0};        ///< of which idle keep-alive
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> bytes_out{0};
    std::atomic<uint64_t> status_4xx{0};
    std::atomic<uint64_t> status_5xx{0};

    /// Zeroes every counter; the master calls it before handing the record to a new worker.
    void reset(pid_t owner, uint32_t gen, uint32_t slot_index, uint64_t now_ms) noexcept;
};

class SharedStats {
public:
    /// Maps `records` records. Throws std::runtime_error if mmap fails.
    explicit SharedStats(size_t records);
    ~SharedStats();
    SharedStats(const SharedStats&) = delete;
    SharedStats& operator=(const SharedStats&) = delete;

    [[nodiscard]] size_t size() const noexcept { return size_; }
    [[nodiscard]] WorkerRecord& at(size_t i) noexcept { return records_[i]; }
    [[nodiscard]] const WorkerRecord& at(size_t i) const noexcept { return records_[i]; }
    /// The index of a free record (pid == 0), or -1.
    [[nodiscard]] int find_free() const noexcept;

private:
    WorkerRecord* records_;
    size_t size_;
};

}  // namespace portico::core

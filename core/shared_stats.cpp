#include "core/shared_stats.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace portico::core {

static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared counters must be lock-free across processes");

void WorkerRecord::reset(pid_t owner, uint32_t gen, uint32_t slot_index, uint64_t now_ms) noexcept {
    for (auto* c : {&accepted, &active, &idle, &requests, &bytes_out, &status_4xx, &status_5xx})
        c->store(0, std::memory_order_relaxed);
    generation.store(gen, std::memory_order_relaxed);
    slot.store(slot_index, std::memory_order_relaxed);
    started_ms.store(now_ms, std::memory_order_relaxed);
    heartbeat_ms.store(now_ms, std::memory_order_relaxed);
    pid.store(owner, std::memory_order_release);
}

SharedStats::SharedStats(size_t records) : size_(records) {
    void* p = ::mmap(nullptr, records * sizeof(WorkerRecord), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap() failed: ") + std::strerror(errno));
    records_ = static_cast<WorkerRecord*>(p);
    for (size_t i = 0; i < records; ++i) new (&records_[i]) WorkerRecord();
}

SharedStats::~SharedStats() { ::munmap(records_, size_ * sizeof(WorkerRecord)); }

int SharedStats::find_free() const noexcept {
    for (size_t i = 0; i < size_; ++i)
        if (records_[i].pid.load(std::memory_order_acquire) == 0) return static_cast<int>(i);
    return -1;
}

}  // namespace portico::core

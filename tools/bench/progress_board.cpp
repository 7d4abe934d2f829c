#include "progress_board.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <new>
#include <system_error>

namespace portico::bench {

ProgressBoard::ProgressBoard(size_t slots) : count_(slots), bytes_(slots * sizeof(ProgressSlot)) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        throw std::system_error(errno, std::generic_category(), "mmap() failed");
    }
    slots_ = static_cast<ProgressSlot*>(p);
    for (size_t i = 0; i < count_; ++i) {
        new (&slots_[i]) ProgressSlot();
    }
}

ProgressBoard::~ProgressBoard() { munmap(slots_, bytes_); }

uint64_t ProgressBoard::responses() const noexcept {
    uint64_t sum = 0;
    for (size_t i = 0; i < count_; ++i) sum += slots_[i].responses.load(std::memory_order_relaxed);
    return sum;
}

uint64_t ProgressBoard::failed() const noexcept {
    uint64_t sum = 0;
    for (size_t i = 0; i < count_; ++i) sum += slots_[i].failed.load(std::memory_order_relaxed);
    return sum;
}

uint64_t ProgressBoard::held() const noexcept {
    uint64_t sum = 0;
    for (size_t i = 0; i < count_; ++i) sum += slots_[i].held.load(std::memory_order_relaxed);
    return sum;
}

}  // namespace portico::bench

#include "core/buffer_pool.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace portico::core {

Buffer::~Buffer() {
    if (pool_ != nullptr) pool_->release(*this);
}

BufferPool::BufferPool(size_t max_cached_bytes) : max_cached_bytes_(max_cached_bytes) {}

BufferPool::~BufferPool() {
    assert(stats_.outstanding == 0 && "a Buffer outlived its BufferPool");
    for (FreeNode*& head : free_) {
        while (head != nullptr) {
            FreeNode* next = head->next;
            std::free(head);
            head = next;
        }
    }
}

int BufferPool::class_of(size_t size) noexcept {
    for (size_t c = 0; c < kClasses.size(); ++c)
        if (size <= kClasses[c]) return static_cast<int>(c);
    return -1;
}

Buffer BufferPool::acquire(size_t min_size) noexcept {
    const int c = class_of(min_size);
    if (c < 0) return {};
    const uint32_t size = kClasses[static_cast<size_t>(c)];
    void* mem = nullptr;
    if (FreeNode*& head = free_[static_cast<size_t>(c)]; head != nullptr) {
        mem = head;
        head = head->next;
        --stats_.cached;
        stats_.cached_bytes -= size;
    } else {
        // malloc's alignment suits FreeNode and any byte access; page alignment would buy
        // nothing here and costs padding in the allocator.
        mem = std::malloc(size);
        if (mem == nullptr) return {};
        ++stats_.system_allocs;
    }
    ++stats_.outstanding;
    stats_.outstanding_bytes += size;
    Buffer b;
    b.data_ = static_cast<char*>(mem);
    b.capacity_ = size;
    b.pool_ = this;
    return b;
}

bool BufferPool::grow(Buffer& b, size_t min_size) noexcept {
    const size_t need = std::max(min_size, b.readable());
    if (b.allocated() && need <= b.capacity()) {
        b.compact();
        return true;
    }
    // Take the new memory before giving back the old, so a failure leaves b untouched.
    Buffer bigger = acquire(need);
    if (!bigger.allocated()) return false;
    if (b.allocated()) std::memcpy(bigger.data_, b.read_ptr(), b.readable());
    bigger.write_ = static_cast<uint32_t>(b.readable());
    b.swap(bigger);
    release(bigger);
    return true;
}

void BufferPool::release(Buffer& b) noexcept {
    // Memory goes home even when handed to the wrong pool, so the stats of both stay exact.
    if (b.pool_ != nullptr && b.pool_ != this) {
        b.pool_->release(b);
        return;
    }
    if (b.allocated()) {
        const uint32_t size = b.capacity_;
        assert(class_of(size) >= 0 && kClasses[static_cast<size_t>(class_of(size))] == size);
        --stats_.outstanding;
        stats_.outstanding_bytes -= size;
        if (stats_.cached_bytes + size <= max_cached_bytes_) {
            FreeNode*& head = free_[static_cast<size_t>(class_of(size))];
            head = new (b.data_) FreeNode{head};
            ++stats_.cached;
            stats_.cached_bytes += size;
        } else {
            std::free(b.data_);
        }
    }
    b.data_ = nullptr;
    b.capacity_ = b.read_ = b.write_ = 0;
    b.pool_ = nullptr;
}

}  // namespace portico::core

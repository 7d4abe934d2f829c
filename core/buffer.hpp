#pragma once
// A byte buffer with a read and a write index. Memory comes from a BufferPool.
//
//   +-----------+----------------------+------------------+
//   | consumed  |  readable            |  writable        |
//   +-----------+----------------------+------------------+
//   0        read_          <=       write_     <=      capacity_
//
// The buffer never grows by itself: a connection that needs more asks its pool for a larger
// class and moves the readable bytes over (see BufferPool::grow).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

namespace portico::core {

class BufferPool;

class Buffer {
public:
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    /// Takes o's memory; o is left unallocated.
    Buffer(Buffer&& o) noexcept { swap(o); }
    /// Swaps with o: this takes o's memory and o takes this buffer's old memory, which goes
    /// back to its pool when o is destroyed or released (call BufferPool::release(o) to
    /// return it at once). Self-move is a no-op.
    Buffer& operator=(Buffer&& o) noexcept {
        swap(o);
        return *this;
    }
    /// Returns the memory to the pool it came from, if any. That pool must still exist.
    ~Buffer();

    [[nodiscard]] bool allocated() const noexcept { return data_ != nullptr; }
    [[nodiscard]] size_t capacity() const noexcept { return capacity_; }

    [[nodiscard]] const char* read_ptr() const noexcept { return data_ + read_; }
    [[nodiscard]] char* read_ptr() noexcept { return data_ + read_; }
    [[nodiscard]] size_t readable() const noexcept { return write_ - read_; }
    [[nodiscard]] std::string_view view() const noexcept { return {data_ + read_, readable()}; }

    [[nodiscard]] char* write_ptr() noexcept { return data_ + write_; }
    [[nodiscard]] size_t writable() const noexcept { return capacity_ - write_; }

    /// Marks n bytes after write_ptr() as written. Precondition: n <= writable().
    void commit(size_t n) noexcept { write_ += static_cast<uint32_t>(n); }
    /// Drops n readable bytes. Precondition: n <= readable(). Empties to index 0.
    void consume(size_t n) noexcept {
        read_ += static_cast<uint32_t>(n);
        if (read_ == write_) read_ = write_ = 0;
    }
    void clear() noexcept { read_ = write_ = 0; }
    /// Moves the readable bytes to the front so that writable() is as large as it can be.
    void compact() noexcept {
        if (read_ == 0) return;
        std::memmove(data_, data_ + read_, readable());
        write_ -= read_;
        read_ = 0;
    }
    /// Appends s if it fits; returns false (and writes nothing) otherwise.
    bool append(std::string_view s) noexcept {
        if (s.size() > writable()) return false;
        if (s.empty()) return true;  // memcpy from an empty view's null pointer is UB
        std::memcpy(write_ptr(), s.data(), s.size());
        commit(s.size());
        return true;
    }

    void swap(Buffer& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(capacity_, o.capacity_);
        std::swap(read_, o.read_);
        std::swap(write_, o.write_);
        std::swap(pool_, o.pool_);
    }

private:
    friend class BufferPool;
    char* data_ = nullptr;
    uint32_t capacity_ = 0;
    uint32_t read_ = 0;
    uint32_t write_ = 0;
    BufferPool* pool_ = nullptr;
};

}  // namespace portico::core

#pragma once
// What every fuzz target shares: a broken invariant aborts with a message (libFuzzer then saves
// the input), and input bytes copied into heap blocks of exactly their size, so that
// AddressSanitizer catches a read one byte too far.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace portico::fuzz {

[[noreturn]] inline void broken(const char* target, const char* what) {
    std::fprintf(stderr, "%s: broken invariant: %s\n", target, what);
    std::abort();
}

/// A copy of bytes in a heap block of exactly their size.
class Exact {
public:
    explicit Exact(std::string_view bytes) : data_(new char[bytes.size()]), size_(bytes.size()) {
        if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
    }
    [[nodiscard]] const char* get() const { return data_.get(); }
    [[nodiscard]] std::string_view view() const { return {data_.get(), size_}; }

private:
    std::unique_ptr<char[]> data_;
    size_t size_;
};

}  // namespace portico::fuzz

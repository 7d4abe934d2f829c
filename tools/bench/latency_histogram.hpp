#pragma once
// A log-linear latency histogram in the spirit of HdrHistogram: exact below 256 µs, then 128
// buckets per power of two, so any recorded value is known to within 1/128 (< 1%). It is a
// plain fixed array, so recording never allocates and a whole histogram can travel through a
// pipe as raw bytes.

#include <array>
#include <cstddef>
#include <cstdint>

namespace portico::bench {

class LatencyHistogram {
public:
    /// Values at or above this (60 s) land in the last bucket; max() stays exact.
    static constexpr uint64_t kMaxMicros = 60'000'000;

    /// Adds one sample. O(1), no allocation, no branch on the hot path beyond the clamp.
    void record(uint64_t micros) noexcept;

    /// Adds every sample of `other` into this one.
    void merge(const LatencyHistogram& other) noexcept;

    /// The value (µs) below or at which `fraction` (0..1) of the samples lie, reported as the
    /// middle of its bucket and never above max(); 0 when empty.
    [[nodiscard]] double percentile(double fraction) const noexcept;

    [[nodiscard]] uint64_t count() const noexcept { return count_; }
    [[nodiscard]] uint64_t max() const noexcept { return max_; }
    [[nodiscard]] double mean() const noexcept;

    /// Bucket of a value and the smallest value of a bucket; public for the tests.
    [[nodiscard]] static size_t bucket_of(uint64_t micros) noexcept;
    [[nodiscard]] static uint64_t bucket_floor(size_t bucket) noexcept;
    [[nodiscard]] static uint64_t bucket_width(size_t bucket) noexcept;

private:
    static constexpr unsigned kSubBits = 7;                   // 128 buckets per octave
    static constexpr uint64_t kLinearLimit = 2u << kSubBits;  // 256: exact below this
    static constexpr size_t kOctaves = 26 - (kSubBits + 1);   // octaves 2^8 .. 2^25 µs; 2^26 > 60 s
    static constexpr size_t kBuckets = kLinearLimit + kOctaves * (size_t{1} << kSubBits);

    std::array<uint64_t, kBuckets> buckets_{};
    uint64_t count_ = 0;
    uint64_t max_ = 0;
    uint64_t sum_ = 0;
};

}  // namespace portico::bench

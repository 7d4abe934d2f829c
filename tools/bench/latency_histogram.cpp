#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>

namespace portico::bench {

size_t LatencyHistogram::bucket_of(uint64_t micros) noexcept {
    const uint64_t v = std::min(micros, kMaxMicros);
    if (v < kLinearLimit) {
        return static_cast<size_t>(v);
    }
    // Keep the top kSubBits + 1 bits: the leading 1 picks the octave, the rest the sub-bucket.
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - kSubBits;
    const uint64_t sub = (v >> shift) - (uint64_t{1} << kSubBits);
    return kLinearLimit + (msb - (kSubBits + 1)) * (size_t{1} << kSubBits) + sub;
}

uint64_t LatencyHistogram::bucket_floor(size_t bucket) noexcept {
    if (bucket < kLinearLimit) {
        return bucket;
    }
    const size_t octave = (bucket - kLinearLimit) >> kSubBits;
    const uint64_t sub = (bucket - kLinearLimit) & ((size_t{1} << kSubBits) - 1);
    const unsigned shift = static_cast<unsigned>(octave) + 1;
    return ((uint64_t{1} << kSubBits) + sub) << shift;
}

uint64_t LatencyHistogram::bucket_width(size_t bucket) noexcept {
    if (bucket < kLinearLimit) {
        return 1;
    }
    return uint64_t{1} << (((bucket - kLinearLimit) >> kSubBits) + 1);
}

void LatencyHistogram::record(uint64_t micros) noexcept {
    ++buckets_[bucket_of(micros)];
    ++count_;
    sum_ += micros;
    max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
    for (size_t i = 0; i < kBuckets; ++i) {
        buckets_[i] += other.buckets_[i];
    }
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
}

double LatencyHistogram::percentile(double fraction) const noexcept {
    if (count_ == 0) {
        return 0.0;
    }
    const double clamped = std::clamp(fraction, 0.0, 1.0);
    // The rank of the sample we want, 1-based; at least the first sample.
    const auto rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(clamped * static_cast<double>(count_) + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank) {
            const double middle =
                static_cast<double>(bucket_floor(i)) + static_cast<double>(bucket_width(i) - 1) / 2.0;
            return std::min(middle, static_cast<double>(max_));
        }
    }
    return static_cast<double>(max_);
}

double LatencyHistogram::mean() const noexcept {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

}  // namespace portico::bench

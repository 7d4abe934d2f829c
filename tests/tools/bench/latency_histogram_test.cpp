#include "latency_histogram.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using portico::bench::LatencyHistogram;

TEST_CASE("histogram buckets: contiguous, and each value within 1% of its bucket", "[bench][histogram]") {
    uint64_t expected_floor = 0;
    for (size_t b = 0; b < LatencyHistogram::bucket_of(LatencyHistogram::kMaxMicros); ++b) {
        INFO("bucket " << b);
        REQUIRE(LatencyHistogram::bucket_floor(b) == expected_floor);
        expected_floor += LatencyHistogram::bucket_width(b);
    }
    for (uint64_t v = 1; v < LatencyHistogram::kMaxMicros; v = v * 3 / 2 + 1) {
        const size_t b = LatencyHistogram::bucket_of(v);
        INFO("value " << v);
        CHECK(LatencyHistogram::bucket_floor(b) <= v);
        CHECK(v < LatencyHistogram::bucket_floor(b) + LatencyHistogram::bucket_width(b));
        CHECK(static_cast<double>(LatencyHistogram::bucket_width(b)) <=
              std::max(1.0, static_cast<double>(v) / 128.0));
    }
}

TEST_CASE("histogram percentiles of a uniform spread are within 1%", "[bench][histogram]") {
    LatencyHistogram h;
    for (uint64_t v = 1; v <= 100'000; ++v) h.record(v);
    CHECK(h.count() == 100'000);
    CHECK(h.max() == 100'000);
    CHECK(h.percentile(0.5) == Approx(50'000).epsilon(0.01));
    CHECK(h.percentile(0.9) == Approx(90'000).epsilon(0.01));
    CHECK(h.percentile(0.99) == Approx(99'000).epsilon(0.01));
    CHECK(h.percentile(0.999) == Approx(99'900).epsilon(0.01));
    CHECK(h.percentile(1.0) <= 100'000);
    CHECK(h.mean() == Approx(50'000.5));
}

TEST_CASE("histogram: small values are exact, huge ones clamp, max stays exact", "[bench][histogram]") {
    LatencyHistogram h;
    CHECK(h.percentile(0.5) == 0);
    h.record(7);
    CHECK(h.percentile(0.5) == 7);
    h.record(3'600'000'000);  // an hour
    CHECK(h.max() == 3'600'000'000);
    CHECK(h.percentile(1.0) <= 3'600'000'000.0);
    CHECK(h.percentile(1.0) >= 0.99 * LatencyHistogram::kMaxMicros);
}

TEST_CASE("histogram merge adds counts and keeps the larger max", "[bench][histogram]") {
    LatencyHistogram a;
    LatencyHistogram b;
    for (int i = 0; i < 90; ++i) a.record(100);
    for (int i = 0; i < 10; ++i) b.record(10'000);
    a.merge(b);
    CHECK(a.count() == 100);
    CHECK(a.max() == 10'000);
    CHECK(a.percentile(0.5) == 100);
    CHECK(a.percentile(0.95) == Approx(10'000).epsilon(0.01));
}

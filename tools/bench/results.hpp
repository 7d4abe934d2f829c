#pragma once
// What one client process measured. The struct is trivially copyable on purpose: a child
// writes it whole into its pipe and the parent reads it back as raw bytes, the way webbench
// returned its counts, only with a histogram inside.

#include "latency_histogram.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace portico::bench {

/// Transport-level ways a request can fail. Bad statuses are counted apart, by code.
enum class ErrorKind : uint8_t {
    kConnect,    ///< connect() refused or failed
    kReset,      ///< ECONNRESET / EPIPE
    kTimeout,    ///< no complete response within --timeout
    kShort,      ///< EOF before the response was complete
    kMalformed,  ///< the response could not be parsed
};
inline constexpr size_t kErrorKinds = 5;

/// The name used in reports and in the JSON "errors" object.
[[nodiscard]] std::string_view error_name(ErrorKind kind) noexcept;

struct Results {
    static constexpr int kFirstStatus = 100;
    static constexpr int kLastStatus = 599;

    uint64_t responses = 0;  ///< complete, parseable responses, whatever their status
    uint64_t bytes = 0;      ///< bytes of those responses, head and body
    uint64_t held = 0;       ///< --hold: connections left open after their one request
    int64_t start_ns = 0;    ///< CLOCK_MONOTONIC when counting began
    int64_t end_ns = 0;      ///< CLOCK_MONOTONIC when counting ended
    std::array<uint64_t, kErrorKinds> errors{};
    std::array<uint64_t, kLastStatus - kFirstStatus + 1> statuses{};  ///< every status seen
    LatencyHistogram latency;

    void count_error(ErrorKind kind) noexcept { ++errors[static_cast<size_t>(kind)]; }
    void count_status(int status) noexcept;

    /// Responses whose status is neither 2xx nor 3xx.
    [[nodiscard]] uint64_t bad_statuses() const noexcept;
    /// Transport errors plus bad statuses: every request that did not succeed.
    [[nodiscard]] uint64_t failed() const noexcept;

    /// Sums counts, merges histograms, and widens [start_ns, end_ns] to cover both.
    void merge(const Results& other) noexcept;
};

static_assert(std::is_trivially_copyable_v<Results>, "Results travels through a pipe as bytes");

/// Whether a status counts as an error (anything outside 200..399).
[[nodiscard]] constexpr bool is_bad_status(int status) noexcept { return status < 200 || status > 399; }

}  // namespace portico::bench

#include "results.hpp"

#include <algorithm>

namespace portico::bench {

std::string_view error_name(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::kConnect: return "connect";
        case ErrorKind::kReset: return "reset";
        case ErrorKind::kTimeout: return "timeout";
        case ErrorKind::kShort: return "short";
        case ErrorKind::kMalformed: return "malformed";
    }
    return "unknown";
}

void Results::count_status(int status) noexcept {
    // The parser only accepts three-digit codes 100..599, so this is always in range.
    if (status >= kFirstStatus && status <= kLastStatus) {
        ++statuses[static_cast<size_t>(status - kFirstStatus)];
    }
}

uint64_t Results::bad_statuses() const noexcept {
    uint64_t sum = 0;
    for (size_t i = 0; i < statuses.size(); ++i) {
        if (is_bad_status(static_cast<int>(i) + kFirstStatus)) {
            sum += statuses[i];
        }
    }
    return sum;
}

uint64_t Results::failed() const noexcept {
    uint64_t sum = bad_statuses();
    for (uint64_t n : errors) {
        sum += n;
    }
    return sum;
}

void Results::merge(const Results& other) noexcept {
    const bool empty = start_ns == 0 && end_ns == 0;
    responses += other.responses;
    bytes += other.bytes;
    held += other.held;
    for (size_t i = 0; i < errors.size(); ++i) {
        errors[i] += other.errors[i];
    }
    for (size_t i = 0; i < statuses.size(); ++i) {
        statuses[i] += other.statuses[i];
    }
    latency.merge(other.latency);
    start_ns = empty ? other.start_ns : std::min(start_ns, other.start_ns);
    end_ns = empty ? other.end_ns : std::max(end_ns, other.end_ns);
}

}  // namespace portico::bench

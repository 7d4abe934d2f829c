#include "schedule.hpp"

namespace portico::bench {

Schedule::Schedule(uint64_t budget, double rate, int64_t start_ns, int64_t measure_ns, size_t max_outstanding)
    : budget_(budget), interval_ns_(rate > 0 ? 1e9 / rate : 0), start_ns_(start_ns), measure_ns_(measure_ns) {
    // Reserved now so that give_back() never allocates inside the event loop.
    given_back_.reserve(max_outstanding);
}

bool Schedule::budget_left(int64_t intended) const noexcept {
    return budget_ == 0 || !counted(intended) || claimed_ < budget_;
}

bool Schedule::claim(int64_t now, int64_t& intended) noexcept {
    if (!given_back_.empty()) {
        intended = given_back_.back();
        given_back_.pop_back();
    } else if (interval_ns_ == 0) {
        if (!budget_left(now)) return false;
        intended = now;
    } else {
        const int64_t due = next_due();
        if (due > now) return false;
        intended = due;
        ++next_seq_;
    }
    if (budget_ != 0 && counted(intended)) ++claimed_;
    return true;
}

void Schedule::give_back(int64_t intended) noexcept {
    if (budget_ != 0 && counted(intended)) --claimed_;
    // Closed loop: a resent request simply starts again when it is sent.
    if (interval_ns_ > 0 && given_back_.size() < given_back_.capacity()) {
        given_back_.push_back(intended);
    }
}

int64_t Schedule::next_due() const noexcept {
    if (!given_back_.empty()) return given_back_.back();
    const auto due = start_ns_ + static_cast<int64_t>(static_cast<double>(next_seq_) * interval_ns_);
    return budget_left(due) ? due : kNever;
}

}  // namespace portico::bench

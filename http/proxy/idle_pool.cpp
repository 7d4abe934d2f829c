#include "http/proxy/idle_pool.hpp"

#include <algorithm>
#include <limits>

namespace portico::http::proxy {

IdlePool::IdlePool(uint32_t capacity) : slots_(capacity, Slot{-1, 0}) {}

int IdlePool::put(int fd, int64_t deadline_ms) noexcept {
    if (slots_.empty()) return fd;
    int evicted = -1;
    if (size_ == slots_.size()) {  // full: the oldest goes, as in nginx's keepalive cache
        evicted = slots_[head_].fd;
        head_ = index(1);
        --size_;
    }
    slots_[index(size_)] = Slot{fd, deadline_ms};
    ++size_;
    return evicted;
}

int IdlePool::take(int64_t now_ms) noexcept {
    for (size_t i = size_; i-- > 0;) {
        const Slot slot = slots_[index(i)];
        if (slot.deadline_ms <= now_ms) continue;
        erase_at(i);
        return slot.fd;
    }
    return -1;
}

bool IdlePool::remove(int fd) noexcept {
    for (size_t i = 0; i < size_; ++i) {
        if (slots_[index(i)].fd != fd) continue;
        erase_at(i);
        return true;
    }
    return false;
}

int IdlePool::pop_expired(int64_t now_ms) noexcept {
    for (size_t i = 0; i < size_; ++i) {
        const Slot slot = slots_[index(i)];
        if (slot.deadline_ms > now_ms) continue;
        erase_at(i);
        return slot.fd;
    }
    return -1;
}

int64_t IdlePool::next_deadline() const noexcept {
    int64_t earliest = std::numeric_limits<int64_t>::max();
    for (size_t i = 0; i < size_; ++i) earliest = std::min(earliest, slots_[index(i)].deadline_ms);
    return earliest;
}

// Shifts the newer entries down by one; the pool holds at most `keepalive` entries (tens), and
// the common take() erases the newest, which moves nothing.
void IdlePool::erase_at(size_t i) noexcept {
    for (; i + 1 < size_; ++i) slots_[index(i)] = slots_[index(i + 1)];
    --size_;
}

int64_t idle_deadline(int64_t now_ms, int64_t pool_timeout_ms, int64_t upstream_timeout_s) noexcept {
    int64_t keep = pool_timeout_ms;
    if (upstream_timeout_s >= 0) {
        // Leave a quarter of N (at most 1 s) for the request in flight and clock skew: the
        // upstream's timer started when it finished sending, a little before this one.
        const int64_t upstream_ms = std::min<int64_t>(upstream_timeout_s, 86'400) * 1000;
        keep = std::min(keep, upstream_ms - std::min<int64_t>(upstream_ms / 4, 1000));
    }
    return now_ms + std::max<int64_t>(keep, 0);
}

RetryDecision decide_retry(const TryOutcome& o) noexcept {
    if (o.response_started) return RetryDecision::kGiveUp;  // what was sent cannot be taken back
    if (o.failure == TryFailure::kReadTimeout || o.failure == TryFailure::kBadResponse)
        return RetryDecision::kGiveUp;
    const bool may_resend = o.idempotent || !o.body_started;
    if (o.reused && o.failure == TryFailure::kReset && may_resend && !o.fresh_retry_done)
        return RetryDecision::kFreshSameServer;
    const uint32_t limit = o.max_tries == 0 ? o.servers : std::min(o.max_tries, o.servers);
    if (o.tries >= limit) return RetryDecision::kGiveUp;
    if (o.failure == TryFailure::kConnect) return RetryDecision::kNextServer;
    // A reset on a fresh connection: the server may have acted on a POST before it died.
    return o.idempotent ? RetryDecision::kNextServer : RetryDecision::kGiveUp;
}

bool counts_as_failure(const TryOutcome& o) noexcept {
    if (o.failure == TryFailure::kBadResponse) return false;
    return !(o.reused && o.failure == TryFailure::kReset && !o.response_started);
}

}  // namespace portico::http::proxy

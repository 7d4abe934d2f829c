// Tests for the upstream keep-alive pool's bookkeeping and the stale-connection retry rule.

#include <catch2/catch.hpp>

#include <array>
#include <climits>
#include <deque>
#include <iterator>
#include <random>
#include <utility>

#include "http/proxy/idle_pool.hpp"

using namespace portico::http::proxy;

TEST_CASE("proxy idle pool: take gives the most recently parked connection first", "[proxy]") {
    IdlePool pool(4);
    CHECK(pool.put(10, 1000) == -1);
    CHECK(pool.put(11, 1000) == -1);
    CHECK(pool.put(12, 1000) == -1);
    CHECK(pool.size() == 3);
    CHECK(pool.take(0) == 12);
    CHECK(pool.take(0) == 11);
    CHECK(pool.put(13, 1000) == -1);
    CHECK(pool.take(0) == 13);
    CHECK(pool.take(0) == 10);
    CHECK(pool.take(0) == -1);
    CHECK(pool.size() == 0);
}

TEST_CASE("proxy idle pool: a full pool hands back its oldest connection to close", "[proxy]") {
    IdlePool pool(2);
    CHECK(pool.put(1, 100) == -1);
    CHECK(pool.put(2, 100) == -1);
    CHECK(pool.put(3, 100) == 1);
    CHECK(pool.put(4, 100) == 2);
    CHECK(pool.size() == 2);
    CHECK(pool.take(0) == 4);
    CHECK(pool.take(0) == 3);
}

TEST_CASE("proxy idle pool: keepalive = 0 keeps nothing", "[proxy]") {
    IdlePool pool(0);
    CHECK(pool.put(7, 100) == 7);
    CHECK(pool.take(0) == -1);
}

TEST_CASE("proxy idle pool: expired connections are never taken and pop out for closing", "[proxy]") {
    IdlePool pool(4);
    CHECK(pool.put(1, 100) == -1);
    CHECK(pool.put(2, 300) == -1);
    CHECK(pool.put(3, 200) == -1);
    CHECK(pool.next_deadline() == 100);
    CHECK(pool.take(300) == -1);  // all expired at 300: none is handed out
    CHECK(pool.size() == 3);
    CHECK(pool.pop_expired(150) == 1);
    CHECK(pool.pop_expired(150) == -1);
    CHECK(pool.next_deadline() == 200);
    CHECK(pool.take(250) == 2);  // 3 expired at 200; 2 is still good
    CHECK(pool.pop_expired(250) == 3);
    CHECK(pool.next_deadline() == INT64_MAX);
}

TEST_CASE("proxy idle pool: remove retires a connection the upstream closed", "[proxy]") {
    IdlePool pool(3);
    CHECK(pool.put(5, 100) == -1);
    CHECK(pool.put(6, 100) == -1);
    CHECK(pool.put(7, 100) == -1);
    CHECK(pool.remove(6));
    CHECK_FALSE(pool.remove(6));
    CHECK(pool.take(0) == 7);
    CHECK(pool.take(0) == 5);
}

TEST_CASE("proxy idle pool: agrees with a simple list model through many wraps", "[proxy]") {
    IdlePool pool(5);
    std::deque<std::pair<int, int64_t>> model;  // oldest first
    std::minstd_rand rng(7);
    int next_fd = 100;
    for (int step = 0; step < 5000; ++step) {
        const int64_t now = step;
        switch (rng() % 4) {
            case 0:
            case 1: {
                const int64_t deadline = now + static_cast<int64_t>(rng() % 20);
                int evicted = -1;
                if (model.size() == 5) {
                    evicted = model.front().first;
                    model.pop_front();
                }
                model.emplace_back(next_fd, deadline);
                REQUIRE(pool.put(next_fd++, deadline) == evicted);
                break;
            }
            case 2: {
                int expected = -1;
                for (auto it = model.rbegin(); it != model.rend(); ++it) {
                    if (it->second <= now) continue;
                    expected = it->first;
                    model.erase(std::next(it).base());
                    break;
                }
                REQUIRE(pool.take(now) == expected);
                break;
            }
            default: {
                int expected = -1;
                for (auto it = model.begin(); it != model.end(); ++it) {
                    if (it->second > now) continue;
                    expected = it->first;
                    model.erase(it);
                    break;
                }
                REQUIRE(pool.pop_expired(now) == expected);
            }
        }
        REQUIRE(pool.size() == model.size());
    }
}

TEST_CASE("proxy idle pool: Keep-Alive: timeout=N retires a connection before N", "[proxy]") {
    CHECK(idle_deadline(1000, 4000, -1) == 5000);    // no header: the pool's own timeout
    CHECK(idle_deadline(1000, 4000, 1) == 1750);     // timeout=1: a quarter early
    CHECK(idle_deadline(1000, 4000, 5) == 5000);     // timeout=5 > 4 s: the pool's is shorter
    CHECK(idle_deadline(1000, 60000, 10) == 10000);  // timeout=10: a second early
    CHECK(idle_deadline(1000, 4000, 0) == 1000);     // timeout=0: do not keep it
}

TEST_CASE("proxy retry: a reused connection is never a request's only try", "[proxy]") {
    struct Case {
        const char* what;
        TryOutcome outcome;
        RetryDecision expected;
    };
    using F = TryFailure;
    using R = RetryDecision;
    // failure, reused, response_started, body_started, idempotent, fresh_retry_done, tries, max, servers
    const std::array cases{
        Case{"stale GET", {F::kReset, true, false, false, true, false, 1, 1, 1}, R::kFreshSameServer},
        Case{"stale POST, body not sent",
             {F::kReset, true, false, false, false, false, 1, 1, 1},
             R::kFreshSameServer},
        Case{"stale POST, body partly sent",
             {F::kReset, true, false, true, false, false, 1, 1, 1},
             R::kGiveUp},
        Case{"stale PUT, body sent (idempotent)",
             {F::kReset, true, false, true, true, false, 1, 1, 1},
             R::kFreshSameServer},
        Case{"only one fresh retry", {F::kReset, true, false, false, true, true, 1, 1, 1}, R::kGiveUp},
        Case{"response bytes arrived", {F::kReset, true, true, false, true, false, 1, 3, 3}, R::kGiveUp},
        Case{"fresh reset, GET, servers left",
             {F::kReset, false, false, false, true, false, 1, 0, 3},
             R::kNextServer},
        Case{"fresh reset, POST", {F::kReset, false, false, true, false, false, 1, 0, 3}, R::kGiveUp},
        Case{"connect refused, POST moves",
             {F::kConnect, false, false, false, false, false, 1, 0, 3},
             R::kNextServer},
        Case{"connect refused, last server",
             {F::kConnect, false, false, false, true, false, 3, 0, 3},
             R::kGiveUp},
        Case{"connect refused, tries capped",
             {F::kConnect, false, false, false, true, false, 2, 2, 3},
             R::kGiveUp},
        Case{"read timeout: 504", {F::kReadTimeout, false, false, false, true, false, 1, 0, 3}, R::kGiveUp},
        Case{"bad response: 502", {F::kBadResponse, true, true, false, true, false, 1, 0, 3}, R::kGiveUp},
        Case{"stale, reused, a bad response is not the race",
             {F::kBadResponse, true, false, false, true, false, 1, 0, 3},
             R::kGiveUp},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK(decide_retry(c.outcome) == c.expected);
    }
}

TEST_CASE("proxy retry: the stale-connection race does not count against max_fails", "[proxy]") {
    TryOutcome stale{TryFailure::kReset, true, false, false, true, false, 1, 1, 1};
    CHECK_FALSE(counts_as_failure(stale));
    TryOutcome fresh = stale;
    fresh.reused = false;
    CHECK(counts_as_failure(fresh));
    TryOutcome refused{TryFailure::kConnect, false, false, false, false, false, 1, 1, 1};
    CHECK(counts_as_failure(refused));
    TryOutcome timeout{TryFailure::kReadTimeout, true, false, false, true, false, 1, 1, 1};
    CHECK(counts_as_failure(timeout));
}

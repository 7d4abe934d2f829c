#include "schedule.hpp"

#include <catch2/catch.hpp>

using portico::bench::Schedule;

TEST_CASE("closed loop: requests start when sent, -n caps the measured ones", "[bench][schedule]") {
    Schedule s(3, 0, 1000, 1000, 4);
    int64_t t = 0;
    CHECK(s.claim(1500, t));
    CHECK(t == 1500);
    CHECK(s.claim(1600, t));
    CHECK(s.claim(1700, t));
    CHECK_FALSE(s.claim(1800, t));
    s.give_back(1700);
    CHECK(s.claimed() == 2);
    CHECK(s.claim(1900, t));
    CHECK(t == 1900);
    CHECK(s.claimed() == 3);
}

TEST_CASE("closed loop: warm-up requests are free", "[bench][schedule]") {
    Schedule s(1, 0, 0, 1000, 4);
    int64_t t = 0;
    for (int i = 0; i < 10; ++i) CHECK(s.claim(500, t));
    CHECK_FALSE(s.counted(500));
    CHECK(s.claimed() == 0);
    CHECK(s.claim(1000, t));
    CHECK_FALSE(s.claim(1001, t));
}

TEST_CASE("open loop: requests fall due at fixed intervals, late or not", "[bench][schedule]") {
    Schedule s(0, 1000, 0, 0, 4);  // 1000/s: one every 1 ms
    REQUIRE(s.open_loop());
    int64_t t = 0;
    CHECK(s.claim(0, t));
    CHECK(t == 0);
    CHECK_FALSE(s.claim(999'999, t));
    CHECK(s.next_due() == 1'000'000);
    // Claimed 5 ms late: the requests keep their scheduled times, so their latency shows it.
    CHECK(s.claim(6'000'000, t));
    CHECK(t == 1'000'000);
    CHECK(s.claim(6'000'000, t));
    CHECK(t == 2'000'000);
    s.give_back(2'000'000);
    CHECK(s.next_due() == 2'000'000);
    CHECK(s.claim(6'000'000, t));
    CHECK(t == 2'000'000);
    CHECK(s.claim(6'000'000, t));
    CHECK(t == 3'000'000);
}

TEST_CASE("open loop with -n stops scheduling at the budget", "[bench][schedule]") {
    Schedule s(2, 1000, 0, 0, 4);
    int64_t t = 0;
    CHECK(s.claim(10'000'000, t));
    CHECK(s.claim(10'000'000, t));
    CHECK_FALSE(s.claim(10'000'000, t));
    CHECK(s.next_due() == Schedule::kNever);
}

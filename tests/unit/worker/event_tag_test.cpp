#include "worker/event_tag.hpp"

#include <catch2/catch.hpp>

using portico::worker::EventKind;
using portico::worker::EventTag;

TEST_CASE("connection tags carry the fd slot and its generation, and no other kind's bits",
          "[worker][epoll]") {
    for (uint32_t slot : {0u, 1u, 7u, 65535u, 1u << 20, 0xffffffffu}) {
        for (uint32_t generation : {0u, 1u, 2u, 12345u, (1u << 30) - 1}) {
            uint64_t tag = EventTag::connection(slot, generation);
            CHECK(EventTag::kind(tag) == EventKind::kConnection);
            CHECK(EventTag::index(tag) == slot);
            CHECK(EventTag::generation(tag) == generation);
        }
    }
}

TEST_CASE("the same fd in two generations gives two tags", "[worker][epoll]") {
    uint32_t g = 41;
    uint32_t next = EventTag::next_generation(g);
    CHECK(next == 42);
    CHECK(EventTag::connection(9, g) != EventTag::connection(9, next));
    // At the top of its 30 bits the generation wraps, and still differs from the one before.
    uint32_t top = (1u << 30) - 1;
    CHECK(EventTag::next_generation(top) == 0);
    CHECK(EventTag::connection(9, top) != EventTag::connection(9, EventTag::next_generation(top)));
    // A generation beyond 30 bits is cut to them, as the stored one is.
    CHECK(EventTag::generation(EventTag::connection(9, 1u << 30)) == 0);
}

TEST_CASE("listener, signal and control tags are told apart from connections", "[worker][epoll]") {
    CHECK(EventTag::kind(EventTag::listener(0)) == EventKind::kListener);
    CHECK(EventTag::kind(EventTag::listener(513)) == EventKind::kListener);
    CHECK(EventTag::index(EventTag::listener(513)) == 513);
    CHECK(EventTag::kind(EventTag::kSignal) == EventKind::kSignal);
    CHECK(EventTag::kind(EventTag::kControl) == EventKind::kControl);
}

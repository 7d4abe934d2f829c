// Tests for core/buffer and core/buffer_pool. Stats are compared whole after every operation,
// so a single miscount anywhere shows up; run under ASan to prove nothing leaks.

#include "core/buffer_pool.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

using portico::core::Buffer;
using portico::core::BufferPool;
using portico::core::BufferPoolStats;

namespace {

constexpr size_t k4K = 4096;
constexpr size_t k16K = 16384;
constexpr size_t k64K = 65536;

// Expected stats, spelled out field by field in each check.
struct Expect {
    size_t outstanding;
    size_t outstanding_bytes;
    size_t cached;
    size_t cached_bytes;
    size_t system_allocs;
};

void check_stats(const BufferPool& pool, Expect e) {
    const BufferPoolStats& s = pool.stats();
    CHECK(s.outstanding == e.outstanding);
    CHECK(s.outstanding_bytes == e.outstanding_bytes);
    CHECK(s.cached == e.cached);
    CHECK(s.cached_bytes == e.cached_bytes);
    CHECK(s.system_allocs == e.system_allocs);
}

std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

}  // namespace

TEST_CASE("buffer pool picks the smallest class that fits", "[buffer_pool]") {
    BufferPool pool;
    const std::vector<std::pair<size_t, size_t>> cases{
        {0, k4K}, {1, k4K}, {k4K, k4K}, {k4K + 1, k16K}, {k16K, k16K}, {k16K + 1, k64K}, {k64K, k64K}};
    for (const auto& [request, capacity] : cases) {
        INFO("request " << request);
        Buffer b = pool.acquire(request);
        REQUIRE(b.allocated());
        CHECK(b.capacity() == capacity);
        CHECK(b.readable() == 0);
        CHECK(b.writable() == capacity);
    }
    CHECK(pool.acquire().capacity() == k4K);  // the default is the smallest class
}

TEST_CASE("buffer pool refuses a request larger than the largest class", "[buffer_pool]") {
    BufferPool pool;
    Buffer b = pool.acquire(k64K + 1);
    CHECK(!b.allocated());
    CHECK(b.capacity() == 0);
    CHECK(b.writable() == 0);
    CHECK(!b.append("x"));
    check_stats(pool, {0, 0, 0, 0, 0});
    pool.release(b);  // releasing an unallocated buffer is a no-op
    check_stats(pool, {0, 0, 0, 0, 0});
}

TEST_CASE("buffer pool reuses released memory", "[buffer_pool]") {
    BufferPool pool;
    Buffer a = pool.acquire(100);
    check_stats(pool, {1, k4K, 0, 0, 1});
    const char* mem = a.read_ptr();
    a.append("hello");
    pool.release(a);
    CHECK(!a.allocated());
    CHECK(a.readable() == 0);
    check_stats(pool, {0, 0, 1, k4K, 1});

    Buffer b = pool.acquire(100);
    CHECK(b.read_ptr() == mem);  // same memory back, no system call
    CHECK(b.readable() == 0);    // and empty
    check_stats(pool, {1, k4K, 0, 0, 1});

    // A different class does not take it.
    Buffer c = pool.acquire(k16K);
    CHECK(c.read_ptr() != mem);
    check_stats(pool, {2, k4K + k16K, 0, 0, 2});

    // Free lists are LIFO: the last released comes back first (it is the warmest in cache).
    Buffer d = pool.acquire(100);
    const char* mem_b = b.read_ptr();
    const char* mem_d = d.read_ptr();
    pool.release(b);
    pool.release(d);
    check_stats(pool, {1, k16K, 2, 2 * k4K, 3});
    Buffer e = pool.acquire(100);
    CHECK(e.read_ptr() == mem_d);
    Buffer f = pool.acquire(100);
    CHECK(f.read_ptr() == mem_b);
    check_stats(pool, {3, k16K + 2 * k4K, 0, 0, 3});
}

TEST_CASE("buffer pool caps the memory it caches", "[buffer_pool]") {
    BufferPool pool(2 * k4K + k16K);  // room for two small buffers and one medium
    std::vector<Buffer> small;
    for (int i = 0; i < 4; ++i) small.push_back(pool.acquire(k4K));
    Buffer medium = pool.acquire(k16K);
    check_stats(pool, {5, 4 * k4K + k16K, 0, 0, 5});

    pool.release(small[0]);
    check_stats(pool, {4, 3 * k4K + k16K, 1, k4K, 5});
    pool.release(small[1]);
    check_stats(pool, {3, 2 * k4K + k16K, 2, 2 * k4K, 5});
    pool.release(medium);
    check_stats(pool, {2, 2 * k4K, 3, 2 * k4K + k16K, 5});
    // The cache is full: these go back to the system (ASan would flag a leak otherwise).
    pool.release(small[2]);
    check_stats(pool, {1, k4K, 3, 2 * k4K + k16K, 5});
    pool.release(small[3]);
    check_stats(pool, {0, 0, 3, 2 * k4K + k16K, 5});
    CHECK(pool.stats().cached_bytes <= 2 * k4K + k16K);

    SECTION("a large buffer that does not fit under the cap is freed, small ones still fit") {
        BufferPool tight(k16K);
        Buffer big = tight.acquire(k64K);
        Buffer one = tight.acquire(k4K);
        tight.release(big);
        check_stats(tight, {1, k4K, 0, 0, 2});
        tight.release(one);
        check_stats(tight, {0, 0, 1, k4K, 2});
    }
    SECTION("a zero cap caches nothing") {
        BufferPool none(0);
        for (int i = 0; i < 3; ++i) {
            Buffer b = none.acquire();
            REQUIRE(b.allocated());
        }
        check_stats(none, {0, 0, 0, 0, 3});
    }
}

TEST_CASE("buffer destructor returns memory to its pool", "[buffer_pool]") {
    BufferPool pool;
    const char* mem = nullptr;
    {
        Buffer b = pool.acquire();
        mem = b.read_ptr();
        check_stats(pool, {1, k4K, 0, 0, 1});
    }
    check_stats(pool, {0, 0, 1, k4K, 1});
    Buffer again = pool.acquire();
    CHECK(again.read_ptr() == mem);
    { Buffer unallocated; }  // no pool: nothing to do
    check_stats(pool, {1, k4K, 0, 0, 1});
}

TEST_CASE("buffer moves transfer ownership", "[buffer_pool]") {
    BufferPool pool;

    SECTION("move construction empties the source") {
        Buffer a = pool.acquire();
        a.append("abc");
        const char* mem = a.read_ptr();
        Buffer b(std::move(a));
        CHECK(!a.allocated());  // NOLINT(bugprone-use-after-move): the state is specified
        CHECK(a.readable() == 0);
        CHECK(b.read_ptr() == mem);
        CHECK(b.view() == "abc");
        check_stats(pool, {1, k4K, 0, 0, 1});
    }
    SECTION("move assignment swaps; each memory block is released exactly once") {
        Buffer a = pool.acquire(k4K);
        Buffer b = pool.acquire(k16K);
        a.append("small");
        b.append("medium");
        a = std::move(b);
        CHECK(a.capacity() == k16K);
        CHECK(a.view() == "medium");
        CHECK(b.capacity() == k4K);  // NOLINT(bugprone-use-after-move)
        CHECK(b.view() == "small");
        check_stats(pool, {2, k4K + k16K, 0, 0, 2});
        pool.release(b);
        check_stats(pool, {1, k16K, 1, k4K, 2});
    }
    SECTION("moving into an unallocated buffer") {
        Buffer a;
        Buffer b = pool.acquire();
        a = std::move(b);
        CHECK(a.allocated());
        CHECK(!b.allocated());  // NOLINT(bugprone-use-after-move)
        check_stats(pool, {1, k4K, 0, 0, 1});
    }
    SECTION("self-move leaves the buffer intact") {
        Buffer a = pool.acquire();
        a.append("keep");
        Buffer& alias = a;
        a = std::move(alias);
        CHECK(a.allocated());
        CHECK(a.view() == "keep");
        check_stats(pool, {1, k4K, 0, 0, 1});
    }
    SECTION("buffers in a vector survive reallocation") {
        std::vector<Buffer> v;
        for (int i = 0; i < 20; ++i) {
            v.push_back(pool.acquire());
            v.back().append(std::to_string(i));
        }
        for (int i = 0; i < 20; ++i) CHECK(v[static_cast<size_t>(i)].view() == std::to_string(i));
        check_stats(pool, {20, 20 * k4K, 0, 0, 20});
        v.clear();
        check_stats(pool, {0, 0, 20, 20 * k4K, 20});
    }
    // Whatever the section did, every buffer is back once it ends.
    check_stats(pool, {0, 0, pool.stats().cached, pool.stats().cached_bytes, pool.stats().system_allocs});
}

TEST_CASE("buffer append, consume and compact keep the regions straight", "[buffer_pool]") {
    BufferPool pool;
    Buffer b = pool.acquire();
    CHECK(b.append("GET / HTTP/1.1\r\n"));
    CHECK(b.readable() == 16);
    CHECK(b.writable() == k4K - 16);

    b.consume(4);
    CHECK(b.view() == "/ HTTP/1.1\r\n");
    CHECK(b.writable() == k4K - 16);  // consuming does not free room at the end

    b.compact();
    CHECK(b.view() == "/ HTTP/1.1\r\n");
    CHECK(b.writable() == k4K - 12);
    b.compact();  // already compact: nothing changes
    CHECK(b.view() == "/ HTTP/1.1\r\n");

    b.consume(b.readable());  // emptying resets both indexes
    CHECK(b.readable() == 0);
    CHECK(b.writable() == k4K);
    CHECK(b.write_ptr() == b.read_ptr());

    SECTION("append refuses what does not fit and writes nothing") {
        const std::string almost = pattern(k4K - 2);
        CHECK(b.append(almost));
        CHECK(!b.append("abc"));
        CHECK(b.readable() == k4K - 2);
        CHECK(b.append("ab"));
        CHECK(b.writable() == 0);
        CHECK(!b.append("x"));
        CHECK(b.append(""));
        CHECK(b.view() == almost + "ab");
    }
    SECTION("commit after writing through write_ptr") {
        std::memcpy(b.write_ptr(), "xyz", 3);
        b.commit(3);
        CHECK(b.view() == "xyz");
        b.clear();
        CHECK(b.readable() == 0);
        CHECK(b.writable() == k4K);
    }
}

TEST_CASE("buffer pool grow keeps the readable bytes", "[buffer_pool]") {
    BufferPool pool;
    Buffer b = pool.acquire();
    const std::string head = pattern(k4K);
    REQUIRE(b.append(head));
    b.consume(100);  // leave a consumed prefix: grow must drop it
    const std::string readable = head.substr(100);
    const char* old_mem = b.read_ptr() - 100;

    REQUIRE(pool.grow(b, k4K + 1));
    CHECK(b.capacity() == k16K);
    CHECK(b.view() == readable);
    CHECK(b.writable() == k16K - readable.size());
    check_stats(pool, {1, k16K, 1, k4K, 2});
    CHECK(pool.acquire().read_ptr() == old_mem);  // the old buffer went back to the pool
    check_stats(pool, {1, k16K, 1, k4K, 2});

    REQUIRE(pool.grow(b, k64K));
    CHECK(b.capacity() == k64K);
    CHECK(b.view() == readable);
    check_stats(pool, {1, k64K, 2, k4K + k16K, 3});

    SECTION("too large: false, and the buffer is untouched") {
        const char* mem = b.read_ptr();
        CHECK(!pool.grow(b, k64K + 1));
        CHECK(b.read_ptr() == mem);
        CHECK(b.view() == readable);
        check_stats(pool, {1, k64K, 2, k4K + k16K, 3});
    }
    SECTION("already large enough: only compacted") {
        b.consume(10);
        const char* base = b.read_ptr() - 10;
        CHECK(pool.grow(b, 1000));
        CHECK(b.capacity() == k64K);
        CHECK(b.read_ptr() == base);
        CHECK(b.view() == readable.substr(10));
        check_stats(pool, {1, k64K, 2, k4K + k16K, 3});
    }
    SECTION("an unallocated buffer is acquired") {
        Buffer none;
        CHECK(pool.grow(none, k16K));
        CHECK(none.capacity() == k16K);
        CHECK(none.readable() == 0);
        check_stats(pool, {2, k64K + k16K, 1, k4K, 3});
    }
}

TEST_CASE("buffer pool stats stay exact through a mixed sequence", "[buffer_pool]") {
    // Mirror every operation in a hand-kept model and compare after each one.
    const size_t cap = 3 * k16K;
    BufferPool pool(cap);
    Expect model{0, 0, 0, 0, 0};
    std::vector<size_t> cached_count(3, 0);
    std::vector<Buffer> held;
    const size_t classes[] = {k4K, k16K, k64K};
    unsigned state = 12345;
    auto next = [&state] {
        state = state * 1103515245u + 12345u;  // a fixed LCG: the sequence reproduces
        return (state >> 16) & 0x7fffu;
    };

    for (int step = 0; step < 3000; ++step) {
        const size_t c = next() % 3;
        if (held.size() < 40 && (held.empty() || next() % 2 == 0)) {
            held.push_back(pool.acquire(classes[c] - next() % 100));
            if (cached_count[c] > 0) {
                --cached_count[c];
                --model.cached;
                model.cached_bytes -= classes[c];
            } else {
                ++model.system_allocs;
            }
            ++model.outstanding;
            model.outstanding_bytes += classes[c];
        } else {
            const size_t i = next() % held.size();
            const size_t size = held[i].capacity();
            const size_t k = size == k4K ? 0 : size == k16K ? 1 : 2;
            pool.release(held[i]);
            held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
            --model.outstanding;
            model.outstanding_bytes -= size;
            if (model.cached_bytes + size <= cap) {
                ++cached_count[k];
                ++model.cached;
                model.cached_bytes += size;
            }
        }
        check_stats(pool, model);
        REQUIRE(pool.stats().cached_bytes <= cap);
    }
}

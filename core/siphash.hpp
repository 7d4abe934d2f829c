#pragma once
// SipHash (Aumasson and Bernstein, 2012): a keyed hash for tables whose keys a client chooses.
//
// An unkeyed hash, or one with a fixed seed, lets a client pick many keys that land in one
// bucket; libstdc++'s std::hash for strings (MurmurHash2 with a fixed seed) has collision families
// that do not even depend on the seed, so each lookup of such a table walks every entry of that
// bucket. With a secret per-process key a client cannot predict where its keys land.
// SipHash-1-3 (one round per word, three at the end) is what Python and Rust use for this;
// SipHash-2-4 is the paper's, kept for its published test vectors.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace portico::core {

struct SipKey {
    uint64_t k0 = 0, k1 = 0;

    /// A key from the kernel's random source (getrandom). Never fails: with no entropy source
    /// at all it falls back to the clock and the pid, which still differs per process.
    static SipKey random() noexcept;
};

namespace sip_detail {

constexpr uint64_t rotl(uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }

struct State {
    uint64_t v0, v1, v2, v3;

    void round() noexcept {
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
    }
    template <int C>
    void absorb(uint64_t m) noexcept {
        v3 ^= m;
        for (int i = 0; i < C; ++i) round();
        v0 ^= m;
    }
};

inline uint64_t load_le64(const unsigned char* p) noexcept {
    uint64_t m;
    std::memcpy(&m, p, 8);
    return m;  // x86-64 and aarch64 as run here are little-endian, which SipHash's words are
}

}  // namespace sip_detail

/// SipHash-C-D of `data` under `key`.
template <int C, int D>
uint64_t siphash(const SipKey& key, std::string_view data) noexcept {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "words are read little-endian");
    sip_detail::State s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
                        key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    const size_t n = data.size();
    const unsigned char* const whole_end = p + (n & ~size_t{7});
    for (; p != whole_end; p += 8) s.absorb<C>(sip_detail::load_le64(p));
    // The last word: the 0-7 bytes left, and the length's low byte at the top. A key of 8 bytes
    // or more has them at the top of its last 8 bytes, read as one word.
    uint64_t last = static_cast<uint64_t>(n) << 56;
    const size_t tail = n & 7;
    if (tail != 0 && n >= 8) {
        last |= sip_detail::load_le64(p + tail - 8) >> (64 - 8 * tail);
    } else {
        for (size_t i = 0; i < tail; ++i) last |= static_cast<uint64_t>(p[i]) << (8 * i);
    }
    s.absorb<C>(last);
    s.v2 ^= 0xff;
    for (int i = 0; i < D; ++i) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

inline uint64_t siphash13(const SipKey& key, std::string_view data) noexcept { return siphash<1, 3>(key, data); }

}  // namespace portico::core

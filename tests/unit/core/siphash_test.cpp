// SipHash against values computed by other programs: SipHash-2-4 against the paper's vector (and
// `openssl mac -macopt size:8 -macopt hexkey:000102..0f SIPHASH`), SipHash-1-3 against CPython
// 3.11's str hash, which is SipHash-1-3 with a zero key under PYTHONHASHSEED=0
// (`PYTHONHASHSEED=0 python3 -c "print(hex(hash('abc') & (2**64-1)))"`).

#include "core/siphash.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <utility>

using portico::core::SipKey;
using portico::core::siphash;
using portico::core::siphash13;

TEST_CASE("SipHash-2-4 gives the published values", "[siphash]") {
    const SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};  // bytes 00..0f
    std::string fifteen;
    for (char c = 0; c < 15; ++c) fifteen.push_back(c);
    CHECK(siphash<2, 4>(key, fifteen) == 0xa129ca6149be45e5ULL);
    CHECK(siphash<2, 4>(key, "") == 0x726fdb47dd0e0e31ULL);
}

TEST_CASE("SipHash-1-3 gives CPython's values, at every tail length", "[siphash]") {
    const SipKey zero{};
    struct Case {
        const char* text;
        uint64_t hash;
    };
    const Case cases[] = {
        {"a", 0x407448d2b89b1813ULL},                                   // 1 byte: the last word only
        {"abc", 0xc03bc3a0042630f2ULL},
        {"abcdefg", 0x6db12aae9070f506ULL},                             // 7: the longest tail
        {"abcdefgh", 0x3f7b849c0b8e35eaULL},                            // 8: one word, empty tail
        {"/var/www/index.html", 0x377c92c74ca14576ULL},                 // 2 words and 3
        {"/srv/portico/www/assets/app.min.js", 0xed669237f379bd0bULL},  // 4 words and 2
    };
    for (const Case& c : cases) {
        INFO(c.text);
        CHECK(siphash13(zero, c.text) == c.hash);
    }
}

TEST_CASE("random keys differ from each other", "[siphash]") {
    // Each worker's cache draws its own key; 8 draws not all distinct would mean no randomness.
    std::set<std::pair<uint64_t, uint64_t>> seen;
    for (int i = 0; i < 8; ++i) {
        const SipKey k = SipKey::random();
        seen.emplace(k.k0, k.k1);
    }
    CHECK(seen.size() == 8);
}

// The 16-bytes-a-step skips against the byte-by-byte scans they stand in for: every byte value, at
// every position of a run long enough to cross two steps, from every start, with every end.

#include "http/token_rules.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

using namespace portico::http::token;

bool field_text(uint8_t c) { return has(c, kValueChar) || is_ows(c); }

template <class Fast, class Slow>
void agree(Fast fast, Slow slow) {
    constexpr uint32_t kRun = 40;
    for (int b = 0; b < 256; ++b) {
        for (uint32_t at = 0; at < kRun; ++at) {
            std::string run(kRun, 'a');
            run[at] = static_cast<char>(b);
            for (uint32_t from : {0u, 1u, 7u, 16u}) {
                for (uint32_t end : {at, at + 1, kRun}) {
                    if (from > end) continue;
                    uint32_t want = from;
                    while (want < end && slow(static_cast<uint8_t>(run[want]))) ++want;
                    const uint32_t got = fast(run.data(), from, end);
                    if (got != want) {
                        CAPTURE(b, at, from, end);
                        REQUIRE(got == want);
                    }
                }
            }
        }
    }
}

}  // namespace

TEST_CASE("skip_visible gives skip's answer for target characters", "[token]") {
    agree(skip_visible<false>, [](uint8_t c) { return has(c, kTargetChar); });
}

TEST_CASE("skip_visible gives skip's answer for field-value characters", "[token]") {
    agree(skip_visible<true>, [](uint8_t c) { return has(c, kValueChar); });
}

TEST_CASE("skip_token gives skip's answer for token characters", "[token]") {
    agree(skip_token, [](uint8_t c) { return has(c, kTchar); });
}

TEST_CASE("skip_field_text stops where a byte-by-byte scan of VCHAR, obs-text, SP and HTAB does", "[token]") {
    agree(skip_field_text, field_text);
}

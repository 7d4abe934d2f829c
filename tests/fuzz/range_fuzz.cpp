// libFuzzer target for parse_range(): a Range value against a file size.
//
// The input's first 8 bytes (little-endian, fewer if it is short) are the file size, the rest
// the field value. The answer is checked against the contract (a returned range lies inside
// the file; first and last untouched otherwise) and against a slow reference that reads the
// same grammar with the standard library, so a fast path that drifts from it is caught.

#include "http/conditional.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using portico::fuzz::Exact;

void expect(bool ok, const char* what) {
    if (!ok) portico::fuzz::broken("range_fuzz", what);
}

std::string_view strip(std::string_view s) {
    const size_t a = s.find_first_not_of(" \t");
    if (a == std::string_view::npos) return {};
    return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

/// 1 to 19 decimal digits, or nothing.
std::optional<uint64_t> number(std::string_view s) {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    return std::stoull(std::string(s));
}

struct Answer {
    int result = 0;
    uint64_t first = 0, last = 0;
};

// RFC 9110 14.1.2 for one range, as portico reads it: several ranges, an unknown unit or a bad
// spec mean "ignore the header" (0), one that starts past the end means 416 (-1).
Answer reference(std::string_view value, uint64_t size) {
    value = strip(value);
    if (value.substr(0, 6) != "bytes=") return {};
    const std::string_view spec = strip(value.substr(6));
    const size_t dash = spec.find('-');
    if (spec.find(',') != std::string_view::npos || dash == std::string_view::npos) return {};
    const std::string_view a = strip(spec.substr(0, dash)), b = strip(spec.substr(dash + 1));
    if (a.empty()) {
        const auto n = number(b);
        if (!n) return {};
        if (*n == 0 || size == 0) return {-1};
        return {1, *n >= size ? 0 : size - *n, size - 1};
    }
    const auto x = number(a);
    const auto y = b.empty() ? std::optional<uint64_t>(UINT64_MAX) : number(b);
    if (!x || !y || *y < *x) return {};
    if (*x >= size) return {-1};
    return {1, *x, std::min(*y, size - 1)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    uint64_t file_size = 0;
    const size_t head = size < 8 ? size : 8;
    for (size_t i = 0; i < head; ++i) file_size |= uint64_t{data[i]} << (8 * i);
    // Small sizes are where the edge cases are; keep most inputs there.
    if (file_size & (uint64_t{1} << 63)) file_size &= 0xffff;
    const Exact value(std::string_view(reinterpret_cast<const char*>(data) + head, size - head));

    uint64_t first = 0xdead, last = 0xbeef;
    const int r = portico::http::parse_range(value.view(), file_size, first, last);
    expect(r >= -1 && r <= 1, "result outside -1..1");
    if (r == 1) {
        expect(first <= last, "first > last");
        expect(last < file_size, "last past the end");
    } else {
        expect(first == 0xdead && last == 0xbeef, "first/last written without a range");
    }
    const Answer want = reference(value.view(), file_size);
    expect(want.result == r, "result differs from the reference");
    if (r == 1) expect(want.first == first && want.last == last, "range differs from the reference");
    return 0;
}

// libFuzzer target for parse_http_date(): the IMF-fixdate, RFC 850 and asctime forms.
//
// A date that parses must be a real second no earlier than 1970, and formatting it as an
// IMF-fixdate and parsing that again must give the same second (the round trip Last-Modified
// and If-Modified-Since rely on). The three forms have fixed lengths, so a date of any other
// length was read past its end or short of it.

#include "core/clock.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstdint>
#include <string_view>

namespace {

using portico::fuzz::Exact;

void expect(bool ok, const char* what) {
    if (!ok) portico::fuzz::broken("date_fuzz", what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Exact in(std::string_view(reinterpret_cast<const char*>(data), size));
    time_t t = -1;
    if (!portico::core::parse_http_date(in.view(), t)) return 0;
    expect(size == 29 || size == 24 || (size >= 30 && size <= 33), "a date of an impossible length");
    expect(t >= 0, "a date before 1970");
    // 23:59:60 (a leap second) is read as the next second, so the last second of 9999 can
    // become the first of 10000, which no form can write: no round trip for that one.
    constexpr time_t kYear10000 = 253402300800;  // 10000-01-01T00:00:00Z
    expect(t <= kYear10000, "a date after 9999");
    if (t == kYear10000) return 0;

    char text[30];
    const std::string_view formatted = portico::core::format_http_date(t, text);
    expect(formatted.size() == 29, "formatted date is not 29 bytes");
    time_t again = -1;
    expect(portico::core::parse_http_date(formatted, again), "formatted date does not parse");
    expect(again == t, "formatted date parses to another second");

    return 0;
}

#include "core/clock.hpp"

#include <cstdio>
#include <cstring>

namespace portico::core {
namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* kDaysLong[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                     "Thursday", "Friday", "Saturday"};

void put2(char* p, int v) noexcept {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

int month_index(std::string_view m) noexcept {
    for (int i = 0; i < 12; ++i)
        if (m == kMonths[i]) return i;
    return -1;
}

bool parse_digits(std::string_view s, int& out) noexcept {
    if (s.empty()) return false;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

// "HH:MM:SS"
bool parse_clock(std::string_view s, struct tm& tm) noexcept {
    return s.size() == 8 && s[2] == ':' && s[5] == ':' && parse_digits(s.substr(0, 2), tm.tm_hour) &&
           parse_digits(s.substr(3, 2), tm.tm_min) && parse_digits(s.substr(6, 2), tm.tm_sec) &&
           tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec <= 60;
}

int days_in_month(int mon, int year_since_1900) noexcept {
    constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = year_since_1900 + 1900;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return mon == 1 && leap ? 29 : kDays[mon];
}

// timegm() normalises what it is given ("31 Feb" becomes 3 Mar), so an impossible date would
// pass as another one: check the day against its month first, and refuse it.
bool finish(struct tm& tm, time_t& out) noexcept {
    if (tm.tm_year < 70 || tm.tm_mday < 1 || tm.tm_mday > days_in_month(tm.tm_mon, tm.tm_year)) return false;
    out = timegm(&tm);
    return out != static_cast<time_t>(-1);
}

}  // namespace

uint64_t monotonic_ms() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

std::string_view format_http_date(time_t t, char (&out)[30]) noexcept {
    struct tm tm;
    gmtime_r(&t, &tm);
    // Fixed layout, written by hand: strftime depends on the locale.
    std::memcpy(out, kDays[tm.tm_wday], 3);
    out[3] = ',';
    out[4] = ' ';
    put2(out + 5, tm.tm_mday);
    out[7] = ' ';
    std::memcpy(out + 8, kMonths[tm.tm_mon], 3);
    out[11] = ' ';
    int year = tm.tm_year + 1900;
    put2(out + 12, (year / 100) % 100);
    put2(out + 14, year % 100);
    out[16] = ' ';
    put2(out + 17, tm.tm_hour);
    out[19] = ':';
    put2(out + 20, tm.tm_min);
    out[22] = ':';
    put2(out + 23, tm.tm_sec);
    std::memcpy(out + 25, " GMT", 4);
    out[29] = '\0';
    return {out, 29};
}

bool parse_http_date(std::string_view s, time_t& out) noexcept {
    struct tm tm = {};
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s.size() == 29 && s[3] == ',' && s.substr(25) == " GMT") {
        tm.tm_mon = month_index(s.substr(8, 3));
        return tm.tm_mon >= 0 && parse_digits(s.substr(5, 2), tm.tm_mday) &&
               parse_digits(s.substr(12, 4), tm.tm_year) && (tm.tm_year -= 1900, true) &&
               parse_clock(s.substr(17, 8), tm) && finish(tm, out);
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (s.size() == 24 && s[3] == ' ' && s[7] == ' ') {
        tm.tm_mon = month_index(s.substr(4, 3));
        std::string_view day = s.substr(8, 2);
        if (day[0] == ' ') day.remove_prefix(1);
        return tm.tm_mon >= 0 && parse_digits(day, tm.tm_mday) && parse_clock(s.substr(11, 8), tm) &&
               parse_digits(s.substr(20, 4), tm.tm_year) && (tm.tm_year -= 1900, true) && finish(tm, out);
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    size_t comma = s.find(',');
    if (comma == std::string_view::npos || comma > 9 || s.size() != comma + 24) return false;
    bool known_day = false;
    for (const char* d : kDaysLong) known_day = known_day || s.substr(0, comma) == d;
    std::string_view rest = s.substr(comma + 1);  // " 06-Nov-94 08:49:37 GMT"
    if (!known_day || rest[0] != ' ' || rest[3] != '-' || rest[7] != '-' || rest.substr(19) != " GMT") return false;
    tm.tm_mon = month_index(rest.substr(4, 3));
    if (tm.tm_mon < 0 || !parse_digits(rest.substr(1, 2), tm.tm_mday) ||
        !parse_digits(rest.substr(8, 2), tm.tm_year) || !parse_clock(rest.substr(11, 8), tm))
        return false;
    if (tm.tm_year < 70) tm.tm_year += 100;  // two-digit years: RFC 9110 5.6.7's 50-year rule, simplified
    return finish(tm, out);
}

void DateCache::refresh() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec == sec_) return;
    sec_ = ts.tv_sec;
    char date[30];
    format_http_date(sec_, date);
    int n = std::snprintf(lines_, sizeof lines_, "Server: portico\r\nDate: %s\r\n", date);
    lines_len_ = n > 0 ? static_cast<uint32_t>(n) : 0;

    struct tm tm;
    gmtime_r(&sec_, &tm);
    std::snprintf(log_, sizeof log_, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, kMonths[tm.tm_mon],
                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace portico::core

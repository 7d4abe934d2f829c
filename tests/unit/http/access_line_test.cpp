// Access log lines: the combined format byte for byte, and JSON strings that any strict parser
// reads, whatever bytes a client put into its request.

#include "http/access_line.hpp"

#include <catch2/catch.hpp>

using namespace portico;
using http::append_json_string;

namespace {

std::string json(std::string_view s) {
    fmt::memory_buffer out;
    append_json_string(out, s);
    return fmt::to_string(out);
}

// An independent check of well-formed UTF-8, by code point: no overlong form, no surrogate,
// nothing above U+10FFFF, nothing truncated.
bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        auto b = static_cast<unsigned char>(s[i]);
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        uint32_t cp = len == 1 ? b : b & (0x7f >> len);
        for (size_t k = 1; k < len; ++k) {
            auto c = static_cast<unsigned char>(s[i + k]);
            if ((c >> 6) != 2) return false;
            cp = cp << 6 | (c & 0x3f);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

http::PendingLog entry(std::string_view line, std::string_view referer, std::string_view agent) {
    http::PendingLog e;
    e.text.append(line).append(referer).append(agent);
    e.request_line_len = static_cast<uint32_t>(line.size());
    e.referer_len = static_cast<uint32_t>(referer.size());
    e.status = 206;
    std::string_view addr = "192.0.2.7";
    addr.copy(e.addr, addr.size());
    e.addr_len = static_cast<uint8_t>(addr.size());
    return e;
}

}  // namespace

TEST_CASE("JSON strings: quotes, backslashes and control bytes are escaped", "[access_line]") {
    CHECK(json("") == R"("")");
    CHECK(json("Mozilla/5.0 (X11)") == "\"Mozilla/5.0 (X11)\"");
    CHECK(json("a\"b\\c/d") == R"("a\"b\\c/d")");
    CHECK(json("\n\r\t") == R"("\n\r\t")");
    CHECK(json(std::string_view("\0\x01\x1f\x7f", 4)) == R"("\u0000\u0001\u001f\u007f")");
    CHECK(json("\b\f") == R"("\u0008\u000c")");
}

TEST_CASE("JSON strings: well-formed UTF-8 is kept, every other byte becomes U+FFFD", "[access_line]") {
    struct Case {
        const char* in;
        const char* out;
    };
    const Case cases[] = {
        {"caf\xC3\xA9", "\"caf\xC3\xA9\""},
        {"\xE2\x82\xAC \xF0\x9F\x98\x80", "\"\xE2\x82\xAC \xF0\x9F\x98\x80\""},
        {"\xEF\xBF\xBF\xF4\x8F\xBF\xBF", "\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\""},  // U+FFFF, U+10FFFF
        {"\xFF", R"("\ufffd")"},
        {"\x80x", R"("\ufffdx")"},  // a stray continuation byte
        {"\xC3", R"("\ufffd")"},    // truncated at the end
        {"\xC3(", R"("\ufffd(")"},  // truncated inside
        {"\xE2\x82", R"("\ufffd\ufffd")"},
        {"\xC0\xAF", R"("\ufffd\ufffd")"},  // overlong '/'
        {"\xC1\xBF", R"("\ufffd\ufffd")"},
        {"\xE0\x80\xAF", R"("\ufffd\ufffd\ufffd")"},            // overlong, three bytes
        {"\xF0\x80\x80\xAF", R"("\ufffd\ufffd\ufffd\ufffd")"},  // overlong, four bytes
        {"\xED\xA0\x80", R"("\ufffd\ufffd\ufffd")"},            // a UTF-16 surrogate
        {"\xED\x9F\xBF", "\"\xED\x9F\xBF\""},                   // U+D7FF, just below
        {"\xF4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},  // above U+10FFFF
        {"\xF5\x80\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},
        {"a\xFE\"b", R"("a\ufffd\"b")"},
    };
    for (const Case& c : cases) {
        INFO(c.out);
        CHECK(json(c.in) == c.out);
    }
}

TEST_CASE("JSON strings: every input of up to three bytes gives valid UTF-8 without raw controls",
          "[access_line]") {
    // Exhaustive over one and two bytes, and over three bytes whose first is a lead byte, so
    // every truncation and every second-byte range is met.
    auto check = [](std::string_view in) {
        std::string out = json(in);
        bool ok = valid_utf8(out) && out.size() >= 2 && out.front() == '"' && out.back() == '"';
        for (size_t i = 1; ok && i + 1 < out.size(); ++i) {
            auto u = static_cast<unsigned char>(out[i]);
            if (u < 0x20 || u == 0x7f) ok = false;
            if (out[i] == '\\')
                ++i;  // the escaped byte
            else if (out[i] == '"')
                ok = false;
        }
        if (!ok) FAIL("bad JSON string " << out);
    };
    for (int a = 0; a < 256; ++a) {
        const char one[] = {static_cast<char>(a)};
        check({one, 1});
        for (int b = 0; b < 256; ++b) {
            const char two[] = {static_cast<char>(a), static_cast<char>(b)};
            check({two, 2});
            if (a < 0xe0) continue;
            for (int c : {0x00, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff}) {
                const char three[] = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
                check({three, 3});
            }
        }
    }
    SUCCEED();
}

TEST_CASE("a combined line as nginx writes it", "[access_line]") {
    http::PendingLog e = entry("GET /a?b HTTP/1.1", "http://ref.test/", "agent \"q\"\\\x01\xC3\xA9");
    http::LogOutcome o;
    o.body_bytes_sent = 10;
    o.bytes_sent = 300;
    o.log_time = "10/Oct/2000:13:55:36 +0000";
    fmt::memory_buffer out;
    http::format_access_line(conf::AccessLogFormat::kCombined, e, o, out);
    CHECK(fmt::to_string(out) ==
          "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /a?b HTTP/1.1\" 206 10 "
          "\"http://ref.test/\" \"agent \\x22q\\x22\\x5C\\x01\\xC3\\xA9\"");

    http::PendingLog empty = entry("", "", "");
    fmt::memory_buffer out2;
    http::format_access_line(conf::AccessLogFormat::kCombined, empty, o, out2);
    CHECK(fmt::to_string(out2) == "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"-\" 206 10 \"-\" \"-\"");
}

TEST_CASE("a JSON line has every field, the times and sizes as numbers", "[access_line]") {
    http::PendingLog e = entry("GET /a?b HTTP/1.1", "", "ua");
    http::LogOutcome o;
    o.body_bytes_sent = 10;
    o.bytes_sent = 300;
    o.request_time_ms = 1234;
    o.now = 971186136;  // 2000-10-10 13:55:36 UTC
    fmt::memory_buffer out;
    http::format_access_line(conf::AccessLogFormat::kJson, e, o, out);
    CHECK(fmt::to_string(out) ==
          R"({"time":"2000-10-10T13:55:36+00:00","remote_addr":"192.0.2.7","method":"GET","uri":"/a?b",)"
          R"("protocol":"HTTP/1.1","status":206,"bytes_sent":300,"body_bytes_sent":10,"request_time":1.234,)"
          R"("referer":"","user_agent":"ua"})");

    // A request line cut short by an error: what is missing stays empty.
    http::PendingLog cut = entry("GET", "", "");
    o.request_time_ms = 7;
    fmt::memory_buffer out2;
    http::format_access_line(conf::AccessLogFormat::kJson, cut, o, out2);
    CHECK(fmt::to_string(out2).find(R"("method":"GET","uri":"","protocol":"","status":206)") !=
          std::string::npos);
    CHECK(fmt::to_string(out2).find(R"("request_time":0.007,)") != std::string::npos);
}

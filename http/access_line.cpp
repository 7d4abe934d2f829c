#include "http/access_line.hpp"

#include <iterator>

namespace portico::http {
namespace {

// A quoted field of the combined format: escape what would end the field or the line.
void append_combined_field(fmt::memory_buffer& out, std::string_view s) {
    if (s.empty()) {
        out.push_back('-');
        return;
    }
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\')
            fmt::format_to(std::back_inserter(out), "\\x{:02X}", u);
        else
            out.push_back(c);
    }
}

bool in(unsigned char c, unsigned char lo, unsigned char hi) noexcept {
    return c >= lo && c <= hi;
}

// The length of the well-formed UTF-8 sequence at the start of s (RFC 3629, Unicode table 3-7),
// or 0 if it is not one. s is not empty and s[0] >= 0x80.
size_t utf8_length(const unsigned char* s, size_t n) noexcept {
    unsigned char c = s[0];
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || n < len) return 0;
    // The second byte's range depends on the first: it rules out overlong forms, surrogates
    // (ED A0-BF) and code points above U+10FFFF (F4 90-BF).
    unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (!in(s[1], lo, hi)) return 0;
    for (size_t i = 2; i < len; ++i)
        if (!in(s[i], 0x80, 0xbf)) return 0;
    return len;
}

void append_json_control(fmt::memory_buffer& out, unsigned char u) {
    switch (u) {
        case '\n':
            out.append(std::string_view("\\n"));
            return;
        case '\r':
            out.append(std::string_view("\\r"));
            return;
        case '\t':
            out.append(std::string_view("\\t"));
            return;
        default:
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    }
}

void append_json_field(fmt::memory_buffer& out, std::string_view key, std::string_view value) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":", key);
    append_json_string(out, value);
}

// "GET /a HTTP/1.1" -> "GET", "/a", "HTTP/1.1"; whatever is missing (a line cut short by an
// error) stays empty.
void split_request_line(std::string_view line, std::string_view (&parts)[3]) noexcept {
    for (int i = 0; i < 3 && !line.empty(); ++i) {
        size_t sp = i < 2 ? line.find(' ') : std::string_view::npos;
        parts[i] = line.substr(0, sp);
        line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    }
}

void format_combined(const PendingLog& e, const LogOutcome& o, fmt::memory_buffer& out) {
    auto it = std::back_inserter(out);
    fmt::format_to(it, "{} - - [{}] \"", std::string_view(e.addr, e.addr_len), o.log_time);
    append_combined_field(out, e.request_line());
    fmt::format_to(it, "\" {} {} \"", e.status, o.body_bytes_sent);
    append_combined_field(out, e.referer());
    out.append(std::string_view("\" \""));
    append_combined_field(out, e.user_agent());
    out.push_back('"');
}

void format_json(const PendingLog& e, const LogOutcome& o, fmt::memory_buffer& out) {
    auto it = std::back_inserter(out);
    std::tm tm{};
    ::gmtime_r(&o.now, &tm);
    fmt::format_to(it, "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00\"", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    append_json_field(out, "remote_addr", {e.addr, e.addr_len});
    std::string_view parts[3];
    split_request_line(e.request_line(), parts);
    append_json_field(out, "method", parts[0]);
    append_json_field(out, "uri", parts[1]);
    append_json_field(out, "protocol", parts[2]);
    fmt::format_to(it, ",\"status\":{},\"bytes_sent\":{},\"body_bytes_sent\":{},\"request_time\":{}.{:03}",
                   e.status, o.bytes_sent, o.body_bytes_sent, o.request_time_ms / 1000,
                   o.request_time_ms % 1000);
    append_json_field(out, "referer", e.referer());
    append_json_field(out, "user_agent", e.user_agent());
    out.push_back('}');
}

}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    for (size_t i = 0; i < s.size();) {
        unsigned char u = p[i];
        if (u >= 0x80) {
            size_t len = utf8_length(p + i, s.size() - i);
            if (len == 0) {
                out.append(std::string_view("\\ufffd"));
                i += 1;
            } else {
                out.append(s.substr(i, len));
                i += len;
            }
            continue;
        }
        if (u < 0x20 || u == 0x7f)
            append_json_control(out, u);
        else if (u == '"' || u == '\\')
            out.append(std::string_view(u == '"' ? "\\\"" : "\\\\"));
        else
            out.push_back(static_cast<char>(u));
        ++i;
    }
    out.push_back('"');
}

void format_access_line(conf::AccessLogFormat format, const PendingLog& entry, const LogOutcome& outcome,
                        fmt::memory_buffer& out) {
    if (format == conf::AccessLogFormat::kJson)
        format_json(entry, outcome, out);
    else
        format_combined(entry, outcome, out);
}

}  // namespace portico::http

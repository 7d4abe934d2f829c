#include "http/status.hpp"

#include <array>
#include <string>

namespace portico::http {
namespace {

struct Known {
    uint16_t code;
    const char* reason;
};

constexpr Known kKnown[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {410, "Gone"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {429, "Too Many Requests"},
    {421, "Misdirected Request"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

struct Entry {
    std::string reason = "Unknown";
    std::string line;
    std::string page;
};

// Built once at start-up, before any fork; read-only afterwards.
const std::array<Entry, 600>& table() {
    static const std::array<Entry, 600> t = [] {
        std::array<Entry, 600> out;
        for (const Known& k : kKnown) out[k.code].reason = k.reason;
        for (size_t code = 100; code < out.size(); ++code) {
            Entry& e = out[code];
            std::string num = std::to_string(code);
            e.line = "HTTP/1.1 " + num + " " + e.reason + "\r\n";
            e.page = "<!DOCTYPE html>\n<html><head><title>" + num + " " + e.reason +
                     "</title></head>\n<body><h1>" + num + " " + e.reason +
                     "</h1><hr><p>portico</p></body></html>\n";
        }
        Entry& plain = out[kPlainHttpToTls];
        plain.reason = out[400].reason;
        plain.line = out[400].line;
        plain.page = "<!DOCTYPE html>\n<html><head><title>400 The plain HTTP request was sent to HTTPS port"
                     "</title></head>\n<body><h1>400 Bad Request</h1><p>The plain HTTP request was sent to "
                     "HTTPS port.</p><hr><p>portico</p></body></html>\n";
        return out;
    }();
    return t;
}

const Entry& entry(uint16_t code) noexcept {
    const auto& t = table();
    return code >= 100 && code < t.size() ? t[code] : t[500];
}

}  // namespace

std::string_view reason_phrase(uint16_t code) noexcept { return entry(code).reason; }
std::string_view status_line(uint16_t code) noexcept { return entry(code).line; }
std::string_view error_page(uint16_t code) noexcept { return entry(code).page; }

}  // namespace portico::http

#include "http/path.hpp"

#include <algorithm>
#include <cstdint>

// One pass over the path, one segment at a time. The output doubles as the stack of segments
// that RFC 3986 5.2.4 describes: "." and ".." segments are recognised before anything is
// written, a ".." pops the last segment, and any other segment is decoded straight into `out`.
// A separator is written only in front of a segment that is kept, so `out` holds "/" or
// "/seg/.../seg" between segments, and the trailing slash is decided at the end.
//
//   out:  / a / b / c           a ".." next turns this into  / a / b
//         0           ^w                                     0       ^w
//
// Each input byte yields at most one output byte, so cap >= path.size() is always enough; a
// smaller cap is enough if it holds the result and every segment a later ".." pops.

namespace portico::http {
namespace {

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// 1 for a "." segment, 2 for "..", in any mix of '.' and "%2e"; 0 for anything else.
int dot_count(std::string_view segment) noexcept {
    int dots = 0;
    for (size_t k = 0; k < segment.size(); ++dots) {
        if (dots == 2) return 0;
        if (segment[k] == '.') {
            k += 1;
        } else if (segment.substr(k, 3) == "%2e" || segment.substr(k, 3) == "%2E") {
            k += 3;
        } else {
            return 0;
        }
    }
    return dots;
}

/// Reads one byte of a segment at segment[i], decoding an escape, and advances i past it.
/// False for a bad escape or for a byte a file name under the root must not contain.
bool next_byte(std::string_view segment, size_t& i, char& out) noexcept {
    char c = segment[i++];
    if (c == '%') {
        if (segment.size() - i < 2) return false;
        const int hi = hex_digit(segment[i]);
        const int lo = hex_digit(segment[i + 1]);
        if (hi < 0 || lo < 0) return false;
        i += 2;
        c = static_cast<char>(hi << 4 | lo);
        // An escaped separator would become a real one on disk and change the structure that
        // dot-segment removal has already judged.
        if (c == '/' || c == '\\') return false;
    }
    out = c;
    const auto b = static_cast<uint8_t>(c);
    return b >= 0x20 && b != 0x7f;
}

}  // namespace

size_t normalize_path(std::string_view path, char* out, size_t cap) noexcept {
    bool dot_segment = false;
    return normalize_path(path, out, cap, dot_segment);
}

size_t normalize_path(std::string_view path, char* out, size_t cap, bool& dot_segment) noexcept {
    if (path.empty() || path.front() != '/' || cap == 0) return 0;
    size_t w = 0;
    out[w++] = '/';
    bool ends_as_directory = false;  // the last segment was empty, "." or ".."
    for (size_t start = 1;;) {
        const size_t end = std::min(path.find('/', start), path.size());
        const std::string_view segment = path.substr(start, end - start);
        const int dots = dot_count(segment);
        ends_as_directory = segment.empty() || dots != 0;
        if (dots == 2) {
            if (w == 1) return 0;  // would climb above the root
            do --w;
            while (out[w] != '/');
            w = std::max<size_t>(w, 1);
        } else if (!ends_as_directory) {
            if (w > 1) {
                if (w == cap) return 0;
                out[w++] = '/';
            }
            const size_t first = w;
            for (size_t k = 0; k < segment.size();) {
                char c;
                if (!next_byte(segment, k, c) || w == cap) return 0;
                out[w++] = c;
            }
            dot_segment |= out[first] == '.';
        }
        if (end == path.size()) break;
        start = end + 1;
    }
    if (ends_as_directory && w > 1) {
        if (w == cap) return 0;
        out[w++] = '/';
    }
    return w;
}

}  // namespace portico::http

// libFuzzer target for normalize_path().
//
// The input is a path (a leading '/' is added when missing, so every input reaches the
// decoder). The result must keep normalize_path's promises: it starts with '/', has no empty,
// "." or ".." segment, no control byte, no decoded '/', '\' or NUL, never climbs above the
// root, fits the cap, and a cap one byte too small is refused rather than overrun.
// A slow reference decodes the path and walks its segments to check the depth. The output
// buffer is an exact-size heap block so that a write past `cap` is caught by ASan as well.

#include "http/path.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

using portico::fuzz::Exact;
using portico::http::normalize_path;

void expect(bool ok, const char* what) {
    if (!ok) portico::fuzz::broken("path_fuzz", what);
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// The path with every escape decoded, or nothing if an escape is bad; slow and obvious.
std::optional<std::string> decode(std::string_view p) {
    std::string out;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] != '%') {
            out.push_back(p[i]);
            continue;
        }
        if (p.size() - i < 3) return std::nullopt;
        const int a = hex(p[i + 1]), b = hex(p[i + 2]);
        if (a < 0 || b < 0) return std::nullopt;
        out.push_back(static_cast<char>(a * 16 + b));
        i += 2;
    }
    return out;
}

/// Checks the shape of an accepted result.
void check_result(std::string_view path, std::string_view result) {
    expect(!result.empty() && result.front() == '/', "result does not start with '/'");
    expect(result.size() <= path.size(), "result longer than the path");
    expect(result.find("//") == std::string_view::npos, "empty segment left");
    for (std::string_view dot : {"/./", "/../"})
        expect(result.find(dot) == std::string_view::npos, "dot segment left");
    expect(!result.ends_with("/.") && !result.ends_with("/.."), "dot segment at the end");
    for (unsigned char c : result) expect(c >= 0x20 && c != 0x7f, "control byte left");
    // A decoded '/' or '\' would change the segments that the file system sees.
    const std::string lower = [&] {
        std::string s(path);
        for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        return s;
    }();
    expect(lower.find("%2f") == std::string::npos && lower.find("%5c") == std::string::npos &&
               lower.find("%00") == std::string::npos,
           "an encoded '/', '\\' or NUL was accepted");
    // The segments of the decoded input, resolved the slow way, never climb above the root.
    int depth = 0;
    const std::optional<std::string> decoded_or = decode(path);
    expect(decoded_or.has_value(), "a bad escape was accepted");
    const std::string& decoded = *decoded_or;
    for (size_t at = 1; at <= decoded.size();) {
        size_t end = decoded.find('/', at);
        if (end == std::string::npos) end = decoded.size();
        const std::string_view seg(decoded.data() + at, end - at);
        if (seg == "..")
            --depth;
        else if (!seg.empty() && seg != ".")
            ++depth;
        expect(depth >= 0, "a path that climbs above the root was accepted");
        at = end + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    if (text.empty() || text.front() != '/') text.insert(text.begin(), '/');
    const Exact path(text);

    const size_t cap = path.view().size();
    const std::unique_ptr<char[]> out(new char[cap]);
    const size_t n = normalize_path(path.view(), out.get(), cap);
    if (n == 0) return 0;
    expect(n <= cap, "length past cap");
    const std::string result(out.get(), n);
    check_result(path.view(), result);

    // Room for the result alone gives the same answer, unless a ".." popped a segment that
    // needed more room on the way; one byte less is refused, never overrun.
    const std::unique_ptr<char[]> tight(new char[n]);
    const size_t t = normalize_path(path.view(), tight.get(), n);
    const bool pops = path.view().find("..") != std::string_view::npos ||
                      path.view().find("%2e") != std::string_view::npos ||
                      path.view().find("%2E") != std::string_view::npos;
    expect(t == n || (t == 0 && pops), "a cap that holds the result refused");
    expect(t == 0 || std::string_view(tight.get(), n) == result, "a smaller cap gave another result");
    if (n > 1) {
        const std::unique_ptr<char[]> small(new char[n - 1]);
        expect(normalize_path(path.view(), small.get(), n - 1) == 0, "a result past cap was accepted");
    }
    return 0;
}

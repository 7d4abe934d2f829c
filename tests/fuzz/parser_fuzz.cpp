// libFuzzer target for the request parser and the path normaliser.
//
// The input is a byte stream as a client would send it. It is parsed whole, then again with the
// bytes arriving in two and three pieces (split points drawn from a hash of the input), when
// short byte by byte, and by a parser that parsed it once and was reset(). Every way must give
// the same outcome, and every call must keep the parser's promises (consumed <= len,
// head_length <= len, a known error status, spans inside the head, limits honoured). Each
// call's bytes sit in a heap block of exactly that size, so AddressSanitizer catches a read one
// byte too far. A broken promise aborts with a message.

#include "http/parser.hpp"
#include "http/path.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace {

using portico::http::normalize_path;
using portico::http::ParseResult;
using portico::http::ParserLimits;
using portico::http::Request;
using portico::http::RequestParser;
using portico::http::Span;

// Small limits, so that the fuzzer reaches every limit with inputs of a few KiB.
constexpr std::array<ParserLimits, 2> kLimits{{
    {.max_target = 128, .max_head = 2048, .max_fields = 16, .max_body = 4096},
    {.max_target = 4096, .max_head = 512, .max_fields = 100, .max_body = 0},
}};

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "parser_fuzz: broken invariant: %s\n", what);
    std::abort();
}

void expect(bool ok, const char* what) {
    if (!ok) broken(what);
}

/// A copy of bytes in a heap block of exactly their size.
class Exact {
public:
    explicit Exact(std::string_view bytes) : data_(new char[bytes.size()]) {
        if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
    }
    const char* get() const { return data_.get(); }

private:
    std::unique_ptr<char[]> data_;
};

struct Outcome {
    ParseResult head = ParseResult::kNeedMore;
    ParseResult body = ParseResult::kNeedMore;
    uint16_t status = 0;
    uint32_t head_length = 0;
    uint64_t body_consumed = 0;
    uint64_t body_bytes = 0;
    std::array<uint32_t, 22> spans{};  // off, len of each Span in Request
    int64_t content_length = 0;
    uint8_t method = 0, minor = 0;
    bool chunked = false, keep_alive = false, expect_continue = false;
    uint16_t field_count = 0;

    bool operator==(const Outcome&) const = default;
};

void check_request(const Request& r, uint32_t head_length, const ParserLimits& limits, Outcome& o) {
    const Span spans[] = {
        r.method_text,       r.target, r.request_line, r.host,       r.connection, r.if_none_match,
        r.if_modified_since, r.range,  r.if_range,     r.user_agent, r.referer};
    for (size_t i = 0; i < std::size(spans); ++i) {
        expect(uint64_t{spans[i].off} + spans[i].len <= head_length, "span outside the head");
        o.spans[2 * i] = spans[i].off;
        o.spans[2 * i + 1] = spans[i].len;
    }
    expect(!r.method_text.empty() && !r.target.empty(), "empty method or target");
    expect(r.target.len <= limits.max_target, "target over max_target");
    expect(r.field_count <= limits.max_fields, "more fields than max_fields");
    expect(r.version_minor <= 1, "version other than 1.0 / 1.1");
    expect(!(r.chunked && r.content_length >= 0), "both chunked and Content-Length");
    expect(limits.max_body == 0 || r.content_length <= static_cast<int64_t>(limits.max_body),
           "CL over max_body");
    o.content_length = r.content_length;
    o.method = static_cast<uint8_t>(r.method);
    o.minor = r.version_minor;
    o.chunked = r.chunked;
    o.keep_alive = r.keep_alive;
    o.expect_continue = r.expect_continue;
    o.field_count = r.field_count;
}

bool allowed_status(uint16_t s) {
    return s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505;
}

/// Feeds `in` with bytes arriving up to each of `ends` (ascending, the last in.size()).
Outcome feed(std::string_view in, const std::vector<size_t>& ends, const ParserLimits& limits,
             RequestParser* reused = nullptr) {
    RequestParser fresh(limits);
    RequestParser& parser = reused ? *reused : fresh;
    Request req;
    Outcome o;
    size_t k = 0;
    for (; k < ends.size(); ++k) {
        const Exact buf(in.substr(0, ends[k]));
        o.head = parser.parse_head(buf.get(), ends[k], req);
        if (o.head == ParseResult::kDone) {
            expect(parser.head_length() <= ends[k], "head_length > len");
            expect(parser.head_length() <= limits.max_head, "head over max_head");
        }
        if (o.head != ParseResult::kNeedMore) break;
    }
    if (o.head == ParseResult::kDone) {
        o.head_length = static_cast<uint32_t>(parser.head_length());
        check_request(req, o.head_length, limits, o);
        size_t at = o.head_length;
        for (; k < ends.size(); ++k) {
            const std::string_view piece = in.substr(at, ends[k] - at);
            const Exact buf(piece);
            size_t used = SIZE_MAX;
            o.body = parser.parse_body(buf.get(), piece.size(), used);
            expect(used <= piece.size(), "consumed > len");
            expect(o.body != ParseResult::kNeedMore || used == piece.size(), "kNeedMore left bytes");
            o.body_consumed += used;
            at += used;
            if (o.body != ParseResult::kNeedMore) break;
        }
        expect(limits.max_body == 0 || parser.body_bytes() <= limits.max_body, "body over max_body");
        if (o.body == ParseResult::kDone && req.content_length >= 0)
            expect(parser.body_bytes() == static_cast<uint64_t>(req.content_length),
                   "body != Content-Length");
    }
    o.status = parser.error_status();
    o.body_bytes = parser.body_bytes();
    if (o.head == ParseResult::kError || o.body == ParseResult::kError) {
        expect(allowed_status(o.status), "unexpected error status");
        expect(*parser.error_reason() != '\0', "error without reason");
        size_t used = 1;
        expect(parser.parse_head(in.data(), in.size(), req) == ParseResult::kError, "left the error state");
        expect(parser.parse_body(in.data(), in.size(), used) == ParseResult::kError, "left the error state");
        o.body_consumed = 0;  // how much came before the error depends on the split
    } else {
        expect(o.status == 0, "status without error");
    }
    return o;
}

/// Normalises an origin-form target's path and checks the result's shape.
void check_path(std::string_view target) {
    if (target.empty() || target.front() != '/') return;
    const std::string_view path = target.substr(0, target.find('?'));
    std::vector<char> out(path.size() + 1, '#');
    const size_t n = normalize_path(path, out.data(), path.size());
    expect(out.back() == '#', "normalize_path wrote past cap");
    if (n == 0) return;
    const std::string_view result(out.data(), n);
    expect(n <= path.size() && result.front() == '/', "normalize_path result shape");
    expect(result.find("//") == std::string_view::npos, "normalize_path left //");
    for (std::string_view dot : {"/./", "/../"})
        expect(result.find(dot) == std::string_view::npos, "dot segment left");
    expect(!result.ends_with("/.") && !result.ends_with("/.."), "dot segment at the end");
    for (unsigned char c : result) expect(c >= 0x20 && c != 0x7f, "control byte left");
    // Only an escaped backslash is refused; a raw one is an ordinary byte in a Linux file name.
    if (path.find('\\') == std::string_view::npos)
        expect(result.find('\\') == std::string_view::npos, "decoded backslash left");
}

uint64_t hash(const uint8_t* data, size_t size) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const uint64_t h = hash(data, size);
    const ParserLimits& limits = kLimits[h & 1];

    const Outcome whole = feed(in, {size}, limits);
    // A parser that already saw a request, then reset() (as a keep-alive connection does it),
    // must behave like a new one.
    {
        RequestParser reused(limits);
        feed(in, {size}, limits, &reused);
        reused.reset();
        expect(feed(in, {size}, limits, &reused) == whole, "reset() parser differs from a new one");
    }
    if (size > 1) {
        const size_t a = 1 + (h >> 8) % (size - 1);
        const size_t b = 1 + (h >> 32) % (size - 1);
        expect(feed(in, {a, size}, limits) == whole, "two pieces differ from whole");
        expect(feed(in, {std::min(a, b), std::max(a, b), size}, limits) == whole,
               "three pieces differ from whole");
    }
    if (size <= 256) {
        std::vector<size_t> bytes;
        for (size_t k = 1; k <= size; ++k) bytes.push_back(k);
        expect(feed(in, bytes, limits) == whole, "byte by byte differs from whole");
    }
    if (whole.head == ParseResult::kDone) check_path(in.substr(whole.spans[2], whole.spans[3]));
    return 0;
}

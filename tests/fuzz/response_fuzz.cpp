// libFuzzer target for the upstream response parser and body framer (http/proxy/).
//
// The input is a byte stream as an upstream would send it: a head (after any interim 1xx
// heads), then the body. The first byte chooses the options (a HEAD request or not, small or
// default limits); the rest is parsed whole, then with the bytes arriving in two and three pieces
// (split points from a hash of the input), and, when short, byte by byte. Every way must give the
// same outcome: the same head fields, the same body bytes, the same verdict. Every call must keep
// the parser's promises: spans inside the head, consumed <= len, data inside what was consumed,
// framing consistent with the status, Content-Length bodies of exactly that length, a reason for
// every error. Each call's bytes sit in a heap block of exactly that size, so AddressSanitizer
// catches a read one byte too far.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/proxy/response_body.hpp"
#include "http/proxy/response_parser.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using portico::fuzz::Exact;
using portico::http::ParseResult;
using namespace portico::http::proxy;

constexpr ResponseLimits kSmall{512, 8};
constexpr ResponseLimits kDefault{};

void expect(bool ok, const char* what) {
    if (!ok) portico::fuzz::broken("response_fuzz", what);
}

struct Outcome {
    ParseResult head = ParseResult::kNeedMore;
    ParseResult body = ParseResult::kNeedMore;
    uint16_t status = 0;
    size_t head_length = 0;  // of the final head, from the stream's start
    BodyFraming framing = BodyFraming::kNone;
    int64_t content_length = -1;
    bool keep_alive = false, upgrade = false;
    int32_t keep_alive_timeout = -1;
    std::string fields;  // name=value;hop per field, to compare
    std::string data;    // the body's data, decoded
    bool operator==(const Outcome&) const = default;
};

void check_head(const ResponseHead& h, const char* buf, size_t head_length, bool head_request, Outcome& o) {
    expect(h.status >= 100 && h.status <= 599, "status out of range");
    expect(h.field_count <= kMaxResponseFields, "too many fields");
    expect(h.reason.off + h.reason.len <= head_length, "reason outside the head");
    for (uint16_t i = 0; i < h.field_count; ++i) {
        const ResponseField& f = h.fields[i];
        expect(f.name.off + f.name.len <= head_length && f.value.off + f.value.len <= head_length,
               "field outside the head");
        expect(!f.name.empty(), "empty field name");
        o.fields.append(f.name.in(buf))
            .append("=")
            .append(f.value.in(buf))
            .append(f.hop_by_hop ? ";h\n" : ";e\n");
    }
    const bool bodiless = head_request || h.status < 200 || h.status == 204 || h.status == 304;
    expect(!bodiless || h.framing == BodyFraming::kNone, "a body where none may be");
    expect(h.framing != BodyFraming::kUntilClose || !h.keep_alive, "close-delimited but kept alive");
    expect(h.framing != BodyFraming::kLength || h.content_length >= 0, "length framing without a length");
    expect(!h.upgrade || h.status == 101, "upgrade without 101");
    o.status = h.status;
    o.framing = h.framing;
    o.content_length = h.content_length;
    o.keep_alive = h.keep_alive;
    o.upgrade = h.upgrade;
    o.keep_alive_timeout = h.keep_alive_timeout_s;
}

// Parses heads (skipping interim ones) from `in`, the bytes arriving up to each of `ends`.
Outcome feed(std::string_view in, const std::vector<size_t>& ends, bool head_request,
             const ResponseLimits& limits) {
    ResponseParser parser(limits);
    ResponseHead head;
    Outcome o;
    size_t start = 0, k = 0;
    parser.reset(head_request);
    while (k < ends.size()) {
        const Exact buf(in.substr(start, ends[k] - start));
        o.head = parser.parse_head(buf.get(), ends[k] - start, head);
        if (o.head == ParseResult::kNeedMore) {
            ++k;
            continue;
        }
        if (o.head == ParseResult::kError) {
            expect(*parser.error_reason() != '\0', "error without reason");
            return o;
        }
        expect(parser.head_length() <= ends[k] - start, "head_length > len");
        expect(parser.head_length() <= limits.max_head, "head over max_head");
        o.fields.clear();
        check_head(head, buf.get(), parser.head_length(), head_request, o);
        start += parser.head_length();
        if (!head.interim) break;
        parser.reset(head_request);
        o.head = ParseResult::kNeedMore;
    }
    if (o.head != ParseResult::kDone) return o;
    o.head_length = start;
    ResponseBody body;
    body.start(head);
    size_t at = start;
    for (; k < ends.size(); ++k) {
        while (at < ends[k]) {
            const std::string_view piece = in.substr(at, ends[k] - at);
            const Exact buf(piece);
            ResponseBody::Piece p;
            o.body = body.feed(buf.get(), piece.size(), p);
            expect(p.consumed <= piece.size(), "consumed > len");
            expect(p.off + p.len <= p.consumed, "data outside what was consumed");
            o.data.append(piece.substr(p.off, p.len));
            at += p.consumed;
            if (o.body != ParseResult::kNeedMore) break;
            expect(p.consumed > 0, "kNeedMore without progress");
        }
        if (o.body != ParseResult::kNeedMore) break;
    }
    expect(body.body_bytes() == o.data.size(), "body_bytes differs from the data handed out");
    if (o.body == ParseResult::kNeedMore) o.body = body.finish_at_eof();
    if (o.body == ParseResult::kDone && head.framing == BodyFraming::kLength)
        expect(o.data.size() == static_cast<uint64_t>(head.content_length), "body != Content-Length");
    if (o.body == ParseResult::kError) {
        expect(*body.error_reason() != '\0', "body error without reason");
        o.data.clear();  // how much came before the error depends on the split
    }
    return o;
}

uint64_t hash(const uint8_t* data, size_t size) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const bool head_request = data[0] & 1;
    const ResponseLimits& limits = (data[0] & 2) ? kSmall : kDefault;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const size_t n = in.size();
    const Outcome whole = feed(in, {n}, head_request, limits);
    if (n > 1) {
        const uint64_t h = hash(data, size);
        const size_t a = 1 + (h >> 8) % (n - 1);
        const size_t b = 1 + (h >> 32) % (n - 1);
        expect(feed(in, {a, n}, head_request, limits) == whole, "two pieces differ from whole");
        expect(feed(in, {std::min(a, b), std::max(a, b), n}, head_request, limits) == whole,
               "three pieces differ from whole");
    }
    if (n <= 256) {
        std::vector<size_t> ends;
        for (size_t i = 1; i <= n; ++i) ends.push_back(i);
        expect(feed(in, ends, head_request, limits) == whole, "byte by byte differs from whole");
    }
    return 0;
}

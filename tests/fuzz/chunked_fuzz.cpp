// libFuzzer target for ChunkedDecoder: a chunked body (RFC 9112 7.1), whole and in pieces.
//
// The decoder reads byte by byte with saved state; the reference here reads whole lines and
// checks each against the grammar written out the slow way:
//   chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ),
//   value = token / quoted-string, then the data and CRLF, and after the last chunk the
//   trailer field lines and the final CRLF.
// When the reference finds the body complete, the decoder must be done with the same bytes
// consumed and the same data count; when the reference finds it invalid, the decoder must
// refuse it; a body the reference finds unfinished the decoder may still refuse (it can tell
// earlier). Every split of the input must give the decoder the same answer.

#include "http/chunked.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace {

using portico::fuzz::Exact;
using portico::http::ChunkedDecoder;
using portico::http::ParseResult;

constexpr uint64_t kMaxBody = 100'000;
constexpr size_t kMaxSizeLine = 4096;  // with its CRLF
constexpr size_t kMaxTrailer = 16384;  // with the final CRLF

void expect(bool ok, const char* what) {
    if (!ok) portico::fuzz::broken("chunked_fuzz", what);
}

bool tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 &&
            std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos);
}
bool ws(unsigned char c) {
    return c == ' ' || c == '\t';
}
bool vchar_or_obs(unsigned char c) {
    return c > 0x20 && c != 0x7f;
}
int hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t skip_ws(std::string_view l, size_t i) {
    while (i < l.size() && ws(static_cast<unsigned char>(l[i]))) ++i;
    return i;
}
size_t skip_token(std::string_view l, size_t i) {
    while (i < l.size() && tchar(static_cast<unsigned char>(l[i]))) ++i;
    return i;
}

/// The end of a quoted-string starting at l[i] == '"', or npos.
size_t skip_quoted(std::string_view l, size_t i) {
    for (++i; i < l.size(); ++i) {
        const auto c = static_cast<unsigned char>(l[i]);
        if (c == '"') return i + 1;
        if (c == '\\') {
            if (++i == l.size()) return std::string_view::npos;
            const auto e = static_cast<unsigned char>(l[i]);
            if (!ws(e) && !vchar_or_obs(e)) return std::string_view::npos;
        } else if (!ws(c) && !vchar_or_obs(c)) {
            return std::string_view::npos;
        }
    }
    return std::string_view::npos;
}

/// A chunk-size line without its CRLF; sets the size.
bool size_line(std::string_view l, uint64_t& size) {
    size_t i = 0;
    size = 0;
    for (; i < l.size() && hex(static_cast<unsigned char>(l[i])) >= 0; ++i)
        size = size << 4 | static_cast<uint64_t>(hex(static_cast<unsigned char>(l[i])));
    if (i == 0 || i > 16) return false;
    for (;;) {
        size_t j = skip_ws(l, i);
        if (j == l.size()) return j == i;  // BWS only before a ';'
        if (l[j] != ';') return false;
        j = skip_ws(l, j + 1);
        const size_t name_end = skip_token(l, j);
        if (name_end == j) return false;
        j = name_end;
        size_t k = skip_ws(l, j);
        if (k < l.size() && l[k] == '=') {
            k = skip_ws(l, k + 1);
            const size_t value_end = k < l.size() && l[k] == '"' ? skip_quoted(l, k) : skip_token(l, k);
            if (value_end == std::string_view::npos || value_end == k) return false;
            j = value_end;
        }
        i = j;
    }
}

bool trailer_line(std::string_view l) {
    const size_t colon = skip_token(l, 0);
    if (colon == 0 || colon == l.size() || l[colon] != ':') return false;
    for (unsigned char c : l.substr(colon + 1))
        if (!ws(c) && !vchar_or_obs(c)) return false;
    return true;
}

enum class Verdict { kDone, kUnfinished, kInvalid };

struct Reference {
    Verdict verdict = Verdict::kUnfinished;
    size_t consumed = 0;
    uint64_t body = 0;
};

Reference reference(std::string_view in) {
    Reference r;
    size_t at = 0;
    auto line = [&](std::string_view& out) {
        const size_t crlf = in.find("\r\n", at);
        if (crlf == std::string_view::npos) return false;
        out = in.substr(at, crlf - at);
        at = crlf + 2;
        return true;
    };
    for (;;) {
        std::string_view l;
        const size_t start = at;
        if (!line(l)) {
            // No CRLF yet: unfinished, unless the line is already too long or holds a bare CR/LF.
            const std::string_view rest = in.substr(start);
            if (rest.size() > kMaxSizeLine || rest.find('\n') != std::string_view::npos ||
                rest.substr(0, rest.size() ? rest.size() - 1 : 0).find('\r') != std::string_view::npos)
                r.verdict = Verdict::kInvalid;
            return r;
        }
        uint64_t size = 0;
        if (at - start > kMaxSizeLine || !size_line(l, size) || size > kMaxBody - r.body) {
            r.verdict = Verdict::kInvalid;
            return r;
        }
        if (size == 0) break;
        if (in.size() - at < size + 2) {
            const std::string_view tail = in.substr(std::min(in.size(), at + size));
            if ((!tail.empty() && tail[0] != '\r') || (tail.size() > 1 && tail[1] != '\n'))
                r.verdict = Verdict::kInvalid;
            return r;
        }
        if (in.substr(at + size, 2) != "\r\n") {
            r.verdict = Verdict::kInvalid;
            return r;
        }
        r.body += size;
        at += size + 2;
    }
    const size_t trailer_start = at;
    for (;;) {
        std::string_view l;
        if (!line(l)) {
            if (in.size() - trailer_start > kMaxTrailer) r.verdict = Verdict::kInvalid;
            return r;
        }
        if (at - trailer_start > kMaxTrailer || (!l.empty() && !trailer_line(l))) {
            r.verdict = Verdict::kInvalid;
            return r;
        }
        if (l.empty()) {
            r.verdict = Verdict::kDone;
            r.consumed = at;
            return r;
        }
    }
}

struct Outcome {
    ParseResult result = ParseResult::kNeedMore;
    size_t consumed = 0;
    uint64_t body = 0;
    uint16_t status = 0;
    bool operator==(const Outcome&) const = default;
};

Outcome decode(std::string_view in, const std::vector<size_t>& ends) {
    ChunkedDecoder d(kMaxBody);
    Outcome o;
    size_t at = 0;
    for (const size_t end : ends) {
        const Exact piece(in.substr(at, end - at));
        size_t used = SIZE_MAX;
        o.result = d.parse(piece.get(), end - at, used);
        expect(used <= end - at, "consumed more than given");
        expect(o.result != ParseResult::kNeedMore || used == end - at, "kNeedMore left bytes");
        o.consumed += used;
        at += used;
        if (o.result != ParseResult::kNeedMore) break;
    }
    o.body = d.body_bytes();
    o.status = d.error_status();
    if (o.result == ParseResult::kError) {
        expect(o.status == 400 || o.status == 413 || o.status == 431, "unexpected status");
        o.consumed = 0;  // how far earlier pieces got depends on the split
        o.body = 0;
    }
    return o;
}

uint64_t hash(const uint8_t* data, size_t size) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const Outcome whole = decode(in, {size});
    const Reference ref = reference(in);
    switch (ref.verdict) {
        case Verdict::kDone:
            expect(whole.result == ParseResult::kDone, "a valid body was not decoded");
            expect(whole.consumed == ref.consumed, "consumed differs from the reference");
            expect(whole.body == ref.body, "data bytes differ from the reference");
            break;
        case Verdict::kInvalid:
            expect(whole.result == ParseResult::kError, "an invalid body was accepted");
            break;
        case Verdict::kUnfinished:
            expect(whole.result != ParseResult::kDone, "an unfinished body was done");
            break;
    }
    if (size > 1) {
        const uint64_t h = hash(data, size);
        const size_t a = 1 + (h >> 8) % (size - 1), b = 1 + (h >> 32) % (size - 1);
        expect(decode(in, {a, size}) == whole, "two pieces differ from whole");
        expect(decode(in, {std::min(a, b), std::max(a, b), size}) == whole, "three pieces differ from whole");
    }
    if (size <= 512) {
        std::vector<size_t> bytes;
        for (size_t k = 1; k <= size; ++k) bytes.push_back(k);
        expect(decode(in, bytes) == whole, "byte by byte differs from whole");
    }
    return 0;
}

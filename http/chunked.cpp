#include "http/chunked.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

// One loop over bytes with a switch on the saved state, in three phases: the chunk-size line
// (size, then extensions), the chunk data (taken in bulk), and the trailer section. Each phase
// has its own function; the state names say where in the grammar the next byte lands.

namespace portico::http {

enum class ChunkedDecoder::State : uint8_t {
    // chunk-size line
    kSizeFirst,     // at the first hex digit of a chunk size
    kSize,          // in the size
    kBws,           // BWS after the size or an extension value: only ';' may end it
    kExtNameStart,  // after ';', skipping BWS to a chunk-ext-name
    kExtName,
    kExtNameBws,     // BWS after a name: '=' or ';' must follow
    kExtValueStart,  // after '=', skipping BWS to a token or a quoted-string
    kExtToken,
    kExtQuoted,      // inside a quoted-string
    kExtQuotedPair,  // after a backslash in it
    kExtQuoteEnd,    // right after the closing quote
    kSizeLf,         // CR of the chunk-size line seen
    // chunk-data
    kData,  // size_ bytes of data left
    kDataCr,
    kDataLf,
    // trailer-section
    kTrailerStart,  // at the start of a trailer field line or of the final empty line
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kFinalLf,  // CR of the final empty line seen
    kDone,
    kError,
};

namespace {

constexpr uint8_t kTchar = 1 << 0;
constexpr uint8_t kHexDigit = 1 << 1;
constexpr uint8_t kFieldChar = 1 << 2;  // VCHAR or obs-text
constexpr uint8_t kQdtext = 1 << 3;     // HTAB, SP, VCHAR except '"' and '\', obs-text

constexpr std::array<uint8_t, 256> kClass = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0x21; c <= 0xff; ++c)
        if (c != 0x7f) t[c] |= kFieldChar | kQdtext;
    t['"'] &= static_cast<uint8_t>(~kQdtext);
    t['\\'] &= static_cast<uint8_t>(~kQdtext);
    t[' '] |= kQdtext;
    t['\t'] |= kQdtext;
    for (int c = '0'; c <= '9'; ++c) t[c] |= kTchar | kHexDigit;
    for (int c = 'a'; c <= 'z'; ++c) t[c] |= kTchar;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kTchar;
    for (int c = 'a'; c <= 'f'; ++c) t[c] |= kHexDigit;
    for (int c = 'A'; c <= 'F'; ++c) t[c] |= kHexDigit;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<uint8_t>(c)] |= kTchar;
    return t;
}();

constexpr bool has(uint8_t c, uint8_t cls) noexcept {
    return (kClass[c] & cls) != 0;
}
constexpr bool is_ws(uint8_t c) noexcept {
    return c == ' ' || c == '\t';
}

constexpr uint8_t hex_value(uint8_t c) noexcept {
    return static_cast<uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

// The chunk-size line and the trailer section carry nothing we use; these bounds keep an
// endless line from tying up a connection that is well within the body limit.
constexpr uint32_t kMaxSizeLineBytes = 4096;
constexpr uint32_t kMaxTrailerBytes = 16384;
// 16 hex digits hold any uint64_t, so the size cannot overflow while it is read. Leading zeros
// count too: a longer numeral is refused (RFC 9112 7.1 lets a recipient bound it), as before.
constexpr uint8_t kMaxSizeDigits = 16;

}  // namespace

bool ChunkedDecoder::fail(uint16_t status, const char* reason) noexcept {
    state_ = State::kError;
    error_status_ = status;
    error_reason_ = reason;
    return false;
}

ParseResult ChunkedDecoder::parse(const char* data, size_t len, size_t& consumed, std::string_view* piece) noexcept {
    consumed = 0;
    if (piece) *piece = {};
    if (state_ == State::kDone) return ParseResult::kDone;
    if (state_ == State::kError) return ParseResult::kError;
    size_t i = 0;
    while (i < len) {
        if (state_ == State::kData) {  // the bulk of the body: no per-byte work
            const auto n = static_cast<size_t>(std::min<uint64_t>(len - i, size_));
            size_ -= n;
            body_bytes_ += n;
            i += n;
            if (size_ == 0) state_ = State::kDataCr;
            if (piece && n > 0) {
                *piece = {data + i - n, n};
                consumed = i;
                return ParseResult::kNeedMore;
            }
            continue;
        }
        const auto c = static_cast<uint8_t>(data[i++]);
        bool ok;
        if (state_ < State::kData) {
            ok = on_size_line_byte(c);
        } else if (state_ == State::kDataCr) {
            ok = c == '\r' || fail(400, "no CRLF after chunk data");
            state_ = ok ? State::kDataLf : state_;
        } else if (state_ == State::kDataLf) {
            ok = c == '\n' || fail(400, "no CRLF after chunk data");
            state_ = ok ? State::kSizeFirst : state_;
        } else {
            ok = on_trailer_byte(c);
        }
        if (!ok) return ParseResult::kError;
        if (state_ == State::kDone) {
            consumed = i;
            return ParseResult::kDone;
        }
    }
    consumed = len;
    return ParseResult::kNeedMore;
}

bool ChunkedDecoder::on_size_line_byte(uint8_t c) noexcept {
    if (++line_bytes_ > kMaxSizeLineBytes) return fail(400, "chunk size line too long");
    switch (state_) {
        case State::kSizeFirst:
            if (!has(c, kHexDigit)) return fail(400, "invalid chunk size");
            size_ = hex_value(c);
            size_digits_ = 1;
            state_ = State::kSize;
            return true;
        case State::kSize:
            if (!has(c, kHexDigit)) return on_size_digit_end(c);
            if (++size_digits_ > kMaxSizeDigits) return fail(400, "chunk size too long");
            size_ = size_ << 4 | hex_value(c);
            return true;
        case State::kSizeLf:
            if (c != '\n') return fail(400, "bare CR in chunk size line");
            line_bytes_ = 0;
            state_ = size_ == 0 ? State::kTrailerStart : State::kData;
            return true;
        default:
            return on_extension_byte(c);
    }
}

// The size is complete before any of its data arrives, so the limits are checked here.
bool ChunkedDecoder::on_size_digit_end(uint8_t c) noexcept {
    if (size_ > std::numeric_limits<uint64_t>::max() - body_bytes_)
        return fail(400, "chunked body size overflow");
    if (max_body_ != 0 && body_bytes_ + size_ > max_body_) return fail(413, "chunked body over the limit");
    if (c == '\r')
        state_ = State::kSizeLf;
    else if (c == ';')
        state_ = State::kExtNameStart;
    else if (is_ws(c))
        state_ = State::kBws;
    else
        return fail(400, c == '\n' ? "bare LF after chunk size" : "invalid chunk size");
    return true;
}

// chunk-ext, exactly as RFC 9112 7.1.1 writes it. BWS may come before each ';' and around
// each '=', nowhere else: not at the end of the line, and a ';' must be followed by a name.
bool ChunkedDecoder::on_extension_byte(uint8_t c) noexcept {
    switch (state_) {
        case State::kBws:
            if (c == ';')
                state_ = State::kExtNameStart;
            else if (!is_ws(c))
                return fail(400, c == '\r' ? "whitespace at the end of a chunk size line"
                                           : "invalid chunk extension");
            return true;
        case State::kExtNameStart:
            if (has(c, kTchar))
                state_ = State::kExtName;
            else if (!is_ws(c))
                return fail(400, c == '\r' ? "empty chunk extension" : "invalid chunk extension name");
            return true;
        case State::kExtName:
        case State::kExtNameBws:
            if (has(c, kTchar) && state_ == State::kExtName) return true;
            if (c == '=')
                state_ = State::kExtValueStart;
            else if (c == ';')
                state_ = State::kExtNameStart;
            else if (c == '\r' && state_ == State::kExtName)
                state_ = State::kSizeLf;
            else if (is_ws(c))
                state_ = State::kExtNameBws;
            else
                return fail(400, c == '\n' ? "bare LF in chunk extension" : "invalid chunk extension");
            return true;
        case State::kExtValueStart:
            if (has(c, kTchar))
                state_ = State::kExtToken;
            else if (c == '"')
                state_ = State::kExtQuoted;
            else if (!is_ws(c))
                return fail(400, "invalid chunk extension value");
            return true;
        case State::kExtToken:
        case State::kExtQuoteEnd:
            if (has(c, kTchar) && state_ == State::kExtToken) return true;
            if (c == ';')
                state_ = State::kExtNameStart;
            else if (c == '\r')
                state_ = State::kSizeLf;
            else if (is_ws(c))
                state_ = State::kBws;
            else
                return fail(400, c == '\n' ? "bare LF in chunk extension" : "invalid chunk extension value");
            return true;
        case State::kExtQuoted:
            if (c == '"')
                state_ = State::kExtQuoteEnd;
            else if (c == '\\')
                state_ = State::kExtQuotedPair;
            else if (!has(c, kQdtext))
                return fail(400, "unterminated quoted string in chunk extension");
            return true;
        case State::kExtQuotedPair:
            if (!has(c, kFieldChar) && !is_ws(c)) return fail(400, "invalid quoted-pair in chunk extension");
            state_ = State::kExtQuoted;
            return true;
        default:
            return fail(400, "internal: bad chunk size line state");
    }
}

// trailer-section = *( field-line CRLF ), then the final CRLF. Trailer fields follow the
// header-field rules, but none of them is acted on.
bool ChunkedDecoder::on_trailer_byte(uint8_t c) noexcept {
    if (++line_bytes_ > kMaxTrailerBytes) return fail(431, "trailer section too large");
    switch (state_) {
        case State::kTrailerStart:
            if (c == '\r')
                state_ = State::kFinalLf;
            else if (is_ws(c))
                return fail(400, "obsolete line folding in trailer");
            else if (has(c, kTchar))
                state_ = State::kTrailerName;
            else
                return fail(400, c == '\n' ? "bare LF in trailer" : "invalid trailer field name");
            return true;
        case State::kTrailerName:
            if (c == ':')
                state_ = State::kTrailerValue;
            else if (!has(c, kTchar))
                return fail(400, "invalid trailer field name");
            return true;
        case State::kTrailerValue:
            if (c == '\r')
                state_ = State::kTrailerLf;
            else if (!has(c, kFieldChar) && !is_ws(c))
                return fail(400, c == '\n' ? "bare LF in trailer" : "invalid trailer field value");
            return true;
        case State::kTrailerLf:
        case State::kFinalLf:
            if (c != '\n') return fail(400, "bare CR in trailer");
            state_ = state_ == State::kFinalLf ? State::kDone : State::kTrailerStart;
            return true;
        default:
            return fail(400, "internal: bad trailer state");
    }
}

}  // namespace portico::http

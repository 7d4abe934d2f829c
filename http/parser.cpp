#include "http/parser.hpp"

#include "http/token_rules.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

// Strict HTTP/1.1 request parsing (RFC 9112). The head is parsed in two phases, the request
// line and the field lines, each a loop over bytes with a switch on the saved state; a chunked
// body's framing is ChunkedDecoder's (http/chunked.cpp). Each phase can stop at any byte and pick
// up there on the next call, which is what makes every split of the input give the same answer.
// A line that is all at hand and well formed is taken in one pass first (whole_request_line,
// token::scan_field_line), with the bounds the machine would have set; the machine reads only
// the lines those refuse, and names their errors.

namespace portico::http {

enum class RequestParser::HeadState : uint8_t {
    // request line
    kStart,      // before the method; a CRLF here is a leading empty line
    kLeadingLf,  // CR of a leading empty line seen
    kMethod,
    kTargetStart,  // SP after the method seen
    kTarget,
    kVersion,  // SP after the target seen; version_index_ bytes of "HTTP/d.d" matched
    kLineLf,   // CR after the version seen
    // field lines
    kFieldStart,  // at the start of a field line, or of the empty line that ends the head
    kFieldName,
    kValueLead,  // colon seen, skipping OWS
    kValue,
    kFieldLf,  // CR after a field value seen
    kHeadLf,   // CR of the final empty line seen
    kDone,
    kError,
};

enum class RequestParser::BodyState : uint8_t {
    kIdle,     // the head is not done yet
    kLength,   // Content-Length bytes left in body_left_
    kChunked,  // chunked_ decodes the framing
    kDone,
    kError,
};

namespace {

// The byte classes and list rules are shared with the upstream response parser.
using namespace token;

// Host = uri-host [ ":" port ] (RFC 9110 7.2): a reg-name or IPv4 address, or an IP literal in
// brackets, then an optional port of digits. Anything else (spaces, '/', '@', a second ':')
// must be refused with 400 (RFC 9112 3.2).
constexpr bool valid_host(std::string_view h) noexcept {
    size_t i = 0;
    if (!h.empty() && h[0] == '[') {
        size_t close = h.find(']');
        if (close == std::string_view::npos || close < 2) return false;
        for (i = 1; i < close; ++i) {
            auto c = static_cast<uint8_t>(h[i]);
            if (!has(c, kHostChar) && c != ':') return false;
        }
        i = close + 1;
    } else {
        while (i < h.size() && has(static_cast<uint8_t>(h[i]), kHostChar)) ++i;
    }
    if (i == h.size()) return true;
    if (h[i] != ':') return false;
    for (++i; i < h.size(); ++i)
        if (!is_digit(static_cast<uint8_t>(h[i]))) return false;
    return true;
}

constexpr std::array<std::pair<std::string_view, Method>, 9> kMethods{{
    {"GET", Method::kGet},
    {"HEAD", Method::kHead},
    {"POST", Method::kPost},
    {"PUT", Method::kPut},
    {"DELETE", Method::kDelete},
    {"OPTIONS", Method::kOptions},
    {"TRACE", Method::kTrace},
    {"PATCH", Method::kPatch},
    {"CONNECT", Method::kConnect},
}};

enum class Field : uint8_t {
    kOther,
    kHost,
    kContentLength,
    kTransferEncoding,
    kConnection,
    kExpect,
    kIfNoneMatch,
    kIfModifiedSince,
    kRange,
    kIfRange,
    kIfMatch,
    kIfUnmodifiedSince,
    kUserAgent,
    kReferer,
};

constexpr std::array<std::pair<std::string_view, Field>, 13> kKnownFields{{
    {"host", Field::kHost},
    {"content-length", Field::kContentLength},
    {"transfer-encoding", Field::kTransferEncoding},
    {"connection", Field::kConnection},
    {"expect", Field::kExpect},
    {"if-none-match", Field::kIfNoneMatch},
    {"if-modified-since", Field::kIfModifiedSince},
    {"range", Field::kRange},
    {"if-range", Field::kIfRange},
    {"if-match", Field::kIfMatch},
    {"if-unmodified-since", Field::kIfUnmodifiedSince},
    {"user-agent", Field::kUserAgent},
    {"referer", Field::kReferer},
}};

bool match_method(std::string_view text, Method& method) noexcept {
    // Methods are case-sensitive (RFC 9110 9.1): "get" is a valid token and an unknown method.
    for (const auto& [name, id] : kMethods) {
        if (text == name) {
            method = id;
            return true;
        }
    }
    return false;
}

// By length first: a browser sends about 15 fields and most match none of these, which the
// length alone then tells (the loop over the table cost ~115 instructions a field).
constexpr Field classify_field(std::string_view name) noexcept {
    auto is = [name](std::string_view known, Field id) { return iequals(name, known) ? id : Field::kOther; };
    switch (name.size()) {
    case 4: return is("host", Field::kHost);
    case 5: return is("range", Field::kRange);
    case 6: return is("expect", Field::kExpect);
    case 7: return is("referer", Field::kReferer);
    case 8: {
        const Field f = is("if-range", Field::kIfRange);
        return f != Field::kOther ? f : is("if-match", Field::kIfMatch);
    }
    case 10: {
        const Field f = is("connection", Field::kConnection);
        return f != Field::kOther ? f : is("user-agent", Field::kUserAgent);
    }
    case 13: return is("if-none-match", Field::kIfNoneMatch);
    case 14: return is("content-length", Field::kContentLength);
    case 17: {
        const Field f = is("transfer-encoding", Field::kTransferEncoding);
        return f != Field::kOther ? f : is("if-modified-since", Field::kIfModifiedSince);
    }
    case 19: return is("if-unmodified-since", Field::kIfUnmodifiedSince);
    default: return Field::kOther;
    }
}

// The table is the list of fields the parser knows; the switch above must find each of them.
static_assert([] {
    for (const auto& [known, id] : kKnownFields)
        if (classify_field(known) != id) return false;
    return true;
}());

/// What the field lines said, in RequestParser::flags_.
enum Flag : uint16_t {
    kSeenHost = 1 << 0,
    kSeenLength = 1 << 1,
    kSeenTransferEncoding = 1 << 2,
    kChunkedSeen = 1 << 3,  // "chunked" appeared in Transfer-Encoding
    kChunkedLast = 1 << 4,  // ... and is the last coding so far
    kOtherCoding = 1 << 5,  // some other transfer coding appeared
    kConnectionClose = 1 << 7,
    kConnectionKeepAlive = 1 << 8,
    kExpectContinue = 1 << 9,
    kExpectOther = 1 << 10,
};

// A client gets a few stray CRLFs before a request (RFC 9112 2.2), not an endless stream.
constexpr uint8_t kMaxLeadingEmptyLines = 8;

}  // namespace

// ---- head ------------------------------------------------------------------------------------

// Field by field rather than `*this = RequestParser(limits_)`: this runs once per keep-alive
// request, and the chunked decoder, the largest part, is rebuilt by finish_head() only for a
// chunked body. A new member must be cleared here too.
void RequestParser::reset() noexcept {
    pos_ = mark_ = name_end_ = value_start_ = value_end_ = head_length_ = 0;
    flags_ = 0;
    error_status_ = 0;
    state_ = HeadState::kStart;
    empty_lines_ = version_index_ = 0;
    body_state_ = BodyState::kIdle;
    body_left_ = body_bytes_ = 0;
    error_reason_ = "";
}

ParseResult RequestParser::fail(uint16_t status, const char* reason) noexcept {
    state_ = HeadState::kError;
    body_state_ = BodyState::kError;
    error_status_ = status;
    error_reason_ = reason;
    return ParseResult::kError;
}

bool RequestParser::reject(uint16_t status, const char* reason) noexcept {
    fail(status, reason);
    return false;
}

ParseResult RequestParser::parse_head(const char* buf, size_t len, Request& req) noexcept {
    if (state_ == HeadState::kDone) return ParseResult::kDone;
    if (state_ == HeadState::kError) return ParseResult::kError;
    if (pos_ == 0) req = Request{};

    // A byte at max_head or beyond can never be part of the head, so look no further.
    const auto end = static_cast<uint32_t>(std::min<size_t>(len, limits_.max_head));
    ParseResult r = ParseResult::kNeedMore;
    if (state_ < HeadState::kFieldStart) r = parse_request_line(buf, end, req);
    if (r == ParseResult::kNeedMore && state_ >= HeadState::kFieldStart) r = parse_fields(buf, end, req);
    if (r == ParseResult::kNeedMore && pos_ == limits_.max_head && len > pos_) {
        if (state_ == HeadState::kTarget) return fail(414, "request-target too long");
        return fail(431, "request head too large");
    }
    return r;
}

// The request line in one pass, when all of it is at hand and it has the form nearly every
// request's has: method SP origin-form target SP "HTTP/1.0" or "HTTP/1.1" CRLF. Only validates
// until it commits at the end, so a false return leaves everything as it was, and the byte
// machine below reads the line again (and finds the error, or the rarer form). The machine's
// per-byte state switch cost about 20 instructions a byte; this is a few.
inline bool RequestParser::whole_request_line(const char* buf, uint32_t end, Request& req) noexcept {
    const uint32_t method = pos_;
    const uint32_t method_end = skip(buf, method, end, kTchar);
    if (method_end == method || method_end >= end || buf[method_end] != ' ') return false;
    const uint32_t target = method_end + 1;
    const uint32_t target_end = skip_visible<false>(buf, target, end);
    // "/x": origin-form; "*" and absolute-form are checked by the machine. The version, CR and
    // LF are the 10 bytes after the SP.
    if (target == end || buf[target] != '/' || target_end - target > limits_.max_target ||
        end - target_end < 11 || buf[target_end] != ' ')
        return false;
    const char* v = buf + target_end + 1;
    if (std::string_view(v, 7) != "HTTP/1." || (v[7] != '1' && v[7] != '0') || v[8] != '\r' || v[9] != '\n')
        return false;
    if (!match_method(std::string_view(buf + method, method_end - method), req.method)) return false;
    req.request_line = {method, target_end + 9 - method};
    req.method_text = {method, method_end - method};
    req.target = {target, target_end - target};
    req.version_minor = static_cast<uint8_t>(v[7] - '0');
    pos_ = target_end + 11;
    state_ = HeadState::kFieldStart;
    return true;
}

ParseResult RequestParser::parse_request_line(const char* buf, uint32_t end, Request& req) noexcept {
    if (state_ == HeadState::kStart && whole_request_line(buf, end, req)) [[likely]]
        return ParseResult::kNeedMore;  // the field phase goes on from here
    for (; pos_ < end; ++pos_) {
        const auto c = static_cast<uint8_t>(buf[pos_]);
        switch (state_) {
        case HeadState::kStart:
            if (c == '\r') {
                state_ = HeadState::kLeadingLf;
                break;
            }
            if (!has(c, kTchar)) return fail(400, c == '\n' ? "bare LF" : "invalid character in method");
            req.request_line.off = req.method_text.off = pos_;
            state_ = HeadState::kMethod;
            break;
        case HeadState::kLeadingLf:
            if (c != '\n') return fail(400, "bare CR before the request line");
            if (++empty_lines_ > kMaxLeadingEmptyLines)
                return fail(400, "too many empty lines before the request");
            state_ = HeadState::kStart;
            break;
        case HeadState::kMethod:
            if (has(c, kTchar)) break;
            if (c != ' ') return fail(400, "invalid character in method");
            req.method_text.len = pos_ - req.method_text.off;
            if (!match_method(req.method_text.in(buf), req.method)) return fail(501, "unknown method");
            state_ = HeadState::kTargetStart;
            break;
        case HeadState::kTargetStart:
            if (!has(c, kTargetChar)) return fail(400, "invalid request-target");
            req.target.off = pos_;
            state_ = HeadState::kTarget;
            [[fallthrough]];
        case HeadState::kTarget:
            if (has(c, kTargetChar)) {
                const uint32_t stop = skip_visible<false>(buf, pos_ + 1, end);
                if (stop - req.target.off > limits_.max_target) return fail(414, "request-target too long");
                pos_ = stop - 1;
                break;
            }
            if (c != ' ')
                return fail(400, c == '\r' || c == '\n' ? "no HTTP version" : "invalid request-target");
            req.target.len = pos_ - req.target.off;
            if (!on_request_target(buf, req)) return ParseResult::kError;
            state_ = HeadState::kVersion;
            break;
        case HeadState::kVersion: {
            // "HTTP/" DIGIT "." DIGIT, byte by byte; '0' in the pattern stands for any digit.
            constexpr std::string_view kPattern = "HTTP/0.0";
            if (version_index_ == kPattern.size()) {
                if (c != '\r') return fail(400, c == '\n' ? "bare LF" : "invalid HTTP version");
                state_ = HeadState::kLineLf;
                break;
            }
            const char want = kPattern[version_index_];
            if (want == '0' ? !is_digit(c) : c != static_cast<uint8_t>(want))
                return fail(400, "invalid HTTP version");
            ++version_index_;
            break;
        }
        case HeadState::kLineLf:
            if (c != '\n') return fail(400, "bare CR in request line");
            if (!on_request_line(buf, req)) return ParseResult::kError;
            ++pos_;
            state_ = HeadState::kFieldStart;
            return ParseResult::kNeedMore;  // the field phase goes on from here
        default: return fail(400, "internal: bad request-line state");
        }
    }
    return ParseResult::kNeedMore;
}

bool RequestParser::on_request_target(const char* buf, Request& req) noexcept {
    const std::string_view t = req.target.in(buf);
    if (t.front() == '/') return true;
    // asterisk-form exists only for a server-wide OPTIONS (RFC 9112 3.2.4).
    if (t == "*") return req.method == Method::kOptions || reject(400, "'*' target without OPTIONS");
    return check_absolute_form(t);
}

// absolute-form (RFC 9112 3.2.2): an http(s) URI with an authority; authority-form (CONNECT) is
// not served here. Out of line, so that origin-form, nearly every request, pays nothing for it.
[[gnu::cold, gnu::noinline]] bool RequestParser::check_absolute_form(std::string_view t) noexcept {
    for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
        if (!istarts_with(t, scheme)) continue;
        // The authority ends at the path, at the query (RFC 3986 3.2: the path is then empty,
        // which means "/"), or at the end of the target.
        const std::string_view rest = t.substr(scheme.size());
        const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
        // An http URI with an empty host is invalid (RFC 9110 4.2.1), and userinfo ('@') is
        // refused with the other bytes a Host cannot hold (RFC 9110 4.2.4).
        if (authority.empty() || authority.front() == ':' || !valid_host(authority))
            return reject(400, "invalid authority in absolute-form target");
        return true;
    }
    return reject(400, "invalid request-target form");
}

bool RequestParser::on_request_line(const char* buf, Request& req) noexcept {
    // pos_ is at the LF; the version's 8 bytes and the CR come right before it.
    const auto major = static_cast<uint8_t>(buf[pos_ - 4]);
    const auto minor = static_cast<uint8_t>(buf[pos_ - 2]);
    if (major != '1' || minor > '1') return reject(505, "HTTP version not supported");
    req.version_minor = static_cast<uint8_t>(minor - '0');
    req.request_line.len = pos_ - 1 - req.request_line.off;
    return true;
}

ParseResult RequestParser::parse_fields(const char* buf, uint32_t end, Request& req) noexcept {
    for (; pos_ < end; ++pos_) {
        const auto c = static_cast<uint8_t>(buf[pos_]);
        switch (state_) {
        case HeadState::kFieldStart:
            if (c == '\r') {
                state_ = HeadState::kHeadLf;
                break;
            }
            if (is_ows(c)) return fail(400, "obsolete line folding");
            if (!has(c, kTchar)) return fail(400, c == '\n' ? "bare LF" : "invalid character in field name");
            if (req.field_count >= std::min<uint32_t>(limits_.max_fields, UINT16_MAX))
                return fail(431, "too many header fields");
            ++req.field_count;
            mark_ = pos_;
            if (const FieldLine line = scan_field_line(buf, pos_, end); line.lf) [[likely]] {
                name_end_ = line.name_end;
                value_start_ = line.value_start;
                value_end_ = line.value_end;
                if (!on_field(buf, req)) return ParseResult::kError;
                pos_ = line.lf;  // the loop steps past the LF; the state stays at a line's start
                break;
            }
            state_ = HeadState::kFieldName;
            [[fallthrough]];
        case HeadState::kFieldName:
            if (has(c, kTchar)) {
                pos_ = skip_token(buf, pos_ + 1, end) - 1;
                break;
            }
            if (c != ':')
                return fail(400, is_ows(c) ? "whitespace before colon" : "invalid character in field name");
            name_end_ = pos_;
            state_ = HeadState::kValueLead;
            break;
        case HeadState::kValueLead:
            if (is_ows(c)) break;
            value_start_ = value_end_ = pos_;
            state_ = HeadState::kValue;
            [[fallthrough]];
        case HeadState::kValue:
            if (has(c, kValueChar)) {
                value_end_ = skip_visible<true>(buf, pos_ + 1, end);
                pos_ = value_end_ - 1;
                break;
            }
            if (is_ows(c)) break;
            if (c != '\r') return fail(400, c == '\n' ? "bare LF" : "invalid character in field value");
            state_ = HeadState::kFieldLf;
            break;
        case HeadState::kFieldLf:
            if (c != '\n') return fail(400, "bare CR in header field");
            if (!on_field(buf, req)) return ParseResult::kError;
            state_ = HeadState::kFieldStart;
            break;
        case HeadState::kHeadLf:
            if (c != '\n') return fail(400, "bare CR at end of head");
            head_length_ = ++pos_;
            return finish_head(req);
        default: return fail(400, "internal: bad field state");
        }
    }
    return ParseResult::kNeedMore;
}

bool RequestParser::on_field(const char* buf, Request& req) noexcept {
    const std::string_view name(buf + mark_, name_end_ - mark_);
    const Span value{value_start_, value_end_ - value_start_};
    // For fields that may come once, keep the first; a repeated list field (If-None-Match) is
    // rare enough that acting on its first line alone is acceptable.
    auto keep_first = [&](Span& span) {
        if (span.empty()) span = value;
    };
    switch (classify_field(name)) {
    case Field::kHost:
        if (flags_ & kSeenHost) return reject(400, "duplicate Host");
        flags_ |= kSeenHost;
        if (!valid_host(value.in(buf))) return reject(400, "invalid Host");
        req.host = value;
        break;
    case Field::kContentLength: return on_content_length(value.in(buf), req);
    case Field::kTransferEncoding: return on_transfer_encoding(value.in(buf));
    case Field::kConnection:
        if (!req.connection_seen) req.connection = value;
        req.connection_seen = true;
        on_connection(value.in(buf));
        break;
    case Field::kExpect: on_expect(value.in(buf)); break;
    case Field::kIfNoneMatch: keep_first(req.if_none_match); break;
    case Field::kIfModifiedSince: keep_first(req.if_modified_since); break;
    case Field::kRange: keep_first(req.range); break;
    case Field::kIfRange: keep_first(req.if_range); break;
    case Field::kIfMatch: keep_first(req.if_match); break;
    case Field::kIfUnmodifiedSince: keep_first(req.if_unmodified_since); break;
    case Field::kUserAgent: keep_first(req.user_agent); break;
    case Field::kReferer: keep_first(req.referer); break;
    case Field::kOther: break;
    }
    return true;
}

bool RequestParser::on_content_length(std::string_view value, Request& req) noexcept {
    // Two lengths, even equal ones, or a list, mean two parties may frame the body differently.
    if (flags_ & kSeenLength) return reject(400, "duplicate Content-Length");
    flags_ |= kSeenLength;
    if (value.empty()) return reject(400, "empty Content-Length");
    int64_t n = 0;
    for (char ch : value) {
        const auto c = static_cast<uint8_t>(ch);
        if (!is_digit(c)) return reject(400, "invalid Content-Length");
        const int digit = c - '0';
        if (n > (std::numeric_limits<int64_t>::max() - digit) / 10)
            return reject(400, "Content-Length overflow");
        n = n * 10 + digit;
    }
    req.content_length = n;
    return true;
}

bool RequestParser::on_transfer_encoding(std::string_view value) noexcept {
    // Several field lines form one list; the verdict on it waits for the end of the head.
    flags_ |= kSeenTransferEncoding;
    return for_each_element(value, [this](std::string_view coding) {
        const uint32_t name_len = skip(coding.data(), 0, static_cast<uint32_t>(coding.size()), kTchar);
        std::string_view params = trim_ows(coding.substr(name_len));
        if (name_len == 0 || (!params.empty() && params.front() != ';'))
            return reject(400, "invalid transfer coding");
        if (params.empty() && iequals(coding, "chunked")) {
            if (flags_ & kChunkedSeen) return reject(400, "chunked applied twice");
            flags_ |= kChunkedSeen | kChunkedLast;
        } else {
            flags_ = static_cast<uint16_t>((flags_ | kOtherCoding) & ~kChunkedLast);
        }
        return true;
    });
}

void RequestParser::on_connection(std::string_view value) noexcept {
    for_each_element(value, [this](std::string_view option) {
        if (iequals(option, "close"))
            flags_ |= kConnectionClose;
        else if (iequals(option, "keep-alive"))
            flags_ |= kConnectionKeepAlive;
        return true;
    });
}

void RequestParser::on_expect(std::string_view value) noexcept {
    for_each_element(value, [this](std::string_view expectation) {
        flags_ |= iequals(expectation, "100-continue") ? kExpectContinue : kExpectOther;
        return true;
    });
}

ParseResult RequestParser::finish_head(Request& req) noexcept {
    const bool http11 = req.version_minor == 1;
    if (http11 && !(flags_ & kSeenHost)) return fail(400, "missing Host");
    if (flags_ & kSeenTransferEncoding) {
        // RFC 9112 6.1: HTTP/1.0 has no transfer codings, and a length next to them is a
        // smuggling attempt; both make the framing untrustworthy.
        if (!http11) return fail(400, "Transfer-Encoding in HTTP/1.0");
        if (flags_ & kSeenLength) return fail(400, "both Content-Length and Transfer-Encoding");
        if (!(flags_ & kChunkedLast)) return fail(400, "chunked is not the final transfer coding");
        if (flags_ & kOtherCoding) return fail(501, "unsupported transfer coding");
        req.chunked = true;
    }
    if (flags_ & kExpectOther) return fail(417, "unsupported expectation");
    if (limits_.max_body != 0 && req.content_length > 0 &&
        static_cast<uint64_t>(req.content_length) > limits_.max_body)
        return fail(413, "Content-Length over the limit");

    // HTTP/1.0 ignores 100-continue (RFC 9110 10.1.1).
    req.expect_continue = http11 && (flags_ & kExpectContinue);
    req.keep_alive = !(flags_ & kConnectionClose) && (http11 || (flags_ & kConnectionKeepAlive));
    state_ = HeadState::kDone;
    if (req.chunked) {
        body_state_ = BodyState::kChunked;
        chunked_ = ChunkedDecoder(limits_.max_body);
    } else if (req.content_length > 0) {
        body_state_ = BodyState::kLength;
        body_left_ = static_cast<uint64_t>(req.content_length);
    } else {
        body_state_ = BodyState::kDone;
    }
    return ParseResult::kDone;
}

// ---- body ------------------------------------------------------------------------------------

ParseResult RequestParser::parse_body(const char* data, size_t len, size_t& consumed,
                                      std::string_view* piece) noexcept {
    consumed = 0;
    if (piece) *piece = {};
    switch (body_state_) {
    case BodyState::kIdle: return fail(400, "body before the head");
    case BodyState::kDone: return ParseResult::kDone;
    case BodyState::kError: return ParseResult::kError;
    case BodyState::kLength: {
        const auto n = static_cast<size_t>(std::min<uint64_t>(len, body_left_));
        body_left_ -= n;
        body_bytes_ += n;
        consumed = n;
        if (piece) *piece = {data, n};
        if (body_left_ != 0) return ParseResult::kNeedMore;
        body_state_ = BodyState::kDone;
        return ParseResult::kDone;
    }
    case BodyState::kChunked: return parse_chunked(data, len, consumed, piece);
    }
    return fail(400, "internal: bad body state");
}

ParseResult RequestParser::parse_chunked(const char* data, size_t len, size_t& consumed,
                                         std::string_view* piece) noexcept {
    const ParseResult r = chunked_.parse(data, len, consumed, piece);
    body_bytes_ = chunked_.body_bytes();
    if (r == ParseResult::kError) return fail(chunked_.error_status(), chunked_.error_reason());
    if (r == ParseResult::kDone) body_state_ = BodyState::kDone;
    return r;
}

}  // namespace portico::http

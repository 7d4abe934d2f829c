#include "http/proxy/response_parser.hpp"

#include <algorithm>
#include <limits>
#include <string_view>

#include "http/token_rules.hpp"

// Two phases, as in the request parser: the status line, then the field lines, each a loop over
// bytes with a switch on the saved state. The verdict on the framing waits for the end of the
// head (finish_head), when every field that bears on it has been seen.

namespace portico::http::proxy {

using namespace http::token;

enum class ResponseParser::State : uint8_t {
    kVersion,    // index_ bytes of "HTTP/1.d" matched
    kVersionSp,  // the SP after the version
    kStatus,     // index_ digits of the status code
    kStatusSp,   // the SP after the code
    kReason,
    kLineLf,  // CR of the status line seen
    kFieldStart,
    kFieldName,
    kValueLead,
    kValue,
    kFieldLf,
    kHeadLf,
    kDone,
    kError,
};

namespace {

enum Flag : uint16_t {
    kSeenLength = 1 << 0,
    kSeenTransferEncoding = 1 << 1,
    kChunked = 1 << 2,
    kConnectionClose = 1 << 3,
    kSeenUpgrade = 1 << 4,
    kSeenConnection = 1 << 5,
};

enum class Field : uint8_t {
    kOther,
    kContentLength,
    kTransferEncoding,
    kConnection,
    kKeepAlive,
    kUpgrade,
    kHop
};

Field classify(std::string_view name) noexcept {
    if (iequals(name, "content-length")) return Field::kContentLength;
    if (iequals(name, "transfer-encoding")) return Field::kTransferEncoding;
    if (iequals(name, "connection")) return Field::kConnection;
    if (iequals(name, "keep-alive")) return Field::kKeepAlive;
    if (iequals(name, "upgrade")) return Field::kUpgrade;
    if (iequals(name, "te") || iequals(name, "trailer") || istarts_with(name, "proxy-")) return Field::kHop;
    return Field::kOther;
}

// reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
constexpr bool reason_char(uint8_t c) noexcept {
    return has(c, kValueChar) || is_ows(c);
}

}  // namespace

ResponseParser::ResponseParser(const ResponseLimits& limits) noexcept : limits_(limits) {
    limits_.max_fields = std::min(limits_.max_fields, kMaxResponseFields);
}

void ResponseParser::reset(bool head_request) noexcept {
    pos_ = mark_ = name_end_ = value_start_ = value_end_ = head_length_ = 0;
    flags_ = 0;
    state_ = State::kVersion;
    index_ = 0;
    head_request_ = head_request;
    error_reason_ = "";
}

ParseResult ResponseParser::fail(const char* reason) noexcept {
    state_ = State::kError;
    error_reason_ = reason;
    return ParseResult::kError;
}

bool ResponseParser::reject(const char* reason) noexcept {
    fail(reason);
    return false;
}

ParseResult ResponseParser::parse_head(const char* buf, size_t len, ResponseHead& head) noexcept {
    if (state_ == State::kDone) return ParseResult::kDone;
    if (state_ == State::kError) return ParseResult::kError;
    if (pos_ == 0) {
        head.status = 0;
        head.version_minor = 1;
        head.reason = {};
        head.framing = BodyFraming::kNone;
        head.content_length = -1;
        head.keep_alive = head.upgrade = head.interim = false;
        head.keep_alive_timeout_s = -1;
        head.field_count = 0;
    }
    const auto end = static_cast<uint32_t>(std::min<size_t>(len, limits_.max_head));
    ParseResult r = ParseResult::kNeedMore;
    if (state_ < State::kFieldStart) r = parse_status_line(buf, end, head);
    if (r == ParseResult::kNeedMore && state_ >= State::kFieldStart) r = parse_fields(buf, end, head);
    if (r == ParseResult::kNeedMore && pos_ == limits_.max_head && len > pos_)
        return fail("response head too large");
    return r;
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF, nothing before it.
ParseResult ResponseParser::parse_status_line(const char* buf, uint32_t end, ResponseHead& head) noexcept {
    constexpr std::string_view kVersionPattern = "HTTP/1.";
    for (; pos_ < end; ++pos_) {
        const auto c = static_cast<uint8_t>(buf[pos_]);
        switch (state_) {
            case State::kVersion:
                if (index_ < kVersionPattern.size()) {
                    if (c != static_cast<uint8_t>(kVersionPattern[index_]))
                        return fail("invalid status line");
                    ++index_;
                    break;
                }
                if (!is_digit(c)) return fail("invalid HTTP version");
                head.version_minor = c == '0' ? 0 : 1;  // 1.2 and above speak 1.1 to us
                state_ = State::kVersionSp;
                index_ = 0;
                break;
            case State::kVersionSp:
                if (c != ' ') return fail("invalid status line");
                state_ = State::kStatus;
                break;
            case State::kStatus:
                if (!is_digit(c)) return fail("invalid status code");
                head.status = static_cast<uint16_t>(head.status * 10 + (c - '0'));
                if (++index_ == 3) state_ = State::kStatusSp;
                break;
            case State::kStatusSp:
                if (head.status < 100 || head.status > 599) return fail("invalid status code");
                if (c != ' ')
                    return fail(c == '\r' || c == '\n' ? "no SP after the status code"
                                                       : "invalid status code");
                head.reason.off = pos_ + 1;
                state_ = State::kReason;
                break;
            case State::kReason:
                if (reason_char(c)) break;
                if (c != '\r') return fail(c == '\n' ? "bare LF" : "invalid character in reason phrase");
                head.reason.len = pos_ - head.reason.off;
                state_ = State::kLineLf;
                break;
            case State::kLineLf:
                if (c != '\n') return fail("bare CR in status line");
                ++pos_;
                state_ = State::kFieldStart;
                return ParseResult::kNeedMore;
            default:
                return fail("internal: bad status line state");
        }
    }
    return ParseResult::kNeedMore;
}

ParseResult ResponseParser::parse_fields(const char* buf, uint32_t end, ResponseHead& head) noexcept {
    for (; pos_ < end; ++pos_) {
        const auto c = static_cast<uint8_t>(buf[pos_]);
        switch (state_) {
            case State::kFieldStart:
                if (c == '\r') {
                    state_ = State::kHeadLf;
                    break;
                }
                if (is_ows(c)) return fail("obsolete line folding");
                if (!has(c, kTchar)) return fail(c == '\n' ? "bare LF" : "invalid character in field name");
                if (head.field_count >= limits_.max_fields) return fail("too many header fields");
                mark_ = pos_;
                if (const FieldLine line = scan_field_line(buf, pos_, end); line.lf) [[likely]] {
                    name_end_ = line.name_end;
                    value_start_ = line.value_start;
                    value_end_ = line.value_end;
                    if (!on_field(buf, head)) return ParseResult::kError;
                    pos_ = line.lf;  // the loop steps past the LF; the state stays at a line's start
                    break;
                }
                state_ = State::kFieldName;
                [[fallthrough]];
            case State::kFieldName:
                if (has(c, kTchar)) {
                    pos_ = skip_token(buf, pos_ + 1, end) - 1;
                    break;
                }
                if (c != ':')
                    return fail(is_ows(c) ? "whitespace before colon" : "invalid character in field name");
                name_end_ = pos_;
                state_ = State::kValueLead;
                break;
            case State::kValueLead:
                if (is_ows(c)) break;
                value_start_ = value_end_ = pos_;
                state_ = State::kValue;
                [[fallthrough]];
            case State::kValue:
                if (has(c, kValueChar)) {
                    value_end_ = skip_visible<true>(buf, pos_ + 1, end);
                    pos_ = value_end_ - 1;
                    break;
                }
                if (is_ows(c)) break;
                if (c != '\r') return fail(c == '\n' ? "bare LF" : "invalid character in field value");
                state_ = State::kFieldLf;
                break;
            case State::kFieldLf:
                if (c != '\n') return fail("bare CR in header field");
                if (!on_field(buf, head)) return ParseResult::kError;
                state_ = State::kFieldStart;
                break;
            case State::kHeadLf:
                if (c != '\n') return fail("bare CR at end of head");
                head_length_ = ++pos_;
                return finish_head(buf, head);
            default:
                return fail("internal: bad field state");
        }
    }
    return ParseResult::kNeedMore;
}

bool ResponseParser::on_field(const char* buf, ResponseHead& head) noexcept {
    ResponseField& field = head.fields[head.field_count++];
    field.name = Span{mark_, name_end_ - mark_};
    field.value = Span{value_start_, value_end_ - value_start_};
    field.hop_by_hop = true;
    const std::string_view value = field.value.in(buf);
    switch (classify(field.name.in(buf))) {
        case Field::kContentLength:
            return on_content_length(value, head);
        case Field::kTransferEncoding:
            return on_transfer_encoding(value);
        case Field::kConnection:
            flags_ |= kSeenConnection;
            on_connection(value);
            return true;
        case Field::kKeepAlive:
            on_keep_alive(value, head);
            return true;
        case Field::kUpgrade:
            flags_ |= kSeenUpgrade;
            return true;  // end-to-end in a 101: finish_head
        case Field::kHop:
            return true;
        case Field::kOther:
            field.hop_by_hop = false;
            return true;
    }
    return true;
}

// Repeats of one length are tolerated (RFC 9110 8.6 allows that much); a different length, a
// list, a sign or anything but digits would let two parties frame the body differently.
bool ResponseParser::on_content_length(std::string_view value, ResponseHead& head) noexcept {
    if (value.empty()) return reject("empty Content-Length");
    int64_t n = 0;
    for (char ch : value) {
        const auto c = static_cast<uint8_t>(ch);
        if (!is_digit(c)) return reject("invalid Content-Length");
        if (n > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10)
            return reject("Content-Length overflow");
        n = n * 10 + (c - '0');
    }
    if ((flags_ & kSeenLength) && n != head.content_length) return reject("conflicting Content-Length");
    flags_ |= kSeenLength;
    head.content_length = n;
    return true;
}

// Only "chunked", once: the proxy re-frames the body for its client, so it cannot pass another
// coding through, and "gzip" without chunked would leave only the close to end the body.
bool ResponseParser::on_transfer_encoding(std::string_view value) noexcept {
    bool any = false;
    const bool ok = for_each_element(value, [&](std::string_view coding) {
        any = true;
        if (!iequals(coding, "chunked")) return reject("unsupported transfer coding");
        if (flags_ & kChunked) return reject("chunked applied twice");
        flags_ |= kChunked;
        return true;
    });
    if (!ok) return false;
    if (!any) return reject("empty Transfer-Encoding");
    flags_ |= kSeenTransferEncoding;
    return true;
}

void ResponseParser::on_connection(std::string_view value) noexcept {
    for_each_element(value, [this](std::string_view option) {
        if (iequals(option, "close")) flags_ |= kConnectionClose;
        return true;
    });
}

// Keep-Alive: timeout=5, max=100 (RFC 2068 19.7.1). Only timeout matters: the pool retires the
// connection before the upstream would. A malformed value is ignored, as the header is advisory.
void ResponseParser::on_keep_alive(std::string_view value, ResponseHead& head) noexcept {
    for_each_element(value, [&](std::string_view param) {
        if (!istarts_with(param, "timeout=")) return true;
        std::string_view digits = param.substr(8);
        int32_t n = 0;
        if (digits.empty() || digits.size() > 6) return true;
        for (char ch : digits) {
            if (!is_digit(static_cast<uint8_t>(ch))) return true;
            n = n * 10 + (ch - '0');
        }
        head.keep_alive_timeout_s = n;
        return false;
    });
}

// The fields a Connection line names are hop-by-hop too (RFC 9110 7.6.1). Bounded: at most
// max_fields Connection lines, each naming at most as many fields as there are.
void ResponseParser::mark_connection_options(const char* buf, ResponseHead& head) const noexcept {
    if (!(flags_ & kSeenConnection)) return;
    for (uint16_t i = 0; i < head.field_count; ++i) {
        const ResponseField& connection = head.fields[i];
        if (!iequals(connection.name.in(buf), "connection")) continue;
        for_each_element(connection.value.in(buf), [&](std::string_view option) {
            for (uint16_t j = 0; j < head.field_count; ++j)
                if (iequals_both(head.fields[j].name.in(buf), option)) head.fields[j].hop_by_hop = true;
            return true;
        });
    }
}

ParseResult ResponseParser::finish_head(const char* buf, ResponseHead& head) noexcept {
    const uint16_t status = head.status;
    const bool chunked = flags_ & kSeenTransferEncoding;
    if (chunked && (flags_ & kSeenLength)) return fail("both Content-Length and Transfer-Encoding");
    if (chunked && head.version_minor == 0) return fail("Transfer-Encoding in HTTP/1.0");
    const bool bodiless_status = status < 200 || status == 204;
    if (bodiless_status && (chunked || head.content_length > 0))
        return fail("body framing in a 1xx or 204 response");
    mark_connection_options(buf, head);
    state_ = State::kDone;
    if (status == 101) {
        if (!(flags_ & kSeenUpgrade)) return fail("101 without Upgrade");
        for (uint16_t i = 0; i < head.field_count; ++i)
            if (iequals(head.fields[i].name.in(buf), "upgrade")) head.fields[i].hop_by_hop = false;
        head.upgrade = true;
        return ParseResult::kDone;  // framing kNone, keep_alive false: the bytes after are the tunnel's
    }
    if (status < 200) {
        head.interim = true;
        return ParseResult::kDone;
    }
    if (head_request_ || status == 204 || status == 304) {
        head.framing = BodyFraming::kNone;
    } else if (chunked) {
        head.framing = BodyFraming::kChunked;
    } else if (flags_ & kSeenLength) {
        head.framing = BodyFraming::kLength;
    } else {
        head.framing = BodyFraming::kUntilClose;
    }
    head.keep_alive =
        head.version_minor == 1 && !(flags_ & kConnectionClose) && head.framing != BodyFraming::kUntilClose;
    return ParseResult::kDone;
}

}  // namespace portico::http::proxy

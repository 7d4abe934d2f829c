#include "response_parser.hpp"

#include <cstring>
#include <string_view>

namespace portico::bench {
namespace {

// RFC 9110 tchar: the bytes a header name may hold.
constexpr std::array<bool, 256> make_token_table() {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[static_cast<size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<size_t>(c)] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
    return table;
}
constexpr std::array<bool, 256> kToken = make_token_table();

constexpr bool is_token(char c) noexcept { return kToken[static_cast<unsigned char>(c)]; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// -1 when not a hex digit.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr std::string_view kContentLength = "content-length";
constexpr std::string_view kTransferEncoding = "transfer-encoding";
constexpr std::string_view kConnection = "connection";

// Whether a token equals `lower_name` (lower-case letters and '-') regardless of case. OR-ing
// 0x20 folds only upper-case letters onto those bytes, given that `name` holds token bytes.
bool same_name(const char* name, std::string_view lower_name) noexcept {
    for (size_t k = 0; k < lower_name.size(); ++k) {
        if ((name[k] | 0x20) != lower_name[k]) return false;
    }
    return true;
}

constexpr std::string_view kVersionPrefix = "HTTP/1.";
// "HTTP/1.1 200": the fast path takes it whole when all 12 bytes are at hand.
constexpr size_t kStatusPrefixBytes = 12;
// A chunk larger than this (2^48 bytes) is not a chunk, it is an overflow attempt.
constexpr uint64_t kMaxChunkSize = uint64_t{1} << 48;

}  // namespace

void ResponseParser::reset(bool head_request) noexcept {
    head_request_ = head_request;
    bytes_ = 0;
    start_response();
}

void ResponseParser::start_response() noexcept {
    state_ = State::kVersion;
    header_ = Header::kOther;
    http11_ = chunked_ = close_ = keep_alive_ = has_length_ = false;
    pos_ = name_len_ = value_len_ = 0;
    status_ = 0;
    length_ = remaining_ = 0;
}

ResponseParser::Result ResponseParser::feed(const char* data, size_t len, size_t& used) noexcept {
    size_t i = 0;
    while (i < len && state_ != State::kDone && state_ != State::kError) {
        if (state_ <= State::kHeadEndLf) {
            i = parse_head(data, i, len);
        } else if (state_ <= State::kUntilClose) {
            i = parse_body(data, i, len);
        } else {
            i = parse_chunked(data, i, len);
        }
    }
    bytes_ += i;
    used = i;
    if (state_ == State::kDone) return Result::kDone;
    return state_ == State::kError ? Result::kError : Result::kNeedMore;
}

bool ResponseParser::finish_at_eof() noexcept {
    if (state_ != State::kUntilClose) {
        return false;
    }
    state_ = State::kDone;
    return true;
}

bool ResponseParser::keep_alive() const noexcept {
    return !close_ && (http11_ || keep_alive_) && !delimited_by_close();
}

bool ResponseParser::delimited_by_close() const noexcept {
    const bool has_body = !(head_request_ || status_ == 204 || status_ == 304);
    return has_body && !chunked_ && !has_length_;
}

size_t ResponseParser::parse_head(const char* data, size_t i, size_t len) noexcept {
    while (i < len && state_ <= State::kHeadEndLf && state_ != State::kError) {
        const char c = data[i];
        switch (state_) {
            case State::kVersion:
                if (pos_ == 0 && len - i >= kStatusPrefixBytes && parse_status_prefix(data + i)) {
                    i += kStatusPrefixBytes;
                    break;
                }
                if (pos_ < kVersionPrefix.size()) {
                    state_ = c == kVersionPrefix[pos_] ? state_ : State::kError;
                } else if (pos_ == kVersionPrefix.size()) {
                    state_ = is_digit(c) ? state_ : State::kError;
                    http11_ = c != '0';
                } else {
                    state_ = c == ' ' ? State::kStatus : State::kError;
                    pos_ = 0;
                    ++i;
                    break;
                }
                ++pos_;
                ++i;
                break;
            case State::kStatus:
                // Three digits, the first 1..5.
                if (!is_digit(c) || (pos_ == 0 && (c < '1' || c > '5'))) {
                    state_ = State::kError;
                    break;
                }
                status_ = status_ * 10 + (c - '0');
                if (++pos_ == 3) state_ = State::kAfterStatus;
                ++i;
                break;
            case State::kAfterStatus:
                if (c == ' ' || c == '\r') state_ = State::kReason;
                else if (c == '\n') state_ = State::kHeaderStart;
                else state_ = State::kError;
                ++i;
                break;
            case State::kReason: {
                // Nothing in the reason phrase matters: jump to the end of the line.
                const void* lf = std::memchr(data + i, '\n', len - i);
                if (lf == nullptr) return len;
                i = static_cast<size_t>(static_cast<const char*>(lf) - data) + 1;
                state_ = State::kHeaderStart;
                break;
            }
            case State::kHeaderStart:
                if (is_token(c)) {
                    name_len_ = 0;
                    state_ = State::kName;
                    break;  // parse_name() takes it from this byte
                }
                if (c == '\r') state_ = State::kHeadEndLf;
                else if (c == '\n') end_of_head();
                else state_ = State::kError;  // includes obsolete line folding
                ++i;
                break;
            case State::kName: i = parse_name(data, i, len); break;
            case State::kValueStart:
                // Values of headers we ignore are skipped whole, leading spaces and all.
                if (header_ != Header::kOther && (c == ' ' || c == '\t')) {
                    ++i;
                } else {
                    state_ = State::kValue;
                }
                break;
            case State::kValue: i = parse_header_value(data, i, len); break;
            case State::kHeadEndLf:
                if (c == '\n') end_of_head();
                else state_ = State::kError;
                ++i;
                break;
            default: state_ = State::kError; break;
        }
    }
    // bytes_ counts what earlier feed() calls took of this response, all of it head so far.
    if (bytes_ + i > kMaxHeadBytes) {
        state_ = State::kError;
    }
    return i;
}

size_t ResponseParser::parse_header_value(const char* data, size_t i, size_t len) noexcept {
    if (header_ == Header::kOther) {
        const void* lf = std::memchr(data + i, '\n', len - i);
        if (lf == nullptr) return len;
        state_ = State::kHeaderStart;
        return static_cast<size_t>(static_cast<const char*>(lf) - data) + 1;
    }
    for (; i < len; ++i) {
        const char c = data[i];
        if (c == '\n') {
            end_header_line();
            return i + 1;
        }
        if (header_ != Header::kContentLength) {
            if (c != '\r' && value_len_ < kValueCap) value_[value_len_++] = lower(c);
        } else if (is_digit(c) && !value_ended_) {
            if (length_ > (UINT64_MAX - 9) / 10) {
                state_ = State::kError;
                return i;
            }
            length_ = length_ * 10 + static_cast<uint64_t>(c - '0');
            digit_seen_ = true;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            value_ended_ = digit_seen_;
        } else {
            state_ = State::kError;
            return i;
        }
    }
    return i;
}

bool ResponseParser::parse_status_prefix(const char* p) noexcept {
    // The common case in one step: "HTTP/1.x NNN" and the byte after it, all present.
    if (std::memcmp(p, kVersionPrefix.data(), kVersionPrefix.size()) != 0 || !is_digit(p[7]) || p[8] != ' ' ||
        p[9] < '1' || p[9] > '5' || !is_digit(p[10]) || !is_digit(p[11])) {
        return false;  // the byte-at-a-time path finds the error, or the odd form
    }
    http11_ = p[7] != '0';
    status_ = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    state_ = State::kAfterStatus;
    return true;
}

size_t ResponseParser::parse_name(const char* data, size_t i, size_t len) noexcept {
    size_t end = i;
    while (end < len && is_token(data[end])) ++end;
    const bool split = name_len_ != 0 || end == len;
    if (split) {
        // A name cut by the end of a read (rare): keep what fits; a longer one is marked by
        // kNameCap + 1 and can be none we look at.
        uint8_t n = name_len_;
        for (size_t k = i; k < end && n <= kNameCap; ++k, ++n) {
            if (n < kNameCap) name_[n] = data[k];
        }
        name_len_ = n;
    }
    if (end == len) return len;
    if (data[end] != ':') {
        state_ = State::kError;
        return end;
    }
    // The common case looks at the name where it lies, without copying it.
    if (split) classify_header(name_.data(), name_len_ <= kNameCap ? name_len_ : 0);
    else classify_header(data + i, end - i);
    state_ = State::kValueStart;
    return end + 1;
}

void ResponseParser::classify_header(const char* name, size_t n) noexcept {
    header_ = Header::kOther;
    value_len_ = 0;
    // Only three names matter, and their lengths differ: the length picks the one to compare.
    if (n == kContentLength.size() && same_name(name, kContentLength)) {
        header_ = Header::kContentLength;
        length_ = 0;
        digit_seen_ = value_ended_ = false;
    } else if (n == kTransferEncoding.size() && same_name(name, kTransferEncoding)) {
        header_ = Header::kTransferEncoding;
    } else if (n == kConnection.size() && same_name(name, kConnection)) {
        header_ = Header::kConnection;
    }
}

void ResponseParser::end_header_line() noexcept {
    const std::string_view value(value_.data(), value_len_);
    state_ = State::kHeaderStart;
    switch (header_) {
        case Header::kContentLength:
            if (!digit_seen_) state_ = State::kError;
            has_length_ = true;
            break;
        case Header::kTransferEncoding:
            chunked_ = chunked_ || value.find("chunked") != std::string_view::npos;
            break;
        case Header::kConnection:
            close_ = close_ || value.find("close") != std::string_view::npos;
            keep_alive_ = keep_alive_ || value.find("keep-alive") != std::string_view::npos;
            break;
        case Header::kOther: break;
    }
}

void ResponseParser::end_of_head() noexcept {
    if (status_ < 200) {
        // An interim response (100 Continue, 103 Early Hints): the real one follows.
        start_response();
        return;
    }
    if (head_request_ || status_ == 204 || status_ == 304) {
        state_ = State::kDone;
    } else if (chunked_) {
        length_ = 0;
        digit_seen_ = false;
        state_ = State::kChunkSize;
    } else if (delimited_by_close()) {
        state_ = State::kUntilClose;
    } else {
        remaining_ = length_;
        state_ = length_ == 0 ? State::kDone : State::kBody;
    }
}

size_t ResponseParser::parse_body(const char* data, size_t i, size_t len) noexcept {
    (void)data;
    if (state_ == State::kUntilClose) {
        return len;
    }
    const uint64_t n = std::min<uint64_t>(remaining_, len - i);
    remaining_ -= n;
    if (remaining_ == 0) state_ = State::kDone;
    return i + static_cast<size_t>(n);
}

size_t ResponseParser::parse_chunked(const char* data, size_t i, size_t len) noexcept {
    while (i < len && state_ != State::kDone && state_ != State::kError) {
        const char c = data[i];
        switch (state_) {
            case State::kChunkSize: i = parse_chunk_size(data, i, len); break;
            case State::kChunkExt:
            case State::kTrailerLine: {
                const void* lf = std::memchr(data + i, '\n', len - i);
                if (lf == nullptr) return len;
                i = static_cast<size_t>(static_cast<const char*>(lf) - data) + 1;
                if (state_ == State::kChunkExt) end_chunk_size();
                else state_ = State::kTrailer;
                break;
            }
            case State::kChunkSizeLf:
                if (c == '\n') end_chunk_size();
                else state_ = State::kError;
                ++i;
                break;
            case State::kChunkData: {
                const uint64_t n = std::min<uint64_t>(remaining_, len - i);
                remaining_ -= n;
                i += static_cast<size_t>(n);
                if (remaining_ == 0) state_ = State::kChunkDataCr;
                break;
            }
            case State::kChunkDataCr:
            case State::kChunkDataLf:
                if (c == '\n') {
                    length_ = 0;
                    digit_seen_ = false;
                    state_ = State::kChunkSize;
                } else {
                    state_ =
                        (c == '\r' && state_ == State::kChunkDataCr) ? State::kChunkDataLf : State::kError;
                }
                ++i;
                break;
            case State::kTrailer:
                if (c == '\r') state_ = State::kTrailerEndLf;
                else if (c == '\n') state_ = State::kDone;
                else state_ = State::kTrailerLine;
                ++i;
                break;
            case State::kTrailerEndLf:
                state_ = c == '\n' ? State::kDone : State::kError;
                ++i;
                break;
            default: state_ = State::kError; break;
        }
    }
    return i;
}

size_t ResponseParser::parse_chunk_size(const char* data, size_t i, size_t len) noexcept {
    for (; i < len; ++i) {
        const char c = data[i];
        const int v = hex_value(c);
        if (v >= 0) {
            if (length_ >= kMaxChunkSize) {
                state_ = State::kError;
                return i;
            }
            length_ = length_ * 16 + static_cast<uint64_t>(v);
            digit_seen_ = true;
            continue;
        }
        if (c == ';' || c == ' ' || c == '\t') state_ = State::kChunkExt;
        else if (c == '\r') state_ = State::kChunkSizeLf;
        else if (c == '\n') end_chunk_size();
        else state_ = State::kError;
        return i + 1;
    }
    return i;
}

void ResponseParser::end_chunk_size() noexcept {
    if (!digit_seen_) {
        state_ = State::kError;
    } else if (length_ == 0) {
        state_ = State::kTrailer;
    } else {
        remaining_ = length_;
        state_ = State::kChunkData;
    }
}

}  // namespace portico::bench

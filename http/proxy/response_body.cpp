#include "http/proxy/response_body.hpp"

#include <algorithm>
#include <string_view>

namespace portico::http::proxy {

void ResponseBody::start(const ResponseHead& head) noexcept {
    start(head.framing, head.content_length);
}

void ResponseBody::start(BodyFraming framing, int64_t content_length) noexcept {
    body_bytes_ = 0;
    left_ = 0;
    error_reason_ = "";
    switch (framing) {
        case BodyFraming::kNone:
            state_ = State::kDone;
            break;
        case BodyFraming::kLength:
            left_ = content_length > 0 ? static_cast<uint64_t>(content_length) : 0;
            state_ = left_ == 0 ? State::kDone : State::kLength;
            break;
        case BodyFraming::kChunked:
            chunked_ = ChunkedDecoder();  // no size limit: the body streams through, it is not kept
            state_ = State::kChunked;
            break;
        case BodyFraming::kUntilClose:
            state_ = State::kUntilClose;
            break;
    }
}

ParseResult ResponseBody::fail(const char* reason) noexcept {
    state_ = State::kError;
    error_reason_ = reason;
    return ParseResult::kError;
}

ParseResult ResponseBody::feed(const char* data, size_t len, Piece& piece) noexcept {
    piece = Piece{};
    switch (state_) {
        case State::kDone:
            return ParseResult::kDone;
        case State::kError:
            return ParseResult::kError;
        case State::kLength: {
            const auto n = static_cast<size_t>(std::min<uint64_t>(len, left_));
            piece = Piece{n, 0, n};
            left_ -= n;
            body_bytes_ += n;
            if (left_ != 0) return ParseResult::kNeedMore;
            state_ = State::kDone;
            return ParseResult::kDone;
        }
        case State::kUntilClose:
            piece = Piece{len, 0, len};
            body_bytes_ += len;
            return ParseResult::kNeedMore;
        case State::kChunked: {
            std::string_view run;
            const ParseResult r = chunked_.parse(data, len, piece.consumed, &run);
            piece.off = run.empty() ? 0 : static_cast<size_t>(run.data() - data);
            piece.len = run.size();
            body_bytes_ = chunked_.body_bytes();
            if (r == ParseResult::kError) return fail(chunked_.error_reason());
            if (r == ParseResult::kDone) state_ = State::kDone;
            return r;
        }
    }
    return fail("internal: bad body state");
}

ParseResult ResponseBody::finish_at_eof() noexcept {
    switch (state_) {
        case State::kDone:
            return ParseResult::kDone;
        case State::kUntilClose:
            state_ = State::kDone;
            return ParseResult::kDone;
        case State::kLength:
            return fail("upstream closed before the end of a Content-Length body");
        case State::kChunked:
            return fail("upstream closed before the end of a chunked body");
        case State::kError:
            return ParseResult::kError;
    }
    return ParseResult::kError;
}

}  // namespace portico::http::proxy

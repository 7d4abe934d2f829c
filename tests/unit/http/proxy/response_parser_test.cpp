// Tests for the upstream response head parser and the response body framer: tables of heads and
// bodies, each fed whole, split in two at every point, and byte by byte.

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "http/proxy/response_body.hpp"
#include "http/proxy/response_parser.hpp"

using namespace portico::http;
using namespace portico::http::proxy;

namespace {

struct HeadCase {
    const char* what;
    std::string input;
    bool head_request = false;
    ParseResult result = ParseResult::kDone;
    uint16_t status = 200;
    BodyFraming framing = BodyFraming::kNone;
    int64_t content_length = -1;
    bool keep_alive = false;
    const char* error = "";  // expected error_reason() for kError
};

const std::string kEnd = "\r\n";

std::vector<HeadCase> head_cases() {
    using B = BodyFraming;
    const auto done = ParseResult::kDone;
    const auto err = ParseResult::kError;
    const auto more = ParseResult::kNeedMore;
    return {
        {"length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, done, 200, B::kLength, 12, true},
        {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, done, 200, B::kChunked,
         -1, true},
        {"chunked, any case", "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n", false, done, 200,
         B::kChunked, -1, true},
        {"until close", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", false, done, 200, B::kUntilClose, -1, false},
        {"empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, done, 404, B::kLength, 0, true},
        {"reason with spaces", "HTTP/1.1 503 Service  Unavailable\r\nContent-Length: 1\r\n\r\n", false, done,
         503, B::kLength, 1, true},
        {"HEAD ignores the length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, done, 200,
         B::kNone, 99, true},
        {"HEAD ignores chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, done, 200,
         B::kNone, -1, true},
        {"204", "HTTP/1.1 204 No Content\r\n\r\n", false, done, 204, B::kNone, -1, true},
        {"204 with length 0", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", false, done, 204,
         B::kNone, 0, true},
        {"304 keeps its length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", false, done, 304,
         B::kNone, 5, true},
        {"100 is interim", "HTTP/1.1 100 Continue\r\n\r\n", false, done, 100, B::kNone, -1, false},
        {"HTTP/1.0 never keeps alive",
         "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", false, done, 200,
         B::kLength, 1, false},
        {"Connection: close", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: foo, close\r\n\r\n", false,
         done, 200, B::kLength, 1, false},
        {"HTTP/1.2 speaks 1.1", "HTTP/1.2 200 OK\r\nContent-Length: 1\r\n\r\n", false, done, 200, B::kLength,
         1, true},
        {"repeated equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", false,
         done, 200, B::kLength, 3, true},
        {"OWS around values", "HTTP/1.1 200 OK\r\nContent-Length: \t 7 \t\r\n\r\n", false, done, 200,
         B::kLength, 7, true},
        {"unfinished", "HTTP/1.1 200 OK\r\nContent-Len", false, more, 200},
        // Errors: each is a 502 and the upstream connection is closed.
        {"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false,
         err, 200, B::kNone, -1, false, "both Content-Length and Transfer-Encoding"},
        {"TE and CL on HEAD too",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", true, err, 200,
         B::kNone, -1, false, "both Content-Length and Transfer-Encoding"},
        {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", false,
         err, 200, B::kNone, -1, false, "conflicting Content-Length"},
        {"length list", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", false, err, 200, B::kNone, -1,
         false, "invalid Content-Length"},
        {"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n", false, err, 200, B::kNone, -1,
         false, "invalid Content-Length"},
        {"empty length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", false, err, 200, B::kNone, -1, false,
         "empty Content-Length"},
        {"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false, err, 200,
         B::kNone, -1, false, "Content-Length overflow"},
        {"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, err, 200, B::kNone, -1,
         false, "unsupported transfer coding"},
        {"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, err, 200,
         B::kNone, -1, false, "unsupported transfer coding"},
        {"chunked twice",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", false, err,
         200, B::kNone, -1, false, "chunked applied twice"},
        {"chunked with a parameter", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", false, err,
         200, B::kNone, -1, false, "unsupported transfer coding"},
        {"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, err, 200, B::kNone,
         -1, false, "Transfer-Encoding in HTTP/1.0"},
        {"204 with a body", "HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n", false, err, 204, B::kNone,
         -1, false, "body framing in a 1xx or 204 response"},
        {"obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", false, err, 200, B::kNone, -1, false,
         "obsolete line folding"},
        {"bare LF in a field", "HTTP/1.1 200 OK\r\nX-A: 1\n\r\n", false, err, 200, B::kNone, -1, false,
         "bare LF"},
        {"bare LF after status line", "HTTP/1.1 200 OK\n\r\n", false, err, 200, B::kNone, -1, false,
         "bare LF"},
        {"bare CR", "HTTP/1.1 200 OK\r\nX-A: 1\rX\r\n\r\n", false, err, 200, B::kNone, -1, false,
         "bare CR in header field"},
        {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n", false, err, 200, B::kNone, -1,
         false, "whitespace before colon"},
        {"no SP after code", "HTTP/1.1 200\r\n\r\n", false, err, 200, B::kNone, -1, false,
         "no SP after the status code"},
        {"two-digit code", "HTTP/1.1 20 OK\r\n\r\n", false, err, 20, B::kNone, -1, false,
         "invalid status code"},
        {"code 099", "HTTP/1.1 099 X\r\n\r\n", false, err, 99, B::kNone, -1, false, "invalid status code"},
        {"code 600", "HTTP/1.1 600 X\r\n\r\n", false, err, 600, B::kNone, -1, false, "invalid status code"},
        {"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", false, err, 0, B::kNone, -1, false, "invalid status line"},
        {"lower-case http", "http/1.1 200 OK\r\n\r\n", false, err, 0, B::kNone, -1, false,
         "invalid status line"},
        {"leading CRLF", "\r\nHTTP/1.1 200 OK\r\n\r\n", false, err, 0, B::kNone, -1, false,
         "invalid status line"},
        {"control in reason", std::string("HTTP/1.1 200 O\x01K\r\n\r\n"), false, err, 200, B::kNone, -1,
         false, "invalid character in reason phrase"},
        {"NUL in value", std::string("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 26), false, err, 200, B::kNone, -1,
         false, "invalid character in field value"},
        {"101 without Upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n", false, err,
         101, B::kNone, -1, false, "101 without Upgrade"},
    };
}

ParseResult parse_in_pieces(const std::string& input, size_t split, bool head_request, ResponseHead& head,
                            ResponseParser& parser) {
    parser.reset(head_request);
    ParseResult r = parser.parse_head(input.data(), split, head);
    if (r != ParseResult::kNeedMore) return r;
    return parser.parse_head(input.data(), input.size(), head);
}

void check_case(const HeadCase& c, ParseResult r, const ResponseHead& head, const ResponseParser& parser) {
    REQUIRE(r == c.result);
    if (r == ParseResult::kError) {
        CHECK(std::string_view(parser.error_reason()) == c.error);
        return;
    }
    if (r != ParseResult::kDone) return;
    CHECK(parser.head_length() == c.input.size());
    CHECK(head.status == c.status);
    CHECK(head.framing == c.framing);
    CHECK(head.content_length == c.content_length);
    CHECK(head.keep_alive == c.keep_alive);
    CHECK(head.interim == (c.status < 200 && c.status != 101));
}

}  // namespace

TEST_CASE("proxy response parser: the table, whole and at every split point", "[proxy]") {
    for (const HeadCase& c : head_cases()) {
        INFO(c.what);
        for (size_t split = 0; split <= c.input.size(); ++split) {
            INFO("split at " << split);
            ResponseHead head;
            ResponseParser parser;
            const ParseResult r = parse_in_pieces(c.input, split, c.head_request, head, parser);
            check_case(c, r, head, parser);
        }
    }
}

TEST_CASE("proxy response parser: the table, byte by byte", "[proxy]") {
    for (const HeadCase& c : head_cases()) {
        INFO(c.what);
        ResponseHead head;
        ResponseParser parser;
        parser.reset(c.head_request);
        ParseResult r = ParseResult::kNeedMore;
        for (size_t n = 1; n <= c.input.size() && r == ParseResult::kNeedMore; ++n)
            r = parser.parse_head(c.input.data(), n, head);
        check_case(c, r, head, parser);
    }
}

TEST_CASE("proxy response parser: fields come out as spans, hop-by-hop ones marked", "[proxy]") {
    const std::string input =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/html\r\n"
        "Connection: X-Private, keep-alive\r\n"
        "Keep-Alive: max=100, timeout=5\r\n"
        "X-Private: secret\r\n"
        "Set-Cookie: a=1\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Trailer: X-Sum\r\n"
        "Proxy-Authenticate: Basic\r\n"
        "Upgrade: h2c\r\n"
        "Set-Cookie: b=2\r\n"
        "\r\n";
    ResponseParser parser;
    ResponseHead head;
    parser.reset(false);
    REQUIRE(parser.parse_head(input.data(), input.size(), head) == ParseResult::kDone);
    CHECK(head.reason.in(input.data()) == "OK");
    CHECK(head.keep_alive_timeout_s == 5);
    REQUIRE(head.field_count == 10);
    std::vector<std::string> kept;
    for (uint16_t i = 0; i < head.field_count; ++i) {
        const ResponseField& f = head.fields[i];
        if (!f.hop_by_hop)
            kept.push_back(std::string(f.name.in(input.data())) + "=" +
                           std::string(f.value.in(input.data())));
    }
    CHECK(kept == std::vector<std::string>{"Content-Type=text/html", "Set-Cookie=a=1", "Set-Cookie=b=2"});
}

TEST_CASE("proxy response parser: 101 is an upgrade that keeps its Upgrade field", "[proxy]") {
    const std::string input =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: abc\r\n\r\n\x81\x05hello";
    ResponseParser parser;
    ResponseHead head;
    parser.reset(false);
    REQUIRE(parser.parse_head(input.data(), input.size(), head) == ParseResult::kDone);
    CHECK(head.upgrade);
    CHECK_FALSE(head.keep_alive);
    CHECK(head.framing == BodyFraming::kNone);
    CHECK(input.substr(parser.head_length()) == "\x81\x05hello");
    CHECK_FALSE(head.fields[0].hop_by_hop);  // Upgrade goes to the client
    CHECK(head.fields[1].hop_by_hop);        // Connection does not
    CHECK_FALSE(head.fields[2].hop_by_hop);
}

TEST_CASE("proxy response parser: an interim 100 is followed by the final head", "[proxy]") {
    const std::string input =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    ResponseParser parser;
    ResponseHead head;
    parser.reset(false);
    REQUIRE(parser.parse_head(input.data(), input.size(), head) == ParseResult::kDone);
    CHECK(head.interim);
    const size_t next = parser.head_length();
    parser.reset(false);
    REQUIRE(parser.parse_head(input.data() + next, input.size() - next, head) == ParseResult::kDone);
    CHECK(head.status == 201);
    CHECK_FALSE(head.interim);
    CHECK(head.content_length == 2);
}

TEST_CASE("proxy response parser: limits on the head's size and its fields", "[proxy]") {
    std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n";
    ResponseParser small({256, 100});
    ResponseHead head;
    small.reset(false);
    CHECK(small.parse_head(big.data(), big.size(), head) == ParseResult::kError);
    CHECK(std::string_view(small.error_reason()) == "response head too large");
    // Exactly at the limit is fine.
    std::string fits = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    ResponseParser exact({static_cast<uint32_t>(fits.size()), 100});
    exact.reset(false);
    CHECK(exact.parse_head(fits.data(), fits.size() + 0, head) == ParseResult::kDone);

    std::string many = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 5; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    many += "\r\n";
    ResponseParser few({16384, 4});
    few.reset(false);
    CHECK(few.parse_head(many.data(), many.size(), head) == ParseResult::kError);
    CHECK(std::string_view(few.error_reason()) == "too many header fields");
}

// ---- body ------------------------------------------------------------------------------------

namespace {

struct BodyCase {
    const char* what;
    BodyFraming framing;
    int64_t length;
    std::string input;
    ParseResult result;  // after all the input
    std::string data;    // the body's data, decoded
    size_t consumed;     // of the input, when kDone
};

std::vector<BodyCase> body_cases() {
    using B = BodyFraming;
    const auto done = ParseResult::kDone;
    const auto more = ParseResult::kNeedMore;
    const auto err = ParseResult::kError;
    return {
        {"length", B::kLength, 5, "hello", done, "hello", 5},
        {"length, more follows", B::kLength, 5, "helloHTTP/1.1", done, "hello", 5},
        {"length, short", B::kLength, 8, "hello", more, "hello", 5},
        {"length 0", B::kLength, 0, "x", done, "", 0},
        {"none", B::kNone, -1, "x", done, "", 0},
        {"until close", B::kUntilClose, -1, "all of it", more, "all of it", 9},
        {"chunked", B::kChunked, -1, "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n", done, "hello world", 30},
        {"chunked, trailer and extra", B::kChunked, -1, "3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\nnext", done, "abc",
         23},
        {"chunked, unfinished", B::kChunked, -1, "a\r\n01234", more, "01234", 8},
        {"chunked, bad size", B::kChunked, -1, "zz\r\n", err, "", 0},
        {"chunked, no CRLF after data", B::kChunked, -1, "1\r\nab\r\n", err, "a", 0},
    };
}

// Feeds `input` in two calls split at `split`, looping over each call's pieces; returns the data.
ParseResult feed_split(ResponseBody& body, const std::string& input, size_t split, std::string& data,
                       size_t& consumed) {
    ParseResult r = ParseResult::kNeedMore;
    consumed = 0;
    for (size_t limit : {split, input.size()}) {
        while (r == ParseResult::kNeedMore && consumed < limit) {
            ResponseBody::Piece piece;
            r = body.feed(input.data() + consumed, limit - consumed, piece);
            REQUIRE(piece.consumed <= limit - consumed);
            REQUIRE(piece.off + piece.len <= piece.consumed);
            data.append(input, consumed + piece.off, piece.len);
            consumed += piece.consumed;
            if (r == ParseResult::kNeedMore && piece.consumed == 0) break;
        }
    }
    return r;
}

}  // namespace

TEST_CASE("proxy response body: the table, at every split point", "[proxy]") {
    for (const BodyCase& c : body_cases()) {
        INFO(c.what);
        for (size_t split = 0; split <= c.input.size(); ++split) {
            INFO("split at " << split);
            ResponseBody body;
            body.start(c.framing, c.length);
            std::string data;
            size_t consumed = 0;
            const ParseResult r = feed_split(body, c.input, split, data, consumed);
            CHECK(r == c.result);
            if (r == ParseResult::kError) continue;
            CHECK(data == c.data);
            CHECK(body.body_bytes() == c.data.size());
            CHECK(consumed == c.consumed);
        }
    }
}

TEST_CASE("proxy response body: the upstream's close ends only a close-delimited body", "[proxy]") {
    ResponseBody body;
    body.start(BodyFraming::kUntilClose, -1);
    CHECK(body.finish_at_eof() == ParseResult::kDone);
    CHECK(body.done());

    body.start(BodyFraming::kLength, 10);
    ResponseBody::Piece piece;
    CHECK(body.feed("abc", 3, piece) == ParseResult::kNeedMore);
    CHECK(body.finish_at_eof() == ParseResult::kError);
    CHECK_THAT(body.error_reason(), Catch::Matchers::Contains("Content-Length"));

    body.start(BodyFraming::kChunked, -1);
    CHECK(body.finish_at_eof() == ParseResult::kError);
    CHECK_THAT(body.error_reason(), Catch::Matchers::Contains("chunked"));

    body.start(BodyFraming::kNone, -1);
    CHECK(body.finish_at_eof() == ParseResult::kDone);
}

TEST_CASE("proxy response body: a start from the head picks the framing", "[proxy]") {
    ResponseHead head;
    head.framing = BodyFraming::kLength;
    head.content_length = 2;
    ResponseBody body;
    body.start(head);
    ResponseBody::Piece piece;
    CHECK(body.feed("okX", 3, piece) == ParseResult::kDone);
    CHECK(piece.len == 2);
    CHECK(piece.consumed == 2);
}

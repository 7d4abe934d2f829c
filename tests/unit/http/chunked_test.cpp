// ChunkedDecoder on its own: the contract around kDone and kError, the limits, and that the
// grammar cases give the reason a log line will show. (The grammar itself is tabled, whole and
// at every split, in parser_test.cpp, through RequestParser.)

#include "http/chunked.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace {

using portico::http::ChunkedDecoder;
using portico::http::ParseResult;

struct Fed {
    ParseResult result;
    size_t consumed;
};

Fed feed(ChunkedDecoder& d, std::string_view bytes) {
    size_t consumed = 12345;
    const ParseResult r = d.parse(bytes.data(), bytes.size(), consumed);
    return {r, consumed};
}

}  // namespace

TEST_CASE("ChunkedDecoder stops at the end of the body and stays done", "[chunked]") {
    ChunkedDecoder d;
    const std::string body = "3;a=\"b\"\r\nabc\r\n0\r\nT: v\r\n\r\n";
    const Fed f = feed(d, body + "GET /next");
    CHECK(f.result == ParseResult::kDone);
    CHECK(f.consumed == body.size());  // the next request is left alone
    CHECK(d.body_bytes() == 3);
    const Fed again = feed(d, "more");
    CHECK(again.result == ParseResult::kDone);
    CHECK(again.consumed == 0);
}

TEST_CASE("ChunkedDecoder needs more until the final CRLF", "[chunked]") {
    ChunkedDecoder d;
    for (std::string_view piece : {"5;ext", "=\"q\"\r\nhel", "lo\r\n0", "\r\n", "X: y\r\n"}) {
        const Fed f = feed(d, piece);
        CHECK(f.result == ParseResult::kNeedMore);
        CHECK(f.consumed == piece.size());
    }
    CHECK(feed(d, "\r\n").result == ParseResult::kDone);
    CHECK(d.body_bytes() == 5);
}

TEST_CASE("ChunkedDecoder errors are sticky and say why", "[chunked]") {
    struct Case {
        std::string_view input;
        uint16_t status;
        std::string_view reason;
    };
    const Case c = GENERATE(values<Case>({
        {"2;\r\n", 400, "empty chunk extension"},
        {"5;ilo=\"ve\r\n", 400, "unterminated quoted string in chunk extension"},
        {"5;a=b \r\n", 400, "whitespace at the end of a chunk size line"},
        {"5;a=\r\n", 400, "invalid chunk extension value"},
        {"11111111111111111\r\n", 400, "chunk size too long"},
        {"ffffffffffffffff\r\n", 413, "chunked body over the limit"},
        {"0\r\n \r\n", 400, "obsolete line folding in trailer"},
    }));
    CAPTURE(c.input);
    ChunkedDecoder d(1000);
    CHECK(feed(d, c.input).result == ParseResult::kError);
    CHECK(d.error_status() == c.status);
    CHECK(std::string_view(d.error_reason()) == c.reason);
    CHECK(feed(d, "0\r\n\r\n").result == ParseResult::kError);
}

TEST_CASE("ChunkedDecoder without a limit takes any size that fits 64 bits", "[chunked]") {
    ChunkedDecoder d(0);
    CHECK(feed(d, "ffffffffffffffff\r\nabc").result == ParseResult::kNeedMore);
    CHECK(d.body_bytes() == 3);
    ChunkedDecoder limited(2);
    CHECK(feed(limited, "3\r\n").result == ParseResult::kError);
    CHECK(limited.error_status() == 413);
}

TEST_CASE("chunked: with a piece pointer, the data runs come out in order, whatever the split") {
    const std::string body = "5;name=val\r\nhello\r\n1\r\n \r\nb\r\nhello world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    for (size_t split = 0; split <= body.size(); ++split) {
        portico::http::ChunkedDecoder d;
        std::string data;
        size_t pos = 0;
        portico::http::ParseResult r = portico::http::ParseResult::kNeedMore;
        for (size_t end : {split, body.size()}) {
            while (pos < end && r == portico::http::ParseResult::kNeedMore) {
                size_t used = 0;
                std::string_view piece;
                r = d.parse(body.data() + pos, end - pos, used, &piece);
                data.append(piece);
                pos += used;
                if (used == 0) break;
            }
        }
        INFO("split at " << split);
        CHECK(r == portico::http::ParseResult::kDone);
        CHECK(data == "hello hello world");
        CHECK(body.substr(pos) == "NEXT");
    }
}

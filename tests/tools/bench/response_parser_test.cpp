// ResponseParser, table-driven: every case fed whole, split at every point, and byte by byte,
// each time from a buffer that ends right before an unreadable page, so an over-read crashes.

#include "response_parser.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

using portico::bench::ResponseParser;
using Result = ResponseParser::Result;

namespace {

// Holds `text` so that its last byte is the last readable byte before a PROT_NONE page.
class GuardedBuffer {
public:
    explicit GuardedBuffer(const std::string& text) {
        const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        pages_ = (text.size() + page - 1) / page * page + page;
        base_ = static_cast<char*>(
            mmap(nullptr, pages_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        mprotect(base_ + pages_ - page, page, PROT_NONE);
        data_ = base_ + pages_ - page - text.size();
        std::memcpy(data_, text.data(), text.size());
    }
    ~GuardedBuffer() { munmap(base_, pages_); }
    GuardedBuffer(const GuardedBuffer&) = delete;
    GuardedBuffer& operator=(const GuardedBuffer&) = delete;
    [[nodiscard]] const char* data() const { return data_; }

private:
    char* base_ = nullptr;
    char* data_ = nullptr;
    size_t pages_ = 0;
};

struct Outcome {
    Result result = Result::kNeedMore;
    size_t used = 0;
    int status = 0;
    bool keep_alive = false;
    uint64_t bytes = 0;
    bool operator==(const Outcome&) const = default;
};

// Feeds `text` in the pieces given by `cuts` (positions), stopping at the first kDone/kError.
Outcome feed_in_pieces(const std::string& text, bool head, const std::vector<size_t>& cuts) {
    GuardedBuffer buffer(text);
    ResponseParser parser;
    parser.reset(head);
    Outcome out;
    size_t from = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(text.size());
    for (size_t to : ends) {
        if (to <= from) continue;
        size_t used = 0;
        out.result = parser.feed(buffer.data() + from, to - from, used);
        out.used += used;
        from = to;
        if (out.result != Result::kNeedMore) break;
    }
    out.status = parser.status();
    out.keep_alive = out.result == Result::kDone && parser.keep_alive();
    out.bytes = parser.bytes();
    return out;
}

struct Case {
    const char* name;
    std::string text;
    bool head;
    Result result;
    int status;       // checked when result is kDone
    size_t used;      // checked when result is kDone; 0 means "all of text"
    bool keep_alive;  // checked when result is kDone
};

std::vector<Case> cases() {
    const std::string big_head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'x') + "\r\n\r\n";
    return {
        {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello", false,
         Result::kDone, 200, 0, true},
        {"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, Result::kDone, 200, 0, true},
        {"mixed case names, spaces", "HTTP/1.1 201 Created\r\ncontent-LENGTH:   3  \r\n\r\nabc", false,
         Result::kDone, 201, 0, true},
        {"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", false, Result::kDone, 200, 0,
         true},
        {"bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, Result::kDone, 200, 0, true},
        {"chunked",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
         "chunked\r\n\r\n5;a=b\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
         false, Result::kDone, 200, 0, true},
        {"chunked with trailer",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
         false, Result::kDone, 200, 0, true},
        {"chunked wins over length",
         "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false,
         Result::kDone, 200, 0, true},
        {"HEAD ignores the length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, Result::kDone,
         200, 0, true},
        {"204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, Result::kDone,
         204, 0, true},
        {"304 has no body", "HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", false, Result::kDone, 304, 0,
         true},
        {"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false,
         Result::kDone, 200, 0, false},
        {"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, Result::kDone, 200, 0,
         false},
        {"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
         false, Result::kDone, 200, 0, true},
        {"100 continue skipped",
         "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx", false,
         Result::kDone, 404, 0, true},
        {"pipelined: stops at the end of the first",
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", false, Result::kDone, 200, 40,
         true},
        {"body until close", "HTTP/1.1 200 OK\r\nServer: old\r\n\r\nsome body", false, Result::kNeedMore, 0,
         0, false},
        {"incomplete head", "HTTP/1.1 200 OK\r\nContent-Len", false, Result::kNeedMore, 0, 0, false},
        {"incomplete body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", false, Result::kNeedMore, 0,
         0, false},
        {"garbage", "this is not HTTP\r\n\r\n", false, Result::kError, 0, 0, false},
        {"HTTP/2", "HTTP/2 200\r\n\r\n", false, Result::kError, 0, 0, false},
        {"status too small", "HTTP/1.1 099 x\r\n\r\n", false, Result::kError, 0, 0, false},
        {"status too big", "HTTP/1.1 600 x\r\n\r\n", false, Result::kError, 0, 0, false},
        {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", false, Result::kError, 0, 0, false},
        {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", false, Result::kError, 0, 0, false},
        {"empty length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", false, Result::kError, 0, 0, false},
        {"two numbers in length", "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", false, Result::kError, 0,
         0, false},
        {"length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false,
         Result::kError, 0, 0, false},
        {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", false, Result::kError, 0, 0,
         false},
        {"folded header", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, Result::kError, 0, 0, false},
        {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
         Result::kError, 0, 0, false},
        {"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", false,
         Result::kError, 0, 0, false},
        {"huge chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", false,
         Result::kError, 0, 0, false},
        {"head too large", big_head, false, Result::kError, 0, 0, false},
    };
}

}  // namespace

TEST_CASE("response parser: whole, split in two anywhere, and byte by byte", "[bench][parser]") {
    for (const Case& c : cases()) {
        INFO(c.name);
        const Outcome whole = feed_in_pieces(c.text, c.head, {});
        CHECK(whole.result == c.result);
        if (c.result == Result::kDone) {
            CHECK(whole.status == c.status);
            CHECK(whole.used == (c.used == 0 ? c.text.size() : c.used));
            CHECK(whole.bytes == whole.used);
            CHECK(whole.keep_alive == c.keep_alive);
        }
        // A byte-by-byte run of a 70 KiB head is slow and adds nothing; cut it short.
        if (c.text.size() > 4096) continue;
        for (size_t cut = 1; cut < c.text.size(); ++cut) {
            INFO("split at " << cut);
            const Outcome split = feed_in_pieces(c.text, c.head, {cut});
            CHECK(split.result == whole.result);
            if (whole.result == Result::kDone) CHECK(split == whole);
        }
        std::vector<size_t> every;
        for (size_t i = 1; i < c.text.size(); ++i) every.push_back(i);
        const Outcome bytewise = feed_in_pieces(c.text, c.head, every);
        CHECK(bytewise.result == whole.result);
        if (whole.result == Result::kDone) CHECK(bytewise == whole);
    }
}

TEST_CASE("response parser: a body delimited by close ends at EOF", "[bench][parser]") {
    ResponseParser parser;
    parser.reset(false);
    const std::string text = "HTTP/1.1 200 OK\r\n\r\nbody bytes";
    size_t used = 0;
    REQUIRE(parser.feed(text.data(), text.size(), used) == Result::kNeedMore);
    CHECK(parser.finish_at_eof());
    CHECK_FALSE(parser.keep_alive());
    CHECK(parser.bytes() == text.size());
}

TEST_CASE("response parser: EOF inside a framed body is not a completion", "[bench][parser]") {
    ResponseParser parser;
    parser.reset(false);
    const std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nbody";
    size_t used = 0;
    REQUIRE(parser.feed(text.data(), text.size(), used) == Result::kNeedMore);
    CHECK_FALSE(parser.finish_at_eof());
}

TEST_CASE("response parser: reset() readies it for the next response", "[bench][parser]") {
    ResponseParser parser;
    const std::string a = "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx";
    const std::string b = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    size_t used = 0;
    parser.reset(false);
    REQUIRE(parser.feed(a.data(), a.size(), used) == Result::kDone);
    CHECK(parser.status() == 404);
    parser.reset(false);
    REQUIRE(parser.feed(b.data(), b.size(), used) == Result::kDone);
    CHECK(parser.status() == 200);
    CHECK(parser.bytes() == b.size());
}

// Table-driven tests for the request parser. Every case is fed whole, split in two at every
// position, and byte by byte (each length twice), and all of these must give the same outcome.
// The bytes a call may look at always end right before a PROT_NONE page, so reading one byte
// too far crashes the test instead of passing by luck.

#include "http/parser.hpp"

#include <catch2/catch.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using portico::http::Method;
using portico::http::ParseResult;
using portico::http::ParserLimits;
using portico::http::Request;
using portico::http::RequestParser;
using portico::http::Span;
using namespace std::string_literals;

/// Small limits so that each limit can be crossed with a short input.
constexpr ParserLimits kTestLimits{.max_target = 64, .max_head = 1024, .max_fields = 12, .max_body = 1000};

// ---- harness ---------------------------------------------------------------------------------

/// Readable memory followed by an inaccessible page. put() copies bytes so that they end
/// exactly where the inaccessible page begins.
class GuardedBuffer {
public:
    explicit GuardedBuffer(size_t capacity) {
        page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        size_ = (capacity + page_ - 1) / page_ * page_;
        void* p = mmap(nullptr, size_ + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(p != MAP_FAILED);
        base_ = static_cast<char*>(p);
        REQUIRE(mprotect(base_ + size_, page_, PROT_NONE) == 0);
    }
    ~GuardedBuffer() { munmap(base_, size_ + page_); }
    GuardedBuffer(const GuardedBuffer&) = delete;
    GuardedBuffer& operator=(const GuardedBuffer&) = delete;

    const char* put(std::string_view bytes) {
        REQUIRE(bytes.size() <= size_);
        char* at = base_ + size_ - bytes.size();
        if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
        return at;
    }

private:
    char* base_ = nullptr;
    size_t size_ = 0;
    size_t page_ = 0;
};

GuardedBuffer& guarded() {
    static GuardedBuffer buffer(64 * 1024);
    return buffer;
}

/// Everything observable after feeding one input; equal outcomes mean equal behaviour.
struct Outcome {
    ParseResult head = ParseResult::kNeedMore;
    ParseResult body = ParseResult::kNeedMore;  // also when parse_body was never reached
    uint16_t status = 0;
    std::string reason;
    size_t head_length = 0;
    size_t body_consumed = 0;
    uint64_t body_bytes = 0;
    std::string broken;  // the first broken invariant, if any

    Method method = Method::kGet;
    int version_minor = -1;
    std::string method_text, target, request_line, host, connection, if_none_match, if_modified_since, range,
        if_range, user_agent, referer;
    int64_t content_length = -1;
    bool chunked = false;
    bool keep_alive = false;
    bool expect_continue = false;
    int field_count = 0;

    bool operator==(const Outcome&) const = default;
};

const char* result_name(ParseResult r) {
    switch (r) {
    case ParseResult::kDone: return "done";
    case ParseResult::kNeedMore: return "need-more";
    case ParseResult::kError: return "error";
    }
    return "?";
}

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    os << "{head=" << result_name(o.head) << " body=" << result_name(o.body) << " status=" << o.status
       << " reason='" << o.reason << "' head_length=" << o.head_length << " body_consumed=" << o.body_consumed
       << " body_bytes=" << o.body_bytes << " broken='" << o.broken << "'";
    if (o.head == ParseResult::kDone)
        os << " line='" << o.request_line << "' target='" << o.target << "' minor=" << o.version_minor
           << " host='" << o.host << "' cl=" << o.content_length << " chunked=" << o.chunked
           << " keep_alive=" << o.keep_alive << " expect=" << o.expect_continue
           << " fields=" << o.field_count;
    return os << "}";
}

void note(Outcome& o, const char* what) {
    if (o.broken.empty()) o.broken = what;
}

void capture_request(Outcome& o, const Request& r, std::string_view head) {
    auto text = [&](Span s) {
        if (s.off + uint64_t{s.len} > head.size()) {
            note(o, "span outside the head");
            return std::string();
        }
        return std::string(s.in(head.data()));
    };
    o.method = r.method;
    o.version_minor = r.version_minor;
    o.method_text = text(r.method_text);
    o.target = text(r.target);
    o.request_line = text(r.request_line);
    o.host = text(r.host);
    o.connection = text(r.connection);
    o.if_none_match = text(r.if_none_match);
    o.if_modified_since = text(r.if_modified_since);
    o.range = text(r.range);
    o.if_range = text(r.if_range);
    o.user_agent = text(r.user_agent);
    o.referer = text(r.referer);
    o.content_length = r.content_length;
    o.chunked = r.chunked;
    o.keep_alive = r.keep_alive;
    o.expect_continue = r.expect_continue;
    o.field_count = r.field_count;
}

/// Feeds `in` as if its bytes arrived up to each of `ends` in turn (ascending, the last one
/// in.size()): the head is parsed from the growing prefix, the body from the new bytes only.
Outcome feed(std::string_view in, const std::vector<size_t>& ends, const ParserLimits& limits) {
    RequestParser parser(limits);
    Request req;
    Outcome o;
    size_t k = 0;
    for (; k < ends.size(); ++k) {
        o.head = parser.parse_head(guarded().put(in.substr(0, ends[k])), ends[k], req);
        if (o.head == ParseResult::kDone && parser.head_length() > ends[k]) note(o, "head_length > len");
        if (o.head != ParseResult::kNeedMore) break;
    }
    if (o.head == ParseResult::kDone) {
        o.head_length = parser.head_length();
        capture_request(o, req, in.substr(0, o.head_length));
        size_t at = o.head_length;
        for (; k < ends.size(); ++k) {
            const std::string_view piece = in.substr(at, ends[k] - at);
            size_t used = SIZE_MAX;
            o.body = parser.parse_body(guarded().put(piece), piece.size(), used);
            if (used > piece.size()) note(o, "consumed > len");
            if (o.body == ParseResult::kNeedMore && used != piece.size()) note(o, "need-more left bytes");
            if (o.body == ParseResult::kError && used != 0) note(o, "error consumed bytes");
            used = std::min(used, piece.size());
            o.body_consumed += used;
            at += used;
            if (o.body != ParseResult::kNeedMore) break;
        }
    }
    // How much earlier calls consumed before an error depends on the split; nothing else does.
    if (o.body == ParseResult::kError) o.body_consumed = 0;
    o.status = parser.error_status();
    o.reason = parser.error_reason();
    o.body_bytes = parser.body_bytes();
    if (o.head == ParseResult::kError || o.body == ParseResult::kError) {
        size_t used = 0;
        if (o.status == 0 || o.reason.empty()) note(o, "error without status or reason");
        if (parser.parse_head(in.data(), in.size(), req) != ParseResult::kError)
            note(o, "head left error state");
        if (parser.parse_body(in.data(), in.size(), used) != ParseResult::kError)
            note(o, "body left error state");
    }
    return o;
}

/// The whole input at once; then every split and byte by byte must agree with it. Inputs of
/// more than 4 KiB (built to cross a limit) are split at a stride instead, to keep this quick.
Outcome feed_every_way(const std::string& in, const ParserLimits& limits) {
    const size_t n = in.size();
    const Outcome whole = feed(in, {n}, limits);
    CAPTURE(whole);
    const size_t stride = n <= 4096 ? 1 : 37;
    for (size_t k = 1; k < n; k += stride) {
        const Outcome split = feed(in, {k, n}, limits);
        if (!(split == whole)) {
            CAPTURE(k);
            REQUIRE(split == whole);
        }
    }
    std::vector<size_t> bytes;
    for (size_t k = 0; k <= n; ++k) bytes.insert(bytes.end(), {k, k});  // each length twice
    REQUIRE(feed(in, bytes, limits) == whole);
    return whole;
}

// ---- input builders --------------------------------------------------------------------------

/// A POST with a Host and the given extra field lines ("Name: value\r\n" each) and body.
std::string post(const std::string& fields, const std::string& body = "") {
    return "POST /upload HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n" + body;
}

std::string chunked(const std::string& body) { return post("Transfer-Encoding: chunked\r\n", body); }

std::string get_with(const std::string& fields) { return "GET / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n"; }

std::string many_fields(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "X-F" + std::to_string(i) + ": v\r\n";
    return s;
}

// ---- requests that parse ---------------------------------------------------------------------

struct Accepted {
    const char* name;
    std::string input;
    Method method = Method::kGet;
    std::string_view target = "/";
    int minor = 1;
    std::string_view host = "h";
    int64_t content_length = -1;
    bool chunked = false;
    bool keep_alive = true;
    bool expect_continue = false;
    uint64_t body_bytes = 0;
    size_t request_bytes = std::string::npos;  // head + body of the first request; npos: all
};

const std::vector<Accepted>& accepted_cases() {
    static const std::vector<Accepted> cases = {
        {.name = "plain GET",
         .input = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
         .target = "/index.html",
         .host = "example.com"},
        {.name = "Host with a port",
         .input = "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
         .host = "example.com:8080"},
        {.name = "IPv6 literal Host with a port",
         .input = "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
         .host = "[::1]:8080"},
        {.name = "HEAD with query",
         .input = "HEAD /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h\r\n\r\n",
         .method = Method::kHead,
         .target = "/a/b?x=1&y=%20"},
        {.name = "HTTP/1.0 without Host",
         .input = "GET / HTTP/1.0\r\n\r\n",
         .minor = 0,
         .host = "",
         .keep_alive = false},
        {.name = "HTTP/1.0 keep-alive",
         .input = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
         .minor = 0,
         .host = ""},
        {.name = "HTTP/1.0 keep-alive and close",
         .input = "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
         .minor = 0,
         .host = "",
         .keep_alive = false},
        {.name = "Connection: close", .input = get_with("Connection: close\r\n"), .keep_alive = false},
        {.name = "Connection list with close",
         .input = get_with("Connection: , Upgrade ,CLOSE\r\n"),
         .keep_alive = false},
        {.name = "Connection on two lines",
         .input = get_with("Connection: foo\r\nConnection: close\r\n"),
         .keep_alive = false},
        {.name = "Connection: closed is not close", .input = get_with("Connection: closed\r\n")},
        {.name = "POST with Content-Length",
         .input = post("Content-Length: 5\r\n", "hello"),
         .method = Method::kPost,
         .target = "/upload",
         .content_length = 5,
         .body_bytes = 5},
        {.name = "Content-Length 0",
         .input = post("Content-Length: 0\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .content_length = 0},
        {.name = "Content-Length with leading zeros",
         .input = post("content-LENGTH: 007\r\n", "1234567"),
         .method = Method::kPost,
         .target = "/upload",
         .content_length = 7,
         .body_bytes = 7},
        {.name = "Content-Length at max_body",
         .input = post("Content-Length: 1000\r\n", std::string(1000, 'b')),
         .method = Method::kPost,
         .target = "/upload",
         .content_length = 1000,
         .body_bytes = 1000},
        {.name = "chunked",
         .input = chunked("5\r\nhello\r\n0\r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 5},
        {.name = "chunked, extensions and trailers",
         .input = chunked("4;name=value\r\nWiki\r\n5 ;x ; y=\"q\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
                          "0;last\r\nExpires: never\r\nX-Trailer:  a b \r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 23},
        // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 7.1.1)
        {.name = "chunk extension: a name alone, several, token and quoted values",
         .input = chunked("5;a\r\nhello\r\n5;a=b;c;d=\"\"\r\nhello\r\n0;z\r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 10},
        {.name = "chunk extension: BWS around ';' and '=', spaces and tabs",
         .input = chunked("5 \t; \ta \t= \tb ;c=\"d\"\t;e\r\nhello\r\n0\r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 5},
        {.name = "chunk extension: quoted-string with quoted-pairs, separators and obs-text",
         .input = chunked("5 ; ilovew3 = \"I \\\"love\\\"; \\\\extensions\\\\\" ; somuchlove=\"are=these;\xe9\"\r\n"
                          "hello\r\n0\r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 5},
        {.name = "chunk sizes in either case, leading zeros",
         .input = chunked("000A\r\n0123456789\r\na\r\n0123456789\r\n0000000000000000\r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 20},
        {.name = "chunked body at max_body",
         .input = chunked("1f4\r\n" + std::string(500, 'x') + "\r\n1F4\r\n" + std::string(500, 'y') +
                          "\r\n0\r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 1000},
        {.name = "Transfer-Encoding case and empty elements",
         .input = post("Transfer-Encoding: , CHUNKED ,\r\n", "0\r\n\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true},
        {.name = "pipelined GETs stop at the first",
         .input = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
         .target = "/1",
         .request_bytes = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"s.size()},
        {.name = "pipelined after a Content-Length body",
         .input = post("Content-Length: 3\r\n", "abcGET / HTTP/1.1\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .content_length = 3,
         .body_bytes = 3,
         .request_bytes = post("Content-Length: 3\r\n").size() + 3},
        {.name = "pipelined after a chunked body",
         .input = chunked("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n"),
         .method = Method::kPost,
         .target = "/upload",
         .chunked = true,
         .body_bytes = 3,
         .request_bytes = chunked("3\r\nabc\r\n0\r\n\r\n").size()},
        {.name = "eight leading empty lines",
         .input = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"},
        {.name = "absolute-form",
         .input = "GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n",
         .target = "http://example.com/x?y",
         .host = "example.com"},
        {.name = "absolute-form, scheme in capitals",
         .input = "GET HTTPS://h:8443 HTTP/1.1\r\nHost: h\r\n\r\n",
         .target = "HTTPS://h:8443"},
        {.name = "absolute-form, a query right after the authority means path /",
         .input = "GET http://hypnotoad.org?hail=all HTTP/1.1\r\nHost: h\r\n\r\n",
         .target = "http://hypnotoad.org?hail=all"},
        {.name = "absolute-form, a port and then a query",
         .input = "GET http://hypnotoad.org:1234?hail=all HTTP/1.1\r\nHost: h\r\n\r\n",
         .target = "http://hypnotoad.org:1234?hail=all"},
        {.name = "absolute-form, IPv6 literal, empty port (RFC 3986 3.2.3)",
         .input = "GET http://[::1]:/x HTTP/1.1\r\nHost: h\r\n\r\n",
         .target = "http://[::1]:/x"},
        {.name = "OPTIONS *",
         .input = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
         .method = Method::kOptions,
         .target = "*"},
        {.name = "PUT",
         .input = "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx",
         .method = Method::kPut,
         .target = "/f",
         .content_length = 1,
         .body_bytes = 1},
        {.name = "DELETE",
         .input = "DELETE /f HTTP/1.1\r\nHost: h\r\n\r\n",
         .method = Method::kDelete,
         .target = "/f"},
        {.name = "TRACE", .input = "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", .method = Method::kTrace},
        {.name = "PATCH", .input = "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", .method = Method::kPatch},
        {.name = "CONNECT parses (the handler refuses it)",
         .input = "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n",
         .method = Method::kConnect},
        {.name = "empty Host", .input = "GET / HTTP/1.1\r\nHost:\r\n\r\n", .host = ""},
        {.name = "Host with OWS around",
         .input = "GET / HTTP/1.1\r\nhOST: \t h:80 \t \r\n\r\n",
         .host = "h:80"},
        {.name = "Expect: 100-continue",
         .input = post("Expect: 100-Continue\r\nContent-Length: 2\r\n", "ok"),
         .method = Method::kPost,
         .target = "/upload",
         .content_length = 2,
         .expect_continue = true,
         .body_bytes = 2},
        {.name = "Expect on HTTP/1.0 is ignored",
         .input = "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
         .minor = 0,
         .host = "",
         .keep_alive = false},
        {.name = "obs-text in a value", .input = get_with("X-Name: caf\xc3\xa9 \xff\r\n")},
        {.name = "field count at max_fields", .input = get_with(many_fields(11))},
        {.name = "target at max_target",
         .input = "GET /" + std::string(63, 't') + " HTTP/1.1\r\nHost: h\r\n\r\n",
         .target = {}},  // its value is checked in the field table
        {.name = "head at max_head",
         .input = get_with("X-Pad: " + std::string(1024 - get_with("X-Pad: \r\n").size(), 'p') + "\r\n")},
    };
    return cases;
}

TEST_CASE("parse_head/parse_body accept valid requests, whole and at every split", "[parser]") {
    const auto& cases = accepted_cases();
    const Accepted& c = cases[GENERATE(range(size_t{0}, accepted_cases().size()))];
    CAPTURE(c.name);
    const Outcome o = feed_every_way(c.input, kTestLimits);
    CHECK(o.broken == "");
    REQUIRE(o.head == ParseResult::kDone);
    REQUIRE(o.body == ParseResult::kDone);
    CHECK(o.method == c.method);
    if (!c.target.empty()) CHECK(o.target == c.target);
    CHECK(o.version_minor == c.minor);
    CHECK(o.host == c.host);
    CHECK(o.content_length == c.content_length);
    CHECK(o.chunked == c.chunked);
    CHECK(o.keep_alive == c.keep_alive);
    CHECK(o.expect_continue == c.expect_continue);
    CHECK(o.body_bytes == c.body_bytes);
    const size_t request_bytes = c.request_bytes == std::string::npos ? c.input.size() : c.request_bytes;
    CHECK(o.head_length + o.body_consumed == request_bytes);
    CHECK(o.status == 0);
}

// ---- what each recognised field yields -------------------------------------------------------

struct FieldCase {
    const char* name;
    std::string input;
    std::string Outcome::*field;
    std::string_view expected;
};

const std::vector<FieldCase>& field_cases() {
    static const std::vector<FieldCase> cases = {
        {"request line without CRLF", "\r\nGET /x?q HTTP/1.1\r\nHost: h\r\n\r\n", &Outcome::request_line,
         "GET /x?q HTTP/1.1"},
        {"method text", "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n", &Outcome::method_text, "DELETE"},
        {"target at max_target", "GET /" + std::string(63, 't') + " HTTP/1.1\r\nHost: h\r\n\r\n",
         &Outcome::target, "/ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"},
        {"value keeps inner spaces", get_with("User-Agent:  a  b\t c \r\n"), &Outcome::user_agent,
         "a  b\t c"},
        {"connection raw value", get_with("Connection: keep-alive, Upgrade\r\n"), &Outcome::connection,
         "keep-alive, Upgrade"},
        {"first Connection line kept", get_with("Connection: a\r\nConnection: b\r\n"), &Outcome::connection,
         "a"},
        {"If-None-Match", get_with("If-None-Match: \"abc\", W/\"d\"\r\n"), &Outcome::if_none_match,
         "\"abc\", W/\"d\""},
        {"If-Modified-Since", get_with("if-modified-since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
         &Outcome::if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {"Range", get_with("Range: bytes=0-99\r\n"), &Outcome::range, "bytes=0-99"},
        {"first Range kept", get_with("Range: bytes=1-2\r\nRange: bytes=3-4\r\n"), &Outcome::range,
         "bytes=1-2"},
        {"If-Range", get_with("If-Range: \"e\"\r\n"), &Outcome::if_range, "\"e\""},
        {"Referer", get_with("REFERER: http://a/b\r\n"), &Outcome::referer, "http://a/b"},
        {"unknown field skipped", get_with("X-Host: nope\r\n"), &Outcome::host, "h"},
        {"empty value", get_with("User-Agent: \t \r\n"), &Outcome::user_agent, ""},
    };
    return cases;
}

TEST_CASE("parse_head stores the recognised field values as trimmed spans", "[parser]") {
    const auto& cases = field_cases();
    const FieldCase& c = cases[GENERATE(range(size_t{0}, field_cases().size()))];
    CAPTURE(c.name);
    const Outcome o = feed_every_way(c.input, kTestLimits);
    REQUIRE(o.head == ParseResult::kDone);
    CHECK(o.broken == "");
    CHECK(o.*c.field == c.expected);
}

// ---- requests that are refused ---------------------------------------------------------------

struct Rejected {
    const char* name;
    std::string input;
    uint16_t status;
    ParserLimits limits = kTestLimits;
};

const std::vector<Rejected>& rejected_cases() {
    static const std::vector<Rejected> cases = {
        // request line
        {"lowercase method is unknown", "get / HTTP/1.1\r\nHost: h\r\n\r\n", 501},
        {"unknown method", "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", 501},
        {"invalid character in method", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"NUL in method", "GE\0T / HTTP/1.1\r\n\r\n"s, 400},
        {"empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"two spaces after method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"tab as separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"two spaces before version", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"space after version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
        {"HTTP/0.9 request", "GET /\r\n\r\n", 400},
        {"lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
        {"version without minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", 400},
        {"two-digit minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400},
        {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        {"HTTP/0.9 with version", "GET / HTTP/0.9\r\n\r\n", 505},
        {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
        {"HTTP/3.1", "GET / HTTP/3.1\r\n\r\n", 505},
        {"relative target", "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"* without OPTIONS", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"authority-form", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 400},
        {"other scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"scheme without authority", "GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"bare scheme", "GET http:// HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, port without host", "GET http://:80/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, query without host", "GET http://?q HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, userinfo", "GET http://user:pw@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, non-digit port", "GET http://h:8o/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, two ports", "GET http://h:1:2/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, unclosed IPv6 literal", "GET http://[::1/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, fragment", "GET http://h#f HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, backslash", "GET http://h\\x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"absolute-form, scheme without //", "GET http:h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"byte >= 0x80 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"NUL in target", "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"s, 400},
        {"tab in target", "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"target over max_target", "GET /" + std::string(64, 't') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
        {"target over max_target, line unfinished", "GET /" + std::string(200, 't'), 414},
        {"target over max_head",
         "GET /" + std::string(200, 't'),
         414,
         {.max_target = 1000, .max_head = 100, .max_fields = 10, .max_body = 0}},
        {"nine leading empty lines", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
         400},
        {"leading bare LF", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"leading bare CR", "\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"bare CR after request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
        {"bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
        {"junk before request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s, 400},
        // field lines
        {"obs-fold", get_with("X-A: a\r\n b\r\n"), 400},
        {"obs-fold with tab", get_with("X-A: a\r\n\tb\r\n"), 400},
        {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
        {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
        {"tab before colon", get_with("Content-Length\t: 5\r\n"), 400},
        {"invalid character in name", get_with("X(A): b\r\n"), 400},
        {"empty field name", get_with(": b\r\n"), 400},
        {"no colon", get_with("Hostname\r\n"), 400},
        {"NUL in value", get_with("X-A: a\0b\r\n"s), 400},
        {"control byte in value", get_with("X-A: a\x01\r\n"), 400},
        {"DEL in value", get_with("X-A: a\x7f\r\n"), 400},
        {"bare CR in value", get_with("X-A: a\rb\r\n"), 400},
        {"bare LF ends a field", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400},
        {"bare LF ends the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
        {"bare CR ends the head", "GET / HTTP/1.1\r\nHost: h\r\n\rX", 400},
        {"missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400},
        {"duplicate Host", get_with("host: h2\r\n"), 400},
        {"duplicate empty Host", "GET / HTTP/1.1\r\nHost:\r\nHost:\r\n\r\n", 400},
        {"space inside Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        {"slash in Host", "GET / HTTP/1.1\r\nHost: a.test/x\r\n\r\n", 400},
        {"two ports in Host", "GET / HTTP/1.1\r\nHost: a.test:80:1\r\n\r\n", 400},
        {"userinfo in Host", "GET / HTTP/1.1\r\nHost: a.test@b.test\r\n\r\n", 400},
        {"letters in the Host port", "GET / HTTP/1.1\r\nHost: a.test:8o\r\n\r\n", 400},
        {"unclosed IP literal Host", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
        {"too many fields", get_with(many_fields(12)), 431},
        {"head over max_head",
         get_with("X-Pad: " + std::string(1024 - get_with("X-Pad: \r\n").size() + 1, 'p') + "\r\n"), 431},
        {"head over max_head, unfinished", get_with("X-Pad: " + std::string(2000, 'p')), 431},
        {"request line over max_head after the target",
         "GET / HTTP/1.1" + std::string(20, ' '),
         431,
         {.max_target = 10, .max_head = 12, .max_fields = 10, .max_body = 0}},
        // Content-Length
        {"Content-Length +5", post("Content-Length: +5\r\n", "hello"), 400},
        {"Content-Length -1", post("Content-Length: -1\r\n"), 400},
        {"Content-Length list", post("Content-Length: 5, 5\r\n", "hello"), 400},
        {"Content-Length with inner space", post("Content-Length: 5 5\r\n"), 400},
        {"Content-Length hex", post("Content-Length: 0x5\r\n"), 400},
        {"Content-Length empty", post("Content-Length:\r\n"), 400},
        {"Content-Length overflow", post("Content-Length: 9223372036854775808\r\n"), 400},
        {"Content-Length huge", post("Content-Length: 99999999999999999999999\r\n"), 400},
        {"duplicate equal Content-Length", post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), 400},
        {"duplicate different Content-Length", post("Content-Length: 5\r\nContent-Length: 6\r\n"), 400},
        {"Content-Length over max_body", post("Content-Length: 1001\r\n"), 413},
        {"Content-Length at int64 max over max_body", post("Content-Length: 9223372036854775807\r\n"), 413},
        // Transfer-Encoding
        {"Content-Length and Transfer-Encoding",
         post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400},
        {"Transfer-Encoding and Content-Length",
         post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400},
        {"chunked not last", post("Transfer-Encoding: chunked, gzip\r\n"), 400},
        {"only gzip", post("Transfer-Encoding: gzip\r\n"), 400},
        {"identity", post("Transfer-Encoding: identity\r\n"), 400},
        {"empty Transfer-Encoding", post("Transfer-Encoding:\r\n"), 400},
        {"gzip then chunked", post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501},
        {"deflate then chunked on two lines",
         post("Transfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n"), 501},
        {"unknown coding then chunked", post("Transfer-Encoding: x-foo ,chunked\r\n"), 501},
        {"chunked twice", post("Transfer-Encoding: chunked, chunked\r\n"), 400},
        {"chunked on two lines", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400},
        {"chunked then gzip on two lines", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
         400},
        {"chunked with a parameter", post("Transfer-Encoding: chunked;q=1\r\n"), 400},
        {"space inside a coding", post("Transfer-Encoding: chun ked\r\n"), 400},
        {"bad coding name", post("Transfer-Encoding: gz(ip), chunked\r\n"), 400},
        {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        // Expect
        {"unknown expectation", get_with("Expect: 200-ok\r\n"), 417},
        {"100-continue and more", post("Expect: 100-continue, x\r\nContent-Length: 1\r\n"), 417},
        {"100-continue with a body over max_body", post("Expect: 100-continue\r\nContent-Length: 5000\r\n"),
         413},
        // chunked body
        {"empty chunk size", chunked("\r\n"), 400},
        {"non-hex chunk size", chunked("g\r\n"), 400},
        {"negative chunk size", chunked("-1\r\n"), 400},
        {"0x chunk size", chunked("0x5\r\nhello\r\n0\r\n\r\n"), 400},
        {"chunk size of 17 digits", chunked("00000000000000005\r\nhello\r\n0\r\n\r\n"), 400},
        {"chunk size overflow without limit",
         chunked("1\r\na\r\nffffffffffffffff\r\n"),
         400,
         {.max_target = 64, .max_head = 1024, .max_fields = 12, .max_body = 0}},
        {"space after chunk size", chunked("5 \r\nhello\r\n0\r\n\r\n"), 400},
        {"bare LF after chunk size", chunked("5\nhello\r\n0\r\n\r\n"), 400},
        {"bare CR after chunk size", chunked("5\rhello\r\n0\r\n\r\n"), 400},
        {"control byte in extension", chunked("5;a\x01\r\nhello\r\n0\r\n\r\n"), 400},
        {"bare LF in extension", chunked("5;a\nhello\r\n0\r\n\r\n"), 400},
        // chunk-ext exactly as RFC 9112 7.1.1 has it
        {"empty chunk extension", chunked("2;\r\nab\r\n0\r\n\r\n"), 400},
        {"empty chunk extension after BWS", chunked("2 ; \r\nab\r\n0\r\n\r\n"), 400},
        {"empty extension on the last chunk", chunked("0;\r\n\r\n"), 400},
        {"two semicolons", chunked("5;;a\r\nhello\r\n0\r\n\r\n"), 400},
        {"unbalanced quote", chunked("5;ilo=\"ve\r\nhello\r\n0\r\n\r\n"), 400},
        {"unbalanced quote, llhttp's vector",
         chunked("5;ilovew3=\"abc\";somuchlove=\"def; ilovew3=ghi\r\nhello\r\n0\r\n\r\n"), 400},
        {"quote in the name", chunked("5;ilo\"ve\"\r\nhello\r\n0\r\n\r\n"), 400},
        {"quote inside a token value", chunked("5;a=b\"c\"\r\nhello\r\n0\r\n\r\n"), 400},
        {"bytes after the closing quote", chunked("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"), 400},
        {"escaped CR in a quoted value", chunked("5;a=\"\\\r\nhello\r\n0\r\n\r\n"), 400},
        {"control byte in a quoted value", chunked("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), 400},
        {"DEL in a quoted value", chunked("5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n"), 400},
        {"empty value", chunked("5;a=\r\nhello\r\n0\r\n\r\n"), 400},
        {"empty name", chunked("5;=b\r\nhello\r\n0\r\n\r\n"), 400},
        {"separator in the name", chunked("5;a/b\r\nhello\r\n0\r\n\r\n"), 400},
        {"space inside a name", chunked("5;a b\r\nhello\r\n0\r\n\r\n"), 400},
        {"space inside a token value", chunked("5;a=b c\r\nhello\r\n0\r\n\r\n"), 400},
        {"whitespace after a name at the end", chunked("5;a \r\nhello\r\n0\r\n\r\n"), 400},
        {"whitespace after a value at the end", chunked("5;a=b\t\r\nhello\r\n0\r\n\r\n"), 400},
        {"extension without ';'", chunked("5 a\r\nhello\r\n0\r\n\r\n"), 400},
        {"bare LF after a quoted value", chunked("5;a=\"b\"\nhello\r\n0\r\n\r\n"), 400},
        {"bare CR in an extension", chunked("5;a\rhello\r\n0\r\n\r\n"), 400},
        {"extension too long", chunked("5;" + std::string(4095, 'e') + "\r\nhello\r\n0\r\n\r\n"), 400},
        {"data longer than its size", chunked("5\r\nhelloX\r\n0\r\n\r\n"), 400},
        {"LF without CR after data", chunked("5\r\nhello\n0\r\n\r\n"), 400},
        {"stray byte and LF after data", chunked("5\r\nhelloX\n0\r\n\r\n"), 400},
        {"CR without LF after data", chunked("5\r\nhello\r0\r\n\r\n"), 400},
        {"chunk over max_body", chunked("3e9\r\n"), 413},
        {"chunks add up over max_body", chunked("1f4\r\n" + std::string(500, 'x') + "\r\n1f5\r\n"), 413},
        {"obs-fold in trailer", chunked("0\r\nA: b\r\n c\r\n\r\n"), 400},
        {"space before colon in trailer", chunked("0\r\nA : b\r\n\r\n"), 400},
        {"NUL in trailer value", chunked("0\r\nA: b\0\r\n\r\n"s), 400},
        {"bare LF in trailer", chunked("0\r\nA: b\n\r\n"), 400},
        {"bare LF at the very end", chunked("0\r\n\n"), 400},
        {"bare CR at the very end", chunked("0\r\n\rX"), 400},
        {"trailer section too large", chunked("0\r\n" + many_fields(2000)), 431},
    };
    return cases;
}

TEST_CASE("parse_head/parse_body refuse bad requests with the right status", "[parser]") {
    const auto& cases = rejected_cases();
    const Rejected& c = cases[GENERATE(range(size_t{0}, rejected_cases().size()))];
    CAPTURE(c.name);
    const Outcome o = feed_every_way(c.input, c.limits);
    CHECK(o.broken == "");
    CHECK((o.head == ParseResult::kError || o.body == ParseResult::kError));
    CHECK(o.status == c.status);
}

// ---- inputs that stop short ------------------------------------------------------------------

struct Unfinished {
    const char* name;
    std::string input;
    ParseResult head;
    uint64_t body_bytes = 0;
};

TEST_CASE("parse_head/parse_body wait for more when the input stops short", "[parser]") {
    const std::vector<Unfinished> cases = {
        {"nothing", "", ParseResult::kNeedMore},
        {"only empty lines", "\r\n\r\n\r", ParseResult::kNeedMore},
        {"inside the method", "GE", ParseResult::kNeedMore},
        {"head without final CRLF", "GET / HTTP/1.1\r\nHost: h\r\n", ParseResult::kNeedMore},
        {"head ends in CR", "GET / HTTP/1.1\r\nHost: h\r\n\r", ParseResult::kNeedMore},
        {"part of a Content-Length body", post("Content-Length: 10\r\n", "abcd"), ParseResult::kDone, 4},
        {"inside chunk data", chunked("a\r\nabc"), ParseResult::kDone, 3},
        {"before the chunk CRLF", chunked("3\r\nabc"), ParseResult::kDone, 3},
        {"inside the trailers", chunked("0\r\nX: y\r\n"), ParseResult::kDone},
    };
    for (const Unfinished& c : cases) {
        CAPTURE(c.name);
        const Outcome o = feed_every_way(c.input, kTestLimits);
        CHECK(o.broken == "");
        CHECK(o.head == c.head);
        CHECK(o.body == ParseResult::kNeedMore);
        CHECK(o.body_bytes == c.body_bytes);
        CHECK(o.status == 0);
    }
}

// ---- limits as shipped -----------------------------------------------------------------------

TEST_CASE("default limits", "[parser]") {
    const ParserLimits defaults;
    const std::string tail = " HTTP/1.1\r\nHost: h\r\n\r\n";
    struct Case {
        std::string input;
        ParseResult head;
        uint16_t status;
    };
    const std::vector<Case> cases = {
        {"GET /" + std::string(8191, 'a') + tail, ParseResult::kDone, 0},
        {"GET /" + std::string(8192, 'a') + tail, ParseResult::kError, 414},
        {get_with(many_fields(99)), ParseResult::kDone, 0},
        {get_with(many_fields(100)), ParseResult::kError, 431},
        {get_with("X: " + std::string(16384, 'v') + "\r\n"), ParseResult::kError, 431},
        {post("Content-Length: 1048577\r\n"), ParseResult::kError, 413},
    };
    for (const Case& c : cases) {
        CAPTURE(c.input.size());
        const size_t n = c.input.size();
        const Outcome whole = feed(c.input, {n}, defaults);
        CHECK(whole.broken == "");
        CHECK(whole.head == c.head);
        CHECK(whole.status == c.status);
        for (size_t k : {size_t{1}, n / 3, n / 2, n - 1}) CHECK(feed(c.input, {k, n}, defaults) == whole);
    }
}

TEST_CASE("max_body = 0 means no body limit", "[parser]") {
    const ParserLimits unlimited{.max_target = 64, .max_head = 1024, .max_fields = 12, .max_body = 0};
    Outcome o = feed_every_way(post("Content-Length: 1000000000000\r\n", "abc"), unlimited);
    CHECK(o.head == ParseResult::kDone);
    CHECK(o.content_length == 1000000000000);
    CHECK(o.body == ParseResult::kNeedMore);
    CHECK(o.body_bytes == 3);

    o = feed_every_way(chunked("ffffffffffffffff\r\nabc"), unlimited);
    CHECK(o.body == ParseResult::kNeedMore);
    CHECK(o.body_bytes == 3);
}

// ---- reuse -----------------------------------------------------------------------------------

TEST_CASE("reset() readies the parser for the next pipelined request", "[parser]") {
    const std::string stream =
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
        "GET /d HTTP/1.0\r\n\r\n";
    struct Step {
        Method method;
        std::string_view target;
        uint64_t body_bytes;
        bool keep_alive;
    };
    const Step steps[] = {
        {Method::kGet, "/a", 0, true},
        {Method::kPost, "/b", 3, true},
        {Method::kPut, "/c", 2, true},
        {Method::kGet, "/d", 0, false},
    };
    RequestParser parser(kTestLimits);
    Request req;
    size_t at = 0;
    for (const Step& step : steps) {
        const std::string_view rest = std::string_view(stream).substr(at);
        const char* buf = guarded().put(rest);
        REQUIRE(parser.parse_head(buf, rest.size(), req) == ParseResult::kDone);
        CHECK(req.method == step.method);
        CHECK(req.target.in(buf) == step.target);
        CHECK(req.keep_alive == step.keep_alive);
        // A second call after kDone changes nothing.
        CHECK(parser.parse_head(buf, rest.size(), req) == ParseResult::kDone);
        const size_t head = parser.head_length();
        size_t used = 0;
        REQUIRE(parser.parse_body(buf + head, rest.size() - head, used) == ParseResult::kDone);
        CHECK(parser.body_bytes() == step.body_bytes);
        at += head + used;
        parser.reset();
    }
    CHECK(at == stream.size());

    // An error does not outlive reset() either.
    const std::string bad = "BREW / HTTP/1.1\r\n\r\n";
    REQUIRE(parser.parse_head(guarded().put(bad), bad.size(), req) == ParseResult::kError);
    CHECK(parser.error_status() == 501);
    parser.reset();
    const std::string good = "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n";
    const char* buf = guarded().put(good);
    REQUIRE(parser.parse_head(buf, good.size(), req) == ParseResult::kDone);
    CHECK(req.target.in(buf) == "/ok");
    CHECK(parser.error_status() == 0);
    CHECK(req.field_count == 1);
}

TEST_CASE("parse_body for a request without a body is done at once", "[parser]") {
    RequestParser parser;
    Request req;
    const std::string in = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET";
    REQUIRE(parser.parse_head(in.data(), in.size(), req) == ParseResult::kDone);
    size_t used = 99;
    CHECK(parser.parse_body(in.data() + parser.head_length(), 3, used) == ParseResult::kDone);
    CHECK(used == 0);
    CHECK_FALSE(req.has_body());
}

// ---- what browsers send ----------------------------------------------------------------------

struct BrowserCase {
    const char* name;
    std::string_view input;
    uint16_t fields;
    std::string_view user_agent;
};

TEST_CASE("typical browser requests parse in a single pass with the default limits", "[parser]") {
    const BrowserCase cases[] = {
        {"chrome",
         "GET /css/site.css?v=3 HTTP/1.1\r\n"
         "Host: www.example.org\r\n"
         "Connection: keep-alive\r\n"
         "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
         "sec-ch-ua-mobile: ?0\r\n"
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Safari/537.36\r\n"
         "sec-ch-ua-platform: \"Linux\"\r\n"
         "Accept: text/css,*/*;q=0.1\r\n"
         "Sec-Fetch-Site: same-origin\r\n"
         "Sec-Fetch-Mode: no-cors\r\n"
         "Sec-Fetch-Dest: style\r\n"
         "Referer: https://www.example.org/\r\n"
         "Accept-Encoding: gzip, deflate, br, zstd\r\n"
         "Accept-Language: en-GB,en;q=0.9\r\n"
         "If-None-Match: \"5f3a-61c2b0\"\r\n"
         "If-Modified-Since: Tue, 14 May 2024 09:12:44 GMT\r\n"
         "\r\n",
         15,
         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
         "Safari/537.36"},
        {"firefox",
         "GET / HTTP/1.1\r\n"
         "Host: localhost:8080\r\n"
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
         "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
         "Accept-Language: en-US,en;q=0.5\r\n"
         "Accept-Encoding: gzip, deflate, br\r\n"
         "DNT: 1\r\n"
         "Connection: keep-alive\r\n"
         "Upgrade-Insecure-Requests: 1\r\n"
         "Sec-Fetch-Dest: document\r\n"
         "Sec-Fetch-Mode: navigate\r\n"
         "Sec-Fetch-Site: none\r\n"
         "Sec-Fetch-User: ?1\r\n"
         "Priority: u=1\r\n"
         "\r\n",
         13, "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"},
        {"curl",
         "GET /file.bin HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n", 3,
         "curl/8.5.0"},
    };
    for (const BrowserCase& c : cases) {
        CAPTURE(c.name);
        RequestParser parser;
        Request req;
        const char* buf = guarded().put(c.input);
        REQUIRE(parser.parse_head(buf, c.input.size(), req) == ParseResult::kDone);
        CHECK(parser.head_length() == c.input.size());
        CHECK(req.method == Method::kGet);
        CHECK(req.version_minor == 1);
        CHECK(req.keep_alive);
        CHECK_FALSE(req.has_body());
        CHECK(req.field_count == c.fields);
        CHECK(req.user_agent.in(buf) == c.user_agent);
        CHECK_FALSE(req.host.empty());
    }
}

}  // namespace

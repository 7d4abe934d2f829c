// Strict answers to bad input (RFC 9112): the status, an HTML error page, and for anything that
// leaves the framing in doubt, Connection: close followed by a clean close. Every bad request is
// followed by a valid one in the same write: it must not be answered, and the unread bytes must
// not turn the close into a reset that could destroy the error response.

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

const std::string kHost = "Host: a.test\r\n";
const std::string kFollower = "GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n";
const std::string kChunked = "Transfer-Encoding: chunked\r\n";

/// At least `bytes` of header field lines, "X-Fill-N: vvv...\r\n".
std::string header_fields(size_t bytes) {
    std::string fields;
    for (int i = 0; fields.size() < bytes; ++i)
        fields += "X-Fill-" + std::to_string(i) + ": " + std::string(90, 'v') + "\r\n";
    return fields;
}

struct BadCase {
    const char* name;
    std::string bytes;
    int status;
};

/// Sends `bytes` plus a valid follower and expects `status`, Connection: close and a clean end.
void expect_rejected(uint16_t port, const std::string& bytes, int status) {
    Client c(port);
    c.send_raw(bytes + kFollower);
    Response r = c.read_response();
    CHECK(r.status == status);
    CHECK(r.header("Connection") == "close");
    CHECK(r.header("Content-Type") == "text/html");
    CHECK(r.body.find(std::to_string(status)) != std::string::npos);
    check_common_headers(r);
    Closed end = c.read_until_close();
    CHECK(end.bytes.empty());  // the follower was not answered
    CHECK_FALSE(end.reset);
}

std::vector<BadCase> bad_400() {
    const std::string te = "Transfer-Encoding: chunked\r\n";
    return {
        {"request line without a version", "GET /index.html\r\n" + kHost + "\r\n", 400},
        {"two spaces in the request line", "GET  /index.html HTTP/1.1\r\n" + kHost + "\r\n", 400},
        {"lowercase HTTP name", "GET /index.html http/1.1\r\n" + kHost + "\r\n", 400},
        {"garbage after the version", "GET /index.html HTTP/1.1 x\r\n" + kHost + "\r\n", 400},
        {"target not in origin form", "GET index.html HTTP/1.1\r\n" + kHost + "\r\n", 400},
        {"control character in the target", "GET /in\x01" "dex.html HTTP/1.1\r\n" + kHost + "\r\n", 400},
        {"space in a header name", "GET / HTTP/1.1\r\n" + kHost + "Bad Header: x\r\n\r\n", 400},
        {"'@' in a header name", "GET / HTTP/1.1\r\n" + kHost + "X-Bad@: x\r\n\r\n", 400},
        {"whitespace before the colon", "GET / HTTP/1.1\r\nHost : a.test\r\n\r\n", 400},
        {"header line without a colon", "GET / HTTP/1.1\r\n" + kHost + "NoColonHere\r\n\r\n", 400},
        {"empty header name", "GET / HTTP/1.1\r\n" + kHost + ": x\r\n\r\n", 400},
        {"obs-fold", "GET / HTTP/1.1\r\n" + kHost + "X-A: 1\r\n  continued\r\n\r\n", 400},
        {"bare CR in a field value", "GET / HTTP/1.1\r\n" + kHost + "X-A: a\rb\r\n\r\n", 400},
        {"bare CR ending a header line", "GET / HTTP/1.1\r\n" + kHost + "X-A: a\r\r\n\r\n", 400},
        {"NUL in a field value", "GET / HTTP/1.1\r\n" + kHost + std::string("X-A: a\0b\r\n\r\n", 12), 400},
        {"Content-Length and Transfer-Encoding",
         "GET / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\n" + te + "\r\n0\r\n\r\n", 400},
        {"duplicate Content-Length",
         "GET / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
        {"conflicting Content-Length",
         "GET / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
        {"Content-Length list", "GET / HTTP/1.1\r\n" + kHost + "Content-Length: 5, 5\r\n\r\nhello", 400},
        {"signed Content-Length", "GET / HTTP/1.1\r\n" + kHost + "Content-Length: +5\r\n\r\nhello", 400},
        {"negative Content-Length", "GET / HTTP/1.1\r\n" + kHost + "Content-Length: -1\r\n\r\n", 400},
        {"non-numeric Content-Length", "GET / HTTP/1.1\r\n" + kHost + "Content-Length: 5x\r\n\r\nhello", 400},
        {"Content-Length beyond 64 bits",
         "GET / HTTP/1.1\r\n" + kHost + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
        {"whitespace before the first header field", "GET / HTTP/1.1\r\n " + kHost + "\r\n", 400},
        {"Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1: framing is faulty)",
         "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"missing Host on HTTP/1.1", "GET /index.html HTTP/1.1\r\n\r\n", 400},
        {"duplicate Host", "GET / HTTP/1.1\r\n" + kHost + kHost + "\r\n", 400},
        {"chunked is not the final coding",
         "GET / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
        {"chunked twice",
         "GET / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
        {"bad chunk size", "GET / HTTP/1.1\r\n" + kHost + te + "\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
        {"chunk size with a sign", "GET / HTTP/1.1\r\n" + kHost + te + "\r\n+5\r\nhello\r\n0\r\n\r\n", 400},
        {"chunk data not followed by CRLF",
         "GET / HTTP/1.1\r\n" + kHost + te + "\r\n5\r\nhelloX\r\n0\r\n\r\n", 400},
        {"chunk size line ended by a bare LF",
         "GET / HTTP/1.1\r\n" + kHost + te + "\r\n5\nhello\r\n0\r\n\r\n", 400},
        // RFC 9112 7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
        {"an empty chunk extension", "GET / HTTP/1.1\r\n" + kHost + te + "\r\n2;\r\nab\r\n0\r\n\r\n", 400},
        {"an unbalanced quote in a chunk extension",
         "GET / HTTP/1.1\r\n" + kHost + te + "\r\n5;ilo=\"ve\r\nhello\r\n0\r\n\r\n", 400},
        {"a chunk extension that ends in whitespace",
         "GET / HTTP/1.1\r\n" + kHost + te + "\r\n5;a=b \r\nhello\r\n0\r\n\r\n", 400},
        {"userinfo in an absolute-form target", "GET http://u@a.test/ HTTP/1.1\r\n" + kHost + "\r\n", 400},
        {"an absolute-form target without a host", "GET http://:80/ HTTP/1.1\r\n" + kHost + "\r\n", 400},
        {"chunked body of a POST with a bad size",
         "POST / HTTP/1.1\r\n" + kHost + te + "\r\n5\r\nhello\r\nq\r\n\r\n", 400},
    };
}

}  // namespace

TEST_CASE("malformed requests get 400 and a clean close", "[bad][400]") {
    SiteServer s;
    for (const BadCase& k : bad_400()) {
        DYNAMIC_SECTION(k.name) { expect_rejected(s.server.port(), k.bytes, k.status); }
    }
    s.server.stop_and_check();
}

TEST_CASE("unknown methods and transfer codings get 501, other versions 505", "[bad][501][505]") {
    SiteServer s;
    SECTION("unknown method") {
        expect_rejected(s.server.port(), "BREW /index.html HTTP/1.1\r\n" + kHost + "\r\n", 501);
    }
    SECTION("unknown transfer coding") {
        std::string te = "Transfer-Encoding: gzip, chunked\r\n";
        expect_rejected(s.server.port(), "GET / HTTP/1.1\r\n" + kHost + te + "\r\n0\r\n\r\n", 501);
    }
    SECTION("HTTP/2.0") { expect_rejected(s.server.port(), "GET / HTTP/2.0\r\n" + kHost + "\r\n", 505); }
    SECTION("HTTP/3.0") { expect_rejected(s.server.port(), "GET / HTTP/3.0\r\n" + kHost + "\r\n", 505); }
    SECTION("HTTP/0.9 is not spoken") {
        expect_rejected(s.server.port(), "GET / HTTP/0.9\r\n" + kHost + "\r\n", 505);
    }
    s.server.stop_and_check();
}

TEST_CASE("limits: 413 for a large body, 414 for a long target, 431 for a large head", "[bad][limits]") {
    SiteServer s("client_max_body_size = \"1k\";\nlarge_client_header_buffer_size = \"8k\";");
    const uint16_t port = s.server.port();

    SECTION("Content-Length above client_max_body_size") {
        expect_rejected(port, "GET / HTTP/1.1\r\n" + kHost + "Content-Length: 5000\r\n\r\n", 413);
    }
    SECTION("a chunk above client_max_body_size") {
        expect_rejected(port, "GET / HTTP/1.1\r\n" + kHost + kChunked + "\r\n7d0\r\n", 413);
    }
    SECTION("chunks that add up to more than client_max_body_size") {
        std::string chunk = "200\r\n" + std::string(512, 'x') + "\r\n";
        expect_rejected(port, "GET / HTTP/1.1\r\n" + kHost + kChunked + "\r\n" + chunk + chunk + chunk, 413);
    }
    SECTION("a body of exactly client_max_body_size is accepted") {
        Client c(port);
        c.send_raw(get("/small.txt", "Content-Length: 1024\r\n") + std::string(1024, 'x') + get("/"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
        CHECK(c.read_response().body == s.site.index_html);
    }
    SECTION("a 20 KiB request target") {
        expect_rejected(port, "GET /" + std::string(20 * 1024, 'a') + " HTTP/1.1\r\n" + kHost + "\r\n", 414);
    }
    SECTION("a 7 KiB request target is still served (404)") {
        Client c(port);
        c.send_raw(get("/" + std::string(7 * 1024, 'a')));
        CHECK(c.read_response().status == 404);
    }
    SECTION("10 KiB of header fields") {
        expect_rejected(port, "GET / HTTP/1.1\r\n" + kHost + header_fields(10 * 1024) + "\r\n", 431);
    }
    SECTION("one 10 KiB header field") {
        std::string big = "X-Big: " + std::string(10 * 1024, 'v') + "\r\n";
        expect_rejected(port, "GET / HTTP/1.1\r\n" + kHost + big + "\r\n", 431);
    }
    SECTION("6 KiB of header fields is still served") {
        Client c(port);
        c.send_raw(get("/small.txt", header_fields(6 * 1024)));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
    }
    s.server.stop_and_check();
}

TEST_CASE("what RFC 9112 allows is accepted", "[bad][lenient]") {
    SiteServer s;
    Client c(s.server.port());
    struct Case {
        const char* name;
        std::string bytes;
    };
    const Case cases[] = {
        {"an empty line before the request line (2.2)", "\r\n" + get("/small.txt")},
        {"obs-text in a field value (5.5)", get("/small.txt", "X-Latin: caf\xe9 \x80\xff\r\n")},
        {"a tab in a field value", get("/small.txt", "X-Tab: a\tb\r\n")},
        {"whitespace around a field value", get("/small.txt", "X-Pad: \t padded \t\r\n")},
        {"header names in any case", "GET /small.txt HTTP/1.1\r\nhOsT: a.test\r\n\r\n"},
        {"a chunked body with the coding in upper case",
         get("/small.txt", "Transfer-Encoding: Chunked\r\n") + "3\r\nabc\r\n0\r\n\r\n"},
        {"a chunk size in upper-case hex with an extension",
         get("/small.txt", "Transfer-Encoding: chunked\r\n") + "A;name=\"v\"\r\n0123456789\r\n0\r\n\r\n"},
        {"chunk extensions with BWS, a quoted-pair and obs-text",
         get("/small.txt", "Transfer-Encoding: chunked\r\n") +
             "3 ; a = \"x\\\"y;\xe9\" ;b\r\nabc\r\n0;c=d\r\n\r\n"},
        {"Content-Length: 0", get("/small.txt", "Content-Length: 0\r\n")},
        {"an empty Host", "GET /small.txt HTTP/1.1\r\nHost:\r\n\r\n"},
    };
    for (const Case& k : cases) {
        INFO(k.name);
        c.send_raw(k.bytes);
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.small);
        CHECK_FALSE(r.has("Connection"));
    }
    c.close();
    s.server.stop_and_check();
}

// RFC 9112 3.2: "a Host header field with an invalid field value" gets 400.
TEST_CASE("a Host with an invalid value gets 400", "[bad][400]") {
    SiteServer s;
    for (const char* host : {"a b", "a.test/x", "a.test:80:1", "a.test@b.test"}) {
        DYNAMIC_SECTION("Host: " << host) {
            std::string request = "GET /small.txt HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
            expect_rejected(s.server.port(), request, 400);
        }
    }
    s.server.stop_and_check();
}

// RFC 3986 3.3: an authority followed directly by a query has an empty path, which is "/".
TEST_CASE("an absolute-form target with a query right after the authority is served as /", "[bad][lenient]") {
    SiteServer s;
    Client c(s.server.port());
    for (const char* target : {"http://a.test?hail=all", "http://a.test:1234?hail=all", "HTTP://a.test?"}) {
        INFO(target);
        c.send_raw("GET " + std::string(target) + " HTTP/1.1\r\nHost: a.test\r\n\r\n");
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == s.site.index_html);
        CHECK_FALSE(r.has("Connection"));
    }
    c.close();
    s.server.stop_and_check();
}

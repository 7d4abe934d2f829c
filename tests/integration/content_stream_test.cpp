// Issue 9, the costly parts: a file too large to keep compressed goes out as a compressed stream
// (chunked on HTTP/1.1, close-delimited on 1.0, held back by a client that does not read while
// others are served), and a small one is compressed once per file version, not per request.

#include <catch2/catch.hpp>

#include "tests/integration/content_site.hpp"

using namespace portico::test;

namespace {

std::string accept(std::string_view value) {
    return "Accept-Encoding: " + std::string(value) + "\r\n";
}

size_t count_of(const std::string& text, std::string_view what) {
    size_t n = 0;
    for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
    return n;
}

}  // namespace

TEST_CASE("a large file streams compressed, chunked, and the connection stays usable", "[content][stream]") {
    ContentSite cs;
    Server server(cs.site.dir, cs.config());
    Client c(server.port());
    for (std::string coding : {"gzip", "br"}) {
        INFO(coding);
        c.send_raw(get("/big.html", accept(coding)));
        Response r = read_chunked_response(c);
        CHECK(r.status == 200);
        CHECK(r.header("Content-Encoding") == coding);
        CHECK(r.header("Vary") == "Accept-Encoding");
        CHECK(r.header("ETag").ends_with("-" + coding + "\""));
        CHECK_FALSE(r.has("Content-Length"));
        CHECK(r.body.size() < cs.big_html.size() / 3);
        CHECK(python_decode(cs.site.dir, coding, r.body) == cs.big_html);
    }
    // Keep-alive after the last chunk: the framing was right.
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == cs.site.small);
    // A client that does not accept the coding gets the identity bytes (sendfile).
    c.send_raw(get("/big.html", accept("deflate")));
    Response identity = c.read_response();
    CHECK_FALSE(identity.has("Content-Encoding"));
    CHECK(identity.body == cs.big_html);
    c.close();
    server.stop_and_check();
}

TEST_CASE("HTTP/1.0 gets the compressed stream close-delimited", "[content][stream]") {
    ContentSite cs;
    Server server(cs.site.dir, cs.config());
    Client c(server.port());
    c.send_raw("GET /big.html HTTP/1.0\r\nHost: a.test\r\nAccept-Encoding: gzip\r\n\r\n");
    Closed closed = c.read_until_close();
    CHECK_FALSE(closed.reset);
    size_t end = closed.bytes.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    std::string head = closed.bytes.substr(0, end + 2);
    INFO(head);
    CHECK(head.find("Content-Encoding: gzip\r\n") != std::string::npos);
    CHECK(head.find("Transfer-Encoding") == std::string::npos);
    CHECK(head.find("Content-Length") == std::string::npos);
    CHECK(head.find("Connection: close\r\n") != std::string::npos);
    CHECK(python_decode(cs.site.dir, "gzip", closed.bytes.substr(end + 4)) == cs.big_html);
    server.stop_and_check();
}

TEST_CASE("a client that stops reading holds back its stream, not the other clients", "[content][stream]") {
    ContentSite cs;
    Server server(cs.site.dir, cs.config());
    Client slow(server.port(), 4096);
    slow.send_raw(get("/big.html", accept("br")));
    std::string first = slow.read_exact(64);  // the stream has started, and then nobody reads
    // Meanwhile others are served at once, again and again.
    Client other(server.port());
    for (int i = 0; i < 20; ++i) {
        other.send_raw(get("/small.html", accept("gzip")));
        Response r = other.read_response();
        REQUIRE(r.status == 200);
        REQUIRE(python_decode(cs.site.dir, "gzip", r.body) == cs.small_html);
    }
    // The stalled stream resumes where it stopped and is whole. The first 64 bytes were part of
    // its head, so the chunked body is read here rather than by read_chunked_response().
    slow.set_rcvbuf(1 << 20);
    std::string all = first;
    while (all.find("\r\n\r\n") == std::string::npos) all += slow.read_exact(1);
    REQUIRE(all.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    std::string body;
    all.erase(0, all.find("\r\n\r\n") + 4);  // anything after the head: the start of a size line
    for (;;) {
        while (all.find("\r\n") == std::string::npos) all += slow.read_exact(1);
        size_t size = std::stoul(all.substr(0, all.find("\r\n")), nullptr, 16);
        all.erase(0, all.find("\r\n") + 2);
        if (all.size() < size + 2) all += slow.read_exact(size + 2 - all.size());
        body += all.substr(0, size);
        all.erase(0, size + 2);
        if (size == 0) break;
    }
    CHECK(python_decode(cs.site.dir, "br", body) == cs.big_html);
    slow.close();
    other.close();
    server.stop_and_check();
}

TEST_CASE("a small file is compressed once per version and coding, not per request", "[content][cache]") {
    ContentSite cs;
    Server server(cs.site.dir, cs.config("debug"));
    Client c(server.port());
    const std::string page = cs.site.www + "/page.html", small = cs.site.www + "/small.html";
    auto compressions = [&](const std::string& path, std::string_view coding) {
        return count_of(read_file(server.error_log_path()),
                        "compressed '" + path + "' as " + std::string(coding) + ":");
    };
    for (int i = 0; i < 5; ++i) {
        for (std::string coding : {"gzip", "br"}) {
            for (const char* target : {"/page.html", "/small.html"}) {
                c.send_raw(get(target, accept(coding)));
                Response r = c.read_response();
                REQUIRE(r.header("Content-Encoding") == coding);
            }
        }
        c.send_raw(get("/small.html", accept("gzip"), "HEAD"));  // HEAD shares the cached one
        (void)c.read_response(true);
    }
    REQUIRE(server.wait_for_log("compressed '" + small + "' as br:"));
    CHECK(compressions(page, "gzip") == 1);
    CHECK(compressions(page, "br") == 1);
    CHECK(compressions(small, "gzip") == 1);
    CHECK(compressions(small, "br") == 1);

    // A new version is compressed again, once, and served from then on.
    const std::string next = html_text(40 * 1024, 99);
    replace_file(page, next);
    bool fresh = false;
    for (auto deadline = Clock::now() + kWait; !fresh && Clock::now() < deadline; pace_retry()) {
        c.send_raw(get("/page.html", accept("gzip")));
        Response r = c.read_response();
        fresh = python_decode(cs.site.dir, "gzip", r.body) == next;
    }
    REQUIRE(fresh);
    for (int i = 0; i < 3; ++i) {
        c.send_raw(get("/page.html", accept("gzip")));
        (void)c.read_response();
    }
    REQUIRE(server.wait_for_log_until([&](const std::string& log) {
        return count_of(log, "compressed '" + page + "' as gzip:") >= 2;
    }));
    CHECK(compressions(page, "gzip") == 2);
    c.close();
    server.stop_and_check();
}

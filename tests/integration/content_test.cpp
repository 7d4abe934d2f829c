// Issue 9 with the real binary: on-the-fly gzip and brotli (decoded by Python's modules and by
// curl), Accept-Encoding negotiation, an ETag and 304 per representation, ranges and HEAD,
// precompressed siblings (a stale one ignored and logged once), charset, min_length and types.

#include <cstdlib>

#include <catch2/catch.hpp>

#include "tests/integration/content_site.hpp"

using namespace portico::test;

namespace {

struct ContentServer {
    explicit ContentServer(std::string_view log_level = "info") : server(cs.site.dir, cs.config(log_level)) {}
    ContentSite cs;
    Server server;
};

Response fetch(Client& c, const std::string& request, bool to_head = false) {
    c.send_raw(request);
    return c.read_response(to_head);
}

std::string accept(std::string_view value) {
    return "Accept-Encoding: " + std::string(value) + "\r\n";
}

std::string encoding_of(const Response& r) {
    return r.has("Content-Encoding") ? r.header("Content-Encoding") : "";
}

// The body as the file's bytes: decoded by Python when it is encoded.
std::string decoded(const TempDir& dir, const Response& r) {
    std::string coding = encoding_of(r);
    return coding.empty() ? r.body : python_decode(dir, coding, r.body);
}

}  // namespace

TEST_CASE("gzip and brotli on the fly decode byte-equal with real decoders", "[content]") {
    ContentServer s;
    Client c(s.server.port());
    struct Case {
        const char* target;
        const std::string* file;
    };
    for (Case k : {Case{"/small.html", &s.cs.small_html}, Case{"/page.html", &s.cs.page_html}}) {
        for (std::string coding : {"gzip", "br"}) {
            INFO(k.target << " " << coding);
            Response r = fetch(c, get(k.target, accept(coding)));
            REQUIRE(r.status == 200);
            CHECK(r.header("Content-Encoding") == coding);
            CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
            CHECK(r.header("Vary") == "Accept-Encoding");
            CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
            CHECK(r.body.size() < k.file->size() / 2);
            CHECK(r.header("ETag").ends_with("-" + coding + "\""));
            CHECK_FALSE(r.has("Accept-Ranges"));  // a range would be of the identity bytes
            CHECK(python_decode(s.cs.site.dir, coding, r.body) == *k.file);
        }
    }
    // curl --compressed (libcurl's own zlib and brotli) decodes it too.
    const std::string out = s.cs.site.dir / "curl.out";
    std::string cmd = "curl -s --compressed -H 'Host: a.test' -o " + out + " http://127.0.0.1:" +
                      std::to_string(s.server.port()) + "/page.html";
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(read_file(out) == s.cs.page_html);
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("Accept-Encoding: q-values, identity;q=0, *, case and repeated fields", "[content]") {
    ContentServer s;
    Client c(s.server.port());
    struct Case {
        const char* fields;  // whole header lines
        const char* expect;  // Content-Encoding, or "" for identity
    };
    const Case cases[] = {
        {"", ""},  // no Accept-Encoding: identity, as nginx
        {"Accept-Encoding: gzip\r\n", "gzip"},
        {"Accept-Encoding: br\r\n", "br"},
        {"Accept-Encoding: gzip, deflate, br\r\n", "br"},  // a tie: the server's preference
        {"Accept-Encoding: gzip;q=1, br;q=0.5\r\n", "gzip"},
        {"Accept-Encoding: GZIP\r\n", "gzip"},
        {"Accept-Encoding: br;q=0, *\r\n", "gzip"},
        {"Accept-Encoding: *;q=0\r\n", ""},          // nothing acceptable: identity anyway
        {"Accept-Encoding: identity;q=0\r\n", ""},   // the same
        {"Accept-Encoding: deflate\r\n", ""},
        {"Accept-Encoding: identity\r\n", ""},
        {"Accept-Encoding: \r\n", ""},
        {"Accept-Encoding: gzip;q=0.5, identity;q=0.8\r\n", ""},
        {"Accept-Encoding: gzip;q=0\r\n", ""},
        {"Accept-Encoding: deflate\r\nX-Other: 1\r\naccept-encoding: gzip\r\n", "gzip"},  // joined
    };
    for (const Case& k : cases) {
        INFO("fields: " << k.fields);
        Response r = fetch(c, get("/small.html", k.fields));
        REQUIRE(r.status == 200);
        CHECK(encoding_of(r) == k.expect);
        CHECK(r.header("Vary") == "Accept-Encoding");  // identity too: the resource has encodings
        CHECK(decoded(s.cs.site.dir, r) == s.cs.small_html);
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("each representation has its own ETag, and 304 answers for the one chosen", "[content][conditional]") {
    ContentServer s;
    Client c(s.server.port());
    Response identity = fetch(c, get("/small.html"));
    Response gzip = fetch(c, get("/small.html", accept("gzip")));
    Response br = fetch(c, get("/small.html", accept("br")));
    Response pre = fetch(c, get("/pre.html", accept("gzip")));  // a sibling: from its own ETag
    std::string e0 = identity.header("ETag"), eg = gzip.header("ETag"), eb = br.header("ETag");
    CHECK(e0 != eg);
    CHECK(eg != eb);
    CHECK(e0 != eb);
    for (const Response* r : {&identity, &gzip, &br, &pre}) CHECK(r->header("Vary") == "Accept-Encoding");

    Response nm = fetch(c, get("/small.html", accept("gzip") + "If-None-Match: " + eg + "\r\n"));
    CHECK(nm.status == 304);
    CHECK(nm.header("ETag") == eg);
    CHECK(nm.header("Vary") == "Accept-Encoding");
    CHECK(nm.body.empty());
    // The gzip ETag does not validate the identity or the brotli representation.
    Response other = fetch(c, get("/small.html", "If-None-Match: " + eg + "\r\n"));
    CHECK(other.status == 200);
    CHECK(other.body == s.cs.small_html);
    Response other_br = fetch(c, get("/small.html", accept("br") + "If-None-Match: " + eg + "\r\n"));
    CHECK(other_br.status == 200);
    CHECK(encoding_of(other_br) == "br");
    Response same_id = fetch(c, get("/small.html", "If-None-Match: " + e0 + "\r\n"));
    CHECK(same_id.status == 304);
    Response pre_nm = fetch(c, get("/pre.html", accept("gzip") + "If-None-Match: " + pre.header("ETag") + "\r\n"));
    CHECK(pre_nm.status == 304);
    // A streamed representation validates too, with nothing compressed.
    Response big = fetch(c, get("/big.html", accept("gzip"), "HEAD"), true);
    Response big_nm = fetch(c, get("/big.html", accept("gzip") + "If-None-Match: " + big.header("ETag") + "\r\n"));
    CHECK(big_nm.status == 304);
    CHECK(big_nm.header("Vary") == "Accept-Encoding");
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("a Range gets identity (206) on the fly, and a range of the sibling when precompressed", "[content][range]") {
    ContentServer s;
    Client c(s.server.port());
    Response r = fetch(c, get("/page.html", accept("gzip, br") + "Range: bytes=100-199\r\n"));
    CHECK(r.status == 206);
    CHECK_FALSE(r.has("Content-Encoding"));
    CHECK(r.header("Content-Range") == "bytes 100-199/" + std::to_string(s.cs.page_html.size()));
    CHECK(r.header("Vary") == "Accept-Encoding");
    CHECK(r.body == s.cs.page_html.substr(100, 100));
    Response p = fetch(c, get("/pre.html", accept("gzip") + "Range: bytes=10-29\r\n"));
    CHECK(p.status == 206);
    CHECK(p.header("Content-Encoding") == "gzip");
    CHECK(p.header("Content-Range") == "bytes 10-29/" + std::to_string(s.cs.pre_gz.size()));
    CHECK(p.body == s.cs.pre_gz.substr(10, 20));
    Response bad = fetch(c, get("/pre.html", accept("gzip") + "Range: bytes=99999999-\r\n"));
    CHECK(bad.status == 416);
    CHECK(bad.header("Content-Range") == "bytes */" + std::to_string(s.cs.pre_gz.size()));
    CHECK(bad.header("Vary") == "Accept-Encoding");
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("HEAD gets the headers GET gets, for every kind of representation", "[content][head]") {
    ContentServer s;
    Client c(s.server.port());
    struct Case {
        const char* target;
        const char* coding;
    };
    const Case cases[] = {{"/small.html", "gzip"}, {"/page.html", "br"}, {"/pre.html", "br"},
                          {"/pre.html", "gzip"},   {"/small.html", "identity"}, {"/big.html", "gzip"}};
    for (const Case& k : cases) {
        INFO(k.target << " " << k.coding);
        Response head = fetch(c, get(k.target, accept(k.coding), "HEAD"), true);
        CHECK(head.body.empty());
        Response full;
        if (std::string_view(k.target) == "/big.html") {
            c.send_raw(get(k.target, accept(k.coding)));
            full = read_chunked_response(c);
        } else {
            full = fetch(c, get(k.target, accept(k.coding)));
        }
        auto fields = [](const Response& r) {
            auto h = r.headers;
            h.erase("Date");
            return h;
        };
        CHECK(fields(head) == fields(full));
    }
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("not compressed: below min_length, unlisted types; charset only on text types", "[content]") {
    ContentServer s;
    Client c(s.server.port());
    Response tiny = fetch(c, get("/tiny.html", accept("gzip, br")));
    CHECK_FALSE(tiny.has("Content-Encoding"));
    CHECK_FALSE(tiny.has("Vary"));  // no encoded representation at all
    CHECK(tiny.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(tiny.body == s.cs.tiny_html);
    Response txt = fetch(c, get("/small.txt", accept("gzip, br")));  // text/plain: not in types
    CHECK_FALSE(txt.has("Content-Encoding"));
    CHECK_FALSE(txt.has("Vary"));
    CHECK(txt.header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(txt.body == s.cs.site.small);
    Response bin = fetch(c, get("/medium.bin", accept("gzip, br")));
    CHECK_FALSE(bin.has("Content-Encoding"));
    CHECK_FALSE(bin.has("Vary"));
    CHECK(bin.header("Content-Type") == "application/octet-stream");
    CHECK(bin.body == s.cs.site.medium);
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("precompressed siblings are served as they are, in the server's order", "[content][precompressed]") {
    ContentServer s;
    Client c(s.server.port());
    Response gz = fetch(c, get("/pre.html", accept("gzip")));
    CHECK(gz.header("Content-Encoding") == "gzip");
    CHECK(gz.header("Content-Type") == "text/html; charset=utf-8");  // the original's type
    CHECK(gz.header("Accept-Ranges") == "bytes");
    CHECK(gz.body == s.cs.pre_gz);  // Python's level 9 bytes, not portico's level 5
    CHECK(python_decode(s.cs.site.dir, "gzip", gz.body) == s.cs.pre_html);
    Response br = fetch(c, get("/pre.html", accept("gzip, br")));  // both: br comes first
    CHECK(br.header("Content-Encoding") == "br");
    CHECK(br.body == s.cs.pre_br);
    Response q = fetch(c, get("/pre.html", accept("br;q=0.4, gzip")));
    CHECK(q.body == s.cs.pre_gz);
    Response none = fetch(c, get("/pre.html"));
    CHECK(none.body == s.cs.pre_html);
    CHECK(none.header("Vary") == "Accept-Encoding");
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("a .gz older than its source is ignored, with one info line per version", "[content][precompressed]") {
    ContentServer s;
    Client c(s.server.port());
    for (int i = 0; i < 3; ++i) {
        Response r = fetch(c, get("/stale.html", accept("gzip")));
        CHECK(r.header("Content-Encoding") == "gzip");  // made on the fly instead
        CHECK(r.body != s.cs.stale_gz);
        CHECK(python_decode(s.cs.site.dir, "gzip", r.body) == s.cs.stale_html);
    }
    REQUIRE(s.server.wait_for_log("stale.html.gz' is older than"));
    c.close();
    s.server.stop_and_check();
    std::string log = read_file(s.server.error_log_path());
    size_t count = 0;
    for (size_t at = 0; (at = log.find("stale.html.gz' is older than", at)) != std::string::npos; ++at) ++count;
    CHECK(count == 1);
    CHECK(log.find("[info]") != std::string::npos);
}

// The compressed-once cache is per worker and shared by every location: two locations that
// serve the same file at different gzip levels must each get their own bytes (the cache once
// keyed a slot by file and coding only, so the second location got the first one's bytes).
TEST_CASE("two locations with gzip levels 1 and 9 on the same file keep their own bytes", "[content][cache]") {
    ContentSite cs;
    std::string config = cs.config();
    const std::string root = "root = \"@DIR@/www\"; }";
    const std::string with_locations =
        "root = \"@DIR@/www\";\n    locations = (\n"
        "      { match = \"/fast/\"; alias = \"@DIR@/www/\"; gzip = { level = 1; }; },\n"
        "      { match = \"/best/\"; alias = \"@DIR@/www/\"; gzip = { level = 9; }; }\n    ); }";
    REQUIRE(config.find(root) != std::string::npos);
    config.replace(config.find(root), root.size(), with_locations);
    Server server(cs.site.dir, config);
    Client c(server.port());
    struct Case {
        const char* name;
        const std::string* file;
    };
    for (Case k : {Case{"small.html", &cs.small_html}, Case{"page.html", &cs.page_html}}) {
        INFO(k.name);
        // Level 1 first, so a cache keyed without the level would answer level 9 with it.
        Response fast = fetch(c, get(std::string("/fast/") + k.name, accept("gzip")));
        Response best = fetch(c, get(std::string("/best/") + k.name, accept("gzip")));
        Response fast_again = fetch(c, get(std::string("/fast/") + k.name, accept("gzip")));
        REQUIRE(fast.status == 200);
        REQUIRE(best.status == 200);
        CHECK(fast.header("Content-Encoding") == "gzip");
        CHECK(best.header("Content-Encoding") == "gzip");
        CHECK(best.body.size() < fast.body.size());
        CHECK(fast_again.body == fast.body);  // each level is still compressed once and kept
        CHECK(python_decode(cs.site.dir, "gzip", fast.body) == *k.file);
        CHECK(python_decode(cs.site.dir, "gzip", best.body) == *k.file);
    }
    c.close();
    server.stop_and_check();
}

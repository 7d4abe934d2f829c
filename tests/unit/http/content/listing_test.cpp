// The directory listing's formatter and collector on real directories: order (directories first,
// byte order, no dotfiles), HTML escaping and percent-encoded hrefs, nginx's JSON fields exactly,
// symlinks, the entry cap, and output that is the same whatever the batch sizes and buffer sizes.

#include "http/content/listing.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using portico::core::UniqueFd;
using portico::http::BodyStream;
using portico::http::content::DirectoryListing;
namespace fs = std::filesystem;

// 2026-12-02 07:50:00 UTC, a Wednesday.
constexpr time_t kWhen = 1796197800;

struct TempTree {
    fs::path dir;
    TempTree() {
        std::string pattern = (fs::temp_directory_path() / "portico-listing-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        dir = pattern;
        fs::create_directory(dir / "www");
    }
    ~TempTree() { fs::remove_all(dir); }
    fs::path www() const { return dir / "www"; }

    void file(const std::string& name, size_t size) const {
        std::string path = (www() / name).string();
        FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f != nullptr);
        std::string bytes(size, 'x');
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fclose(f);
        stamp(name);
    }
    void directory(const std::string& name) const {
        fs::create_directory(www() / name);
        stamp(name);
    }
    void stamp(const std::string& name) const {
        timespec times[2] = {{kWhen, 0}, {kWhen, 0}};
        REQUIRE(utimensat(AT_FDCWD, (www() / name).c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
    }
};

DirectoryListing::Options options(const TempTree& t, DirectoryListing::Format format) {
    DirectoryListing::Options o;
    o.format = format;
    o.uri_path = "/files/";
    o.real_root = fs::canonical(t.www()).string();
    return o;
}

DirectoryListing open_listing(const TempTree& t, DirectoryListing::Options o) {
    int fd = ::open(t.www().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    return DirectoryListing(UniqueFd(fd), std::move(o));
}

/// Collects (counting the steps) and produces the whole body `cap` bytes at a time.
std::string list_all(DirectoryListing& l, size_t cap, size_t* steps = nullptr) {
    size_t n = 0;
    DirectoryListing::Step s;
    while ((s = l.collect()) == DirectoryListing::Step::kMore) REQUIRE(++n < 100000);
    if (steps) *steps = n + 1;
    REQUIRE(s == DirectoryListing::Step::kDone);
    std::string body;
    std::vector<char> buf(cap);
    for (int calls = 0;; ++calls) {
        REQUIRE(calls < 1000000);
        BodyStream::Chunk c = l.produce(buf.data(), cap);
        REQUIRE(c.bytes <= cap);
        REQUIRE(c.status != BodyStream::Status::kError);
        body.append(buf.data(), c.bytes);
        if (c.status == BodyStream::Status::kEnd) return body;
    }
}

std::string list(const TempTree& t, DirectoryListing::Format format, size_t cap = 16384) {
    DirectoryListing l = open_listing(t, options(t, format));
    return list_all(l, cap);
}

// (Not "f" + std::to_string(i): GCC 12 warns about it with a false -Wrestrict.)
std::string numbered(std::string prefix, int i) {
    return prefix.append(std::to_string(i));
}

/// The hrefs of an HTML listing, in order (without "../").
std::vector<std::string> hrefs(const std::string& html) {
    std::vector<std::string> out;
    for (size_t at = html.find("<a href=\""); at != std::string::npos; at = html.find("<a href=\"", at)) {
        at += 9;
        std::string href = html.substr(at, html.find('"', at) - at);
        if (href != "../") out.push_back(href);
    }
    return out;
}

}  // namespace

TEST_CASE("listing: directories first, then files, each by name in byte order; no dotfiles", "[listing]") {
    TempTree t;
    for (const char* name : {"b.txt", "B.txt", "a.txt", "a", ".hidden", "_x", "\xc3\xa9t\xc3\xa9"})
        t.file(name, 1);
    t.directory("zeta");
    t.directory("Alpha");
    t.directory(".git");
    std::vector<std::string> expected{"Alpha/", "zeta/", "B.txt", "_x",
                                      "a",      "a.txt", "b.txt", "%C3%A9t%C3%A9"};
    CHECK(hrefs(list(t, DirectoryListing::Format::kHtml)) == expected);
}

TEST_CASE("listing: the HTML page has nginx's shape", "[listing]") {
    TempTree t;
    t.file("a.txt", 1234);
    t.directory("sub");
    std::string html = list(t, DirectoryListing::Format::kHtml);
    std::string pad_a(50 - 5, ' '), pad_sub(50 - 4, ' ');
    CHECK(html ==
          "<html>\r\n<head><title>Index of /files/</title></head>\r\n<body>\r\n"
          "<h1>Index of /files/</h1><hr><pre><a href=\"../\">../</a>\r\n"
          "<a href=\"sub/\">sub/</a>" +
              pad_sub +
              " 02-Dec-2026 07:50                   -\r\n"
              "<a href=\"a.txt\">a.txt</a>" +
              pad_a +
              " 02-Dec-2026 07:50                1234\r\n"
              "</pre><hr></body>\r\n</html>\r\n");
}

TEST_CASE("listing: names are HTML-escaped and hrefs percent-encoded", "[listing]") {
    TempTree t;
    const std::string name = "a&b<c>d\"e'f?g#h%i j:k+\xe2\x82\xac.txt";
    t.file(name, 3);
    std::string html = list(t, DirectoryListing::Format::kHtml);
    CHECK(html.find("<a href=\"a%26b%3Cc%3Ed%22e%27f%3Fg%23h%25i%20j%3Ak%2B%E2%82%AC.txt\">"
                    "a&amp;b&lt;c&gt;d&quot;e&#39;f?g#h%i j:k+\xe2\x82\xac.txt</a>") != std::string::npos);
    // The padding counts characters, not bytes: the euro sign is one column.
    size_t end = html.find("</a>", html.find("a&amp;")) + 4;
    CHECK(html.substr(end, 50 - 27 + 2) == std::string(50 - 27 + 1, ' ') + "0");  // then " 02-Dec..."
}

TEST_CASE("listing: the title is the escaped request path", "[listing]") {
    TempTree t;
    DirectoryListing::Options o = options(t, DirectoryListing::Format::kHtml);
    o.uri_path = "/<b>&/";
    DirectoryListing l = open_listing(t, std::move(o));
    std::string html = list_all(l, 4096);
    CHECK(html.find("<title>Index of /&lt;b&gt;&amp;/</title>") != std::string::npos);
    CHECK(html.find("<h1>Index of /&lt;b&gt;&amp;/</h1>") != std::string::npos);
}

TEST_CASE("listing: JSON has nginx's fields exactly, size only for files", "[listing]") {
    TempTree t;
    t.file("a.txt", 123);
    t.directory("dir");
    REQUIRE(mkfifo((t.www() / "pipe").c_str(), 0644) == 0);
    t.stamp("pipe");
    CHECK(list(t, DirectoryListing::Format::kJson) ==
          "[\r\n"
          "{ \"name\":\"dir\", \"type\":\"directory\", \"mtime\":\"Wed, 02 Dec 2026 07:50:00 GMT\" },\r\n"
          "{ \"name\":\"a.txt\", \"type\":\"file\", \"mtime\":\"Wed, 02 Dec 2026 07:50:00 GMT\", "
          "\"size\":123 },\r\n"
          "{ \"name\":\"pipe\", \"type\":\"other\", \"mtime\":\"Wed, 02 Dec 2026 07:50:00 GMT\" }\r\n"
          "]");
}

TEST_CASE("listing: JSON strings are escaped, and bytes that are not UTF-8 become U+FFFD", "[listing]") {
    TempTree t;
    t.file("q\"b\\c\x01\x1f\xc3\xa9\xff.txt", 0);
    std::string json = list(t, DirectoryListing::Format::kJson);
    CHECK(json.find("\"name\":\"q\\\"b\\\\c\\u0001\\u001f\xc3\xa9\\ufffd.txt\"") != std::string::npos);
}

TEST_CASE("listing: an empty directory", "[listing]") {
    TempTree t;
    t.file(".only-a-dotfile", 1);
    CHECK(list(t, DirectoryListing::Format::kJson) == "[\r\n]");
    CHECK(hrefs(list(t, DirectoryListing::Format::kHtml)).empty());
}

TEST_CASE("listing: symlinks show what they point to; dangling ones and those leaving the root are left out",
          "[listing]") {
    TempTree t;
    t.file("target.txt", 77);
    t.directory("realdir");
    {
        FILE* f = std::fopen((t.dir / "secret.txt").c_str(), "wb");
        REQUIRE(f != nullptr);
        std::fclose(f);
    }
    fs::create_symlink("target.txt", t.www() / "link.txt");
    fs::create_symlink("realdir", t.www() / "linkdir");
    fs::create_symlink("nowhere", t.www() / "dangling");
    fs::create_symlink("../secret.txt", t.www() / "escape");
    fs::create_symlink(t.dir / "secret.txt", t.www() / "escape-abs");
    fs::create_symlink("loop", t.www() / "loop");
    std::string json = list(t, DirectoryListing::Format::kJson);
    CHECK(json.find("{ \"name\":\"linkdir\", \"type\":\"directory\"") != std::string::npos);
    CHECK(
        json.find("{ \"name\":\"link.txt\", \"type\":\"file\", \"mtime\":\"Wed, 02 Dec 2026 07:50:00 GMT\", "
                  "\"size\":77 }") != std::string::npos);
    CHECK(hrefs(list(t, DirectoryListing::Format::kHtml)) ==
          std::vector<std::string>{"linkdir/", "realdir/", "link.txt", "target.txt"});
}

TEST_CASE("listing: the same bytes whatever the batch sizes and buffer sizes", "[listing]") {
    TempTree t;
    for (int i = 0; i < 300; ++i)
        t.file(numbered("file-", i) + (i % 7 == 0 ? " <&>" : ""), static_cast<size_t>(i));
    for (int i = 0; i < 20; ++i) t.directory(numbered("dir-", i));
    for (auto format : {DirectoryListing::Format::kHtml, DirectoryListing::Format::kJson}) {
        std::string whole = list(t, format, 1 << 20);
        DirectoryListing::Options o = options(t, format);
        o.names_per_step = 7;
        o.entries_per_read = 3;
        DirectoryListing small = open_listing(t, std::move(o));
        size_t steps = 0;
        std::string pieces = list_all(small, 61, &steps);
        CHECK(pieces == whole);
        CHECK(small.entries() == 320);
        CHECK(steps >= 320 / 7);  // the names came in steps, not in one call
    }
}

TEST_CASE("listing: a read formats at most entries_per_read entries", "[listing]") {
    TempTree t;
    for (int i = 0; i < 10; ++i) t.file(numbered("f", i), 1);
    DirectoryListing::Options o = options(t, DirectoryListing::Format::kJson);
    o.entries_per_read = 4;
    DirectoryListing l = open_listing(t, std::move(o));
    while (l.collect() == DirectoryListing::Step::kMore) {
    }
    std::vector<char> buf(1 << 20);
    std::vector<size_t> per_call;
    for (;;) {
        BodyStream::Chunk c = l.produce(buf.data(), buf.size());
        std::string piece(buf.data(), c.bytes);
        size_t n = 0;
        for (size_t at = piece.find("\"name\""); at != std::string::npos; at = piece.find("\"name\"", at + 1))
            ++n;
        per_call.push_back(n);
        if (c.status == BodyStream::Status::kEnd) break;
    }
    CHECK(per_call == std::vector<size_t>{4, 4, 2});
}

TEST_CASE("listing: past max_entries the listing is refused", "[listing]") {
    TempTree t;
    for (int i = 0; i < 6; ++i) t.file(numbered("f", i), 1);
    t.file(".dot", 1);  // not an entry: does not count
    DirectoryListing::Options o = options(t, DirectoryListing::Format::kHtml);
    o.max_entries = 6;
    DirectoryListing fits = open_listing(t, o);
    CHECK(hrefs(list_all(fits, 4096)).size() == 6);
    t.file("f6", 1);
    o.max_entries = 6;
    DirectoryListing over = open_listing(t, o);
    DirectoryListing::Step s;
    while ((s = over.collect()) == DirectoryListing::Step::kMore) {
    }
    CHECK(s == DirectoryListing::Step::kRefused);
    CHECK(over.collect() == DirectoryListing::Step::kRefused);  // and it stays so
}

TEST_CASE("listing: the head comes once the names are in: 200 with the type and no length, or a 500 page",
          "[listing]") {
    TempTree t;
    for (int i = 0; i < 10; ++i) t.file(numbered("f", i), 1);
    char buf[512];
    for (auto format : {DirectoryListing::Format::kHtml, DirectoryListing::Format::kJson}) {
        DirectoryListing::Options o = options(t, format);
        o.names_per_step = 4;
        DirectoryListing l = open_listing(t, std::move(o));
        portico::http::HeaderWriter hw(buf, sizeof buf);
        uint16_t status = 0;
        uint64_t length = 0;
        int tries = 1;
        while (!l.write_head(hw, status, length)) ++tries;
        CHECK(tries >= 3);  // 10 names, 4 a step
        CHECK(status == 200);
        CHECK(length == portico::http::kUnknownLength);
        CHECK(std::string(hw.view()) ==
              (format == DirectoryListing::Format::kJson
                   ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   : "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"));
    }
    DirectoryListing::Options o = options(t, DirectoryListing::Format::kHtml);
    o.max_entries = 9;
    o.refused_page = "<html>refused</html>";
    DirectoryListing over = open_listing(t, std::move(o));
    portico::http::HeaderWriter hw(buf, sizeof buf);
    uint16_t status = 0;
    uint64_t length = 0;
    while (!over.write_head(hw, status, length)) {
    }
    CHECK(status == 500);
    CHECK(length == 20);
    CHECK(std::string(hw.view()) ==
          "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 20\r\n");
    std::string body;
    for (;;) {
        BodyStream::Chunk c = over.produce(buf, 7);
        body.append(buf, c.bytes);
        if (c.status == BodyStream::Status::kEnd) break;
    }
    CHECK(body == "<html>refused</html>");
}

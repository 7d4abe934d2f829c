// Directory listings (autoindex, issue 9) with the real binary: the HTML and JSON forms of a
// directory of awkward names, every link followed back to its file's bytes, the JSON read by a
// real parser (python3's json), chunked on HTTP/1.1 and close-delimited on HTTP/1.0, HEAD, and
// a directory of 50,000 entries listed whole while another connection is still answered promptly.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

/// A response read to the end of the connection (the request said Connection: close), its body
/// de-chunked when it came chunked.
struct Listing {
    int status = 0;
    std::string head;  ///< status line and fields, with the blank line
    std::string body;
    bool chunked = false;
};

std::string field(const std::string& head, const std::string& name) {
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string key = "\r\n" + name + ": ";
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t at = lower.find(key);
    if (at == std::string::npos) return {};
    at += key.size();
    return head.substr(at, head.find("\r\n", at) - at);
}

/// Decodes a chunked body that must end exactly with its last chunk.
std::string dechunk(const std::string& raw) {
    std::string out;
    for (size_t at = 0;;) {
        size_t eol = raw.find("\r\n", at);
        REQUIRE(eol != std::string::npos);
        size_t size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
        at = eol + 2;
        if (size == 0) {
            REQUIRE(raw.substr(at) == "\r\n");
            return out;
        }
        REQUIRE(raw.size() >= at + size + 2);
        out.append(raw, at, size);
        REQUIRE(raw.substr(at + size, 2) == "\r\n");
        at += size + 2;
    }
}

Listing parse(const std::string& bytes, bool head_only = false) {
    Listing l;
    size_t end = bytes.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    l.head = bytes.substr(0, end + 4);
    REQUIRE(l.head.size() > 12);
    l.status = std::stoi(l.head.substr(9, 3));
    std::string rest = bytes.substr(end + 4);
    l.chunked = field(l.head, "Transfer-Encoding") == "chunked";
    if (head_only) {
        CHECK(rest.empty());
    } else if (l.chunked) {
        l.body = dechunk(rest);
    } else {
        l.body = rest;
    }
    return l;
}

Listing fetch(uint16_t port, const std::string& target, const std::string& version = "HTTP/1.1",
              const std::string& method = "GET") {
    Client c(port);
    c.send_raw(method + " " + target + " " + version + "\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    Closed closed = c.read_until_close();
    CHECK_FALSE(closed.reset);
    return parse(closed.bytes, method == "HEAD");
}

std::string html_unescape(std::string s) {
    const std::pair<std::string, std::string> entities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
    for (const auto& [from, to] : entities)
        for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
            s.replace(at, from.size(), to);
    return s;
}

struct Link {
    std::string href, text;
};

/// The links of an HTML listing, "../" first.
std::vector<Link> links(const std::string& html) {
    std::vector<Link> out;
    for (size_t at = html.find("<a href=\""); at != std::string::npos; at = html.find("<a href=\"", at)) {
        at += 9;
        size_t quote = html.find("\">", at);
        size_t close = html.find("</a>", quote);
        REQUIRE(close != std::string::npos);
        out.push_back(
            {html.substr(at, quote - at), html_unescape(html.substr(quote + 2, close - quote - 2))});
        at = close;
    }
    return out;
}

/// Runs python3 on `json` (a file) and returns what `script` prints.
std::string python(const TempDir& dir, const std::string& json, const std::string& script) {
    write_file(dir / "listing.json", json);
    write_file(dir / "check.py", script);
    std::string cmd = "python3 '" + (dir / "check.py") + "' '" + (dir / "listing.json") + "' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    CHECK(::pclose(p) == 0);
    return out;
}

// Names a browser would choke on if they were not escaped, each a file with its own bytes.
const std::vector<std::string> kAwkward = {
    "plain.txt",
    "sp ace.txt",
    "q?mark.txt",
    "hash#tag.txt",
    "pct%41.txt",
    "pct%.txt",
    "quo\"te.txt",
    "lt<gt>.txt",
    "amp&er.txt",
    "apos'.txt",
    "plus+sign.txt",
    "colon:x.txt",
    "semi;colon.txt",
    "\xc3\xa9t\xc3\xa9-\xe2\x82\xac.txt",
    "\xe6\x97\xa5\xe6\x9c\xac.txt",
};

/// www/list/: the awkward files, a directory with a space in its name, a dotfile, symlinks.
std::string make_awkward_dir(const Site& site) {
    std::string dir = site.www + "/list";
    std::filesystem::create_directories(dir + "/sub dir");
    for (size_t i = 0; i < kAwkward.size(); ++i)
        write_file(dir + "/" + kAwkward[i], pattern(100 + i, 40 + i));
    write_file(dir + "/sub dir/inner.txt", "inner\n");
    write_file(dir + "/.hidden", "not listed\n");
    std::filesystem::create_symlink("plain.txt", dir + "/link-to-plain");
    std::filesystem::create_symlink("../../secret.txt", dir + "/escape");
    std::filesystem::create_symlink("nowhere", dir + "/dangling");
    return dir;
}

}  // namespace

TEST_CASE("autoindex html lists a directory of awkward names, and every link fetches its file", "[listing]") {
    SiteServer s("autoindex = \"html\";");
    std::string dir = make_awkward_dir(s.site);

    Listing l = fetch(s.server.port(), "/list/");
    INFO(l.head);
    REQUIRE(l.status == 200);
    CHECK(l.chunked);
    CHECK(field(l.head, "Content-Type") == "text/html; charset=utf-8");
    CHECK(field(l.head, "Content-Length").empty());
    CHECK(field(l.head, "ETag").empty());
    CHECK(field(l.head, "Last-Modified").empty());
    CHECK(l.body.find("<title>Index of /list/</title>") != std::string::npos);

    std::vector<Link> found = links(l.body);
    REQUIRE(found.size() >= 2);
    CHECK(found[0].href == "../");
    CHECK(found[1].text == "sub dir/");  // directories first
    std::set<std::string> names;
    Client c(s.server.port());
    for (size_t i = 1; i < found.size(); ++i) {
        const Link& link = found[i];
        INFO("link " << link.href << " for " << link.text);
        names.insert(link.text);
        if (link.text.back() == '/') {  // the subdirectory: its own listing
            Listing sub = fetch(s.server.port(), "/list/" + link.href);
            CHECK(sub.status == 200);
            CHECK(links(sub.body).back().text == "inner.txt");
            continue;
        }
        c.send_raw(get("/list/" + link.href));
        Response r = c.read_response();
        CHECK(r.status == 200);
        std::string on_disk = link.text == "link-to-plain" ? "plain.txt" : link.text;
        CHECK(r.body == read_file(dir + "/" + on_disk));
    }
    std::set<std::string> expected(kAwkward.begin(), kAwkward.end());
    expected.insert("sub dir/");
    expected.insert("link-to-plain");
    CHECK(names == expected);  // no dotfile, no dangling link, no link out of the root
    c.close();
    s.server.stop_and_check();
}

TEST_CASE("autoindex json is nginx's format, read by a real JSON parser", "[listing]") {
    SiteServer s("autoindex = \"json\";");
    std::string dir = make_awkward_dir(s.site);

    Listing l = fetch(s.server.port(), "/list/");
    REQUIRE(l.status == 200);
    CHECK(l.chunked);
    CHECK(field(l.head, "Content-Type") == "application/json");
    // One line per entry: the name's bytes in hex, then type, size ("-" if none), the keys in
    // order and the mtime, tab-separated.
    std::string out = python(s.site.dir, l.body, R"(
import json, sys
with open(sys.argv[1], 'rb') as f:
    entries = json.loads(f.read().decode('utf-8'))
for e in entries:
    print('\t'.join([e['name'].encode('utf-8').hex(), e['type'], str(e.get('size', '-')),
                     ','.join(e.keys()), e['mtime']]))
)");
    std::map<std::string, std::string> seen;  // name -> "type size keys"
    std::vector<std::string> order;
    for (size_t pos = 0; pos < out.size();) {
        size_t eol = out.find('\n', pos);
        std::string line = out.substr(pos, eol - pos);
        pos = eol == std::string::npos ? out.size() : eol + 1;
        std::vector<std::string> cols;
        for (size_t at = 0; at <= line.size();) {
            size_t tab = std::min(line.find('\t', at), line.size());
            cols.push_back(line.substr(at, tab - at));
            at = tab + 1;
        }
        REQUIRE(cols.size() == 5);
        std::string name;
        for (size_t i = 0; i + 1 < cols[0].size(); i += 2)
            name += static_cast<char>(std::stoi(cols[0].substr(i, 2), nullptr, 16));
        CHECK(is_http_date(cols[4]));
        seen[name] = cols[1] + " " + cols[2] + " " + cols[3];
        order.push_back(name);
    }
    INFO(out);
    REQUIRE(order.size() == kAwkward.size() + 2);
    CHECK(order[0] == "sub dir");
    CHECK(seen["sub dir"] == "directory - name,type,mtime");
    for (size_t i = 0; i < kAwkward.size(); ++i)
        CHECK(seen[kAwkward[i]] == "file " + std::to_string(100 + i) + " name,type,mtime,size");
    CHECK(seen["link-to-plain"] == "file 100 name,type,mtime,size");
    s.server.stop_and_check();
}

TEST_CASE(
    "a listing is close-delimited on HTTP/1.0, chunked and kept alive on HTTP/1.1, and HEAD gets the head",
    "[listing]") {
    SiteServer s("autoindex = \"html\";");
    make_awkward_dir(s.site);
    Listing chunked = fetch(s.server.port(), "/list/");
    Listing old = fetch(s.server.port(), "/list/", "HTTP/1.0");
    REQUIRE(old.status == 200);
    CHECK_FALSE(old.chunked);
    CHECK(field(old.head, "Connection") == "close");
    CHECK(field(old.head, "Content-Length").empty());
    CHECK(old.body == chunked.body);

    Listing head = fetch(s.server.port(), "/list/", "HTTP/1.1", "HEAD");
    CHECK(head.status == 200);
    CHECK(field(head.head, "Content-Type") == "text/html; charset=utf-8");

    // Keep-alive: the chunked body ends where it should, so the next response on the connection parses.
    Client c(s.server.port());
    c.send_raw(get("/list/") + get("/small.txt", "Connection: close\r\n"));
    Closed both = c.read_until_close();
    std::string first_head = both.bytes.substr(0, both.bytes.find("\r\n\r\n") + 4);
    CHECK(field(first_head, "Connection").empty());
    size_t last_chunk = both.bytes.find("\r\n0\r\n\r\n");
    REQUIRE(last_chunk != std::string::npos);
    std::string second = both.bytes.substr(last_chunk + 7);
    CHECK(second.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(second.ends_with(s.site.small));
    CHECK(dechunk(both.bytes.substr(first_head.size(), last_chunk + 7 - first_head.size())) == chunked.body);

    // Off by default: a directory without an index stays a 403 on a server that does not list.
    Listing b = [&] {
        Client cb(s.server.port());
        cb.send_raw("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
        return parse(cb.read_until_close().bytes);
    }();
    CHECK(b.status == 200);  // the index file wins over the listing
    s.server.stop_and_check();
}

// The listing writes its own head once it has read the names; the location's headers are added to
// that head, not written in front of it (they once came before the status line).
TEST_CASE("a listing carries the location's add_headers and expires, GET and HEAD", "[listing]") {
    SiteServer s("autoindex = \"html\"; add_headers = [ \"X-Frame-Options: DENY\" ]; expires = \"1h\";");
    make_awkward_dir(s.site);
    for (const char* method : {"GET", "HEAD"}) {
        INFO(method);
        Listing l = fetch(s.server.port(), "/list/", "HTTP/1.1", method);
        CHECK(l.head.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(l.status == 200);
        CHECK(field(l.head, "X-Frame-Options") == "DENY");
        CHECK(field(l.head, "Cache-Control") == "max-age=3600");
        CHECK_FALSE(field(l.head, "Expires").empty());
        CHECK(field(l.head, "Content-Type") == "text/html; charset=utf-8");
    }
    s.server.stop_and_check();
}

TEST_CASE("autoindex off answers 403 for a directory without an index", "[listing]") {
    SiteServer s;
    make_awkward_dir(s.site);
    Client c(s.server.port());
    c.send_raw(get("/list/"));
    CHECK(c.read_response().status == 403);
    c.close();
    s.server.stop_and_check();
}

namespace {

constexpr int kBigDirectory = 50'000;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

/// One small request on `c`, answered; how long it took, in microseconds.
double probe_once(Client& c, const std::string& expect) {
    auto t0 = Clock::now();
    c.send_raw(get("/small.txt"));
    Response r = c.read_response();
    auto t1 = Clock::now();
    CHECK(r.body == expect);
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
}

/// Reads a response to its end slowly: at most 8 KiB, then a millisecond's pause, so that the
/// listing stays under way for a while and the server's send buffer keeps filling up.
struct SlowReader {
    std::string bytes;
    std::atomic<bool> done{false};
    bool failed = false;

    void run(int fd) {
        auto deadline = Clock::now() + std::chrono::seconds(120);
        char buf[8192];
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
                failed = true;
                break;
            }
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n < 0) failed = true;
            if (n <= 0) break;
            bytes.append(buf, static_cast<size_t>(n));
            std::this_thread::sleep_for(milliseconds(1));  // pacing the reader, not waiting for an event
        }
        done = true;
    }
};

}  // namespace

TEST_CASE("a directory of 50,000 entries is listed whole while another connection is answered promptly",
          "[listing][fairness]") {
    SiteServer s("autoindex = \"html\"; keepalive_requests = 1000000;");  // one probe connection throughout
    std::string big = s.site.www + "/big";
    std::filesystem::create_directories(big);
    for (int i = 0; i < kBigDirectory; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "/entry-%05d.txt", i);
        int fd = ::open((big + name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        ::close(fd);
    }
    Client probe(s.server.port());
    probe_once(probe, s.site.small);  // warm: the file is cached from now on
    std::vector<double> quiet;
    for (int i = 0; i < 100; ++i) quiet.push_back(probe_once(probe, s.site.small));

    Client slow(s.server.port(), 16 * 1024, std::chrono::seconds(120));
    slow.send_raw("GET /big/ HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    SlowReader reader;
    std::thread thread([&] { reader.run(slow.fd()); });
    std::vector<double> busy;
    while (!reader.done.load() && busy.size() < 20000) busy.push_back(probe_once(probe, s.site.small));
    thread.join();
    REQUIRE_FALSE(reader.failed);

    Listing l = parse(reader.bytes);
    REQUIRE(l.status == 200);
    std::vector<Link> found = links(l.body);
    REQUIRE(found.size() == kBigDirectory + 1);  // and "../"
    CHECK(found[1].text == "entry-00000.txt");
    CHECK(found.back().text == "entry-49999.txt");

    double quiet_median = median(quiet), busy_median = median(busy);
    double quiet_max = *std::max_element(quiet.begin(), quiet.end());
    double busy_max = *std::max_element(busy.begin(), busy.end());
    INFO("small request: " << quiet_median << " us (median), " << quiet_max << " us (max) with no listing; "
                           << busy_median << " us (median), " << busy_max << " us (max) over " << busy.size()
                           << " requests during the listing");
    // The listing lasts the better part of a second at the reader's pace: plenty of requests in
    // between. Ratios to the same request's time with no listing, generous for a loaded machine:
    // the typical request is not slowed (each of the listing's turns is a few ms at most, and
    // most of the time it waits for the reader), and no request waits for a whole listing (all
    // of its work at once would be about 70 ms here, about 1,000 quiet requests).
    std::vector<double> sorted = busy;
    std::sort(sorted.begin(), sorted.end());
    double busy_p99 = sorted[sorted.size() * 99 / 100];
    INFO("p99 during the listing: " << busy_p99 << " us");
    CHECK(busy.size() >= 20);
#if defined(__SANITIZE_ADDRESS__)
    // Under ASan one of the listing's formatting turns takes about 30 ms even on a quiet machine:
    // the bounds would measure the sanitizer. The Release suite holds the server to them; here
    // only the listing's correctness above is checked.
    WARN("latency bounds not checked under ASan (p99 " << busy_p99 << " us)");
#else
    CHECK(busy_median < 5 * quiet_median);
    // With a floor of 10 ms: at load 11 one of the listing's turns alone took about 5 ms (2 ms
    // is 50 quiet requests), while the listing at once is 70 ms or more.
    CHECK(busy_p99 < std::max(50 * quiet_median, 10'000.0));
    // The single worst request may also have met the scheduler on a busy machine (8 ms were seen
    // with builds running beside the test): bounded by a third of the whole listing at once.
    CHECK(busy_max < std::max(1000 * quiet_median, 25'000.0));
#endif
    s.server.stop_and_check();
}

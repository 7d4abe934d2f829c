// The access log: bytes that actually went out (a download cut short logs less than the file),
// access_log_format = "json" read by a strict parser, and a combined log written under load that
// goaccess parses line by line with no invalid request.

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"
#include "tests/integration/master_harness.hpp"

using namespace portico::test;

namespace {

std::vector<std::string> log_lines(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(read_file(path));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The body size of a combined line, and the line itself; fails if no line has `request`.
uint64_t combined_bytes(const std::vector<std::string>& lines, const std::string& request) {
    static const std::regex combined(R"re(^\S+ - - \[[^\]]+\] "(.*)" (\d{3}) (\d+) "(.*)" "(.*)"$)re");
    for (const std::string& line : lines) {
        std::smatch m;
        if (std::regex_match(line, m, combined) && m[1] == request) return std::stoull(m[3]);
    }
    FAIL("no line for " << request);
    return 0;
}

// A strict reader of one flat JSON object whose values are strings and numbers (RFC 8259): no
// trailing bytes, no duplicate keys, raw bytes of strings well-formed UTF-8, escapes valid
// (surrogates in pairs). Strings come back decoded, as UTF-8.
class FlatJson {
public:
    struct Value {
        bool is_string = false;
        std::string text;  ///< decoded string, or the number as written
        double number = 0;
    };

    static std::map<std::string, Value> parse(std::string_view s) {
        FlatJson p(s);
        std::map<std::string, Value> out;
        p.expect('{');
        do {
            std::string key = p.string();
            p.expect(':');
            Value v;
            if (p.peek() == '"') {
                v.is_string = true;
                v.text = p.string();
            } else {
                v.text = p.number();
                v.number = std::stod(v.text);
            }
            if (!out.emplace(key, v).second) p.fail("duplicate key " + key);
        } while (p.eat(','));
        p.expect('}');
        if (p.i_ != s.size()) p.fail("trailing bytes");
        return out;
    }

private:
    explicit FlatJson(std::string_view s) : s_(s) {}
    [[noreturn]] void fail(const std::string& why) const {
        FAIL(why << " at offset " << i_ << " of " << s_);
        throw 0;  // not reached
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c) {
        if (peek() != c) return false;
        ++i_;
        return true;
    }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected ") + c);
    }
    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | cp >> 6);
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | cp >> 12);
            out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | cp >> 18);
            out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
            out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }
    uint32_t hex4() {
        if (s_.size() - i_ < 4) fail("short \\u escape");
        uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) fail("bad hex digit");
            v = v << 4 | static_cast<uint32_t>(d);
        }
        return v;
    }
    void escape(std::string& out) {
        char c = peek();
        ++i_;
        switch (c) {
            case '"':
                out += '"';
                return;
            case '\\':
                out += '\\';
                return;
            case '/':
                out += '/';
                return;
            case 'b':
                out += '\b';
                return;
            case 'f':
                out += '\f';
                return;
            case 'n':
                out += '\n';
                return;
            case 'r':
                out += '\r';
                return;
            case 't':
                out += '\t';
                return;
            case 'u':
                break;
            default:
                fail("bad escape");
        }
        uint32_t cp = hex4();
        if (cp >= 0xdc00 && cp <= 0xdfff) fail("lone low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (!eat('\\') || !eat('u')) fail("lone high surrogate");
            uint32_t lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        put_utf8(out, cp);
    }
    // One raw UTF-8 sequence, checked by code point.
    void raw(std::string& out) {
        auto b = static_cast<unsigned char>(s_[i_]);
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (len == 0 || i_ + len > s_.size()) fail("invalid UTF-8");
        uint32_t cp = len == 1 ? b : b & (0x7f >> len);
        for (size_t k = 1; k < len; ++k) {
            auto c = static_cast<unsigned char>(s_[i_ + k]);
            if ((c >> 6) != 2) fail("invalid UTF-8");
            cp = cp << 6 | (c & 0x3f);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail("invalid UTF-8");
        out.append(s_.substr(i_, len));
        i_ += len;
    }
    std::string string() {
        expect('"');
        std::string out;
        for (;;) {
            if (i_ >= s_.size()) fail("unterminated string");
            auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') break;
            if (c < 0x20) fail("raw control character");
            if (c == '\\') {
                ++i_;
                escape(out);
            } else {
                raw(out);
            }
        }
        ++i_;
        return out;
    }
    std::string number() {
        static const std::regex grammar(R"re(^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)re");
        std::cmatch m;
        std::string rest(s_.substr(i_));
        if (!std::regex_search(rest.c_str(), m, grammar) || m.length(0) == 0) fail("expected a value");
        i_ += static_cast<size_t>(m.length(0));
        return m.str(0);
    }

    std::string_view s_;
    size_t i_ = 0;
};

using Line = std::map<std::string, FlatJson::Value>;

const std::string& str(const Line& l, const std::string& key) {
    INFO("key " << key);
    REQUIRE(l.count(key) == 1);
    REQUIRE(l.at(key).is_string);
    return l.at(key).text;
}

double num(const Line& l, const std::string& key) {
    INFO("key " << key);
    REQUIRE(l.count(key) == 1);
    REQUIRE_FALSE(l.at(key).is_string);
    return l.at(key).number;
}

// Downloads huge.bin on a narrow window, reads `keep` bytes of its body and closes: the server
// is cut off mid-response with most of the file unsent.
void cut_download(uint16_t port, size_t keep) {
    Client c(port, 4096);
    c.send_raw(get("/huge.bin"));
    REQUIRE(c.read_response(true).status == 200);
    CHECK(c.read_exact(keep).size() == keep);
}

}  // namespace

TEST_CASE("the access log counts the body bytes that went out, also for a download cut short", "[log]") {
    SiteServer s;
    const std::string& huge = write_huge_file(s.site);
    {
        Client whole(s.server.port());
        whole.send_raw(get("/huge.bin", "User-Agent: whole\r\n"));
        CHECK(whole.read_response().body.size() == huge.size());
    }
    cut_download(s.server.port(), 65536);
    s.server.stop_and_check();

    std::vector<std::string> lines = log_lines(s.server.access_log_path());
    INFO(read_file(s.server.access_log_path()));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].ends_with(" 200 " + std::to_string(huge.size()) + " \"-\" \"whole\""));
    uint64_t cut = combined_bytes({lines[1]}, "GET /huge.bin HTTP/1.1");
    CHECK(cut >= 65536);
    CHECK(cut < huge.size());
}

TEST_CASE("access_log_format json: one strict JSON object per line, with every field", "[log][json]") {
    SiteServer s("access_log_format = \"json\";");
    write_huge_file(s.site);
    const std::string odd_agent = "odd\t\"agent\"\\ \xFF caf\xC3\xA9 \xED\xA0\x80 end";
    {
        Client c(s.server.port());
        c.send_raw(get("/small.txt", "User-Agent: json-agent/1.0\r\nReferer: http://ref.test/p?q=1\r\n"));
        CHECK(c.read_response().status == 200);
        c.send_raw(get("/missing.html"));
        CHECK(c.read_response().status == 404);
        c.send_raw(get("/small.txt", "Range: bytes=0-9\r\n") + get("/small.txt", {}, "HEAD"));
        CHECK(c.read_response().status == 206);
        CHECK(c.read_response(true).status == 200);
        c.send_raw(get("/index.html", "User-Agent: " + odd_agent + "\r\n"));
        CHECK(c.read_response().status == 200);
        // A head that takes a while: request_time counts from its first byte.
        c.send_raw("GET /small.txt HTTP/1.1\r\n");
        CHECK(c.quiet_for(milliseconds(300)));
        c.send_raw("Host: a.test\r\n\r\n");
        CHECK(c.read_response().status == 200);
    }
    {
        Client bad(s.server.port());
        bad.send_raw("GET /index.html HTTP/1.1\r\n\r\n");  // no Host
        CHECK(bad.read_response().status == 400);
        bad.expect_closed();
    }
    cut_download(s.server.port(), 65536);
    s.server.stop_and_check();

    std::vector<std::string> text = log_lines(s.server.access_log_path());
    INFO(read_file(s.server.access_log_path()));
    REQUIRE(text.size() == 8);
    std::vector<Line> lines;
    static const std::regex iso(R"re(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$)re");
    for (const std::string& t : text) {
        INFO(t);
        lines.push_back(FlatJson::parse(t));
        const Line& l = lines.back();
        CHECK(std::regex_match(str(l, "time"), iso));
        CHECK(str(l, "remote_addr") == "127.0.0.1");
        CHECK(str(l, "protocol") == "HTTP/1.1");
        CHECK(num(l, "bytes_sent") >= num(l, "body_bytes_sent"));
        CHECK(num(l, "request_time") >= 0);
        CHECK(l.size() == 11);
    }
    auto is = [&](size_t i, const char* method, const char* uri, int status, double body) {
        INFO("line " << i << ": " << text[i]);
        CHECK(str(lines[i], "method") == method);
        CHECK(str(lines[i], "uri") == uri);
        CHECK(num(lines[i], "status") == status);
        if (body >= 0) CHECK(num(lines[i], "body_bytes_sent") == body);
    };
    is(0, "GET", "/small.txt", 200, 612);
    CHECK(str(lines[0], "user_agent") == "json-agent/1.0");
    CHECK(str(lines[0], "referer") == "http://ref.test/p?q=1");
    CHECK(num(lines[0], "bytes_sent") > 612);
    is(1, "GET", "/missing.html", 404, -1);
    CHECK(str(lines[1], "referer").empty());
    is(2, "GET", "/small.txt", 206, 10);
    is(3, "HEAD", "/small.txt", 200, 0);
    is(4, "GET", "/index.html", 200, -1);
    // Every byte that is not well-formed UTF-8 became U+FFFD; the rest came back as it was sent.
    CHECK(str(lines[4], "user_agent") ==
          "odd\t\"agent\"\\ \xEF\xBF\xBD caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end");
    is(5, "GET", "/small.txt", 200, 612);
    CHECK(num(lines[5], "request_time") >= 0.3);
    is(6, "GET", "/index.html", 400, -1);
    is(7, "GET", "/huge.bin", 200, -1);
    CHECK(num(lines[7], "body_bytes_sent") >= 65536);
    CHECK(num(lines[7], "body_bytes_sent") < 8 << 20);
}

TEST_CASE("goaccess parses every line of a combined log written under load", "[log][goaccess]") {
    REQUIRE(::access("/usr/bin/goaccess", X_OK) == 0);  // Makefile.wrapper's deps install it
    SiteServer s("keepalive_requests = 100000;");
    // Several clients at once, with what real logs hold: odd user agents, referers, 4xx, HEAD,
    // ranges, a POST, a bad request that closes its connection.
    const std::vector<std::string> agents = {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "curl/8.5.0",
        "odd \"quoted\" agent",
        "back\\slash",
        "tab\there",
        "caf\xC3\xA9 \xFF bytes",
        "-",
        "() { :; }; /bin/true",
        "a[b]c \"d\" 'e'"};
    const std::vector<std::string> requests = {get("/small.txt"),
                                               get("/missing.html"),
                                               get("/small.txt", "Range: bytes=5-20\r\n"),
                                               get("/small.txt", "Range: bytes=9999-\r\n"),
                                               get("/index.html", {}, "HEAD"),
                                               get("/sub"),
                                               get("/medium.bin"),
                                               get("/small.txt?q=1&r=\"x\""),
                                               get("/a%20b.txt"),
                                               get("/../secret.txt"),
                                               get("/small.txt", "Content-Length: 3\r\n", "POST") + "abc"};
    // Eight connections with a request in flight on each at once, all from this thread (Catch2's
    // assertions belong to it).
    constexpr int kClients = 8, kRounds = 40;
    std::vector<std::unique_ptr<Client>> clients;
    for (int t = 0; t < kClients; ++t) clients.push_back(std::make_unique<Client>(s.server.port()));
    int answered = 0;
    for (int r = 0; r < kRounds; ++r) {
        std::vector<bool> head(kClients);
        for (int t = 0; t < kClients; ++t) {
            std::string req = requests[static_cast<size_t>(r + t) % requests.size()];
            const std::string& agent = agents[static_cast<size_t>(r * 7 + t) % agents.size()];
            req.insert(req.find("\r\n") + 2,
                       "User-Agent: " + agent + "\r\nReferer: http://ref.test/" + std::to_string(r) + "\r\n");
            head[static_cast<size_t>(t)] = req.starts_with("HEAD");
            clients[static_cast<size_t>(t)]->send_raw(req);
        }
        for (int t = 0; t < kClients; ++t) {
            Client& c = *clients[static_cast<size_t>(t)];
            Response resp = c.read_response(head[static_cast<size_t>(t)]);
            CHECK(resp.status >= 200);
            ++answered;
            if (resp.has("Connection")) {  // an answer that ends the connection: take a new one
                c.expect_closed();
                clients[static_cast<size_t>(t)] = std::make_unique<Client>(s.server.port());
            }
        }
    }
    clients.clear();
    {
        Client bad(s.server.port());
        bad.send_raw("GET /index.html HTTP/1.1\r\n\r\n");  // no Host: 400, and the close
        CHECK(bad.read_response().status == 400);
    }
    s.server.stop_and_check();
    CHECK(answered == kClients * kRounds);

    const std::string log = s.server.access_log_path();
    size_t lines = log_lines(log).size();
    REQUIRE(lines == kClients * kRounds + 1);
    const std::string report = s.site.dir / "report.json", out = s.site.dir / "goaccess.out";
    std::string cmd = "/usr/bin/goaccess '" + log + "' --log-format=COMBINED --no-global-config -o '" +
                      report + "' > '" + out + "' 2>&1 < /dev/null";
    int status = std::system(cmd.c_str());
    INFO(cmd << "\n" << read_file(out));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    std::string json = read_file(report);
    auto general = [&](const std::string& key) {
        std::smatch m;
        REQUIRE(std::regex_search(json, m, std::regex("\"" + key + "\": *(\\d+)")));
        return std::stoull(m[1]);
    };
    CHECK(general("total_requests") == lines);
    CHECK(general("valid_requests") == lines);
    CHECK(general("failed_requests") == 0);
}

// A response held back for its request body is logged only if it went out: a client that leaves
// mid-body gets nginx's 400 with nothing sent, and an error answered mid-body keeps the request.
TEST_CASE("the access log of a request whose body never came: 400 with no bytes, or the error with its request",
          "[log][json]") {
    SiteServer s("access_log_format = \"json\"; client_body_timeout = \"300ms\";");
    {
        Client gone(s.server.port());
        gone.send_raw(get("/small.txt", "Content-Length: 100\r\n") + "abcd");
        CHECK(gone.quiet_for(milliseconds(100)));  // the 200 is held for the body: nothing comes
        gone.close();
    }
    {
        Client slow(s.server.port());
        slow.send_raw(get("/index.html", "Content-Length: 100\r\nUser-Agent: slow-body\r\n") + "abcd");
        CHECK(slow.read_response().status == 408);
    }
    s.server.stop_and_check();
    std::vector<std::string> text = log_lines(s.server.access_log_path());
    INFO(read_file(s.server.access_log_path()));
    REQUIRE(text.size() == 2);
    std::vector<Line> lines;
    for (const std::string& t : text) lines.push_back(FlatJson::parse(t));
    // Closes and timeouts may be logged in either order: find each by its URI.
    const Line& gone = str(lines[0], "uri") == "/small.txt" ? lines[0] : lines[1];
    const Line& slow = &gone == &lines[0] ? lines[1] : lines[0];
    CHECK(str(gone, "uri") == "/small.txt");
    CHECK(num(gone, "status") == 400);
    CHECK(num(gone, "body_bytes_sent") == 0);
    CHECK(num(gone, "bytes_sent") == 0);
    CHECK(str(slow, "method") == "GET");
    CHECK(str(slow, "uri") == "/index.html");
    CHECK(str(slow, "user_agent") == "slow-body");
    CHECK(num(slow, "status") == 408);
}

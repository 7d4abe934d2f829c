// The process from outside: command line, -t, signals, the access log.

#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <ctime>
#include <cstdio>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

/// The 1-based number of the first line of `text` that contains `needle`.
int line_of(const std::string& text, std::string_view needle) {
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
        if (line.find(needle) != std::string::npos) return n;
    FAIL("no line contains " << needle);
    return 0;
}

/// A config for Site with `http_extra` in the http group, written to dir/name; returns its path.
std::string write_config(const Site& site, const std::string& name, std::string_view http_extra) {
    std::string path = site.dir / name;
    write_file(path, expand(site_config(http_extra), free_port(), site.dir.path()));
    return path;
}

/// Larger than everything the sockets between server and client can hold (tcp_wmem lets the
/// kernel buffer up to 4 MiB on the server side alone), so while the client does not read, the
/// server really is still sending. The 2 MiB file fits in those buffers and would not prove it.
const std::string& add_huge_file(const Site& site) {
    static const std::string body = pattern(8 << 20, 4);
    write_file(site.www + "/huge.bin", body);
    return body;
}

bool can_connect(uint16_t port) {
    portico::core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace

TEST_CASE("portico -t accepts a good config and names file, line and setting of a bad one", "[process][config]") {
    Site site;

    SECTION("a good config") {
        std::string conf = write_config(site, "good.conf", "keepalive_timeout = 5;");
        RunResult r = run_portico({"-t", "-c", conf}, site.dir);
        CHECK(r.status == 0);
        CHECK(r.out.find("test is successful") != std::string::npos);
        CHECK(r.err.empty());
    }
    SECTION("an unknown setting") {
        std::string conf =
            write_config(site, "unknown.conf", "keepalive_timeout = 5;\n    bogus_setting = 1;");
        int line = line_of(read_file(conf), "bogus_setting");
        RunResult r = run_portico({"-t", "-c", conf}, site.dir);
        INFO(r.err);
        CHECK(r.status == 1);
        CHECK(r.err.find(conf + ":" + std::to_string(line) + ":") != std::string::npos);
        CHECK(r.err.find("http.bogus_setting") != std::string::npos);
        CHECK(r.err.find("test failed") != std::string::npos);
    }
    SECTION("a value of the wrong type") {
        std::string conf = write_config(site, "type.conf", "keepalive_timeout = \"soon\";");
        int line = line_of(read_file(conf), "keepalive_timeout");
        RunResult r = run_portico({"-t", "-c", conf}, site.dir);
        INFO(r.err);
        CHECK(r.status == 1);
        CHECK(r.err.find(conf + ":" + std::to_string(line) + ":") != std::string::npos);
        CHECK(r.err.find("keepalive_timeout") != std::string::npos);
    }
    SECTION("a value out of range") {
        std::string conf = write_config(site, "range.conf", "keepalive_requests = 0;");
        int line = line_of(read_file(conf), "keepalive_requests");
        RunResult r = run_portico({"-t", "-c", conf}, site.dir);
        INFO(r.err);
        CHECK(r.status == 1);
        CHECK(r.err.find(conf + ":" + std::to_string(line) + ":") != std::string::npos);
        CHECK(r.err.find("keepalive_requests") != std::string::npos);
    }
    SECTION("a syntax error") {
        std::string conf = write_config(site, "syntax.conf", "keepalive_timeout = ;");
        int line = line_of(read_file(conf), "keepalive_timeout = ;");
        RunResult r = run_portico({"-t", "-c", conf}, site.dir);
        INFO(r.err);
        CHECK(r.status == 1);
        CHECK(r.err.find(conf + ":" + std::to_string(line) + ": syntax error") != std::string::npos);
    }
    SECTION("a missing file") {
        RunResult r = run_portico({"-t", "-c", site.dir / "nope.conf"}, site.dir);
        CHECK(r.status == 1);
        CHECK(r.err.find(site.dir / "nope.conf") != std::string::npos);
    }
    SECTION("starting with a bad config fails the same way instead of serving") {
        std::string conf = write_config(site, "unknown.conf", "bogus_setting = 1;");
        RunResult r = run_portico({"-c", conf}, site.dir);
        CHECK(r.status == 1);
        CHECK(r.err.find("http.bogus_setting") != std::string::npos);
    }
}

// SO_REUSEPORT lets any number of same-user sockets listen on one address, so a second server
// started by mistake used to start fine and take about half of the first one's connections.
TEST_CASE("a second single-process server on the same address fails to start and says why", "[process]") {
    SiteServer s;
    RunResult second = run_portico({"-c", s.server.config_path()}, s.site.dir);
    CHECK(second.status != 0);
    INFO(second.out << second.err);
    const std::string said = second.err + read_file(s.site.dir / "error.log");
    CHECK(said.find("address 127.0.0.1:" + std::to_string(s.server.port()) + " is already in use") !=
          std::string::npos);
    Client c(s.server.port());  // the first one is untouched
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == s.site.small);
    c.close();
    s.server.stop_and_check({"already in use"});
}

TEST_CASE("command line: -v, -h, unknown options", "[process]") {
    TempDir dir;
    RunResult v = run_portico({"-v"}, dir);
    CHECK(v.status == 0);
    CHECK(v.out == "portico/0.1.0\n");
    RunResult h = run_portico({"-h"}, dir);
    CHECK(h.status == 0);
    CHECK(h.out.find("Usage: portico") != std::string::npos);
    RunResult bad = run_portico({"--frobnicate"}, dir);
    CHECK(bad.status != 0);
    CHECK(bad.err.find("--frobnicate") != std::string::npos);
}

TEST_CASE("SIGQUIT finishes a download in flight, closes idle connections, then exits 0",
          "[process][signal]") {
    SiteServer s;
    const std::string& huge = add_huge_file(s.site);
    const uint16_t port = s.server.port();

    Client idle(port);
    idle.send_raw(get("/small.txt"));
    REQUIRE(idle.read_response().body == s.site.small);

    // A small receive window and a client that stops reading keep the response in flight.
    Client slow(port, 4096);
    slow.send_raw(get("/huge.bin"));
    Response head = slow.read_response(true);  // the head only; the body waits in the socket
    REQUIRE(head.status == 200);
    REQUIRE(head.header("Content-Length") == std::to_string(huge.size()));

    REQUIRE(::kill(s.server.pid(), SIGQUIT) == 0);
    REQUIRE(s.server.wait_for_log("shutting down gracefully"));
    CHECK_FALSE(can_connect(port));  // no longer accepting
    idle.expect_closed();            // idle keep-alive connections go (after a short grace)
    CHECK(s.server.alive_after(milliseconds(0)));  // the download holds the server up

    slow.set_rcvbuf(1 << 20);  // the point is made; read the rest quickly
    std::string body = slow.read_exact(huge.size());
    CHECK(body.size() == huge.size());
    CHECK(body == huge);
    slow.expect_closed();
    slow.close();  // as a real client does on EOF; the server may be lingering for it
    CHECK(s.server.wait_exit(kWait) == 0);
    s.server.check_logs();
}

TEST_CASE("SIGQUIT: a request that races the stop on an idle connection is answered with close",
          "[process][signal]") {
    SiteServer s;
    Client c(s.server.port());
    c.send_raw(get("/small.txt"));
    REQUIRE(c.read_response().status == 200);
    REQUIRE(::kill(s.server.pid(), SIGQUIT) == 0);
    REQUIRE(s.server.wait_for_log("shutting down gracefully"));
    // The server gives idle connections a moment, for exactly this request already on its way.
    c.send_raw(get("/index.html"));
    Response r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == s.site.index_html);
    CHECK(r.header("Connection") == "close");
    c.expect_closed();
    CHECK(s.server.wait_exit(kWait) == 0);
    s.server.check_logs();
}

TEST_CASE("SIGQUIT: a request pipelined behind a download in flight is not answered keep-alive",
          "[process][signal]") {
    SiteServer s;
    const std::string& huge = add_huge_file(s.site);
    Client slow(s.server.port(), 4096);
    slow.send_raw(get("/huge.bin") + get("/small.txt"));
    REQUIRE(slow.read_response(true).status == 200);
    REQUIRE(::kill(s.server.pid(), SIGQUIT) == 0);
    REQUIRE(s.server.wait_for_log("shutting down gracefully"));
    slow.set_rcvbuf(1 << 20);
    CHECK(slow.read_exact(huge.size()) == huge);
    // The pipelined request was read before the signal: either it is answered (and says close),
    // or the connection ends cleanly without it. Never a reset, never a keep-alive answer.
    Closed rest = slow.read_until_close();
    CHECK_FALSE(rest.reset);
    if (!rest.bytes.empty()) {
        CHECK(rest.bytes.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(rest.bytes.find("Connection: close\r\n") != std::string::npos);
        CHECK(rest.bytes.ends_with(s.site.small));
    }
    slow.close();  // ends the server's lingering close at once
    CHECK(s.server.wait_exit(kWait) == 0);
    s.server.check_logs();
}

// A response whose writes blocked leaves nothing unread behind it, so no lingering close (which
// would hold a graceful stop for its 5 s) may follow it.
TEST_CASE("SIGQUIT: the server exits as soon as the last response is out", "[process][signal]") {
    SiteServer s;
    const std::string& huge = add_huge_file(s.site);
    Client slow(s.server.port(), 4096);
    slow.send_raw(get("/huge.bin"));
    REQUIRE(slow.read_response(true).status == 200);
    REQUIRE(::kill(s.server.pid(), SIGQUIT) == 0);
    REQUIRE(s.server.wait_for_log("shutting down gracefully"));
    slow.set_rcvbuf(1 << 20);
    CHECK(slow.read_exact(huge.size()) == huge);
    slow.expect_closed();
    auto done = Clock::now();  // the client keeps its socket open: nothing is left to linger for
    CHECK(s.server.wait_exit(kWait * 2) == 0);
    auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - done);
    CHECK(took < milliseconds(1500));
    s.server.check_logs();
}

TEST_CASE("SIGTERM and SIGINT stop promptly, even with a download in flight", "[process][signal]") {
    int sig = GENERATE(SIGTERM, SIGINT);
    INFO("signal " << sig);
    SiteServer s;
    const std::string& huge = add_huge_file(s.site);
    Client slow(s.server.port(), 4096);
    slow.send_raw(get("/huge.bin"));
    REQUIRE(slow.read_response(true).status == 200);
    // An idle keep-alive connection. (One that never spoke is not the server's yet, with
    // defer_accept: a stop drops it in the kernel, and its client learns on its first send.)
    Client idle(s.server.port());
    idle.send_raw(get("/small.txt"));
    REQUIRE(idle.read_response().status == 200);

    auto start = Clock::now();
    CHECK(s.server.stop(sig, milliseconds(2000)) == 0);
    CHECK(Clock::now() - start < milliseconds(1000));
    Closed cut = slow.read_until_close();
    CHECK(cut.bytes.size() < huge.size());  // it did not wait for the download
    idle.expect_closed();
    s.server.check_logs();
}

TEST_CASE("the access log has one combined-format line per request", "[process][log]") {
    SiteServer s;
    Client c(s.server.port());
    c.send_raw(get("/small.txt", "User-Agent: it-agent/1.0\r\nReferer: http://ref.test/page\r\n"));
    CHECK(c.read_response().status == 200);
    c.send_raw(get("/missing.html"));
    Response missing = c.read_response();
    CHECK(missing.status == 404);
    c.send_raw(get("/small.txt", "Range: bytes=0-9\r\n") + get("/small.txt", {}, "HEAD"));
    CHECK(c.read_response().status == 206);
    CHECK(c.read_response(true).status == 200);
    c.send_raw(get("/", "User-Agent: evil\" agent\r\n"));
    CHECK(c.read_response().status == 200);
    c.close();
    Client bad(s.server.port());
    bad.send_raw("GET /index.html HTTP/1.1\r\n\r\n");  // no Host
    Response rejected = bad.read_response();
    CHECK(rejected.status == 400);
    bad.expect_closed();
    bad.close();
    s.server.stop_and_check();  // the log is buffered; stopping flushes it

    std::vector<std::string> lines = lines_of(read_file(s.server.access_log_path()));
    INFO(read_file(s.server.access_log_path()));
    REQUIRE(lines.size() == 6);
    // host ident user [time] "request" status size "referer" "user-agent"
    auto line_is = [&](size_t i, const std::string& rest) {
        INFO("line " << i << ": " << lines[i]);
        const std::string prefix = "127.0.0.1 - - [";
        REQUIRE(lines[i].size() > prefix.size() + 28);
        CHECK(lines[i].starts_with(prefix));
        std::tm tm{};
        const char* time = lines[i].c_str() + prefix.size();
        const char* end = ::strptime(time, "%d/%b/%Y:%H:%M:%S %z", &tm);
        REQUIRE(end != nullptr);
        CHECK(end - time == 26);  // "23/Nov/2026:19:27:24 +0000"
        CHECK(std::string(end) == "] " + rest);
    };
    line_is(0, R"("GET /small.txt HTTP/1.1" 200 612 "http://ref.test/page" "it-agent/1.0")");
    line_is(1, R"("GET /missing.html HTTP/1.1" 404 )" + std::to_string(missing.body.size()) + R"( "-" "-")");
    line_is(2, R"("GET /small.txt HTTP/1.1" 206 10 "-" "-")");
    line_is(3, R"("HEAD /small.txt HTTP/1.1" 200 0 "-" "-")");
    // A quote in a field must not end the quoted field early.
    const std::string index_size = std::to_string(s.site.index_html.size());
    line_is(4, R"("GET / HTTP/1.1" 200 )" + index_size + R"( "-" "evil\x22 agent")");
    line_is(5, R"("GET /index.html HTTP/1.1" 400 )" + std::to_string(rejected.body.size()) + R"( "-" "-")");
}

TEST_CASE("SIGUSR1 reopens the access log", "[process][log]") {
    SiteServer s;
    Client c(s.server.port());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().status == 200);
    const std::string rotated = s.server.access_log_path() + ".1";
    REQUIRE(std::rename(s.server.access_log_path().c_str(), rotated.c_str()) == 0);
    REQUIRE(::kill(s.server.pid(), SIGUSR1) == 0);
    REQUIRE(s.server.wait_for_log("reopening logs"));
    c.send_raw(get("/index.html"));
    CHECK(c.read_response().status == 200);
    c.close();
    s.server.stop_and_check();

    std::string old_log = read_file(rotated), new_log = read_file(s.server.access_log_path());
    CHECK(lines_of(old_log).size() == 1);
    CHECK(old_log.find("\"GET /small.txt HTTP/1.1\" 200") != std::string::npos);
    CHECK(lines_of(new_log).size() == 1);
    CHECK(new_log.find("\"GET /index.html HTTP/1.1\" 200") != std::string::npos);
}

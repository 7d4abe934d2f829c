// The real portico-bench binary against in-test servers that behave, and that misbehave in
// each of the ways the error classes name. Counts must come out exact, not roughly right.

#include "bench_process.hpp"
#include "test_server.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

using portico::bench::test::Behaviour;
using portico::bench::test::BenchRun;
using portico::bench::test::json_number;
using portico::bench::test::run_bench;
using portico::bench::test::TestServer;

namespace {

// Shows what the binary printed when a check fails.
std::string describe(const BenchRun& run) {
    return "exit " + std::to_string(run.exit_code) + "\nstdout: " + run.out + "\nstderr: " + run.err;
}

// A port nothing listens on: bound, never listened to, kept until the test ends, so no other
// process can take it in between.
class DeadPort {
public:
    DeadPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~DeadPort() { ::close(fd_); }
    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

}  // namespace

TEST_CASE("keep-alive run counts every request and byte exactly", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"-n", "200", "-c", "4", "-p", "2", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") == 200);
    CHECK(json_number(run.out, "ok") == 200);
    CHECK(json_number(run.out, "total") == 0);
    CHECK(json_number(run.out, "bytes") == 200.0 * static_cast<double>(TestServer::ok_response().size()));
    CHECK(json_number(run.out, "requests_per_sec") > 0);
    CHECK(json_number(run.out, "p50") >= 0);
    CHECK(json_number(run.out, "max") >= json_number(run.out, "p999"));
    CHECK(server.requests() == 200);
    CHECK(server.connections() <= 4);
}

TEST_CASE("close mode (--close) opens one connection per request", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"-n", "60", "-c", "3", "-p", "1", "--close", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") == 60);
    CHECK(json_number(run.out, "total") == 0);
    CHECK(server.requests() == 60);
    CHECK(server.connections() == 60);
}

TEST_CASE("a server that resets connections gives reset errors", "[bench]") {
    TestServer server(Behaviour::kReset);
    const auto run = run_bench({"-n", "20", "-c", "2", "-p", "1", "--json", "--fail-on-error", server.url()});
    INFO(describe(run));
    CHECK(run.exit_code == 1);
    CHECK(json_number(run.out, "requests") == 0);
    CHECK(json_number(run.out, "reset") > 0);
    CHECK(json_number(run.out, "total") == 20);
}

TEST_CASE("a server that stalls gives timeout errors", "[bench]") {
    TestServer server(Behaviour::kStall);
    const auto run = run_bench({"-n", "4", "-c", "2", "-p", "1", "--timeout", "0.2", "--json", server.url()});
    INFO(describe(run));
    CHECK(run.exit_code == 0);  // no --fail-on-error
    CHECK(json_number(run.out, "timeout") == 4);
    CHECK(json_number(run.out, "total") == 4);
    CHECK(run.seconds < 5);
}

TEST_CASE("garbage instead of HTTP is malformed", "[bench]") {
    TestServer server(Behaviour::kGarbage);
    const auto run = run_bench({"-n", "10", "-c", "1", "--json", server.url()});
    INFO(describe(run));
    CHECK(json_number(run.out, "malformed") == 10);
    CHECK(json_number(run.out, "total") == 10);
}

TEST_CASE("end of file in the middle of a body is short", "[bench]") {
    TestServer server(Behaviour::kShortBody);
    const auto run = run_bench({"-n", "10", "-c", "2", "-p", "1", "--json", server.url()});
    INFO(describe(run));
    CHECK(json_number(run.out, "short") == 10);
    CHECK(json_number(run.out, "total") == 10);
}

TEST_CASE("bad statuses are counted by code", "[bench]") {
    TestServer server(Behaviour::kBadStatus);
    SECTION("reported") {
        const auto run = run_bench({"-n", "20", "-c", "1", "--json", server.url()});
        INFO(describe(run));
        CHECK(run.exit_code == 0);
        CHECK(json_number(run.out, "requests") == 20);
        CHECK(json_number(run.out, "ok") == 0);
        CHECK(json_number(run.out, "status_404") == 10);
        CHECK(json_number(run.out, "status_500") == 10);
        CHECK(json_number(run.out, "total") == 20);
    }
    SECTION("fail the run with --fail-on-error") {
        const auto run = run_bench({"-n", "4", "-c", "1", "--fail-on-error", server.url()});
        INFO(describe(run));
        CHECK(run.exit_code == 1);
        CHECK(run.out.find("status 404: 2") != std::string::npos);
    }
}

TEST_CASE("chunked responses are parsed to their end", "[bench]") {
    TestServer server(Behaviour::kChunked);
    const auto run = run_bench({"-n", "100", "-c", "2", "-p", "2", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") == 100);
    CHECK(json_number(run.out, "total") == 0);
    CHECK(json_number(run.out, "bytes") ==
          100.0 * static_cast<double>(TestServer::chunked_response().size()));
}

TEST_CASE("pipelining (--pipeline) keeps several requests in flight", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run =
        run_bench({"-n", "200", "-c", "2", "-p", "1", "--pipeline", "4", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") == 200);
    CHECK(json_number(run.out, "total") == 0);
    CHECK(server.requests() == 200);
    CHECK(server.max_batch() >= 2);
}

TEST_CASE("HEAD responses have no body", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"-n", "20", "-c", "2", "-m", "HEAD", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") == 20);
    CHECK(json_number(run.out, "total") == 0);
}

TEST_CASE("a request body (--body-file) is sent a body with Content-Length", "[bench]") {
    TestServer server(Behaviour::kOk);
    char path[] = "/tmp/portico-bench-body-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, std::string(100, 'b').data(), 100) == 100);
    ::close(fd);
    const auto run =
        run_bench({"-n", "10", "-c", "1", "-m", "POST", "--body-file", path, "--json", server.url()});
    ::unlink(path);
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") == 10);
    CHECK(server.body_bytes() == 1000);
}

TEST_CASE("a refused connect is a connect error", "[bench]") {
    DeadPort dead;
    const auto run = run_bench({"-n", "3", "-c", "1", "--json", dead.url()});
    INFO(describe(run));
    CHECK(json_number(run.out, "connect") == 3);
    CHECK(json_number(run.out, "total") == 3);
}

TEST_CASE("a timed run (-d) runs for the given time", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"-d", "0.3", "-c", "2", "-p", "2", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") > 0);
    CHECK(json_number(run.out, "duration_sec") == Approx(0.3).margin(0.05));
    CHECK(run.seconds < 5);
}

TEST_CASE("warm-up (--warmup) requests are not counted", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"--warmup", "0.2", "-n", "50", "-c", "1", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") == 50);
    CHECK(server.requests() > 50);
}

TEST_CASE("open loop (--rate) sends at the given rate", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"--rate", "200", "-d", "0.5", "-c", "2", "-p", "1", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    // 100 scheduled; the last may still be in flight when the run ends.
    CHECK(json_number(run.out, "requests") >= 95);
    CHECK(json_number(run.out, "requests") <= 101);
}

TEST_CASE("open loop (--rate) counts latency from the scheduled time, so a stall is not hidden", "[bench]") {
    TestServer server(Behaviour::kSlowStart);
    // 100 requests over 1 s on one connection; the server answers nothing for its first 300 ms.
    // The ~30 requests scheduled in that time all carry the wait: about the slowest 10% of all
    // requests waited over 200 ms. A closed-loop tool would have sent just one of them.
    const auto run = run_bench({"--rate", "100", "-d", "1", "-c", "1", "-p", "1", "--json", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(json_number(run.out, "requests") >= 95);
    CHECK(json_number(run.out, "total") == 0);
    CHECK(json_number(run.out, "max") >= 250);
    CHECK(json_number(run.out, "p90") >= 100);
    CHECK(json_number(run.out, "p50") < 50);
}

TEST_CASE("hold mode (--hold) keeps connections open until SIGTERM, then reports", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"--hold", "-c", "6", "-p", "2", "-d", "20", "--json", server.url()}, 30,
                               "holding 6 connections");
    INFO(describe(run));
    CHECK(run.exit_code == 0);
    CHECK(json_number(run.out, "held") == 6);
    CHECK(json_number(run.out, "requests") == 6);
    CHECK(server.requests() == 6);
    CHECK(run.seconds < 15);
}

TEST_CASE("usage errors exit with status 2 and say why", "[bench]") {
    const std::vector<std::vector<std::string>> bad = {
        {},
        {"-c", "0", "http://127.0.0.1:1/"},
        {"-c", "ten", "http://127.0.0.1:1/"},
        {"-d", "-1", "http://127.0.0.1:1/"},
        {"-d", "1", "-n", "5", "http://127.0.0.1:1/"},
        {"--close", "--pipeline", "2", "http://127.0.0.1:1/"},
        {"--bogus", "http://127.0.0.1:1/"},
        {"-H", "no colon here", "http://127.0.0.1:1/"},
        {"https://127.0.0.1:1/"},
        {"http://example.com/"},
        {"http://127.0.0.1:99999/"},
        {"--urls", "/nonexistent/urls.txt"},
    };
    for (const auto& args : bad) {
        const auto run = run_bench(args);
        INFO(describe(run));
        CHECK(run.exit_code == 2);
        CHECK(run.err.find("portico-bench: ") != std::string::npos);
        CHECK(run.out.empty());
    }
}

TEST_CASE("help (-h) prints the usage and exits 0", "[bench]") {
    const auto run = run_bench({"-h"});
    CHECK(run.exit_code == 0);
    CHECK(run.out.find("usage: portico-bench") != std::string::npos);
}

TEST_CASE("the text report names requests, latency and errors", "[bench]") {
    TestServer server(Behaviour::kOk);
    const auto run = run_bench({"-n", "10", "-c", "1", server.url()});
    INFO(describe(run));
    REQUIRE(run.exit_code == 0);
    CHECK(run.out.find("requests     10 in") != std::string::npos);
    CHECK(run.out.find("p99.9") != std::string::npos);
    CHECK(run.out.find("errors       0") != std::string::npos);
}

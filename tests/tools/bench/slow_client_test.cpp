// The slow-client mode's parts (options, the trickled head, the socket-table watch) and the
// real binary against an in-test server that never times anything out.

#include "slow_client.hpp"
#include "bench_process.hpp"
#include "options.hpp"
#include "server_sockets.hpp"
#include "slow_json.hpp"
#include "target.hpp"
#include "test_server.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace portico::bench;
using portico::bench::test::Behaviour;
using portico::bench::test::json_number;
using portico::bench::test::json_object;
using portico::bench::test::run_bench;
using portico::bench::test::TestServer;

namespace {

Options parse(std::vector<std::string> args) {
    args.insert(args.begin(), "portico-bench");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_options(static_cast<int>(args.size()), argv.data());
}

// A listener on 127.0.0.1 and one connection to it, accepted: both ends in this process.
struct LoopbackPair {
    int listener = -1;
    int client = -1;
    int accepted = -1;
    uint16_t port = 0;

    LoopbackPair() {
        listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        ::bind(listener, reinterpret_cast<sockaddr*>(&addr), len);
        ::listen(listener, 8);
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
        client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ::connect(client, reinterpret_cast<sockaddr*>(&addr), len);
        accepted = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    }
    ~LoopbackPair() {
        for (int fd : {listener, client, accepted}) {
            if (fd >= 0) ::close(fd);
        }
    }
    [[nodiscard]] uint16_t client_port() const {
        sockaddr_in addr{};
        socklen_t len = sizeof(addr);
        ::getsockname(client, reinterpret_cast<sockaddr*>(&addr), &len);
        return ntohs(addr.sin_port);
    }
};

}  // namespace

TEST_CASE("slow options: defaults and values", "[bench][slow]") {
    const Options plain = parse({"http://127.0.0.1:8080/"});
    CHECK_FALSE(plain.slow.enabled());
    CHECK(plain.slow.read_rate == 1024);
    CHECK(plain.slow.mss == 1460);
    CHECK(plain.slow.reconnect);

    const Options o = parse({"--slowloris",
                             "2000",
                             "--slowloris-interval",
                             "3",
                             "--slow-readers",
                             "500",
                             "--slow-url",
                             "http://127.0.0.1:8080/big",
                             "--slow-read-rate",
                             "2048",
                             "--slow-rcvbuf",
                             "0",
                             "--slow-mss",
                             "0",
                             "--slow-ramp",
                             "0",
                             "--slow-no-reconnect",
                             "--baseline",
                             "--expect-header-timeout",
                             "10",
                             "--expect-send-timeout",
                             "20",
                             "--expect-slack",
                             "0.5",
                             "-d",
                             "30",
                             "http://127.0.0.1:8080/"});
    CHECK(o.slow.enabled());
    CHECK(o.slow.loris == 2000);
    CHECK(o.slow.loris_interval_sec == 3.0);
    CHECK(o.slow.readers == 500);
    CHECK(o.slow.reader_url == "http://127.0.0.1:8080/big");
    CHECK(o.slow.read_rate == 2048);
    CHECK(o.slow.rcvbuf == 0);
    CHECK(o.slow.mss == 0);
    CHECK(o.slow.ramp_sec == 0.0);
    CHECK_FALSE(o.slow.reconnect);
    CHECK(o.slow.baseline);
    CHECK(o.slow.expect_header_sec == 10.0);
    CHECK(o.slow.expect_send_sec == 20.0);
    CHECK(o.slow.expect_slack_sec == 0.5);
}

TEST_CASE("slow options: what cannot be run is a usage error", "[bench][slow]") {
    const std::string url = "http://127.0.0.1:8080/";
    CHECK_THROWS_AS(parse({"--slowloris", "10", "-n", "100", url}), UsageError);
    CHECK_THROWS_AS(parse({"--slow-readers", "10", "--hold", url}), UsageError);
    CHECK_THROWS_AS(parse({"--baseline", url}), UsageError);
    CHECK_THROWS_AS(parse({"--slow-url", url, url}), UsageError);
    CHECK_THROWS_AS(parse({"--slowloris", "x", url}), UsageError);
    CHECK_THROWS_AS(parse({"--slowloris-interval", "0", "--slowloris", "1", url}), UsageError);
    CHECK_THROWS_AS(parse({"--slow-readers", "1", "--slow-mss", "10", url}), UsageError);
    CHECK_THROWS_AS(parse({"--slow-read-rate", "0", "--slow-readers", "1", url}), UsageError);
}

TEST_CASE("the slowloris head is a valid start that never ends", "[bench][slow]") {
    const Target t = parse_target("http://127.0.0.1:8080/index.html");
    const std::string prefix = SlowClient::loris_prefix(t);
    CHECK(prefix.rfind("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n", 0) == 0);
    std::string head;
    for (uint64_t k = 0; k < 4000; ++k) head += SlowClient::loris_byte(prefix, k);
    CHECK(head.compare(0, prefix.size(), prefix) == 0);
    CHECK(head.find("\r\n\r\n") == std::string::npos);
    CHECK(head.find('\0') == std::string::npos);
    // Every line after the request line is a header field.
    CHECK(head.find("\r\nX-Slow: 1\r\nX-Slow: 1\r\n") != std::string::npos);
}

TEST_CASE("the server's socket table tells established, shut down and let go apart", "[bench][slow]") {
    LoopbackPair pair;
    REQUIRE(pair.accepted >= 0);
    const uint16_t port = pair.client_port();
    ServerSockets table(parse_target("http://127.0.0.1:" + std::to_string(pair.port) + "/"));
    REQUIRE(table.valid());
    ServerSockets::Peers peers;
    REQUIRE(table.dump(peers));
    CHECK(peers.established.count() == 1);
    CHECK(peers.established.test(port));
    CHECK(peers.held.test(port));
    // The server shuts its side down (as after a 408): no longer established, still held,
    // although the client has not read anything.
    REQUIRE(::shutdown(pair.accepted, SHUT_WR) == 0);
    REQUIRE(table.dump(peers));
    CHECK_FALSE(peers.established.test(port));
    CHECK(peers.held.test(port));
    // It closes the descriptor: an orphan, let go.
    ::close(pair.accepted);
    pair.accepted = -1;
    REQUIRE(table.dump(peers));
    CHECK(peers.established.none());
    CHECK(peers.held.none());
    // A server on another address is not this one, even on the same port number.
    LoopbackPair second;
    ServerSockets elsewhere(parse_target("http://127.0.0.2:" + std::to_string(second.port) + "/"));
    REQUIRE(elsewhere.dump(peers));
    CHECK(peers.established.none());
}

TEST_CASE("a server that never times out is reported late, and --fail-on-error fails", "[bench][slow]") {
    TestServer server(Behaviour::kStall);
    const auto run = run_bench({"--slowloris",
                                "6",
                                "--slowloris-interval",
                                "0.2",
                                "--slow-readers",
                                "2",
                                "--slow-ramp",
                                "0.1",
                                "--expect-header-timeout",
                                "0.3",
                                "--expect-send-timeout",
                                "0.3",
                                "--expect-slack",
                                "0.2",
                                "-d",
                                "1.5",
                                "-c",
                                "1",
                                "-p",
                                "1",
                                "--timeout",
                                "0.5",
                                "--fail-on-error",
                                "--json",
                                server.url()},
                               60);
    INFO("exit " << run.exit_code << "\nstdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 1);
    const std::string loris = json_object(run.out, "slowloris");
    const std::string readers = json_object(run.out, "slow_readers");
    REQUIRE_FALSE(loris.empty());
    REQUIRE_FALSE(readers.empty());
    CHECK(json_number(loris, "established") == 6);
    CHECK(json_number(loris, "cut") == 0);
    CHECK(json_number(loris, "open_at_end") == 6);
    CHECK(json_number(loris, "late") == 6);
    CHECK(json_number(readers, "open_at_end") == 2);
    CHECK(json_number(readers, "late") == 2);
    CHECK(json_number(loris, "bytes_sent") >= 6);
    // The load found a server that never answers: every request timed out.
    CHECK(json_number(json_object(run.out, "loaded"), "errors") > 0);
}

// Command line, URL and request building: the parts decided before any fork.

#include "options.hpp"
#include "request_set.hpp"
#include "target.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

using namespace portico::bench;

namespace {

Options parse(std::vector<std::string> args) {
    args.insert(args.begin(), "portico-bench");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_options(static_cast<int>(args.size()), argv.data());
}

}  // namespace

TEST_CASE("options: defaults", "[bench][options]") {
    const Options o = parse({"http://127.0.0.1:8080/"});
    CHECK(o.connections == 10);
    CHECK(o.duration_sec == 10.0);
    CHECK(o.total_requests == 0);
    CHECK(o.timeout_sec == 5.0);
    CHECK(o.pipeline == 1);
    CHECK(o.method == "GET");
    CHECK_FALSE(o.close);
    REQUIRE(o.urls.size() == 1);
}

TEST_CASE("options: everything, options after URLs too", "[bench][options]") {
    const Options o = parse({"http://127.0.0.1:1/a",
                             "-c",
                             "50",
                             "-p",
                             "2",
                             "-d",
                             "2.5",
                             "--warmup",
                             "0.5",
                             "--pipeline",
                             "8",
                             "-m",
                             "HEAD",
                             "-H",
                             "X-A: 1",
                             "-H",
                             "X-B: 2",
                             "--timeout",
                             "0.25",
                             "--rate",
                             "1000",
                             "--json",
                             "--fail-on-error",
                             "http://127.0.0.1:1/b"});
    CHECK(o.connections == 50);
    CHECK(o.processes == 2);
    CHECK(o.duration_sec == 2.5);
    CHECK(o.warmup_sec == 0.5);
    CHECK(o.pipeline == 8);
    CHECK(o.method == "HEAD");
    CHECK(o.headers == std::vector<std::string>{"X-A: 1", "X-B: 2"});
    CHECK(o.timeout_sec == 0.25);
    CHECK(o.rate == 1000);
    CHECK(o.json);
    CHECK(o.fail_on_error);
    CHECK(o.urls == std::vector<std::string>{"http://127.0.0.1:1/a", "http://127.0.0.1:1/b"});
}

TEST_CASE("options: what is refused", "[bench][options]") {
    CHECK_THROWS_AS(parse({}), UsageError);
    CHECK_THROWS_AS(parse({"-c", "0", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-c", "1x", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-d", "0", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-d", "nan", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-n", "1", "-d", "1", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"--close", "--pipeline", "2", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"--hold", "-n", "2", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-m", "GE T", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-H", ": x", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-x", "http://127.0.0.1/"}), UsageError);
    CHECK_THROWS_AS(parse({"-c"}), UsageError);
    CHECK(parse({"-h"}).help);
}

TEST_CASE("targets: numeric hosts, localhost, IPv6, ports and paths", "[bench][options]") {
    const Target a = parse_target("http://127.0.0.1:8080/index.html?x=1#frag");
    CHECK(a.host == "127.0.0.1:8080");
    CHECK(a.path == "/index.html?x=1");
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.address);
    CHECK(v4->sin_family == AF_INET);
    CHECK(ntohs(v4->sin_port) == 8080);

    const Target b = parse_target("http://localhost");
    CHECK(b.host == "localhost");
    CHECK(b.path == "/");
    CHECK(ntohs(reinterpret_cast<const sockaddr_in*>(&b.address)->sin_port) == 80);
    CHECK(reinterpret_cast<const sockaddr_in*>(&b.address)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));

    const Target c = parse_target("http://[::1]:9000?q");
    CHECK(c.host == "[::1]:9000");
    CHECK(c.path == "/?q");
    CHECK(reinterpret_cast<const sockaddr_in6*>(&c.address)->sin6_family == AF_INET6);
    CHECK(c.address_len == sizeof(sockaddr_in6));

    CHECK_THROWS_AS(parse_target("https://127.0.0.1/"), UsageError);
    CHECK_THROWS_AS(parse_target("http://example.com/"), UsageError);
    CHECK_THROWS_AS(parse_target("http://127.0.0.1:0/"), UsageError);
    CHECK_THROWS_AS(parse_target("http://127.0.0.1:/"), UsageError);
    CHECK_THROWS_AS(parse_target("http://[::1/"), UsageError);
    CHECK_THROWS_AS(parse_target("http:///"), UsageError);
}

TEST_CASE("requests: Host, Connection and Content-Length, user headers win", "[bench][options]") {
    Options o = parse({"-H", "X-Test: 1", "http://127.0.0.1:81/p"});
    const Target t = parse_target("http://127.0.0.1:81/p");
    CHECK(RequestSet::build(o, t) == "GET /p HTTP/1.1\r\nHost: 127.0.0.1:81\r\nX-Test: 1\r\n\r\n");

    o.close = true;
    o.method = "POST";
    o.body = "abc";
    CHECK(RequestSet::build(o, t) ==
          "POST /p HTTP/1.1\r\nHost: 127.0.0.1:81\r\nX-Test: 1\r\nConnection: close\r\nContent-Length: "
          "3\r\n\r\nabc");

    o = parse({"-H", "host: other", "-H", "Connection: keep-alive", "--close", "http://127.0.0.1:81/p"});
    CHECK(RequestSet::build(o, t) == "GET /p HTTP/1.1\r\nhost: other\r\nConnection: keep-alive\r\n\r\n");

    o = parse({"--pipeline", "3", "-m", "HEAD", "http://127.0.0.1:81/p"});
    const RequestSet set(o, {t});
    CHECK(set.head());
    CHECK(std::string(set.batch(0), set.size(0) * 3) ==
          "HEAD /p HTTP/1.1\r\nHost: 127.0.0.1:81\r\n\r\n"
          "HEAD /p HTTP/1.1\r\nHost: 127.0.0.1:81\r\n\r\n"
          "HEAD /p HTTP/1.1\r\nHost: 127.0.0.1:81\r\n\r\n");
}

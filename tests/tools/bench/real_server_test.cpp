// portico-bench against the real portico server: the counts must be exact there too. Skipped
// (with a warning) when the portico binary has not been built, since this target does not
// force a build of the whole server.

#include "bench_process.hpp"
#include "portico_process.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

using portico::bench::test::BenchRun;
using portico::bench::test::json_number;
using portico::bench::test::PorticoProcess;
using portico::bench::test::run_bench;
using portico::bench::test::server_binary;

namespace {

std::string describe(const BenchRun& run, const PorticoProcess& server) {
    return "exit " + std::to_string(run.exit_code) + "\nstdout: " + run.out + "\nstderr: " + run.err +
           "\nserver log:\n" + server.logs();
}

}  // namespace

TEST_CASE("against the real portico server, every mode counts exactly", "[bench][portico]") {
    const std::string binary = server_binary();
    if (!std::filesystem::exists(binary)) {
        WARN("portico is not built at " << binary << ": skipped");
        return;
    }
    PorticoProcess server(binary);
    const double index = PorticoProcess::kIndexBytes;

    SECTION("keep-alive") {
        const auto run = run_bench({"-n", "2000", "-c", "8", "-p", "2", "--json", server.url("/index.html")});
        INFO(describe(run, server));
        CHECK(run.exit_code == 0);
        CHECK(json_number(run.out, "requests") == 2000);
        CHECK(json_number(run.out, "total") == 0);
        CHECK(json_number(run.out, "bytes") > 2000 * index);
    }
    SECTION("one connection per request") {
        const auto run = run_bench({"-n", "300", "-c", "4", "--close", "--json", server.url("/index.html")});
        INFO(describe(run, server));
        CHECK(json_number(run.out, "requests") == 300);
        CHECK(json_number(run.out, "total") == 0);
    }
    SECTION("pipelined") {
        const auto run =
            run_bench({"-n", "1000", "-c", "2", "--pipeline", "8", "--json", server.url("/index.html")});
        INFO(describe(run, server));
        CHECK(json_number(run.out, "requests") == 1000);
        CHECK(json_number(run.out, "total") == 0);
    }
    SECTION("a larger file") {
        const auto run = run_bench({"-n", "50", "-c", "2", "--json", server.url("/big.bin")});
        INFO(describe(run, server));
        CHECK(json_number(run.out, "requests") == 50);
        CHECK(json_number(run.out, "total") == 0);
        CHECK(json_number(run.out, "bytes") > 50.0 * PorticoProcess::kBigBytes);
    }
    SECTION("HEAD") {
        const auto run =
            run_bench({"-n", "100", "-c", "2", "-m", "HEAD", "--json", server.url("/index.html")});
        INFO(describe(run, server));
        CHECK(json_number(run.out, "requests") == 100);
        CHECK(json_number(run.out, "total") == 0);
        CHECK(json_number(run.out, "bytes") < 100 * index);
    }
    SECTION("a missing file is counted as status 404") {
        const auto run =
            run_bench({"-n", "20", "-c", "2", "--fail-on-error", "--json", server.url("/missing")});
        INFO(describe(run, server));
        CHECK(run.exit_code == 1);
        CHECK(json_number(run.out, "status_404") == 20);
        CHECK(json_number(run.out, "total") == 20);
    }
    INFO(server.logs());
    CHECK(server.stop() == 0);
}

// The slow-client mode against the real portico server, configured with short timeouts: its
// slow connections must be cut, by the right timeout, and the report must say so. Skipped
// (with a warning) when the portico binary has not been built.

#include "bench_process.hpp"
#include "portico_process.hpp"
#include "slow_json.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

using portico::bench::test::json_number;
using portico::bench::test::json_object;
using portico::bench::test::PorticoProcess;
using portico::bench::test::run_bench;
using portico::bench::test::server_binary;


TEST_CASE("slow clients against the real portico are cut by its timeouts", "[bench][portico][slow]") {
    const std::string binary = server_binary();
    if (!std::filesystem::exists(binary)) {
        WARN("portico is not built at " << binary << ": skipped");
        return;
    }
    PorticoProcess server(binary, "client_header_timeout = 1; send_timeout = 1;");
    // The slack is wide so that a loaded machine does not fail the test; "early" needs none:
    // a slow machine only makes cuts later.
    const auto run = run_bench({"--slowloris",
                                "20",
                                "--slowloris-interval",
                                "0.25",
                                "--slowloris-persist",
                                "--slow-readers",
                                "4",
                                "--slow-url",
                                server.url("/large.bin"),
                                "--slow-ramp",
                                "0.2",
                                "--baseline",
                                "--expect-header-timeout",
                                "1",
                                "--expect-send-timeout",
                                "1",
                                "--expect-slack",
                                "2",
                                "-d",
                                "3",
                                "-c",
                                "2",
                                "-p",
                                "1",
                                "--rate",
                                "100",
                                "--json",
                                server.url("/index.html")},
                               90);
    INFO("exit " << run.exit_code << "\nstdout: " << run.out << "\nstderr: " << run.err << "\nserver log:\n"
                 << server.logs());
    REQUIRE(run.exit_code == 0);

    const std::string baseline = json_object(run.out, "baseline");
    const std::string loaded = json_object(run.out, "loaded");
    CHECK(json_number(baseline, "requests") > 0);
    CHECK(json_number(loaded, "requests") > 0);
    CHECK(json_number(baseline, "errors") == 0);
    CHECK(json_number(loaded, "errors") == 0);
    CHECK(json_number(run.out, "p99_ratio") > 0);

    // Every slowloris came up and was answered 408 by client_header_timeout, not before it.
    const std::string loris = json_object(run.out, "slowloris");
    CHECK(json_number(loris, "connect_failed") == 0);
    CHECK(json_number(loris, "cut") >= 20);
    CHECK(json_number(loris, "answered_408") == json_number(loris, "cut"));
    CHECK(json_number(loris, "early") == 0);
    CHECK(json_number(loris, "late") == 0);
    CHECK(json_number(json_object(loris, "cut_after_sec"), "min") >= 0.95);
    // Persisting, each cut slowloris was either let go by the server or still held at the end.
    CHECK(json_number(loris, "released") + json_number(loris, "held_at_end") == json_number(loris, "cut"));

    // Every slow reader was cut by send_timeout although it never saw the server's FIN.
    const std::string readers = json_object(run.out, "slow_readers");
    CHECK(json_number(readers, "cut") >= 4);
    CHECK(json_number(readers, "completed") == 0);
    CHECK(json_number(readers, "early") == 0);
    CHECK(json_number(readers, "late") == 0);
    CHECK(json_number(readers, "bytes_received") > 0);
    CHECK(json_number(json_object(readers, "cut_after_sec"), "min") >= 0.95);
    CHECK(server.stop() == 0);
}

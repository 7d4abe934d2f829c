#pragma once
// Runs the real portico-bench binary (its path comes from the build: PORTICO_BENCH_PATH) and
// captures what it prints, with a hard time limit so a hung run fails the test instead of
// hanging the suite.

#include <string>
#include <vector>

namespace portico::bench::test {

struct BenchRun {
    int exit_code = -1;  ///< -1 when it had to be killed, or died from a signal
    std::string out;
    std::string err;
    double seconds = 0;
};

/// Runs portico-bench with `args`. After `limit_sec` it is killed (exit_code -1). When
/// `term_when` is not empty, SIGTERM is sent once stderr contains that text.
BenchRun run_bench(const std::vector<std::string>& args, double limit_sec = 30,
                   const std::string& term_when = "");

/// The number after "\"key\": " in a flat-enough JSON text; NaN when the key is absent.
double json_number(const std::string& json, const std::string& key);

}  // namespace portico::bench::test

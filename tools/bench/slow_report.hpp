#pragma once
// The slow-client mode's report: the load's figures with and without the slow clients, and
// what became of the slow connections. Text for people, one JSON object for scripts
// (tools/slow-clients reads it).

#include "options.hpp"
#include "slow_run.hpp"

#include <cstdio>

namespace portico::bench {

/// Human-readable report.
void print_slow_text_report(std::FILE* out, const SlowRunResults& results, const Options& options);

/// One JSON object, one line: "baseline" (when run) and "loaded" with requests, requests_per_sec,
/// errors and latency_ms {p50 p90 p99 p999 max mean}; "p99_ratio"; "slowloris" and
/// "slow_readers" with every count of SlowKindResults and cut_after_sec / age_at_end_sec
/// {min p50 p99 max}.
void print_slow_json_report(std::FILE* out, const SlowRunResults& results, const Options& options);

}  // namespace portico::bench

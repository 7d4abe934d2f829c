#pragma once
// The two ways results leave portico-bench: a report for people and one JSON object for
// scripts (tools/compare-nginx reads it). Both say the same things.

#include "options.hpp"
#include "results.hpp"

#include <cstdint>
#include <cstdio>

namespace portico::bench {

struct RunInfo {
    const Options* options = nullptr;
    uint32_t processes = 0;
};

/// Human-readable report: requests, rates, latency percentiles in ms, errors by kind.
void print_text_report(std::FILE* out, const Results& results, const RunInfo& info);

/// One JSON object, one line, with at least requests, duration_sec, requests_per_sec,
/// bytes_per_sec, errors {kinds..., status_NNN..., total} and latency_ms {p50 ... max}.
void print_json_report(std::FILE* out, const Results& results, const RunInfo& info);

}  // namespace portico::bench

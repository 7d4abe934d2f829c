#include "report.hpp"

#include <fmt/format.h>

#include <string>

namespace portico::bench {
namespace {

struct Figures {
    double duration_sec = 0;
    double requests_per_sec = 0;
    double bytes_per_sec = 0;
};

Figures figures_of(const Results& r) {
    Figures f;
    f.duration_sec = static_cast<double>(r.end_ns - r.start_ns) / 1e9;
    if (f.duration_sec > 0) {
        f.requests_per_sec = static_cast<double>(r.responses) / f.duration_sec;
        f.bytes_per_sec = static_cast<double>(r.bytes) / f.duration_sec;
    }
    return f;
}

double ms(double micros) { return micros / 1000.0; }

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string mode_of(const Options& o) {
    std::string mode = o.close ? "close" : "keep-alive";
    if (o.hold) mode += ", hold";
    if (o.pipeline > 1) mode += fmt::format(", pipeline {}", o.pipeline);
    mode += o.rate > 0 ? fmt::format(", open loop at {:.0f} req/s", o.rate) : ", closed loop";
    return mode;
}

// "reset 3, status 404: 12" for the text report.
std::string error_breakdown(const Results& r) {
    std::string out;
    auto add = [&out](const std::string& item) { out += (out.empty() ? "" : ", ") + item; };
    for (size_t k = 0; k < kErrorKinds; ++k) {
        if (r.errors[k] != 0) add(fmt::format("{} {}", error_name(static_cast<ErrorKind>(k)), r.errors[k]));
    }
    for (size_t i = 0; i < r.statuses.size(); ++i) {
        const int status = static_cast<int>(i) + Results::kFirstStatus;
        if (r.statuses[i] != 0 && is_bad_status(status))
            add(fmt::format("status {}: {}", status, r.statuses[i]));
    }
    return out;
}

std::string json_errors(const Results& r) {
    std::string out = "{";
    for (size_t k = 0; k < kErrorKinds; ++k) {
        out += fmt::format("\"{}\": {}, ", error_name(static_cast<ErrorKind>(k)), r.errors[k]);
    }
    for (size_t i = 0; i < r.statuses.size(); ++i) {
        const int status = static_cast<int>(i) + Results::kFirstStatus;
        if (r.statuses[i] != 0 && is_bad_status(status))
            out += fmt::format("\"status_{}\": {}, ", status, r.statuses[i]);
    }
    return out + fmt::format("\"total\": {}}}", r.failed());
}

}  // namespace

void print_text_report(std::FILE* out, const Results& r, const RunInfo& info) {
    const Options& o = *info.options;
    const Figures f = figures_of(r);
    const auto& lat = r.latency;
    std::string urls = o.urls.front();
    if (o.urls.size() > 1) urls += fmt::format(" (+{} more)", o.urls.size() - 1);
    fmt::print(out, "portico-bench {}\n", urls);
    fmt::print(out, "  {} processes, {} connections, {}\n", info.processes, o.connections, mode_of(o));
    fmt::print(out, "  requests     {} in {:.2f} s = {:.2f} req/s\n", r.responses, f.duration_sec,
               f.requests_per_sec);
    fmt::print(out, "  transfer     {} bytes = {:.2f} MB/s ({:.0f} bytes/s)\n", r.bytes,
               f.bytes_per_sec / 1e6, f.bytes_per_sec);
    fmt::print(out,
               "  latency ms   p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}  (mean {:.3f})\n",
               ms(lat.percentile(0.50)), ms(lat.percentile(0.90)), ms(lat.percentile(0.99)),
               ms(lat.percentile(0.999)), ms(static_cast<double>(lat.max())), ms(lat.mean()));
    const uint64_t failed = r.failed();
    fmt::print(out, "  errors       {}", failed);
    if (failed != 0) fmt::print(out, " ({})", error_breakdown(r));
    fmt::print(out, "\n");
    if (o.hold) fmt::print(out, "  held         {} connections at the end\n", r.held);
}

void print_json_report(std::FILE* out, const Results& r, const RunInfo& info) {
    const Options& o = *info.options;
    const Figures f = figures_of(r);
    const auto& lat = r.latency;
    std::string urls;
    for (const auto& url : o.urls) urls += (urls.empty() ? "" : ", ") + json_string(url);
    fmt::print(out, "{{\"urls\": [{}], \"processes\": {}, \"connections\": {}, \"mode\": {}, ", urls,
               info.processes, o.connections, json_string(mode_of(o)));
    fmt::print(out, "\"requests\": {}, \"ok\": {}, \"duration_sec\": {:.6f}, \"requests_per_sec\": {:.3f}, ",
               r.responses, r.responses - r.bad_statuses(), f.duration_sec, f.requests_per_sec);
    fmt::print(out, "\"bytes\": {}, \"bytes_per_sec\": {:.1f}, \"mb_per_sec\": {:.3f}, ", r.bytes,
               f.bytes_per_sec, f.bytes_per_sec / 1e6);
    fmt::print(out, "\"errors\": {}, ", json_errors(r));
    fmt::print(out, "\"latency_ms\": {{\"p50\": {:.3f}, \"p90\": {:.3f}, \"p99\": {:.3f}, \"p999\": {:.3f}, ",
               ms(lat.percentile(0.50)), ms(lat.percentile(0.90)), ms(lat.percentile(0.99)),
               ms(lat.percentile(0.999)));
    fmt::print(out, "\"max\": {:.3f}, \"mean\": {:.3f}}}", ms(static_cast<double>(lat.max())),
               ms(lat.mean()));
    if (o.hold) fmt::print(out, ", \"held\": {}", r.held);
    fmt::print(out, "}}\n");
}

}  // namespace portico::bench

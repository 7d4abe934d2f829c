#include "slow_report.hpp"

#include <fmt/format.h>

#include <string>

namespace portico::bench {
namespace {

double seconds(double micros) {
    return micros / 1e6;
}
double ms(double micros) {
    return micros / 1e3;
}

double rate_of(const Results& r) {
    const double sec = static_cast<double>(r.end_ns - r.start_ns) / 1e9;
    return sec > 0 ? static_cast<double>(r.responses) / sec : 0;
}

// p99 with the slow clients over p99 without; 0 when there is no baseline to compare with.
double p99_ratio(const SlowRunResults& r) {
    if (!r.has_baseline) return 0;
    const double before = r.baseline.latency.percentile(0.99);
    return before > 0 ? r.loaded.latency.percentile(0.99) / before : 0;
}

std::string load_mode(const Options& o) {
    std::string mode = o.close ? "close" : "keep-alive";
    if (o.pipeline > 1) mode += fmt::format(", pipeline {}", o.pipeline);
    mode += o.rate > 0 ? fmt::format(", open loop at {:.0f} req/s", o.rate) : ", closed loop";
    return mode;
}

void print_load_line(std::FILE* out, const char* name, const Results& r) {
    const auto& l = r.latency;
    fmt::print(out, "  {:<20} {:>10} {:>12.1f} {:>9.3f} {:>9.3f} {:>9.3f} {:>8}\n", name, r.responses,
               rate_of(r), ms(l.percentile(0.5)), ms(l.percentile(0.99)), ms(static_cast<double>(l.max())),
               r.failed());
}

std::string expectation(double expected, double slack, const SlowKindResults& k) {
    if (expected <= 0) return "";
    return fmt::format("   (expected {:g} s +- {:g}: early {}, late {})", expected, slack, k.early, k.late);
}

void print_kind(std::FILE* out, const SlowKindResults& k, double expected, double slack) {
    fmt::print(out, "    opened {}, established {}, connect errors {}\n", k.opened, k.established,
               k.connect_failed);
    fmt::print(
        out,
        "    cut by the server {}: answered {} (408: {}), reset {}, seen closing in its socket table {}\n",
        k.cut, k.answered, k.answered_408, k.reset, k.seen_closing);
    const auto& h = k.cut_after;
    if (k.cut > 0) {
        fmt::print(out, "    cut after s: min {:.2f}  p50 {:.2f}  p99 {:.2f}  max {:.2f}{}\n",
                   seconds(h.percentile(0)), seconds(h.percentile(0.5)), seconds(h.percentile(0.99)),
                   seconds(static_cast<double>(h.max())), expectation(expected, slack, k));
    } else if (expected > 0) {
        fmt::print(out, "    expected a cut after {:g} s +- {:g}: late {}\n", expected, slack, k.late);
    }
    if (k.released > 0 || k.held_at_end > 0) {
        const auto& held = k.held_after;
        fmt::print(out,
                   "    after the cut, the server held the socket for s: p50 {:.2f}  max {:.2f} ({} "
                   "released, {} still held at the end)\n",
                   seconds(held.percentile(0.5)), seconds(static_cast<double>(held.max())), k.released,
                   k.held_at_end);
    }
    fmt::print(out, "    open at the end {}", k.open_at_end);
    if (k.open_at_end > 0)
        fmt::print(out, ", the oldest for {:.2f} s", seconds(static_cast<double>(k.age_at_end.max())));
    fmt::print(out, "; completed {}; bytes sent {}, received {}\n", k.completed, k.bytes_sent,
               k.bytes_received);
}

std::string json_load(const Results& r) {
    const auto& l = r.latency;
    return fmt::format(
        "{{\"requests\": {}, \"requests_per_sec\": {:.3f}, \"errors\": {}, \"latency_ms\": {{\"p50\": "
        "{:.3f}, "
        "\"p90\": {:.3f}, \"p99\": {:.3f}, \"p999\": {:.3f}, \"max\": {:.3f}, \"mean\": {:.3f}}}}}",
        r.responses, rate_of(r), r.failed(), ms(l.percentile(0.5)), ms(l.percentile(0.9)),
        ms(l.percentile(0.99)), ms(l.percentile(0.999)), ms(static_cast<double>(l.max())), ms(l.mean()));
}

std::string json_seconds(const LatencyHistogram& h) {
    return fmt::format(
        "{{\"count\": {}, \"min\": {:.3f}, \"p50\": {:.3f}, \"p99\": {:.3f}, \"max\": {:.3f}}}", h.count(),
        seconds(h.percentile(0)), seconds(h.percentile(0.5)), seconds(h.percentile(0.99)),
        seconds(static_cast<double>(h.max())));
}

std::string json_kind(const SlowKindResults& k, uint32_t connections, double expected) {
    return fmt::format(
        "{{\"connections\": {}, \"opened\": {}, \"established\": {}, \"connect_failed\": {}, \"cut\": {}, "
        "\"answered\": {}, \"answered_408\": {}, \"reset\": {}, \"seen_closing\": {}, \"completed\": {}, "
        "\"open_at_end\": {}, \"early\": {}, \"late\": {}, \"expected_sec\": {:g}, \"released\": {}, "
        "\"held_at_end\": {}, \"bytes_sent\": {}, \"bytes_received\": {}, \"cut_after_sec\": {}, "
        "\"age_at_end_sec\": {}, \"held_after_sec\": {}}}",
        connections, k.opened, k.established, k.connect_failed, k.cut, k.answered, k.answered_408, k.reset,
        k.seen_closing, k.completed, k.open_at_end, k.early, k.late, expected, k.released, k.held_at_end,
        k.bytes_sent, k.bytes_received, json_seconds(k.cut_after), json_seconds(k.age_at_end),
        json_seconds(k.held_after));
}

// URLs are checked by parse_target, but a path may still hold a quote or a backslash.
std::string json_escaped(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out;
}

}  // namespace

void print_slow_text_report(std::FILE* out, const SlowRunResults& r, const Options& o) {
    const SlowOptions& s = o.slow;
    fmt::print(out, "portico-bench slow clients against {}\n", o.urls.front());
    fmt::print(out, "  load: {} processes, {} connections, {}, {:g} s per phase\n", r.processes,
               o.connections, load_mode(o), o.duration_sec);
    fmt::print(out, "  {:<20} {:>10} {:>12} {:>9} {:>9} {:>9} {:>8}\n", "phase", "requests", "req/s",
               "p50 ms", "p99 ms", "max ms", "errors");
    if (r.has_baseline) print_load_line(out, "without slow clients", r.baseline);
    print_load_line(out, "with slow clients", r.loaded);
    if (r.has_baseline) fmt::print(out, "  p99 with / without slow clients: {:.2f}x\n", p99_ratio(r));
    const char* replaced = s.reconnect ? "replaced when cut" : "not replaced";
    if (s.loris > 0) {
        fmt::print(out, "  slowloris: {} connections, a byte every {:g} s, {}{}\n", s.loris,
                   s.loris_interval_sec, s.persist ? "persisting after the cut, " : "", replaced);
        print_kind(out, r.slow.loris, s.expect_header_sec, s.expect_slack_sec);
    }
    if (s.readers > 0) {
        const std::string url = s.reader_url.empty() ? o.urls.front() : s.reader_url;
        fmt::print(out, "  slow readers: {} connections, GET {} at {} B/s, rcvbuf {}, mss {}, {}\n",
                   s.readers, url, s.read_rate, s.rcvbuf, s.mss, replaced);
        print_kind(out, r.slow.readers, s.expect_send_sec, s.expect_slack_sec);
    }
    if (!r.slow.socket_table)
        fmt::print(out, "  (the server's socket table could not be read: cuts seen by the client only)\n");
}

void print_slow_json_report(std::FILE* out, const SlowRunResults& r, const Options& o) {
    const SlowOptions& s = o.slow;
    fmt::print(out, "{{\"url\": \"{}\", \"processes\": {}, \"connections\": {}, \"duration_sec\": {:g}, ",
               json_escaped(o.urls.front()), r.processes, o.connections, o.duration_sec);
    if (r.has_baseline) fmt::print(out, "\"baseline\": {}, ", json_load(r.baseline));
    fmt::print(out, "\"loaded\": {}, \"p99_ratio\": {:.3f}, ", json_load(r.loaded), p99_ratio(r));
    fmt::print(out, "\"slowloris\": {}, ", json_kind(r.slow.loris, s.loris, s.expect_header_sec));
    fmt::print(out, "\"slow_readers\": {}, ", json_kind(r.slow.readers, s.readers, s.expect_send_sec));
    fmt::print(out, "\"socket_table\": {}, \"slow_sec\": {:.3f}}}\n", r.slow.socket_table ? "true" : "false",
               static_cast<double>(r.slow.end_ns - r.slow.start_ns) / 1e9);
}

}  // namespace portico::bench

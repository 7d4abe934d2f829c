#include "http/status_page.hpp"

#include <array>
#include <iterator>

#include <fmt/format.h>

#include "core/shared_stats.hpp"

namespace portico::http {
namespace {

struct Counter {
    const char* name;
    const char* help;
    bool gauge;
    std::atomic<uint64_t> core::WorkerRecord::*field;
};

constexpr std::array<Counter, 7> kCounters{{
    {"accepted", "Connections accepted.", false, &core::WorkerRecord::accepted},
    {"active", "Connections open now.", true, &core::WorkerRecord::active},
    {"idle", "Idle keep-alive connections now.", true, &core::WorkerRecord::idle},
    {"requests", "Requests answered.", false, &core::WorkerRecord::requests},
    {"bytes_out", "Bytes sent.", false, &core::WorkerRecord::bytes_out},
    {"status_4xx", "Responses with a 4xx status.", false, &core::WorkerRecord::status_4xx},
    {"status_5xx", "Responses with a 5xx status.", false, &core::WorkerRecord::status_5xx},
}};

uint64_t load(const core::WorkerRecord& r, const Counter& c) {
    return (r.*(c.field)).load(std::memory_order_relaxed);
}

bool live(const core::WorkerRecord& r) { return r.pid.load(std::memory_order_acquire) > 0; }

void render_json(const core::SharedStats& stats, uint64_t now_ms, std::string& out) {
    auto it = std::back_inserter(out);
    std::array<uint64_t, kCounters.size()> total{};
    out += "{\"workers\":[";
    bool first = true;
    for (size_t i = 0; i < stats.size(); ++i) {
        const core::WorkerRecord& r = stats.at(i);
        if (!live(r)) continue;
        uint64_t beat = r.heartbeat_ms.load(std::memory_order_relaxed);
        fmt::format_to(it, "{}{{\"pid\":{},\"slot\":{},\"generation\":{},\"heartbeat_age_ms\":{}", first ? "" : ",",
                       r.pid.load(), r.slot.load(), r.generation.load(), now_ms > beat ? now_ms - beat : 0);
        for (size_t c = 0; c < kCounters.size(); ++c) {
            uint64_t v = load(r, kCounters[c]);
            total[c] += v;
            fmt::format_to(it, ",\"{}\":{}", kCounters[c].name, v);
        }
        out += '}';
        first = false;
    }
    out += "],\"total\":{";
    for (size_t c = 0; c < kCounters.size(); ++c)
        fmt::format_to(it, "{}\"{}\":{}", c ? "," : "", kCounters[c].name, total[c]);
    out += "}}\n";
}

void render_prometheus(const core::SharedStats& stats, std::string& out) {
    auto it = std::back_inserter(out);
    for (const Counter& c : kCounters) {
        const char* suffix = c.gauge ? "" : "_total";
        fmt::format_to(it, "# HELP portico_{}{} {}\n# TYPE portico_{}{} {}\n", c.name, suffix, c.help, c.name, suffix,
                       c.gauge ? "gauge" : "counter");
        for (size_t i = 0; i < stats.size(); ++i) {
            const core::WorkerRecord& r = stats.at(i);
            if (!live(r)) continue;
            fmt::format_to(it, "portico_{}{}{{slot=\"{}\",pid=\"{}\",generation=\"{}\"}} {}\n", c.name, suffix,
                           r.slot.load(), r.pid.load(), r.generation.load(), load(r, c));
        }
    }
}

}  // namespace

void render_status(const core::SharedStats& stats, bool prometheus, uint64_t now_ms, std::string& out) {
    out.clear();
    if (prometheus) render_prometheus(stats, out);
    else render_json(stats, now_ms, out);
}

bool wants_plain_text(std::string_view accept) noexcept {
    return accept.find("text/plain") != std::string_view::npos;
}

}  // namespace portico::http

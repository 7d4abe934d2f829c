// Compression throughput on a 100 KiB HTML-like page: gzip level 5 and brotli quality 5, one-shot
// (the cache's path) and streamed in 16 KiB slices (the large-file path). Hidden from the
// default run ("[.bench]"); run it with:  build/tests/unit/unit_http "[.bench]"
// Figures are MB/s of input per CPU second, and the size ratio.

#include <catch2/catch.hpp>

#include <ctime>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "http/content/compress_buffer.hpp"
#include "http/content/stream_compressor.hpp"

using namespace portico::http::content;

namespace {

std::string html_page(size_t n) {
    static const char* words[] = {"portico", "server",  "static", "files",      "worker",
                                  "epoll",   "request", "header", "keep-alive", "cache",
                                  "brotli",  "gzip",    "the",    "and",        "of"};
    std::mt19937 rng(42);
    std::string s = "<!doctype html>\n<html><head><title>portico</title></head><body>\n";
    while (s.size() < n) {
        s.append("<div class=\"row\"><a href=\"/docs/").append(words[rng() % 15]).append("\">");
        for (int w = 0; w < 8; ++w) s.append(words[rng() % 15]).append(" ");
        s.append("</a> <span>").append(std::to_string(rng() % 100000)).append("</span></div>\n");
    }
    s.resize(n);
    return s;
}

// CPU seconds of this thread, not wall time: on a shared, loaded machine wall time measures
// the neighbours; CPU time only the compressor (caches still suffer, so compare within a run).
double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

template <class F>
double mb_per_s(size_t bytes, F&& run) {
    int rounds = 0;
    const double start = thread_cpu_seconds();
    while (thread_cpu_seconds() - start < 1.0 || rounds < 5) {
        run();
        ++rounds;
    }
    return static_cast<double>(bytes) * rounds / (thread_cpu_seconds() - start) / 1e6;
}

size_t stream_once(Coding c, std::string_view input, const CompressOptions& o) {
    auto comp = StreamCompressor::create(c, o);
    std::vector<char> buf(16384);
    size_t out = 0;
    while (true) {
        std::string_view in = input.substr(0, 16384);
        const bool last = in.size() == input.size();
        input.remove_prefix(in.size());
        StreamStatus st;
        do {
            std::span<char> space(buf);
            st = comp->process(in, space, last);
            out += buf.size() - space.size();
        } while (st == StreamStatus::kOutputFull);
        if (st != StreamStatus::kNeedInput) return out;
    }
}

}  // namespace

TEST_CASE("compression throughput, 100 KiB HTML", "[.bench][content]") {
    const std::string page = html_page(100 * 1024);
    CompressOptions o;  // gzip level 5, brotli quality 5
    for (Coding c : {Coding::kGzip, Coding::kBrotli}) {
        const size_t size = compress_buffer(c, page, o)->size();
        const double one_shot = mb_per_s(page.size(), [&] { (void)compress_buffer(c, page, o); });
        const double streamed = mb_per_s(page.size(), [&] { (void)stream_once(c, page, o); });
        std::printf(
            "%-4s %s=5: one-shot %7.1f MB/s, streamed (16 KiB) %7.1f MB/s, %zu -> %zu bytes (%.1f%%)\n",
            std::string(coding_name(c)).c_str(), c == Coding::kGzip ? "level" : "quality", one_shot, streamed,
            page.size(), size, 100.0 * static_cast<double>(size) / static_cast<double>(page.size()));
        CHECK(size < page.size());
    }
}

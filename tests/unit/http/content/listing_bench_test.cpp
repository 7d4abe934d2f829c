// How long one step of a directory listing holds the loop, on a directory of 50,000 files:
// the longest collect() step and the longest produce() call (one connection buffer, 16 KiB), in
// thread CPU time. Hidden from the default run ("[.bench]"); run it with:
//   build/tests/unit/unit_http "[.bench][listing]"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "http/content/listing.hpp"

using portico::http::BodyStream;
using portico::http::content::DirectoryListing;
namespace fs = std::filesystem;

namespace {

// CPU time of this thread: on a shared machine wall time measures the neighbours.
double thread_cpu_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

}  // namespace

TEST_CASE("listing: the longest step on 50,000 entries", "[.bench][listing]") {
    std::string pattern = (fs::temp_directory_path() / "portico-listing-bench-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    fs::path dir = pattern;
    for (int i = 0; i < 50'000; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "/entry-%05d.txt", i);
        int fd = ::open((dir.string() + name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        ::close(fd);
    }
    for (auto format : {DirectoryListing::Format::kHtml, DirectoryListing::Format::kJson}) {
        DirectoryListing::Options o;
        o.format = format;
        o.real_root = dir.string();
        int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        DirectoryListing l(portico::core::UniqueFd(fd), o);
        double collect_max = 0, collect_total = 0, produce_max = 0, produce_total = 0;
        size_t steps = 0, calls = 0, bytes = 0;
        for (DirectoryListing::Step s = DirectoryListing::Step::kMore; s == DirectoryListing::Step::kMore;
             ++steps) {
            double t0 = thread_cpu_us();
            s = l.collect();
            double us = thread_cpu_us() - t0;
            collect_max = std::max(collect_max, us);
            collect_total += us;
        }
        std::vector<char> buf(16 * 1024 - 16);  // what the connection offers per call
        for (BodyStream::Chunk c{}; c.status != BodyStream::Status::kEnd; ++calls) {
            double t0 = thread_cpu_us();
            c = l.produce(buf.data(), buf.size());
            double us = thread_cpu_us() - t0;
            produce_max = std::max(produce_max, us);
            produce_total += us;
            bytes += c.bytes;
        }
        std::printf(
            "%s: %zu entries, %zu bytes; collect %zu steps, max %.0f us, total %.0f us; "
            "produce %zu calls, max %.0f us, total %.0f us\n",
            format == DirectoryListing::Format::kHtml ? "html" : "json", l.entries(), bytes, steps,
            collect_max, collect_total, calls, produce_max, produce_total);
        CHECK(l.entries() == 50'000);
    }
    fs::remove_all(dir);
}

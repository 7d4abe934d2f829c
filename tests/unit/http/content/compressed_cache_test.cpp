// The compressed-representation cache: once per version, a new version recompresses and the
// old one goes, the cap holds, incompressible files are remembered, ETags differ per coding.

#include "http/content/compressed_cache.hpp"

#include <brotli/decode.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>

using namespace portico::http::content;

namespace {

std::string html(size_t n, char salt) {
    std::string s;
    while (s.size() < n)
        s.append("<li><a href=\"/docs/").append(1, salt).append("\">portico docs</a></li>\n");
    s.resize(n);
    return s;
}

std::string noise(size_t n) {
    std::mt19937 rng(1);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

std::string gunzip(const std::string& in, size_t expect) {
    std::string out(expect, '\0');
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(out.size() - z.avail_out);
    inflateEnd(&z);
    return out;
}

FileVersion version(ino_t ino, off_t size, int64_t mtime) {
    return FileVersion{1, ino, size, mtime};
}

}  // namespace

TEST_CASE("CompressedCache compresses a version once", "[content][cache]") {
    CompressedCache cache(1 << 20, CompressOptions{});
    const std::string body = html(10'000, 'a');
    const auto v = version(7, static_cast<off_t>(body.size()), 100);
    const auto first = cache.get(v, Coding::kGzip, body, "\"64-2710\"");
    REQUIRE(first->compressed);
    CHECK(gunzip(first->bytes, body.size()) == body);
    CHECK(first->etag == "\"64-2710-gzip\"");
    for (int i = 0; i < 10; ++i) CHECK(cache.get(v, Coding::kGzip, body, "\"64-2710\"") == first);
    CHECK(cache.compressions() == 1);
    // Another coding of the same file is another representation, with its own ETag.
    const auto br = cache.get(v, Coding::kBrotli, body, "\"64-2710\"");
    CHECK(br->etag == "\"64-2710-br\"");
    CHECK(cache.compressions() == 2);
    CHECK(cache.size() == 2);
    CHECK(cache.find(v, Coding::kBrotli) == br);
}

TEST_CASE("CompressedCache: a new file version recompresses and the old one is dropped", "[content][cache]") {
    CompressedCache cache(1 << 20, CompressOptions{});
    const std::string old_body = html(5000, 'a'), new_body = html(6000, 'b');
    const auto v1 = version(7, 5000, 100);
    const auto v2 = version(7, 6000, 200);
    cache.get(v1, Coding::kGzip, old_body, "\"v1\"");
    const size_t one_entry = cache.bytes();
    const auto fresh = cache.get(v2, Coding::kGzip, new_body, "\"v2\"");
    CHECK(cache.compressions() == 2);
    CHECK(gunzip(fresh->bytes, new_body.size()) == new_body);
    CHECK(fresh->etag == "\"v2-gzip\"");
    CHECK(cache.size() == 1);                         // the old version is gone...
    CHECK(cache.find(v1, Coding::kGzip) == nullptr);  // ...and never served again
    CHECK(cache.bytes() != one_entry);
    // Same size, new mtime is a new version too.
    cache.get(version(7, 6000, 201), Coding::kGzip, new_body, "\"v3\"");
    CHECK(cache.compressions() == 3);
}

TEST_CASE("CompressedCache keeps one slot per encoder setting of a version", "[content][cache]") {
    CompressedCache cache(1 << 20, CompressOptions{});
    std::string body;
    for (int i = 0; body.size() < 20'000; ++i) body += html(40, static_cast<char>('a' + i % 26)) + std::to_string(i * 7919 % 1000);
    const auto v = version(9, static_cast<off_t>(body.size()), 100);
    CompressOptions fast, best, br_small;
    fast.gzip_level = 1;
    best.gzip_level = 9;
    br_small.brotli_window = 16;
    const auto one = cache.get(v, Coding::kGzip, body, "\"e\"", fast);
    const auto nine = cache.get(v, Coding::kGzip, body, "\"e\"", best);
    REQUIRE(one->compressed);
    REQUIRE(nine->compressed);
    CHECK(one != nine);
    CHECK(nine->bytes.size() < one->bytes.size());
    CHECK(gunzip(one->bytes, body.size()) == body);
    CHECK(gunzip(nine->bytes, body.size()) == body);
    CHECK(cache.find(v, Coding::kGzip, fast) == one);
    CHECK(cache.find(v, Coding::kGzip, best) == nine);
    CHECK(cache.find(v, Coding::kGzip) == nullptr);  // level 5, the cache's own: not made yet
    // A gzip slot does not split on brotli's settings.
    CHECK(cache.find(v, Coding::kGzip, [&] { auto o = best; o.brotli_quality = 11; return o; }()) == nine);
    const auto br = cache.get(v, Coding::kBrotli, body, "\"e\"");
    CHECK(cache.get(v, Coding::kBrotli, body, "\"e\"", br_small) != br);
    CHECK(cache.compressions() == 4);
    CHECK(cache.size() == 4);
}

TEST_CASE("CompressedCache stays under its cap, evicting the least recently used", "[content][cache]") {
    const size_t cap = 64 * 1024;
    CompressedCache cache(cap, CompressOptions{});
    std::string bodies[64];
    for (int i = 0; i < 64; ++i) bodies[i] = noise(3000) + html(20'000, static_cast<char>('a' + i % 26));
    const auto hot = version(1000, 23'000, 1);
    for (int i = 0; i < 64; ++i) {
        cache.get(version(static_cast<ino_t>(i), 23'000, 1), Coding::kGzip, bodies[i], "\"x\"");
        cache.get(hot, Coding::kGzip, bodies[0], "\"hot\"");  // kept hot: never the LRU victim
        CHECK(cache.bytes() <= cap);
    }
    CHECK(cache.size() < 64);
    CHECK(cache.find(version(0, 23'000, 1), Coding::kGzip) == nullptr);  // the oldest went
    CHECK(cache.find(version(63, 23'000, 1), Coding::kGzip) != nullptr);
    CHECK(cache.find(hot, Coding::kGzip) != nullptr);
    CHECK(cache.compressions() == 65);  // the hot file once, each cold file once
}

TEST_CASE("CompressedCache remembers what does not compress", "[content][cache]") {
    CompressedCache cache(1 << 20, CompressOptions{});
    const std::string random = noise(4096);
    const auto v = version(3, 4096, 1);
    for (Coding c : {Coding::kGzip, Coding::kBrotli}) {
        const auto rep = cache.get(v, c, random, "\"r\"");
        CHECK_FALSE(rep->compressed);
        CHECK(rep->bytes.empty());
        CHECK_FALSE(cache.get(v, c, random, "\"r\"")->compressed);
    }
    CHECK(cache.compressions() == 2);
    CHECK(cache.bytes() <= 2 * (CompressedCache::kSlotOverhead + 8));
    const auto empty = cache.get(version(4, 0, 1), Coding::kGzip, "", "\"e\"");
    CHECK_FALSE(empty->compressed);
}

TEST_CASE("CompressedCache serves but does not keep what exceeds the cap", "[content][cache]") {
    CompressedCache cache(1000, CompressOptions{});
    const std::string body = noise(3000) + html(47'000, 'z');
    const auto rep = cache.get(version(9, 50'000, 1), Coding::kBrotli, body, "\"big\"");
    CHECK(rep->compressed);
    CHECK(rep->bytes.size() > 1000);
    CHECK(cache.size() == 0);
    CHECK(cache.bytes() == 0);
}

TEST_CASE("CompressedCache::derive_etag", "[content][cache]") {
    CHECK(CompressedCache::derive_etag("\"5f.1a-3e8\"", Coding::kGzip) == "\"5f.1a-3e8-gzip\"");
    CHECK(CompressedCache::derive_etag("W/\"abc\"", Coding::kBrotli) == "W/\"abc-br\"");
    CHECK(CompressedCache::derive_etag("bare", Coding::kBrotli) == "bare-br");
}

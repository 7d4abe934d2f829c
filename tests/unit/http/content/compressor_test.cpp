// Gzip and brotli output checked by real decoders: zlib's inflate and libbrotlidec in-process,
// and Python's gzip and brotli modules on files, over random and text inputs of many sizes.

#include <brotli/decode.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "http/content/compress_buffer.hpp"
#include "http/content/stream_compressor.hpp"

using namespace portico::http::content;

namespace {

const std::vector<size_t> kSizes{0,    1,    2,    3,     17,    255,     256,
                                 1000, 4095, 4096, 65535, 65536, 100'000, 1'000'003};

std::string random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

// HTML-ish: repetitive markup with varying words, as real pages are.
std::string text_bytes(size_t n, uint32_t seed) {
    static const char* words[] = {"<div class=\"item\">",
                                  "portico",
                                  "</div>\n",
                                  "<a href=\"/x\">",
                                  "serves",
                                  "files",
                                  "</a>",
                                  " ",
                                  "<p>",
                                  "the quick brown fox",
                                  "\n"};
    std::mt19937 rng(seed);
    std::string s;
    while (s.size() < n) s += words[rng() % std::size(words)];
    s.resize(n);
    return s;
}

std::string gunzip(const std::string& in) {
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    std::string out;
    char buf[16384];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    int rc;
    do {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    } while (rc == Z_OK);
    inflateEnd(&z);
    CHECK(rc == Z_STREAM_END);
    CHECK(z.avail_in == 0);  // nothing after the gzip member
    return out;
}

std::string unbrotli(const std::string& in) {
    BrotliDecoderState* st = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    REQUIRE(st);
    std::string out;
    size_t avail_in = in.size();
    auto next_in = reinterpret_cast<const uint8_t*>(in.data());
    BrotliDecoderResult rc;
    do {
        uint8_t buf[16384];
        size_t avail_out = sizeof buf;
        uint8_t* next_out = buf;
        rc = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        out.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
    } while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
    BrotliDecoderDestroyInstance(st);
    CHECK(rc == BROTLI_DECODER_RESULT_SUCCESS);
    CHECK(avail_in == 0);
    return out;
}

std::string decode(Coding c, const std::string& in) {
    return c == Coding::kGzip ? gunzip(in) : unbrotli(in);
}

// Streams `input` through a compressor in pseudo-random input and output slices (down to one
// byte), checking that no call produces more than the space it was given.
std::string stream_compress(Coding coding, std::string_view input, uint32_t seed, size_t max_out_chunk) {
    auto comp = StreamCompressor::create(coding, CompressOptions{});
    REQUIRE(comp);
    std::mt19937 rng(seed);
    std::string out;
    std::vector<char> buf(max_out_chunk);
    bool done = false;
    while (!done) {
        const size_t take = std::min<size_t>(input.size(), rng() % 20000 + 1);
        std::string_view in = input.substr(0, take);
        const bool finish = take == input.size();
        for (;;) {
            std::span<char> space(buf.data(), rng() % max_out_chunk + 1);
            const size_t cap = space.size();
            const StreamStatus st = comp->process(in, space, finish);
            out.append(buf.data(), cap - space.size());
            REQUIRE(st != StreamStatus::kError);
            if (st == StreamStatus::kDone) done = true;
            if (st == StreamStatus::kDone || st == StreamStatus::kNeedInput) break;
        }
        REQUIRE((in.empty() || done));
        input.remove_prefix(take);
    }
    return out;
}

}  // namespace

TEST_CASE("compress_buffer round-trips through zlib and libbrotlidec", "[content][compress]") {
    const Coding coding = GENERATE(Coding::kGzip, Coding::kBrotli);
    const bool text = GENERATE(true, false);
    for (size_t n : kSizes) {
        const std::string input = text ? text_bytes(n, 7) : random_bytes(n, 7);
        CAPTURE(coding_name(coding), text, n);
        const auto out = compress_buffer(coding, input, CompressOptions{});
        REQUIRE(out);
        CHECK(decode(coding, *out) == input);
        if (text && n >= 4096) CHECK(out->size() < n / 3);  // it does compress
    }
}

TEST_CASE("compress_buffer gives up past max_output", "[content][compress]") {
    const Coding coding = GENERATE(Coding::kGzip, Coding::kBrotli);
    const std::string noise = random_bytes(10'000, 3);
    CHECK_FALSE(compress_buffer(coding, noise, CompressOptions{}, noise.size() - 1));
    CHECK_FALSE(compress_buffer(coding, "", CompressOptions{}, 0));
    const std::string text = text_bytes(10'000, 3);
    const auto out = compress_buffer(coding, text, CompressOptions{}, text.size() - 1);
    REQUIRE(out);
    CHECK(decode(coding, *out) == text);
}

TEST_CASE("compression levels are honoured", "[content][compress]") {
    const std::string text = text_bytes(200'000, 11);
    CompressOptions fast, best;
    fast.gzip_level = 1, best.gzip_level = 9;
    fast.brotli_quality = 1, best.brotli_quality = 9;
    for (Coding c : {Coding::kGzip, Coding::kBrotli}) {
        const auto a = compress_buffer(c, text, fast);
        const auto b = compress_buffer(c, text, best);
        REQUIRE((a && b));
        CHECK(b->size() < a->size());
        CHECK(decode(c, *a) == text);
        CHECK(decode(c, *b) == text);
    }
}

TEST_CASE("StreamCompressor in small slices round-trips", "[content][compress]") {
    const Coding coding = GENERATE(Coding::kGzip, Coding::kBrotli);
    const size_t out_chunk = GENERATE(1, 7, 4096);
    for (size_t n : kSizes) {
        if (out_chunk == 1 && n > 100'000) continue;  // byte-at-a-time output is slow, not different
        for (bool text : {true, false}) {
            const std::string input = text ? text_bytes(n, 5) : random_bytes(n, 5);
            CAPTURE(coding_name(coding), out_chunk, n, text);
            CHECK(decode(coding, stream_compress(coding, input, static_cast<uint32_t>(n), out_chunk)) ==
                  input);
        }
    }
}

TEST_CASE("Python's gzip and brotli modules decode what portico writes", "[content][compress]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("portico-content-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    int files = 0;
    for (size_t n : kSizes) {
        for (bool text : {true, false}) {
            const std::string input = text ? text_bytes(n, 9) : random_bytes(n, 9);
            const std::string base = (dir / (std::to_string(n) + (text ? "t" : "r"))).string();
            std::ofstream(base, std::ios::binary) << input;
            std::ofstream(base + ".gz", std::ios::binary) << *compress_buffer(Coding::kGzip, input, {});
            std::ofstream(base + ".br", std::ios::binary) << *compress_buffer(Coding::kBrotli, input, {});
            std::ofstream(base + ".s.gz", std::ios::binary) << stream_compress(Coding::kGzip, input, 1, 4096);
            std::ofstream(base + ".s.br", std::ios::binary)
                << stream_compress(Coding::kBrotli, input, 1, 4096);
            files += 4;
        }
    }
    // Prints how many files decoded byte-equal to their originals; exits non-zero on any mismatch.
    const std::string script =
        "import brotli, gzip, pathlib, sys\n"
        "n = 0\n"
        "for p in sorted(pathlib.Path(sys.argv[1]).iterdir()):\n"
        "    if p.suffix not in ('.gz', '.br'): continue\n"
        "    orig = pathlib.Path(str(p).removesuffix(p.suffix).removesuffix('.s')).read_bytes()\n"
        "    data = p.read_bytes()\n"
        "    dec = gzip.decompress(data) if p.suffix == '.gz' else brotli.decompress(data)\n"
        "    if dec != orig: sys.exit(f'mismatch: {p}')\n"
        "    n += 1\n"
        "print(n)\n";
    std::ofstream(dir / "check.py") << script;
    const std::string cmd = "/usr/bin/python3 " + (dir / "check.py").string() + " " + dir.string() + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string output;
    char buf[256];
    while (size_t k = std::fread(buf, 1, sizeof buf, p)) output.append(buf, k);
    const int status = ::pclose(p);
    fs::remove_all(dir);
    INFO(output);
    CHECK(status == 0);
    CHECK(output == std::to_string(files) + "\n");
}

#if !defined(__SANITIZE_ADDRESS__)
#include <malloc.h>

// The streaming path's memory is the codec's state, not the body: stream 32 MiB and watch the
// heap. (mallinfo2 is glibc's; ASan replaces malloc, so the test is left out of that build.)
TEST_CASE("StreamCompressor memory does not grow with the body", "[content][compress]") {
    const Coding coding = GENERATE(Coding::kGzip, Coding::kBrotli);
    // Fresh bytes every round (refilled in place), so no window can find the last round's.
    std::string block = text_bytes(64 * 1024, 13) + random_bytes(16 * 1024, 13);
    std::mt19937 rng(17);
    auto heap = [] { return ::mallinfo2().uordblks + ::mallinfo2().hblkhd; };  // + mmapped blocks
    std::vector<char> buf(16384);
    const size_t baseline = heap();
    size_t peak = 0, produced = 0;
    {
        auto comp = StreamCompressor::create(coding, CompressOptions{});
        REQUIRE(comp);
        for (int i = 0; i < 400; ++i) {  // 400 x 80 KiB = 32 MiB
            for (size_t k = 64 * 1024; k < block.size(); ++k) block[k] = static_cast<char>(rng());
            std::string_view in = block;
            const bool last = i == 399;
            StreamStatus st;
            do {
                std::span<char> space(buf);
                st = comp->process(in, space, last);
                produced += buf.size() - space.size();
                peak = std::max(peak, heap() - baseline);
            } while (st == StreamStatus::kOutputFull);
            REQUIRE(st == (last ? StreamStatus::kDone : StreamStatus::kNeedInput));
        }
    }
    CAPTURE(coding_name(coding), peak, produced);
    CHECK(produced > 400 * 16 * 1024);  // the random part cannot shrink
    CHECK(peak < (coding == Coding::kGzip ? 1024 * 1024 : 6 * 1024 * 1024));  // measured 0.27 and 3.3 MB
    WARN(std::string(coding_name(coding)) + " streaming peak heap: " + std::to_string(peak) + " bytes");
}
#endif

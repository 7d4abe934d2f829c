#include "http/content/compress_buffer.hpp"

#include <algorithm>
#include <bit>
#include <memory>

#include "http/content/brotli_stream.hpp"
#include "http/content/gzip_stream.hpp"

namespace portico::http::content {
namespace {

std::unique_ptr<StreamCompressor> make_for(Coding coding, size_t input_size, CompressOptions options) {
    if (coding == Coding::kGzip) {
        auto gz = std::make_unique<GzipStream>(options);
        return gz->ok() ? std::move(gz) : nullptr;
    }
    // A window just large enough for the whole input (brotli's minimum is 2^10).
    const int need = static_cast<int>(std::bit_width(std::max<size_t>(input_size, 1)));
    options.brotli_window = std::clamp(need, 10, 22);
    auto br = std::make_unique<BrotliStream>(options, input_size);
    return br->ok() ? std::move(br) : nullptr;
}

}  // namespace

std::optional<std::string> compress_buffer(Coding coding, std::string_view input,
                                           const CompressOptions& options, size_t max_output) {
    auto compressor = make_for(coding, input.size(), options);
    if (!compressor) return std::nullopt;
    std::string out;
    // Text compresses to a third or less; start there and double, never past the limit.
    out.resize(std::min(max_output, input.size() / 3 + 64));
    size_t used = 0;
    for (;;) {
        std::span<char> space(out.data() + used, out.size() - used);
        const size_t before = space.size();
        const StreamStatus st = compressor->process(input, space, true);
        used += before - space.size();
        if (st == StreamStatus::kDone) break;
        if (st == StreamStatus::kError || out.size() >= max_output) return std::nullopt;
        out.resize(std::min(max_output, std::max<size_t>(out.size() * 2, 64)));
    }
    out.resize(used);
    out.shrink_to_fit();
    return out;
}

}  // namespace portico::http::content

#include "http/content/stream_compressor.hpp"

#include "http/content/brotli_stream.hpp"
#include "http/content/gzip_stream.hpp"

namespace portico::http::content {

std::unique_ptr<StreamCompressor> StreamCompressor::create(Coding coding, const CompressOptions& options) {
    if (coding == Coding::kGzip) {
        auto gz = std::make_unique<GzipStream>(options);
        return gz->ok() ? std::move(gz) : nullptr;
    }
    auto br = std::make_unique<BrotliStream>(options, 0);
    return br->ok() ? std::move(br) : nullptr;
}

}  // namespace portico::http::content

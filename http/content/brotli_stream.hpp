#pragma once
// StreamCompressor over libbrotlienc.

#include <brotli/encode.h>

#include "http/content/stream_compressor.hpp"

namespace portico::http::content {

class BrotliStream final : public StreamCompressor {
public:
    /// Check ok() before use: brotli may fail to allocate. `size_hint` (0: unknown) lets the
    /// encoder size its tables for a known input.
    BrotliStream(const CompressOptions& options, size_t size_hint) noexcept;
    ~BrotliStream() override;

    [[nodiscard]] bool ok() const noexcept { return state_ != nullptr; }
    StreamStatus process(std::string_view& in, std::span<char>& out, bool finish) noexcept override;

private:
    BrotliEncoderState* state_ = nullptr;
};

}  // namespace portico::http::content

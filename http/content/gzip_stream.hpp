#pragma once
// StreamCompressor over zlib's deflate with gzip framing (RFC 1952).

#include <zlib.h>

#include "http/content/stream_compressor.hpp"

namespace portico::http::content {

class GzipStream final : public StreamCompressor {
public:
    /// Check ok() before use: zlib may fail to allocate.
    explicit GzipStream(const CompressOptions& options) noexcept;
    ~GzipStream() override;

    [[nodiscard]] bool ok() const noexcept { return ok_; }
    StreamStatus process(std::string_view& in, std::span<char>& out, bool finish) noexcept override;

private:
    z_stream z_{};
    gz_header header_{};
    bool ok_ = false;
};

}  // namespace portico::http::content

#include "http/content/gzip_stream.hpp"

#include <algorithm>
#include <climits>

namespace portico::http::content {

GzipStream::GzipStream(const CompressOptions& options) noexcept {
    const int level = std::clamp(options.gzip_level, 1, 9);
    // windowBits 15 + 16 asks zlib for the gzip wrapper; memLevel 8 is zlib's default.
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    if (!ok_) return;
    header_.text = options.text ? 1 : 0;
    header_.os = 3;  // Unix; zlib's default would say "unknown"
    ok_ = deflateSetHeader(&z_, &header_) == Z_OK;
}

GzipStream::~GzipStream() {
    deflateEnd(&z_);
}

StreamStatus GzipStream::process(std::string_view& in, std::span<char>& out, bool finish) noexcept {
    if (!ok_) return StreamStatus::kError;
    for (;;) {
        // zlib counts in uInt: feed a huge span in slices.
        const size_t in_n = std::min<size_t>(in.size(), UINT_MAX);
        const size_t out_n = std::min<size_t>(out.size(), UINT_MAX);
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = static_cast<uInt>(in_n);
        z_.next_out = reinterpret_cast<Bytef*>(out.data());
        z_.avail_out = static_cast<uInt>(out_n);
        const bool last_slice = in_n == in.size();
        const int rc = deflate(&z_, finish && last_slice ? Z_FINISH : Z_NO_FLUSH);
        in.remove_prefix(in_n - z_.avail_in);
        out = out.subspan(out_n - z_.avail_out);
        if (rc == Z_STREAM_END) return StreamStatus::kDone;
        if (rc == Z_STREAM_ERROR) return StreamStatus::kError;
        if (out.empty()) return StreamStatus::kOutputFull;
        if (in.empty() && !finish) return StreamStatus::kNeedInput;
        // Output space left and input (or the finish) still pending: go round again.
    }
}

}  // namespace portico::http::content

#include "http/content/brotli_stream.hpp"

#include <algorithm>
#include <climits>

namespace portico::http::content {

BrotliStream::BrotliStream(const CompressOptions& options, size_t size_hint) noexcept
    : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (!state_) return;
    const auto quality = static_cast<uint32_t>(std::clamp(options.brotli_quality, 0, 11));
    const auto window = static_cast<uint32_t>(std::clamp(options.brotli_window, 10, 24));
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, quality);
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN, window);
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_MODE,
                              options.text ? BROTLI_MODE_TEXT : BROTLI_MODE_GENERIC);
    if (size_hint > 0)
        BrotliEncoderSetParameter(state_, BROTLI_PARAM_SIZE_HINT,
                                  static_cast<uint32_t>(std::min<size_t>(size_hint, 1u << 30)));
}

BrotliStream::~BrotliStream() {
    if (state_) BrotliEncoderDestroyInstance(state_);
}

StreamStatus BrotliStream::process(std::string_view& in, std::span<char>& out, bool finish) noexcept {
    if (!state_) return StreamStatus::kError;
    for (;;) {
        size_t avail_in = in.size();
        size_t avail_out = out.size();
        auto next_in = reinterpret_cast<const uint8_t*>(in.data());
        auto next_out = reinterpret_cast<uint8_t*>(out.data());
        const auto op = finish ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
        if (!BrotliEncoderCompressStream(state_, op, &avail_in, &next_in, &avail_out, &next_out, nullptr))
            return StreamStatus::kError;
        in.remove_prefix(in.size() - avail_in);
        out = out.subspan(out.size() - avail_out);
        if (BrotliEncoderIsFinished(state_)) return StreamStatus::kDone;
        if (out.empty()) return StreamStatus::kOutputFull;
        if (in.empty() && !finish && !BrotliEncoderHasMoreOutput(state_)) return StreamStatus::kNeedInput;
    }
}

}  // namespace portico::http::content

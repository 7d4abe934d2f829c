#pragma once
// A compressor for bodies too large to compress once and keep: input is pushed in chunks,
// output is pulled into space the caller gives, so memory stays bounded by the codec's own
// state however large the body is (measured while streaming 32 MiB, see compressor_test.cpp:
// gzip level 5 about 270 KB; brotli quality 5, window 18, about 3.3 MB, mostly its hash
// tables, so concurrent brotli streams want a cap), and a slow client applies back-pressure
// simply by not giving output space.
//
// One virtual call per chunk, never per byte.

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "http/content/coding.hpp"
#include "http/content/compress_options.hpp"

namespace portico::http::content {

enum class StreamStatus : uint8_t {
    kNeedInput,   // all of `in` consumed; give more (or finish)
    kOutputFull,  // `out` is full; drain it and call again with the same (remaining) input
    kDone,        // finished: every byte has been written
    kError,       // the codec failed (out of memory); the stream is unusable
};

class StreamCompressor {
public:
    /// A compressor producing `coding`, or nullptr when the codec cannot allocate its state.
    static std::unique_ptr<StreamCompressor> create(Coding coding, const CompressOptions& options);

    virtual ~StreamCompressor() = default;
    StreamCompressor(const StreamCompressor&) = delete;
    StreamCompressor& operator=(const StreamCompressor&) = delete;

    /// Compresses from the front of `in` into the front of `out`, advancing both past what was
    /// consumed and written. With `finish`, `in` is the last of the input: call until kDone
    /// (more output space each time). After kDone or kError, only destruction is valid.
    virtual StreamStatus process(std::string_view& in, std::span<char>& out, bool finish) noexcept = 0;

protected:
    StreamCompressor() = default;
};

}  // namespace portico::http::content

#pragma once
// A file too large to compress once and keep, compressed as it is sent: a BodyStream that reads
// the file in bounded pieces with pread() and pushes them through a StreamCompressor. The
// connection pulls it only when the socket takes more, so a slow client holds back the reads
// (back-pressure), and memory stays at one input piece plus the codec's own state however large
// the file is. Its length is unknown in advance: chunked on HTTP/1.1, close-delimited on 1.0.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/body_stream.hpp"
#include "http/content/coding.hpp"
#include "http/content/compress_options.hpp"
#include "http/content/stream_compressor.hpp"

namespace portico::http {

struct CachedFile;

class CompressingStream final : public BodyStream {
public:
    /// Input read per pread(): large enough that a syscall moves a useful amount, small enough
    /// to keep per-connection memory modest.
    static constexpr size_t kInputPiece = 32 * 1024;
    /// Most pread() calls one read() makes before it returns what it has.
    static constexpr int kMaxReadsPerCall = 4;

    /// Null when the codec cannot allocate its state (the caller then serves identity). Takes a
    /// reference on `file` (which must hold a descriptor) for its own life.
    static std::unique_ptr<CompressingStream> create(CachedFile& file, content::Coding coding,
                                                     const content::CompressOptions& options);
    ~CompressingStream() override;
    CompressingStream(const CompressingStream&) = delete;
    CompressingStream& operator=(const CompressingStream&) = delete;

    Chunk read(Context& ctx, char* out, size_t cap) noexcept override;

private:
    CompressingStream(CachedFile& file, std::unique_ptr<content::StreamCompressor> codec);
    bool refill() noexcept;

    CachedFile& file_;
    std::unique_ptr<content::StreamCompressor> codec_;
    std::unique_ptr<char[]> input_;  // kInputPiece bytes
    std::string_view pending_;       // read from the file, not yet taken by the codec
    uint64_t offset_ = 0;            // of the next pread()
    bool eof_ = false;               // the whole file (as its size was when cached) was read
};

}  // namespace portico::http

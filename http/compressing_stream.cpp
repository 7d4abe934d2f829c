#include "http/compressing_stream.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <span>

#include <spdlog/spdlog.h>

#include "http/file_cache.hpp"

namespace portico::http {

std::unique_ptr<CompressingStream> CompressingStream::create(CachedFile& file, content::Coding coding,
                                                             const content::CompressOptions& options) {
    auto codec = content::StreamCompressor::create(coding, options);
    if (!codec || file.fd < 0) return nullptr;
    std::unique_ptr<CompressingStream> s(new (std::nothrow) CompressingStream(file, std::move(codec)));
    if (s && !s->input_) s.reset();
    return s;
}

CompressingStream::CompressingStream(CachedFile& file, std::unique_ptr<content::StreamCompressor> codec)
    : file_(file), codec_(std::move(codec)), input_(new (std::nothrow) char[kInputPiece]) {
    FileCache::ref(&file_);
}

CompressingStream::~CompressingStream() { FileCache::release(&file_); }

// Reads the next piece of the file. False on a read error. A file that shrank since it was
// cached ends early (its compressed body is then what was there); one that grew is read only
// up to the size the response was chosen for.
bool CompressingStream::refill() noexcept {
    uint64_t left = file_.size - offset_;
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, kInputPiece));
    ssize_t n;
    do {
        n = ::pread(file_.fd, input_.get(), want, static_cast<off_t>(offset_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        spdlog::error("pread() failed on '{}': {}", file_.key, std::strerror(errno));
        return false;
    }
    offset_ += static_cast<uint64_t>(n);
    eof_ = n == 0 || offset_ >= file_.size;
    pending_ = {input_.get(), static_cast<size_t>(n)};
    return true;
}

BodyStream::Chunk CompressingStream::read(Context& ctx, char* out, size_t cap) noexcept {
    (void)ctx;
    std::span<char> room(out, cap);
    // Bounded work per call: a file that compresses 1000:1 must not be read whole in one turn.
    for (int reads = 0;;) {
        if (pending_.empty() && !eof_) {
            if (reads++ == kMaxReadsPerCall) return {cap - room.size(), Status::kData};
            if (!refill()) return {cap - room.size(), Status::kError};
        }
        content::StreamStatus st = codec_->process(pending_, room, eof_);
        size_t written = cap - room.size();
        switch (st) {
            case content::StreamStatus::kDone: return {written, Status::kEnd};
            case content::StreamStatus::kError: return {written, Status::kError};
            case content::StreamStatus::kOutputFull: return {written, Status::kData};
            case content::StreamStatus::kNeedInput:
                // Return what is there once the buffer is worth a chunk; else read on.
                if (written >= cap / 2) return {written, Status::kData};
                break;
        }
    }
}

}  // namespace portico::http

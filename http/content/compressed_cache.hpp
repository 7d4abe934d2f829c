#pragma once
// Compressed representations of small files, made once per file version and kept under a
// memory cap, so a hot file costs its compression once and not on every request (nginx's gzip
// compresses again for each client).
//
//   map_  (dev, inode, coding, settings) -> slot { version (size, mtime), representation, lru position }
//   lru_  keys, most recently used first: the next victim at the back
//
// A slot is keyed by the file's identity and remembers which version it holds: a request for
// a newer version (size or mtime changed) replaces it, so a file edited in place never keeps
// its stale bytes. A file replaced by rename has a new inode; its old slot is no longer asked
// for and ages out through the LRU. The key holds the encoder settings that shape the bytes
// (gzip's level; brotli's quality and window; the text hint), so two routes that compress the
// same file differently each keep their own bytes and never serve the other's.
//
// A compression that does not pay (output not smaller than the file) is remembered as "do not
// compress" at the cost of a slot and no bytes, so an incompressible file is tried only once.
//
// Representations are shared_ptr: a response still being sent keeps its bytes alive after an
// eviction. The cache itself is per worker and single-threaded.

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/content/coding.hpp"
#include "http/content/compress_options.hpp"

namespace portico::http::content {

/// Which file, and which version of it: what the file cache revalidates against.
struct FileVersion {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;

    static FileVersion of(const struct stat& st) noexcept;
    bool operator==(const FileVersion&) const = default;
};

/// One encoded representation of one file version.
struct Representation {
    bool compressed = false;  // false: "do not compress", serve the identity bytes
    std::string bytes;        // the encoded body when compressed
    std::string etag;         // its own strong validator, derived from the file's
};

class CompressedCache {
public:
    /// Accounted per slot beside its bytes (map node, list node, strings): an estimate, so
    /// that many "do not compress" slots still count against the cap.
    static constexpr size_t kSlotOverhead = 160;

    /// `max_bytes` caps the bytes and slot overheads held; options fix the compression.
    CompressedCache(size_t max_bytes, CompressOptions options) noexcept;

    /// The `coding` representation of `version`, whose bytes are `original` and whose ETag is
    /// `file_etag`. Compresses only when this version is not held already. Never null. A result
    /// larger than the whole cap is returned without being kept.
    std::shared_ptr<const Representation> get(const FileVersion& version, Coding coding,
                                              std::string_view original, std::string_view file_etag);
    /// The same, compressing with `options` instead of the cache's own when it must compress
    /// (routes may set different levels: each setting keeps its own slot for the version).
    std::shared_ptr<const Representation> get(const FileVersion& version, Coding coding,
                                              std::string_view original, std::string_view file_etag,
                                              const CompressOptions& options);

    /// The representation held for exactly this version, made with the cache's own options, or
    /// null: never compresses.
    [[nodiscard]] std::shared_ptr<const Representation> find(const FileVersion& version,
                                                             Coding coding) noexcept;
    /// The same for a representation made with `options`.
    [[nodiscard]] std::shared_ptr<const Representation> find(const FileVersion& version, Coding coding,
                                                             const CompressOptions& options) noexcept;

    /// The ETag of `coding`'s representation: the file's with "-gzip" or "-br" inside the quotes,
    /// so each representation validates on its own (RFC 9110 §8.8.3) and a 304 or If-Range
    /// never crosses encodings.
    static std::string derive_etag(std::string_view file_etag, Coding coding);

    [[nodiscard]] size_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] size_t size() const noexcept { return map_.size(); }
    /// How many times get() ran a compressor: tests check "once per version".
    [[nodiscard]] uint64_t compressions() const noexcept { return compressions_; }

private:
    struct Key {
        dev_t dev;
        ino_t ino;
        Coding coding;
        uint32_t settings;  // settings_of(coding, options): what else decides the bytes
        bool operator==(const Key&) const = default;
    };
    static uint32_t settings_of(Coding coding, const CompressOptions& options) noexcept;
    struct KeyHash {
        size_t operator()(const Key& k) const noexcept;
    };
    struct Slot {
        FileVersion version;
        std::shared_ptr<const Representation> rep;
        std::list<Key>::iterator lru;
        size_t cost;
    };

    std::shared_ptr<const Representation> make(Coding coding, std::string_view original,
                                               std::string_view file_etag, const CompressOptions& options);
    void erase(std::unordered_map<Key, Slot, KeyHash>::iterator it) noexcept;
    void evict_to(size_t budget) noexcept;

    size_t max_bytes_;
    CompressOptions options_;
    std::unordered_map<Key, Slot, KeyHash> map_;
    std::list<Key> lru_;
    size_t bytes_ = 0;
    uint64_t compressions_ = 0;
};

}  // namespace portico::http::content

#pragma once
// A per-worker cache of open files, so a hot file is not opened, fstat'ed and closed on
// every request. An entry is trusted for `validity_ms` and then checked against the disk again,
// so a file replaced on disk is served fresh within that window. Small files also keep their
// bytes in memory, so their responses go out in one writev.
//
// Files are opened with openat2(RESOLVE_BENEATH) relative to the server's root directory: even a
// symlink cannot lead outside the root.

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/strings.hpp"

namespace portico::http {

class MimeTypes;

struct CachedFile {
    enum class Kind : uint8_t { kFile, kDirectory, kMissing, kForbidden, kError };
    Kind kind = Kind::kMissing;
    uint32_t refs = 0;           ///< holders besides the cache itself
    bool in_map = true;          ///< false once evicted: the last release() deletes it
    int fd = -1;                 ///< kFile only
    uint64_t size = 0;
    timespec mtime{};
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t validated_ms = 0;
    std::string content_type;
    std::string etag;            ///< with quotes: "\"5f3a-264\""
    std::string last_modified;   ///< IMF-fixdate
    /// "Content-Type: ..\r\nContent-Length: ..\r\nLast-Modified: ..\r\nETag: ..\r\nAccept-Ranges: bytes\r\n"
    std::string full_fields;
    std::string body;            ///< the whole file when it is small; see has_body
    bool has_body = false;
};

class FileCache {
public:
    struct Limits {
        size_t max_entries = 4096;
        size_t max_memory = 32u << 20;   ///< bytes of file contents kept in memory
        size_t small_file = 16u << 10;   ///< files up to this size keep their contents in memory
        uint64_t validity_ms = 1000;
    };

    FileCache(const MimeTypes& mime, Limits limits);
    FileCache(const FileCache&) = delete;
    FileCache& operator=(const FileCache&) = delete;
    ~FileCache();

    /// The entry for `path` (normalised, starts with '/') under the directory `root_fd`, whose
    /// path is `root` (used only as part of the key). The pointer is borrowed: it stays valid
    /// until the next lookup() unless the caller takes a reference with ref().
    CachedFile* lookup(int root_fd, std::string_view root, std::string_view path, uint64_t now_ms);

    static void ref(CachedFile* f) noexcept { ++f->refs; }
    /// Drops a reference taken with ref(); deletes an evicted entry on its last release.
    static void release(CachedFile* f) noexcept;

    [[nodiscard]] size_t size() const noexcept { return map_.size(); }

private:
    CachedFile* load(int root_fd, std::string_view root, std::string_view path, uint64_t now_ms);
    bool still_valid(CachedFile& f, int root_fd, std::string_view root, std::string_view path, uint64_t now_ms);
    void evict_unused();
    void drop(CachedFile* f) noexcept;

    const MimeTypes& mime_;
    Limits limits_;
    size_t memory_ = 0;
    std::string key_;  // scratch, reused: root + path
    std::unordered_map<std::string, CachedFile*, core::StringHash, std::equal_to<>> map_;
};

}  // namespace portico::http

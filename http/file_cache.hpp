#pragma once
// A per-worker cache of open files, so a hot file is not opened, fstat'ed and closed on
// every request. An entry is trusted for `validity_ms` and then checked against the disk again,
// so a file replaced on disk is served fresh within that window.
//
// Descriptors are the scarce resource here, not memory. A small file keeps its bytes in memory
// (its response goes out in one writev) and no descriptor: revalidation needs only its inode,
// size and mtime. Only files served by sendfile keep one, and at most `max_open` of them stay
// open: the worker sizes that from RLIMIT_NOFILE less what its connections may take. When an
// open fails with EMFILE or ENFILE anyway, the oldest unused cached descriptors are closed
// and the open is tried again; a failure is never cached.
//
//   map_     (root, path) -> entry, at most max_entries
//   lru_     every entry in the map, newest first: the next victim at the back
//   fd_lru_  the entries of the map that hold a descriptor, in the same order: at most max_open
//
// Eviction is CLOCK (second chance) over those lists: a hit only sets the entry's reference
// bits, which keeps the hot path at one store; an entry whose bit is set when it reaches the
// back of a list is moved to the front instead of evicted. Hot entries stay, cold ones go, in
// about least-recently-used order, and a scan of distinct paths cannot flush entries that keep
// being used.
//
// Clients choose the map's keys (a missing path is cached too), so its hash is SipHash with a
// key secret to the worker: no one can aim many paths at one bucket (tools/hash-flood measures
// what that cost with std::hash). Only the path is hashed per lookup; the root's hash is kept
// from the last lookup, as requests to one root follow each other.
//
// Files are opened beneath the server's root (BeneathOpener): even a symlink cannot lead out.

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/siphash.hpp"
#include "http/lru_list.hpp"
#include "http/open_beneath.hpp"

namespace portico::http {

class MimeTypes;

/// What the cache's map is keyed by: views of an entry's key string, or of the caller's
/// arguments for a lookup. Two roots are two entries for one path: "/srv" + "/files/x" and
/// "/srv/files" + "/x" name the same file but were resolved beneath different roots (a symlink
/// may stay inside one and leave the other).
struct FileKey {
    std::string_view root, path;
    uint64_t root_hash = 0;  ///< of root, under the map's SipHash key
    bool operator==(const FileKey& o) const noexcept { return path == o.path && root == o.root; }
};

struct FileKeyHash {
    core::SipKey key = core::SipKey::random();
    size_t operator()(const FileKey& k) const noexcept { return core::siphash13(key, k.path) ^ k.root_hash; }
};

struct CachedFile {
    enum class Kind : uint8_t { kFile, kDirectory, kMissing, kForbidden, kError };
    Kind kind = Kind::kMissing;
    uint32_t refs = 0;           ///< holders besides the cache itself
    bool owned = true;           ///< false once the cache let go of it: the last release() deletes it
    int fd = -1;                 ///< kFile served by sendfile only; -1 when the bytes are in memory
    uint64_t size = 0;
    timespec mtime{};
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t validated_ms = 0;
    std::string key;             ///< root, NUL, path: for log lines, and what map_key views
    FileKey map_key;
    std::string content_type;
    std::string etag;            ///< with quotes: "\"5f3a-264\""
    std::string last_modified;   ///< IMF-fixdate
    /// "Content-Type: ..\r\nContent-Length: ..\r\nLast-Modified: ..\r\nETag: ..\r\nAccept-Ranges: bytes\r\n"
    std::string full_fields;
    std::string body;            ///< the whole file when it is small; see has_body
    bool has_body = false;
    LruLink<CachedFile> lru;     ///< on FileCache's list of all entries
    LruLink<CachedFile> fd_lru;  ///< on FileCache's list of entries holding a descriptor
    /// Used since eviction last looked at it, one bit per list (CLOCK's reference bit).
    uint8_t recent = 0;
    static constexpr uint8_t kRecentInCache = 1, kRecentWithFd = 2, kRecentBoth = 3;
};

class FileCache {
public:
    struct Limits {
        size_t max_entries = 4096;       ///< 0: nothing is cached, every lookup opens the file
        size_t max_open = 1024;          ///< descriptors kept open by cached entries (at least 1)
        size_t max_memory = 32u << 20;   ///< bytes of file contents kept in memory
        size_t small_file = 4u << 10;    ///< files up to this size keep their contents in memory
        uint64_t validity_ms = 1000;
    };

    FileCache(const MimeTypes& mime, Limits limits, BeneathOpener opener = BeneathOpener());
    FileCache(const FileCache&) = delete;
    FileCache& operator=(const FileCache&) = delete;
    ~FileCache();

    /// The entry for `path` (normalised, starts with '/') under the directory `root_fd`, whose
    /// path is `root` (used only as part of the key). The pointer is borrowed: it stays valid
    /// until the next lookup() unless the caller takes a reference with ref(). Never null; a
    /// failure to open other than "missing" or "forbidden" (EMFILE, EIO) is a kError entry that
    /// is not cached, so the next lookup tries again.
    CachedFile* lookup(int root_fd, std::string_view root, std::string_view path, uint64_t now_ms);

    /// Opens the directory `path` (normalised, starts with '/') beneath `root_fd` the way files
    /// are opened, for reading its entries (a directory listing); not cached. The descriptor is
    /// the caller's; -1 with errno set on failure (EMFILE after giving cached descriptors back).
    int open_directory(int root_fd, std::string_view root, std::string_view path) noexcept;

    static void ref(CachedFile* f) noexcept { ++f->refs; }
    /// Drops a reference taken with ref(); deletes an entry the cache let go of on its last release.
    static void release(CachedFile* f) noexcept;

    /// Closes up to `n` cached descriptors that no response is using, those not used lately first,
    /// forgetting their entries. For a caller that got EMFILE (accept4): returns how many it closed.
    size_t release_descriptors(size_t n) noexcept;

    /// How many descriptors cached files may keep open: RLIMIT_NOFILE (`nofile`) less `reserve`
    /// for the worker's own less `connections`. When the connections do not fit, a quarter of what
    /// is left after the reserve: the connections can then run out anyway, and the cache gives
    /// its descriptors back on EMFILE. At least 1, at most `max_entries`.
    static size_t descriptor_budget(uint64_t nofile, uint64_t connections, uint64_t reserve,
                                    size_t max_entries) noexcept;

    [[nodiscard]] size_t size() const noexcept { return map_.size(); }
    /// Descriptors held by cached entries (not counting those of evicted entries still being sent).
    [[nodiscard]] size_t open_descriptors() const noexcept { return fd_lru_.size(); }
    [[nodiscard]] size_t memory() const noexcept { return memory_; }
    /// Entries in the fullest bucket of the map (a lookup may walk them all). For tests.
    [[nodiscard]] size_t longest_chain() const noexcept;
    [[nodiscard]] const Limits& limits() const noexcept { return limits_; }
    [[nodiscard]] bool uses_openat2() const noexcept { return opener_.uses_openat2(); }

private:
    uint64_t root_hash(std::string_view root);
    CachedFile* load(int root_fd, const FileKey& key, uint64_t now_ms);
    void read_into_memory(CachedFile& f);
    bool make_room(uint64_t bytes) noexcept;
    int open_file(int root_fd, std::string_view root, const char* rel, int extra_flags = 0) noexcept;
    bool still_valid(CachedFile& f, int root_fd, std::string_view root, std::string_view path, uint64_t now_ms);
    void insert(CachedFile* f);
    CachedFile* keep_uncached(CachedFile* f) noexcept;
    void discard_uncached() noexcept;
    void erase(CachedFile* f) noexcept;
    template <class List>
    static CachedFile* victim(List& list, uint8_t bit) noexcept;
    static void destroy(CachedFile* f) noexcept;

    const MimeTypes& mime_;
    Limits limits_;
    BeneathOpener opener_;
    size_t memory_ = 0;
    std::string last_root_;        // the root of the last lookup, and its hash
    uint64_t last_root_hash_ = 0;
    std::string rel_;  // scratch, reused: the path beneath the root, NUL-terminated for openat2
    std::unordered_map<FileKey, CachedFile*, FileKeyHash> map_;
    LruList<CachedFile, &CachedFile::lru> lru_;
    LruList<CachedFile, &CachedFile::fd_lru> fd_lru_;
    CachedFile* uncached_ = nullptr;  // the last lookup's result when it was not cached
};

}  // namespace portico::http

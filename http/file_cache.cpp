#include "http/file_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "http/mime.hpp"

namespace portico::http {
namespace {

// On EMFILE, close this many cached descriptors at once: one would do for this open, but
// under pressure the next opens would fail again right away.
constexpr size_t kEmfileBatch = 16;
// Entries looked at, from the oldest, to free memory for a small file past the memory cap.
constexpr size_t kMemoryScan = 64;

CachedFile::Kind kind_of_errno(int err) noexcept {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
        case ENAMETOOLONG: return CachedFile::Kind::kMissing;
        case EACCES:
        case EPERM:
        case EXDEV:  // a symlink that points outside the root
        case ELOOP: return CachedFile::Kind::kForbidden;
        default: return CachedFile::Kind::kError;
    }
}

bool out_of_descriptors(int err) noexcept { return err == EMFILE || err == ENFILE; }

bool same_file(const CachedFile& f, const struct stat& st) noexcept {
    return f.dev == st.st_dev && f.ino == st.st_ino && f.size == static_cast<uint64_t>(st.st_size) &&
           f.mtime.tv_sec == st.st_mtim.tv_sec && f.mtime.tv_nsec == st.st_mtim.tv_nsec;
}

void describe(CachedFile& f, const MimeTypes& mime, std::string_view path) {
    char date[30];
    f.content_type = mime.lookup(path);
    f.last_modified = core::format_http_date(f.mtime.tv_sec, date);
    f.etag = fmt::format("\"{:x}.{:x}-{:x}\"", f.mtime.tv_sec, f.mtime.tv_nsec, f.size);
    f.full_fields = fmt::format(
        "Content-Type: {}\r\nContent-Length: {}\r\nLast-Modified: {}\r\nETag: {}\r\nAccept-Ranges: bytes\r\n",
        f.content_type, f.size, f.last_modified, f.etag);
}

// path is a normalised request path: "/" names the root itself.
// The path beneath the root as a C string ("/a/b" -> "a/b", "/" -> "."), copied into `out`:
// `path` is a view, and what follows it need not be a NUL (a try_files candidate is expanded
// into a larger scratch buffer).
const char* relative(std::string_view path, std::string& out) {
    out.assign(path.size() > 1 ? path.substr(1) : std::string_view("."));
    return out.c_str();
}

}  // namespace

FileCache::FileCache(const MimeTypes& mime, Limits limits, BeneathOpener opener)
    : mime_(mime), limits_(limits), opener_(opener) {
    limits_.max_open = std::max<size_t>(limits_.max_open, 1);
    map_.reserve(limits_.max_entries);
    last_root_hash_ = core::siphash13(map_.hash_function().key, last_root_);
}

FileCache::~FileCache() {
    discard_uncached();
    while (CachedFile* f = lru_.back()) erase(f);
}

void FileCache::destroy(CachedFile* f) noexcept {
    if (f->fd >= 0) ::close(f->fd);
    delete f;
}

void FileCache::release(CachedFile* f) noexcept {
    if (--f->refs == 0 && !f->owned) destroy(f);
}

// Forgets `f`: out of the map and the lists; deleted now, or by the last release() if a
// response is still being sent from it.
void FileCache::erase(CachedFile* f) noexcept {
    map_.erase(f->map_key);
    lru_.remove(f);
    fd_lru_.remove(f);
    if (f->has_body) memory_ -= f->body.size();
    f->owned = false;
    if (f->refs == 0) destroy(f);
}

size_t FileCache::longest_chain() const noexcept {
    size_t longest = 0;
    for (size_t b = 0; b < map_.bucket_count(); ++b) longest = std::max(longest, map_.bucket_size(b));
    return longest;
}

// Two passes from the oldest: first the entries not used lately, then any. One being sent is
// skipped: it would keep its descriptor until the send ends.
size_t FileCache::release_descriptors(size_t n) noexcept {
    size_t closed = 0;
    for (int pass = 0; pass < 2 && closed < n; ++pass) {
        for (CachedFile* f = fd_lru_.back(); f && closed < n;) {
            CachedFile* newer = f->fd_lru.prev;
            if (f->refs == 0 && (pass == 1 || !(f->recent & CachedFile::kRecentWithFd))) {
                erase(f);
                ++closed;
            }
            f = newer;
        }
    }
    return closed;
}

size_t FileCache::descriptor_budget(uint64_t nofile, uint64_t connections, uint64_t reserve,
                                    size_t max_entries) noexcept {
    uint64_t spare = nofile > reserve ? nofile - reserve : 0;
    uint64_t budget = spare > connections ? spare - connections : spare / 4;
    return static_cast<size_t>(std::clamp<uint64_t>(budget, 1, std::max<size_t>(max_entries, 1)));
}

uint64_t FileCache::root_hash(std::string_view root) {
    if (root != last_root_) {
        last_root_.assign(root);
        last_root_hash_ = core::siphash13(map_.hash_function().key, root);
    }
    return last_root_hash_;
}

CachedFile* FileCache::lookup(int root_fd, std::string_view root, std::string_view path, uint64_t now_ms) {
    const FileKey key{root, path, root_hash(root)};
    auto it = map_.find(key);
    if (it != map_.end()) {
        CachedFile* f = it->second;
        if (now_ms - f->validated_ms < limits_.validity_ms || still_valid(*f, root_fd, root, path, now_ms)) {
            f->recent = CachedFile::kRecentBoth;  // a hit costs one store; eviction does the sorting
            return f;
        }
        erase(f);
    }
    // An uncached result lives until the next lookup; a hit above may leave it a little longer.
    discard_uncached();
    CachedFile* f = load(root_fd, key, now_ms);
    if (f->kind == CachedFile::Kind::kError || limits_.max_entries == 0) return keep_uncached(f);
    insert(f);
    return f;
}

// CLOCK's second chance over a recency-ordered list: the entry at the back goes unless it was
// used since it last came round, in which case it moves to the front with its bit cleared. Each
// turn clears a bit or returns, so this ends within size() + 1 turns.
template <class List>
CachedFile* FileCache::victim(List& list, uint8_t bit) noexcept {
    for (;;) {
        CachedFile* f = list.back();
        if (!(f->recent & bit)) return f;
        f->recent = static_cast<uint8_t>(f->recent & ~bit);
        list.touch(f);
    }
}

void FileCache::insert(CachedFile* f) {
    while (map_.size() >= limits_.max_entries) erase(victim(lru_, CachedFile::kRecentInCache));
    if (f->fd >= 0) {
        while (fd_lru_.size() >= limits_.max_open) erase(victim(fd_lru_, CachedFile::kRecentWithFd));
        fd_lru_.push_front(f);
    }
    if (f->has_body) memory_ += f->body.size();
    lru_.push_front(f);
    map_.emplace(f->map_key, f);
}

// A result that must not stay cached (a failure) lives until the next lookup, as lookup()
// promises, and then goes (or, while a response holds it, goes with its last release).
CachedFile* FileCache::keep_uncached(CachedFile* f) noexcept {
    uncached_ = f;
    return f;
}

void FileCache::discard_uncached() noexcept {
    if (!uncached_) return;
    uncached_->owned = false;
    if (uncached_->refs == 0) destroy(uncached_);
    uncached_ = nullptr;
}

int FileCache::open_file(int root_fd, std::string_view root, const char* rel, int extra_flags) noexcept {
    int fd = opener_.open(root_fd, root, rel, extra_flags);
    if (fd < 0 && out_of_descriptors(errno)) {
        int err = errno;
        if (release_descriptors(kEmfileBatch) == 0) {
            errno = err;
            return -1;
        }
        fd = opener_.open(root_fd, root, rel, extra_flags);
    }
    return fd;
}

int FileCache::open_directory(int root_fd, std::string_view root, std::string_view path) noexcept {
    return open_file(root_fd, root, relative(path, rel_), O_DIRECTORY);  // a NUL-terminated copy
}

bool FileCache::still_valid(CachedFile& f, int root_fd, std::string_view root, std::string_view path,
                            uint64_t now_ms) {
    // Re-resolve the path rather than fstat an open fd: a file replaced by rename() keeps the
    // old inode open, and the new one must be served. No eviction here (it could pick `f`): out
    // of descriptors, the entry is served as it is and checked again on its next use.
    int fd = opener_.open(root_fd, root, relative(path, rel_));
    if (fd < 0 && out_of_descriptors(errno)) return true;
    bool same = false;
    if (fd >= 0) {
        struct stat st;
        same = ::fstat(fd, &st) == 0 && f.kind != CachedFile::Kind::kMissing && same_file(f, st) &&
               (f.kind == CachedFile::Kind::kFile) == S_ISREG(st.st_mode);
        ::close(fd);
    } else {
        same = f.kind == kind_of_errno(errno) && f.kind == CachedFile::Kind::kMissing;
    }
    if (same) f.validated_ms = now_ms;
    return same;
}

CachedFile* FileCache::load(int root_fd, const FileKey& key, uint64_t now_ms) {
    const std::string_view root = key.root, path = key.path;
    auto* f = new CachedFile;
    // A NUL between the two, which neither a real path nor a normalised request path holds.
    f->key.reserve(root.size() + 1 + path.size());
    f->key.append(root).push_back('\0');
    f->key.append(path);
    const std::string_view own = f->key;
    f->map_key = FileKey{own.substr(0, root.size()), own.substr(root.size() + 1), key.root_hash};
    f->validated_ms = now_ms;
    int fd = open_file(root_fd, root, relative(path, rel_));
    if (fd < 0) {
        f->kind = kind_of_errno(errno);
        return f;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        f->kind = CachedFile::Kind::kError;
        return f;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = static_cast<uint64_t>(st.st_size);
    f->mtime = st.st_mtim;
    if (!S_ISREG(st.st_mode)) {  // devices, FIFOs, sockets are not web content
        ::close(fd);
        f->kind = S_ISDIR(st.st_mode) ? CachedFile::Kind::kDirectory : CachedFile::Kind::kForbidden;
        return f;
    }
    f->kind = CachedFile::Kind::kFile;
    f->fd = fd;
    describe(*f, mime_, path);
    read_into_memory(*f);
    return f;
}

// Past the memory cap, small files not used lately make room (CLOCK, as for entries), so that
// a new small file need not hold a descriptor. The scan is bounded: when it finds too little,
// the new file is sent like a large one.
bool FileCache::make_room(uint64_t bytes) noexcept {
    size_t scanned = 0;
    for (CachedFile* f = lru_.back(); f && memory_ + bytes > limits_.max_memory && scanned < kMemoryScan;
         ++scanned) {
        CachedFile* newer = f->lru.prev;
        if (f->has_body) {
            if (!(f->recent & CachedFile::kRecentInCache)) {
                erase(f);
            } else {  // second chance, as in victim()
                f->recent = static_cast<uint8_t>(f->recent & ~CachedFile::kRecentInCache);
                lru_.touch(f);
            }
        }
        f = newer ? newer : lru_.back();  // the hand goes round
    }
    return memory_ + bytes <= limits_.max_memory;
}

// A small file's bytes go into memory and its descriptor is closed: what revalidation needs
// (inode, size, mtime) is kept beside them.
void FileCache::read_into_memory(CachedFile& f) {
    if (f.size > limits_.small_file || f.size > limits_.max_memory) return;
    if (memory_ + f.size > limits_.max_memory && !make_room(f.size)) return;
    f.body.resize(f.size);
    ssize_t n = ::pread(f.fd, f.body.data(), f.size, 0);
    if (n != static_cast<ssize_t>(f.size)) {
        f.body.clear();  // changing under us: serve it with sendfile instead
        return;
    }
    f.has_body = true;
    ::close(f.fd);
    f.fd = -1;
}

}  // namespace portico::http

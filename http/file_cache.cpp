#include "http/file_cache.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cerrno>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "http/mime.hpp"

namespace portico::http {
namespace {

// Without openat2 (kernels before 5.6, valgrind): open normally, then ask the kernel where the
// descriptor really points and refuse anything outside the root, the way RESOLVE_BENEATH would.
int open_checked(int root_fd, std::string_view root, const char* rel, int flags) noexcept {
    int fd = ::openat(root_fd, rel, flags);
    if (fd < 0) return -1;
    char link[64], where[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(link, where, sizeof where);
    std::string_view real(where, n > 0 ? static_cast<size_t>(n) : 0);
    bool inside = n > 0 && static_cast<size_t>(n) < sizeof where && real.starts_with(root) &&
                  (real.size() == root.size() || root == "/" || real[root.size()] == '/');
    if (inside) return fd;
    ::close(fd);
    errno = EXDEV;
    return -1;
}

// Opens `rel` beneath `root_fd` (whose path is `root`); never resolves outside it, whatever
// symlinks say.
int open_beneath(int root_fd, std::string_view root, const char* rel) noexcept {
    static bool have_openat2 = true;  // per process; only ever goes from true to false
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: a FIFO must not block us
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    while (have_openat2) {
        long fd = ::syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
        if (fd >= 0 || errno != EINTR) {
            if (fd < 0 && errno == ENOSYS) {
                have_openat2 = false;
                break;
            }
            return static_cast<int>(fd);
        }
    }
    return open_checked(root_fd, root, rel, static_cast<int>(how.flags));
}

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

}  // namespace

FileCache::FileCache(const MimeTypes& mime, Limits limits) : mime_(mime), limits_(limits) {
    map_.reserve(limits_.max_entries);
}

FileCache::~FileCache() {
    for (auto& [key, f] : map_) drop(f);
}

void FileCache::drop(CachedFile* f) noexcept {
    if (f->has_body) memory_ -= f->body.size();
    f->in_map = false;
    if (f->refs == 0) {
        if (f->fd >= 0) ::close(f->fd);
        delete f;
    }
}

void FileCache::release(CachedFile* f) noexcept {
    if (--f->refs == 0 && !f->in_map) {
        if (f->fd >= 0) ::close(f->fd);
        delete f;
    }
}

CachedFile* FileCache::lookup(int root_fd, std::string_view root, std::string_view path, uint64_t now_ms) {
    key_.assign(root).append(path);
    auto it = map_.find(std::string_view(key_));
    if (it != map_.end()) {
        CachedFile* f = it->second;
        if (now_ms - f->validated_ms < limits_.validity_ms || still_valid(*f, root_fd, root, path, now_ms)) return f;
        drop(f);
        map_.erase(it);
    }
    if (map_.size() >= limits_.max_entries) evict_unused();
    CachedFile* f = load(root_fd, root, path, now_ms);
    map_.emplace(key_, f);
    return f;
}

bool FileCache::still_valid(CachedFile& f, int root_fd, std::string_view root, std::string_view path,
                            uint64_t now_ms) {
    // Re-resolve the path rather than fstat the open fd: a file replaced by rename() keeps the
    // old inode open, and the new one must be served.
    const char* rel = path.size() > 1 ? path.data() + 1 : ".";
    int fd = open_beneath(root_fd, root, rel);
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

void FileCache::evict_unused() {
    // Bounded memory against requests for endless distinct paths: drop everything no connection
    // is sending from. Rare (once per max_entries misses), and hot entries come back at once.
    for (auto it = map_.begin(); it != map_.end();) {
        drop(it->second);
        it = map_.erase(it);
    }
}

CachedFile* FileCache::load(int root_fd, std::string_view root, std::string_view path, uint64_t now_ms) {
    auto* f = new CachedFile;
    f->validated_ms = now_ms;
    // path is a normalised, NUL-free string from the request; make it C-string terminated.
    std::string rel(path.size() > 1 ? path.substr(1) : std::string_view("."));
    int fd = open_beneath(root_fd, root, rel.c_str());
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
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        f->kind = CachedFile::Kind::kDirectory;
        return f;
    }
    if (!S_ISREG(st.st_mode)) {  // devices, FIFOs, sockets are not web content
        ::close(fd);
        f->kind = CachedFile::Kind::kForbidden;
        return f;
    }
    f->kind = CachedFile::Kind::kFile;
    f->fd = fd;
    describe(*f, mime_, path);
    if (f->size <= limits_.small_file && memory_ + f->size <= limits_.max_memory) {
        f->body.resize(f->size);
        ssize_t n = ::pread(fd, f->body.data(), f->size, 0);
        if (n == static_cast<ssize_t>(f->size)) {
            f->has_body = true;
            memory_ += f->size;
        } else {
            f->body.clear();  // changing under us: serve it with sendfile instead
        }
    }
    return f;
}

}  // namespace portico::http

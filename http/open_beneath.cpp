#include "http/open_beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include <spdlog/spdlog.h>

namespace portico::http {
namespace {

constexpr int kOpenFlags =
    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: a FIFO must not block us

long call_openat2(int dir_fd, const char* rel, unsigned long long flags) noexcept {
    open_how how{};
    how.flags = flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    do fd = ::syscall(SYS_openat2, dir_fd, rel, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    return fd;
}

// Whether openat2 answers at all. "." beneath "/" exists on every system and needs no
// permission, so any failure says the call itself is unavailable, whatever errno seccomp or an
// old kernel chose (ENOSYS, EPERM, ...).
bool probe_openat2(int& err) noexcept {
    int dir = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        err = errno;
        return false;
    }
    long fd = call_openat2(dir, ".", O_PATH | O_CLOEXEC);
    err = errno;
    ::close(dir);
    if (fd < 0) return false;
    ::close(static_cast<int>(fd));
    return true;
}

// Without openat2: open normally, then ask the kernel where the descriptor really points and
// refuse anything outside the root, the way RESOLVE_BENEATH would.
int open_checked(int root_fd, std::string_view root, const char* rel, int extra_flags) noexcept {
    int fd = ::openat(root_fd, rel, kOpenFlags | extra_flags);
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

}  // namespace

BeneathOpener::BeneathOpener(Mode mode) noexcept {
    if (mode == Mode::kFallback) return;
    int err = 0;
    openat2_ = probe_openat2(err);
    if (openat2_) {
        spdlog::info("files are opened with openat2(RESOLVE_BENEATH)");
    } else {
        spdlog::info(
            "openat2() is unavailable ({}): files are opened with openat() and checked through "
            "/proc/self/fd",
            std::strerror(err));
        // Without /proc the check cannot tell inside from outside, so every file would be a 403.
        if (::access("/proc/self/fd", R_OK) != 0)
            spdlog::warn("access() of /proc/self/fd failed: {}; without openat2 no file can be served",
                         std::strerror(errno));
    }
}

int BeneathOpener::open(int root_fd, std::string_view root, const char* rel, int extra_flags) noexcept {
    if (openat2_) {
        long fd = call_openat2(root_fd, rel, static_cast<unsigned long long>(kOpenFlags | extra_flags));
        if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
        openat2_ = false;  // the probe passed, yet the call went away: never ask again
    }
    return open_checked(root_fd, root, rel, extra_flags);
}

}  // namespace portico::http

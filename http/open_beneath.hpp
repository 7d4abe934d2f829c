#pragma once
// Opening a file beneath a document root so that nothing, symlinks included, resolves outside it.
//
// openat2(RESOLVE_BENEATH) does this in the kernel. Where it is missing (kernels before 5.6,
// valgrind) or refused (container seccomp profiles answer EPERM, not ENOSYS), the file is opened
// with openat() and /proc/self/fd tells where the descriptor really points. Which of the two a
// process can use is probed once, at start-up, rather than guessed from the first file's errno:
// an EPERM from seccomp looks just like a file we may not read.

#include <string_view>

namespace portico::http {

class BeneathOpener {
public:
    enum class Mode : unsigned char { kProbe, kFallback };

    /// kProbe tries openat2 once and logs (at info) which way files will be opened; kFallback
    /// always uses openat plus the /proc check (for tests of that path).
    explicit BeneathOpener(Mode mode = Mode::kProbe) noexcept;

    /// Opens `rel` (relative, NUL-terminated) beneath `root_fd`, whose real path is `root`, for
    /// reading (O_NONBLOCK, O_CLOEXEC, and `extra_flags`, such as O_DIRECTORY). Returns the
    /// descriptor, or -1 with errno set; EXDEV or ELOOP when the path would leave the root.
    int open(int root_fd, std::string_view root, const char* rel, int extra_flags = 0) noexcept;

    [[nodiscard]] bool uses_openat2() const noexcept { return openat2_; }

private:
    bool openat2_ = false;
};

}  // namespace portico::http
